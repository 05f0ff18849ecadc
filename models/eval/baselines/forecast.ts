import type { ScoreResult, Scorer } from '../scorer.ts';
import { DEFAULT_TRAIN } from '../../../agent/learn/trainer.ts';
import { meanStd } from '../../autoencoder/standardize.ts';

/** The autoencoder's std floor, so the forecaster (and the sweeps) see the same inputs as the autoencoder. */
export const STD_FLOOR = DEFAULT_TRAIN.stdFloor;

export function standardise(rows: Float32Array, f: number, mean: Float64Array, std: Float64Array): Float64Array {
  return Float64Array.from(rows, (v, k) => (v - mean[k % f]!) / std[k % f]!);
}

/** X'X (upper triangle filled, then mirrored) and X'Y for inputs [z_{t-h-L+1..t-h}, 1] and targets z_t. */
function normalEquations(z: Float64Array, f: number, lags: number, horizon: number): { xtx: Float64Array; xty: Float64Array; d: number } {
  const n = z.length / f;
  const d = lags * f + 1;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d * f);
  const x = new Float64Array(d);
  x[d - 1] = 1;
  for (let t = lags + horizon - 1; t < n; t++) {
    x.set(z.subarray((t - horizon - lags + 1) * f, (t - horizon + 1) * f));
    const y = z.subarray(t * f, (t + 1) * f);
    for (let a = 0; a < d; a++) {
      const xa = x[a]!;
      if (xa === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) xtx[row + b]! += xa * x[b]!;
      const ry = a * f;
      for (let j = 0; j < f; j++) xty[ry + j]! += xa * y[j]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) xtx[b * d + a] = xtx[a * d + b]!;
  return { xtx, xty, d };
}

/** Solves (A) W = B for symmetric positive definite A (d×d) and B (d×k) by Cholesky, in place on copies. */
function choleskySolve(a: Float64Array, d: number, b: Float64Array, k: number): Float64Array {
  const l = Float64Array.from(a);
  for (let j = 0; j < d; j++) {
    let s = l[j * d + j]!;
    for (let p = 0; p < j; p++) s -= l[j * d + p]! ** 2;
    if (s <= 0) throw new Error(`Cholesky: matrix not positive definite at column ${j} (pivot ${s}); raise lambda`);
    const ljj = Math.sqrt(s);
    l[j * d + j] = ljj;
    for (let r = j + 1; r < d; r++) {
      let v = l[r * d + j]!;
      for (let p = 0; p < j; p++) v -= l[r * d + p]! * l[j * d + p]!;
      l[r * d + j] = v / ljj;
    }
  }
  const w = Float64Array.from(b);
  // Forward: L y = b.
  for (let r = 0; r < d; r++) {
    for (let p = 0; p < r; p++) {
      const lrp = l[r * d + p]!;
      if (lrp !== 0) for (let c = 0; c < k; c++) w[r * k + c]! -= lrp * w[p * k + c]!;
    }
    const lrr = l[r * d + r]!;
    for (let c = 0; c < k; c++) w[r * k + c]! /= lrr;
  }
  // Backward: L' x = y.
  for (let r = d - 1; r >= 0; r--) {
    for (let p = r + 1; p < d; p++) {
      const lpr = l[p * d + r]!;
      if (lpr !== 0) for (let c = 0; c < k; c++) w[r * k + c]! -= lpr * w[p * k + c]!;
    }
    const lrr = l[r * d + r]!;
    for (let c = 0; c < k; c++) w[r * k + c]! /= lrr;
  }
  return w;
}

/** The L = 30 Gram matrix costs ~10 s a machine: computed once per (train rows, L, h) and shared by every λ. */
const gramCache = new WeakMap<Float32Array, Map<string, ReturnType<typeof normalEquations>>>();

/**
 * Ridge forecaster of row t from the L rows ending h rows before it, t-h-L+1..t-h (h = 1: the
 * rows just before; plus an unpenalised intercept), every row standardised with the train split's
 * mean and std, solved in closed form. Score of row t = mean over features of the squared
 * standardised forecast error; contributions = that error per feature.
 */
export class ForecastScorer implements Scorer {
  readonly name: string;
  private mean: Float64Array = new Float64Array(0);
  private std: Float64Array = new Float64Array(0);
  private w: Float64Array = new Float64Array(0);

  constructor(
    private readonly lags: number,
    private readonly lambda: number,
    private readonly horizon = 1,
  ) {
    this.name = `forecast L=${lags} λ=${lambda}${horizon === 1 ? '' : ` h=${horizon}`}`;
  }

  async fit(rows: Float32Array, f: number): Promise<void> {
    ({ mean: this.mean, std: this.std } = meanStd(rows, f, STD_FLOOR));
    const byLag = gramCache.get(rows) ?? new Map();
    gramCache.set(rows, byLag);
    const key = `${this.lags}/${this.horizon}`;
    let ne = byLag.get(key);
    if (!ne) {
      ne = normalEquations(standardise(rows, f, this.mean, this.std), f, this.lags, this.horizon);
      byLag.set(key, ne);
    }
    const { xtx, xty, d } = ne;
    const a = Float64Array.from(xtx);
    for (let k = 0; k < d - 1; k++) a[k * d + k]! += this.lambda; // the intercept (last) is not penalised
    this.w = choleskySolve(a, d, xty, f);
  }

  async score(rows: Float32Array, f: number): Promise<ScoreResult> {
    const z = standardise(rows, f, this.mean, this.std);
    const n = rows.length / f;
    const L = this.lags;
    const h = this.horizon;
    const first = L + h - 1;
    const d = L * f + 1;
    const scores = new Float64Array(n);
    const contributions = new Float64Array(n * f);
    const pred = new Float64Array(f);
    for (let t = first; t < n; t++) {
      pred.set(this.w.subarray((d - 1) * f, d * f));
      const x = z.subarray((t - h - L + 1) * f, (t - h + 1) * f);
      for (let a = 0; a < d - 1; a++) {
        const xa = x[a]!;
        const wa = a * f;
        for (let j = 0; j < f; j++) pred[j]! += xa * this.w[wa + j]!;
      }
      let total = 0;
      for (let j = 0; j < f; j++) {
        const e = (z[t * f + j]! - pred[j]!) ** 2;
        contributions[t * f + j] = e;
        total += e;
      }
      scores[t] = total / f;
    }
    // Rows before a full history get the first full one's score (the Scorer contract).
    const from = Math.min(first, n - 1);
    for (let t = 0; t < Math.min(first, n); t++) {
      scores[t] = scores[from]!;
      contributions.set(contributions.subarray(from * f, (from + 1) * f), t * f);
    }
    return { scores, contributions };
  }
}
