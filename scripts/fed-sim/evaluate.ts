import * as ort from 'onnxruntime-node';
import { runModel, SESSION_OPTIONS } from '../../agent/detect/model-file.ts';
import { DEFAULT_TRAIN } from '../../agent/learn/trainer.ts';
import { windows } from '../../models/autoencoder/scorer.ts';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { bestF1 } from '../../models/eval/metrics.ts';
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

/** How one model does on one machine's test split. */
export interface MachineFigures {
  /** Point-wise best-F1. */
  f1: number;
  /**
   * Median score of the windows whose rows are all labelled normal: how well the model
   * reconstructs this machine's normal behaviour. Unlike best-F1, it moves with every change in
   * the weights, so it shows learning and damage that the F1 of a threshold hides.
   */
  normalError: number;
}

/**
 * A model on a machine's test split, scored by onnxruntime on the ONNX file the model becomes
 * (the path an agent runs). The window ending at row t scores row t; rows before the first full
 * window take its score (as models/autoencoder/scorer.ts does).
 */
export async function testFigures(model: AutoencoderModel, m: SmdMachine): Promise<MachineFigures> {
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
    const normal: number[] = [];
    let anomalousInWindow = 0;
    for (let t = 0; t < n; t++) {
      anomalousInWindow += m.labels[t]! - (t >= W ? m.labels[t - W]! : 0);
      if (t >= W - 1 && anomalousInWindow === 0) normal.push(perWindow[t - W + 1]!);
    }
    normal.sort((a, b) => a - b);
    return { f1: bestF1(scores, m.labels).f1, normalError: normal[Math.floor(normal.length / 2)] ?? NaN };
  } finally {
    await session.release();
  }
}
