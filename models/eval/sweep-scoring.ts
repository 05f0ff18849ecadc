// How to turn reconstruction errors into a score: each rule below applied to the same trained
// default model (DEFAULT_TRAIN) on every SMD machine, mean point-wise best-F1 as a Markdown
// table. The graph computes only the first rule; the others were measured here to decide
// whether the graph should change (docs/detection.md). About 1 minute of CPU.
// Usage: npx tsx models/eval/sweep-scoring.ts --data ../shared/datasets/smd
import { train } from '../../agent/learn/trainer.ts';
import { forwardBatch, fromModel } from '../../agent/learn/network.ts';
import type { AutoencoderModel } from '../autoencoder/spec.ts';
import { bestF1, bestPaF1, trailingMean } from './metrics.ts';
import { listMachines, loadMachine } from './smd.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';

/** Squared standardised error of every window, row and feature: [windows][W][F]. */
function errors(m: AutoencoderModel, rows: Float32Array): Float32Array {
  const { window: W, features: F } = m;
  const layers = fromModel(m);
  const n = rows.length / F - W + 1;
  const width = W * F;
  const e = new Float32Array(n * width);
  for (let s0 = 0; s0 < n; s0 += 512) {
    const b = Math.min(512, n - s0);
    const x = Float64Array.from({ length: b * width }, (_, j) => (rows[s0 * F + Math.floor(j / width) * F + (j % width)]! - m.mean[j % F]!) / m.std[j % F]!);
    const y = forwardBatch(layers, x, b).at(-1)!;
    for (let j = 0; j < b * width; j++) e[s0 * width + j] = (y[j]! - x[j]!) ** 2;
  }
  return e;
}

/** Per window: per-feature error weighted over rows by `rowWeight`, `perFeature` applied, mean over features. */
function score(e: Float32Array, W: number, F: number, rowWeight: (w: number) => number, perFeature: (err: number, f: number) => number): Float64Array {
  const n = e.length / (W * F);
  const total = Array.from({ length: W }, (_, w) => rowWeight(w)).reduce((a, b) => a + b, 0);
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    let acc = 0;
    for (let f = 0; f < F; f++) {
      let c = 0;
      for (let w = 0; w < W; w++) c += rowWeight(w) * e[(s * W + w) * F + f]!;
      acc += perFeature(c / total, f);
    }
    out[s] = acc / F;
  }
  return out;
}

/** Per-feature 1/(median or mean error on the held-back train tail), floored at a tenth of the median feature's. */
function errScale(e: Float32Array, W: number, F: number, from: number, stat: 'median' | 'mean'): Float64Array {
  const per = Array.from({ length: F }, (_, f) => {
    const xs: number[] = [];
    for (let s = from; s < e.length / (W * F); s++) for (let w = 0; w < W; w++) xs.push(e[(s * W + w) * F + f]!);
    xs.sort((a, b) => a - b);
    return stat === 'median' ? xs[Math.floor(xs.length / 2)]! : xs.reduce((a, b) => a + b, 0) / xs.length;
  });
  const mid = [...per].sort((a, b) => a - b)[Math.floor(F / 2)]!;
  return Float64Array.from(per, (v) => 1 / Math.max(v, 0.1 * mid, 1e-12));
}

/** Per feature, the largest window-mean error on the held-back train tail (the model never trained on it). */
function errMax(e: Float32Array, W: number, F: number, from: number): Float64Array {
  const out = new Float64Array(F);
  for (let s = from; s < e.length / (W * F); s++)
    for (let f = 0; f < F; f++) {
      let c = 0;
      for (let w = 0; w < W; w++) c += e[(s * W + w) * F + f]!;
      out[f] = Math.max(out[f]!, c / W);
    }
  return out;
}

const all = () => 1;
const plain = (c: number) => c;
const RULES: Array<{ name: string; rule: (e: Float32Array, W: number, F: number, trainE: Float32Array, valFrom: number) => Float64Array }> = [
  { name: 'mean over the window (the graph)', rule: (e, W, F) => score(e, W, F, all, plain) },
  { name: 'last row only', rule: (e, W, F) => score(e, W, F, (w) => (w === W - 1 ? 1 : 0), plain) },
  { name: 'rows weighted 1..W (recent more)', rule: (e, W, F) => score(e, W, F, (w) => w + 1, plain) },
  { name: 'last row, then mean of the last 10 scores', rule: (e, W, F) => trailingMean(score(e, W, F, (w) => (w === W - 1 ? 1 : 0), plain), 10) },
  { name: 'last row, then mean of the last 20 scores', rule: (e, W, F) => trailingMean(score(e, W, F, (w) => (w === W - 1 ? 1 : 0), plain), 20) },
  { name: 'mean over the window, then mean of the last 10 scores', rule: (e, W, F) => trailingMean(score(e, W, F, all, plain), 10) },
  { name: 'errScale = 1/median train-tail error', rule: (e, W, F, t, v) => { const k = errScale(t, W, F, v, 'median'); return score(e, W, F, all, (c, f) => c * k[f]!); } },
  { name: 'errScale = 1/mean train-tail error', rule: (e, W, F, t, v) => { const k = errScale(t, W, F, v, 'mean'); return score(e, W, F, all, (c, f) => c * k[f]!); } },
  { name: 'last row × errScale 1/median', rule: (e, W, F, t, v) => { const k = errScale(t, W, F, v, 'median'); return score(e, W, F, (w) => (w === W - 1 ? 1 : 0), (c, f) => c * k[f]!); } },
  { name: 'per feature log(1 + error)', rule: (e, W, F) => score(e, W, F, all, Math.log1p) },
  { name: 'per feature min(error, 100)', rule: (e, W, F) => score(e, W, F, all, (c) => Math.min(c, 100)) },
  { name: 'per feature min(error, its max on the train tail)', rule: (e, W, F, t, v) => { const k = errMax(t, W, F, v); return score(e, W, F, all, (c, f) => Math.min(c, k[f]!)); } },
];

const f1s = RULES.map(() => [] as number[]);
const pas = RULES.map(() => [] as number[]);
for (const name of listMachines(dataDir)) {
  process.stderr.write(`sweep-scoring: ${name}\n`);
  const m = loadMachine(dataDir, name);
  const model = await train(m.train, m.features);
  const W = model.window;
  const trainE = errors(model, m.train);
  const testE = errors(model, m.test);
  const valFrom = Math.floor((trainE.length / (W * m.features)) * 0.9);
  RULES.forEach(({ rule }, k) => {
    const s = rule(testE, W, m.features, trainE, valFrom);
    // The window ending at row t scores row t, as in models/autoencoder/scorer.ts.
    const rows = Float64Array.from(m.labels, (_, t) => s[Math.max(0, t - W + 1)]!);
    f1s[k]!.push(bestF1(rows, m.labels).f1);
    pas[k]!.push(bestPaF1(rows, m.labels).f1);
  });
}
const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
console.log(`| scoring rule | mean best-F1 | mean PA-F1 | per machine best-F1 |
|---|---|---|---|
${RULES.map((r, k) => `| ${r.name} | ${mean(f1s[k]!)} | ${mean(pas[k]!)} | ${f1s[k]!.map((x) => x.toFixed(3)).join(' ')} |`).join('\n')}`);
