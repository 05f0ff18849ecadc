import * as ort from 'onnxruntime-node';
import { runModel, SESSION_OPTIONS } from '../../agent/detect/model-file.ts';
import { DEFAULT_TRAIN } from '../../agent/learn/trainer.ts';
import { windows } from '../../models/autoencoder/scorer.ts';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { bestF1, type Prf } from '../../models/eval/metrics.ts';
import type { SmdMachine } from '../../models/eval/smd.ts';
import { buildOnnx } from '../../models/onnx/builder.ts';

/** Windows per session run while scoring a test split. */
const BATCH = 4096;

/** A machine's own normalisation, as its agent computes it from its train split (participant.ts does the same). */
export function localNormalisation(m: SmdMachine): { mean: Float32Array; std: Float32Array } {
  const { mean, std } = meanStd(m.train, m.features, DEFAULT_TRAIN.stdFloor);
  return { mean: Float32Array.from(mean), std: Float32Array.from(std) };
}

/** Shared weights with one machine's normalisation: the model that machine's agent would run. */
export function withNormalisation(weights: AutoencoderModel, norm: { mean: Float32Array; std: Float32Array }): AutoencoderModel {
  return { ...weights, mean: norm.mean, std: norm.std };
}

/**
 * Point-wise best-F1 of a model on a machine's test split, scored by onnxruntime on the ONNX file
 * the model becomes (the path an agent runs). The window ending at row t scores row t; rows
 * before the first full window take its score (as models/autoencoder/scorer.ts does).
 */
export async function testF1(model: AutoencoderModel, m: SmdMachine): Promise<Prf> {
  const session = await ort.InferenceSession.create(buildOnnx(model, { version: 'fed-sim-eval' }), SESSION_OPTIONS);
  try {
    const f = m.features;
    const W = model.window;
    const x = windows(m.test, f, W);
    const nWin = x.length / (W * f);
    const perWindow = new Float32Array(nWin);
    for (let i = 0; i < nWin; i += BATCH) {
      const k = Math.min(BATCH, nWin - i);
      const r = await runModel(session, model, x.subarray(i * W * f, (i + k) * W * f), k);
      perWindow.set(r.score, i);
    }
    const n = m.test.length / f;
    const scores = new Float64Array(n);
    for (let t = 0; t < n; t++) scores[t] = perWindow[Math.max(0, t - W + 1)]!;
    return bestF1(scores, m.labels);
  } finally {
    await session.release();
  }
}
