// The architecture sweep behind the autoencoder's defaults (agent/learn/trainer.ts DEFAULT_TRAIN):
// each setting trained and scored on every SMD machine with the same seed, mean point-wise
// best-F1 printed as a Markdown table. About 10 minutes on 2 cores.
// Usage: npx tsx models/eval/sweep.ts --data ../shared/datasets/smd
import { AutoencoderScorer } from '../autoencoder/scorer.ts';
import type { TrainOptions } from '../../agent/learn/trainer.ts';
import { runEval } from './run.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';
const SETTINGS: Array<Partial<TrainOptions>> = [
  { window: 5, hidden: [32, 8], stdFloor: 1e-3 },
  { window: 5, hidden: [16, 4], stdFloor: 1e-3 },
  { window: 5, hidden: [8, 2], stdFloor: 1e-3 },
  { window: 10, hidden: [32, 8], stdFloor: 1e-3 },
  { window: 10, hidden: [16, 4], stdFloor: 1e-3 },
  { window: 10, hidden: [16, 4], stdFloor: 0.01 },
  { window: 10, hidden: [16, 4], stdFloor: 0.05 },
  { window: 10, hidden: [16, 4], stdFloor: 0.01, activation: 'relu' },
  { window: 10, hidden: [16, 4], stdFloor: 0.01, epochs: 60, patience: 6, windowsPerEpoch: 16000 },
];

const rows: string[] = [];
for (const s of SETTINGS) {
  process.stderr.write(`sweep: ${JSON.stringify(s)}\n`);
  const t0 = performance.now();
  const r = await runEval({ dataDir, scorers: [() => new AutoencoderScorer(s)] });
  const m = r.mean.autoencoder!;
  rows.push(`| ${s.window} | ${s.hidden!.join('→')} | ${s.activation ?? 'tanh'} | ${s.stdFloor} | ${s.epochs ?? 30}/${s.windowsPerEpoch ?? 8000} | ${m.bestF1.toFixed(3)} | ${m.paF1.toFixed(3)} | ${((performance.now() - t0) / 1000).toFixed(0)} s |`);
}
console.log(`| window | encoder | activation | std floor | epochs/windows | mean best-F1 | mean PA-F1 | time |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}`);
