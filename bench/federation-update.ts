// Federated update size and fidelity: the shipped base model's weights, and a real fine-tuning
// delta (base model fine-tuned for 3 epochs on the second half of its own host trace, seed 2),
// encoded with the HSU1 codec at f32/f16/i8. Baseline: JSON.stringify of the same float32 values
// as number arrays. Fidelity: relative L2 error of the decoded delta, and the change in anomaly
// score when the decoded delta is applied instead of the exact one.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_BASE_MODEL_PATH } from '../agent/detect/detector.ts';
import { train } from '../agent/learn/trainer.ts';
import { windows } from '../models/autoencoder/scorer.ts';
import { forward } from '../models/autoencoder/spec.ts';
import { applyDelta, flattenWeights, weightDelta } from '../models/autoencoder/weights.ts';
import { readAutoencoder } from '../models/onnx/reader.ts';
import { l2Norm, type NamedTensor } from '../shared/federation/tensor.ts';
import { decodeUpdate, encodeUpdate, QUANTIZATIONS, type Quantization } from '../shared/federation/update-codec.ts';
import { machineLine, median } from './machine.ts';

const TRACE = 'models/base/data/host-trace-v1.csv.gz';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const { model: base } = readAutoencoder(new Uint8Array(readFileSync(DEFAULT_BASE_MODEL_PATH)));
const lines = gunzipSync(readFileSync(TRACE)).toString('utf8').trim().split('\n').slice(1);
const f = base.features;
const rows = Float32Array.from(lines.flatMap((l) => l.split(',').slice(1).map(Number)));
const secondHalf = rows.subarray(Math.floor(lines.length / 2) * f);
const tuned = await train(secondHalf, f, { seed: 2, epochs: 3, patience: 100 }, base);
const delta = weightDelta(base, tuned);

const jsonBytes = (ts: NamedTensor[]) => Buffer.byteLength(JSON.stringify(ts.map((t) => Array.from(t.data))));
const encode = (q: Quantization, ts: NamedTensor[]) =>
  encodeUpdate({ roundId: 'bench-round', agentId: 'bench-agent', baseVersion: 1, numSamples: lines.length, quantization: q, clipNorm: null, noiseMultiplier: 0, tensors: ts });

function sizeRows(what: string, ts: NamedTensor[]): string[] {
  const json = jsonBytes(ts);
  return [
    `| ${what} | JSON number arrays (baseline) | ${json} B | 100% |`,
    ...QUANTIZATIONS.map((q) => {
      const n = encode(q, ts).length;
      return `| ${what} | HSU1 ${q} | ${n} B | ${((100 * n) / json).toFixed(1)}% |`;
    }),
  ];
}

/** Median µs of `fn` over ROUNDS rounds of `iters` calls. */
function time(iters: number, fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  const per: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1000 / iters);
  }
  return median(per);
}

const x = windows(rows, f, base.window);
const exactScores = forward(applyDelta(base, delta), x).score;
const deltaNorm = l2Norm(delta);
const fidelity = QUANTIZATIONS.map((q) => {
  const back = decodeUpdate(encode(q, delta)).tensors;
  const err = Math.sqrt(back.reduce((s, t, k) => s + t.data.reduce((a, v, i) => a + (v - delta[k]!.data[i]!) ** 2, 0), 0));
  const scores = forward(applyDelta(base, back), x).score;
  let worst = 0;
  scores.forEach((s, i) => (worst = Math.max(worst, Math.abs(s - exactScores[i]!) / exactScores[i]!)));
  const bytes = encode(q, delta);
  const codec = time(200, () => decodeUpdate(encode(q, delta)));
  return `| ${q} | ${bytes.length} B | ${(err / deltaNorm).toExponential(2)} | ${(100 * worst).toFixed(4)}% | ${codec.toFixed(0)} µs |`;
});
const jsonCodec = time(200, () => JSON.parse(JSON.stringify(delta.map((t) => Array.from(t.data)))));
const params = delta.reduce((s, t) => s + t.data.length, 0);

console.log(`## Federated update size (HSU1 codec)

${machineLine()}

${params} shared parameters (4 dense layers; mean/std/errScale stay local). The real delta: the base model fine-tuned for 3 epochs on the second half of its own trace; its L2 norm is ${deltaNorm.toFixed(4)}.

| tensors | encoding | bytes | vs JSON |
|---|---|---|---|
${[...sizeRows('base model weights', flattenWeights(base)), ...sizeRows('real fine-tuning delta', delta)].join('\n')}

| delta encoding | bytes | relative L2 error of the delta | worst change in anomaly score over ${exactScores.length} windows | encode + decode |
|---|---|---|---|---|
${fidelity.join('\n')}

Baseline for the codec time: JSON.stringify + JSON.parse of the same delta, ${jsonCodec.toFixed(0)} µs.
`);
