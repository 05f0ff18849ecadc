import { join } from 'node:path';
import { forward, type AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { windows } from '../../models/autoencoder/scorer.ts';
import { quantile } from '../detect/threshold.ts';
import { writeFileAtomic } from '../../shared/store/atomic-file.ts';

/**
 * The acceptance test's measure: how many windows of a node's own held-out normal data a model
 * would flag at a threshold calibrated the same way for every model (a high quantile of its own
 * scores on the calibration part). Local retraining (local-tuning.ts) uses the same measure.
 */

/** Quantile of calibration scores a model's threshold is set at. */
export const CALIBRATION_QUANTILE = 0.995;
/** Share of the samples, the most recent, held back to measure false positives. */
export const HOLDOUT_SHARE = 0.2;
/** Windows scored per slice before `pause()`. */
const SCORE_SLICE = 512;

/**
 * Scores every window of `rows` with the reference forward pass, in slices with a pause between.
 * Windows are built a slice at a time: all at once they are W times the rows (~40 MB for a day).
 */
export async function scoreWindows(m: AutoencoderModel, rows: Float32Array, pause: () => Promise<void>): Promise<Float32Array> {
  const f = m.features;
  const W = m.window;
  const n = Math.max(0, rows.length / f - W + 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += SCORE_SLICE) {
    const k = Math.min(SCORE_SLICE, n - i);
    out.set(forward(m, windows(rows.subarray(i * f, (i + k + W - 1) * f), f, W)).score, i);
    await pause();
  }
  return out;
}


/** Rows split into the calibration part and the held-out tail (which starts W−1 rows early, so its first window is whole). */
export function splitHoldout(rows: Float32Array, f: number, window: number): { calibration: Float32Array; holdout: Float32Array } {
  const n = rows.length / f;
  const cut = Math.floor(n * (1 - HOLDOUT_SHARE));
  return { calibration: rows.subarray(0, cut * f), holdout: rows.subarray(Math.max(0, cut - window + 1) * f) };
}

/** Share of held-out windows scored above the model's own calibration quantile. */
export async function falsePositiveRate(m: AutoencoderModel, calibration: Float32Array, holdout: Float32Array, pause: () => Promise<void>): Promise<number> {
  // The same interpolated quantile the detector's threshold uses.
  const threshold = quantile(Float64Array.from(await scoreWindows(m, calibration, pause)).sort(), CALIBRATION_QUANTILE);
  const s = await scoreWindows(m, holdout, pause);
  let over = 0;
  for (const v of s) if (v > threshold) over++;
  return over / Math.max(1, s.length);
}

/**
 * Saves the model now in service as `<dir>/current.onnx` (the detector's learned model path),
 * atomically: a crash leaves the previous file or the new one, never half of one. Returns the
 * error message when it could not be saved (the model stays in service; a restart falls back).
 */
export function saveModelInService(dir: string, bytes: Uint8Array): string | null {
  try {
    writeFileAtomic(join(dir, 'current.onnx'), bytes);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
