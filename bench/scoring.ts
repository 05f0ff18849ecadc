// Scoring latency per window through onnxruntime-node (what the agent runs, 1 thread) next to
// the TypeScript reference forward pass of the same weights, single windows and batches of 64.
// Uses the shipped base model (models/base/homeostat-base-v1.onnx).
// BENCH_ROUNDS sets the timed rounds (default 7; the median is reported).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DEFAULT_BASE_MODEL_PATH } from '../agent/detect/detector.ts';
import { runModel, SESSION_OPTIONS } from '../agent/detect/model-file.ts';
import { forward } from '../models/autoencoder/spec.ts';
import { readAutoencoder } from '../models/onnx/reader.ts';
import { randomInput } from '../test/models/onnx/fixtures/random-model.ts';
import { machineLine, median } from './machine.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);

const bytes = new Uint8Array(readFileSync(DEFAULT_BASE_MODEL_PATH));
const { model, meta } = readAutoencoder(bytes);
const what = `shipped base model ${meta.version}`;
const arch = [model.window * model.features, ...model.layers.map((l) => `${l.outSize}${l.activation === 'linear' ? '' : ` ${l.activation}`}`)].join(' → ');
const params = model.layers.reduce((s, l) => s + l.weight.length + l.bias.length, 0);

const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
const x1 = randomInput(2, model, 1);
const x64 = randomInput(3, model, 64);

/** Median microseconds per call of `fn` over `rounds` rounds of `iters` calls each. */
async function time(iters: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(iters, 200); i++) await fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1000 / iters);
  }
  return median(per);
}

const ortSingle = await time(2000, () => runModel(session, model, x1, 1));
const tsSingle = await time(2000, () => forward(model, x1));
const ortBatch = await time(200, () => runModel(session, model, x64, 64));
const tsBatch = await time(200, () => forward(model, x64));
await session.release();

const f = (n: number) => n.toFixed(1);
console.log(`## Scoring latency per window (ORT 1 thread vs TypeScript forward, same weights)

${machineLine()}

Model: ${what}; window ${model.window} × ${model.features} features; ${arch}; ${params} parameters. Median of ${rounds} rounds.

| path | single window: µs | batch of 64: µs per batch | batch of 64: µs per window |
|---|---|---|---|
| baseline: TypeScript forward (models/autoencoder/spec.ts) | ${f(tsSingle)} | ${f(tsBatch)} | ${f(tsBatch / 64)} |
| onnxruntime-node session.run (agent/detect) | ${f(ortSingle)} | ${f(ortBatch)} | ${f(ortBatch / 64)} |
| ratio ORT / TypeScript | ${(ortSingle / tsSingle).toFixed(2)}× | ${(ortBatch / tsBatch).toFixed(2)}× | |

Batching 64 windows into one ORT run costs ${f(ortBatch / 64)} µs per window against ${f(ortSingle)} µs for one window alone (${(ortSingle / (ortBatch / 64)).toFixed(1)}× cheaper per window when catching up).
`);
