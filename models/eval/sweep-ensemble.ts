// Issue 3: does an ensemble of the autoencoder and PCA reconstruction errors score higher than
// either alone? Both are trained on each SMD machine's train split (DEFAULT_TRAIN; PCA keeping
// 95 % of the variance, as in `homeostat eval`). Each score is divided by its own median on the
// train split (known to a deployed agent, no test labels), then the two are combined; the
// primary rule, fixed before the run, is the sum with PCA averaged over the same window the
// autoencoder sees (both fit in one ONNX graph: a second MatMul branch on the standardised
// window). The other rows are context, not candidates to pick from. About 2 minutes on 2 cores.
// Usage: npx tsx models/eval/sweep-ensemble.ts --data ../shared/datasets/smd
import { AutoencoderScorer } from '../autoencoder/scorer.ts';
import { PcaScorer } from './baselines/pca.ts';
import { bestF1, bestPaF1, quantile, trailingMean } from './metrics.ts';
import { listMachines, loadMachine } from './smd.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';

const scaled = (x: Float64Array, by: number) => x.map((v) => v / Math.max(by, 1e-12));
type Parts = { ae: Float64Array; pca: Float64Array; pcaW: Float64Array; aeTrain: Float64Array; pcaTrain: Float64Array; pcaWTrain: Float64Array };
const med = (x: Float64Array) => quantile(x, 0.5);
const RULES: Array<{ name: string; rule: (p: Parts) => Float64Array }> = [
  { name: 'autoencoder alone (the graph)', rule: (p) => p.ae },
  { name: 'PCA alone, per row', rule: (p) => p.pca },
  { name: 'PCA alone, mean over the window', rule: (p) => p.pcaW },
  {
    name: '**AE/median + PCA over the window/median (primary)**',
    rule: (p) => {
      const a = scaled(p.ae, med(p.aeTrain));
      const b = scaled(p.pcaW, med(p.pcaWTrain));
      return a.map((v, t) => v + b[t]!);
    },
  },
  {
    name: 'AE/median + PCA per row/median',
    rule: (p) => {
      const a = scaled(p.ae, med(p.aeTrain));
      const b = scaled(p.pca, med(p.pcaTrain));
      return a.map((v, t) => v + b[t]!);
    },
  },
  {
    name: 'max(AE/median, PCA over the window/median)',
    rule: (p) => {
      const a = scaled(p.ae, med(p.aeTrain));
      const b = scaled(p.pcaW, med(p.pcaWTrain));
      return a.map((v, t) => Math.max(v, b[t]!));
    },
  },
  {
    name: 'AE/q0.99 + PCA over the window/q0.99 (train quantile)',
    rule: (p) => {
      const a = scaled(p.ae, quantile(p.aeTrain, 0.99));
      const b = scaled(p.pcaW, quantile(p.pcaWTrain, 0.99));
      return a.map((v, t) => v + b[t]!);
    },
  },
];

const f1s = RULES.map(() => [] as number[]);
const pas = RULES.map(() => [] as number[]);
for (const name of listMachines(dataDir)) {
  process.stderr.write(`sweep-ensemble: ${name}\n`);
  const m = loadMachine(dataDir, name);
  const f = m.features;
  const ae = new AutoencoderScorer();
  await ae.fit(m.train, f);
  const pca = new PcaScorer();
  await pca.fit(m.train, f);
  const W = ae.model!.window;
  const [aeTrain, aeTest, pcaTrain, pcaTest] = await Promise.all([ae.score(m.train, f), ae.score(m.test, f), pca.score(m.train, f), pca.score(m.test, f)]);
  const parts: Parts = {
    ae: aeTest.scores,
    aeTrain: aeTrain.scores,
    pca: pcaTest.scores,
    pcaTrain: pcaTrain.scores,
    pcaW: trailingMean(pcaTest.scores, W),
    pcaWTrain: trailingMean(pcaTrain.scores, W),
  };
  RULES.forEach(({ rule }, k) => {
    const s = rule(parts);
    f1s[k]!.push(bestF1(s, m.labels).f1);
    pas[k]!.push(bestPaF1(s, m.labels).f1);
  });
}
const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
console.log(`| ensemble rule | mean best-F1 | mean PA-F1 | per machine best-F1 |
|---|---|---|---|
${RULES.map((r, k) => `| ${r.name} | ${mean(f1s[k]!)} | ${mean(pas[k]!)} | ${f1s[k]!.map((x) => x.toFixed(3)).join(' ')} |`).join('\n')}`);
