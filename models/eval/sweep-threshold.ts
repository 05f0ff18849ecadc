// The agent's own threshold loop on SMD: the default autoencoder is trained once per machine,
// its train and test scores kept, and the loop of spot-threshold.ts replayed with one knob of
// the SPOT calibrator or the debounce changed at a time (plus a few combinations). Prints mean
// F1 @ SPOT, P and R, and F1 per machine as a Markdown table (docs/detection.md, "The agent's
// threshold on SMD"). Every debounce variant keeps k > 10, the window length, so a one-sample
// blip (it lifts the 10 windows containing it) never opens an anomaly. About 1 minute of CPU.
// Usage: npx tsx models/eval/sweep-threshold.ts --data ../shared/datasets/smd
import type { DebounceOptionsInput } from '../../agent/detect/debounce.ts';
import type { ThresholdOptionsInput } from '../../agent/detect/threshold.ts';
import { AutoencoderScorer } from '../autoencoder/scorer.ts';
import { listMachines, loadMachine } from './smd.ts';
import { spotF1 } from './spot-threshold.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';

/** The base model's window: debounce k must exceed it (agent/detect/debounce.ts). */
const WINDOW = 10;

/** The loop as it was before this sweep (risk 1e-4, level 0.98, capacity 3600, k/n 12/15); each variant changes it. */
const BASE: ThresholdOptionsInput = { risk: 1e-4, level: 0.98, capacity: 3600 };
const BASE_DEBOUNCE: DebounceOptionsInput = { k: 12, n: 15 };

const VARIANTS: Array<{ name: string; threshold?: ThresholdOptionsInput; debounce?: DebounceOptionsInput }> = [
  { name: 'before (risk 1e-4, level 0.98, capacity 3600, k/n 12/15)' },
  { name: 'risk 1e-3', threshold: { risk: 1e-3 } },
  { name: 'risk 1e-2', threshold: { risk: 1e-2 } },
  { name: 'level 0.95', threshold: { level: 0.95 } },
  { name: 'level 0.99', threshold: { level: 0.99 } },
  { name: 'capacity 900', threshold: { capacity: 900 } },
  { name: 'capacity 14400', threshold: { capacity: 14400 } },
  { name: 'debounce 11/12', debounce: { k: 11, n: 12 } },
  { name: 'debounce 11/15', debounce: { k: 11, n: 15 } },
  { name: 'debounce 12/20', debounce: { k: 12, n: 20 } },
  { name: 'debounce 15/20', debounce: { k: 15, n: 20 } },
  { name: 'learn only scores ≤ initial level t', threshold: { learnCeiling: 'initial' } },
  { name: 'learn only scores ≤ the threshold', threshold: { learnCeiling: 'threshold' } },
  { name: 'risk 1e-2 + learn ≤ threshold', threshold: { risk: 1e-2, learnCeiling: 'threshold' } },
  { name: 'risk 1e-2 + debounce 12/20', threshold: { risk: 1e-2 }, debounce: { k: 12, n: 20 } },
  { name: 'risk 1e-3 + learn ≤ threshold + debounce 12/20', threshold: { risk: 1e-3, learnCeiling: 'threshold' }, debounce: { k: 12, n: 20 } },
];
for (const v of VARIANTS) if ((v.debounce?.k ?? BASE_DEBOUNCE.k!) <= WINDOW) throw new Error(`variant "${v.name}": k must exceed the window (${WINDOW}) so a one-sample blip cannot open an anomaly`);

const results = VARIANTS.map(() => [] as Array<ReturnType<typeof spotF1>>);
/** SMD rows are one minute apart: test days per machine. */
const days: number[] = [];
for (const name of listMachines(dataDir)) {
  process.stderr.write(`sweep-threshold: ${name}\n`);
  const m = loadMachine(dataDir, name);
  const scorer = new AutoencoderScorer();
  await scorer.fit(m.train, m.features);
  const train = (await scorer.score(m.train, m.features)).scores;
  const test = (await scorer.score(m.test, m.features)).scores;
  days.push(m.labels.length / 1440);
  VARIANTS.forEach((v, k) =>
    results[k]!.push(spotF1(train, test, m.labels, { threshold: { ...BASE, ...v.threshold }, debounce: { ...BASE_DEBOUNCE, ...v.debounce } })),
  );
}
const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
const totalDays = days.reduce((a, b) => a + b, 0);
console.log(`| variant | mean F1 @ SPOT | mean P | mean R | false alarms per day | per machine F1 (last threshold) |
|---|---|---|---|---|---|
${VARIANTS.map((v, k) => {
  const rs = results[k]!;
  const per = rs.map((r) => `${r.f1.toFixed(3)} (${(r.threshold ?? NaN).toFixed(1)})`).join(' ');
  const falsePerDay = rs.reduce((s, r) => s + r.falseEpisodes, 0) / totalDays;
  return `| ${v.name} | ${mean(rs.map((r) => r.f1))} | ${mean(rs.map((r) => r.p))} | ${mean(rs.map((r) => r.r))} | ${falsePerDay.toFixed(2)} | ${per} |`;
}).join('\n')}`);
