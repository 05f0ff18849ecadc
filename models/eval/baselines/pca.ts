import type { ScoreResult, Scorer } from '../scorer.ts';
import { meanStd } from '../../autoencoder/standardize.ts';

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations; returns values descending with their vectors (rows). */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y]! - m[x * n + x]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    for (let k = 0; k < n; k++) vectors[r * n + k] = v[k * n + col]!;
  });
  return { values, vectors };
}

/**
 * PCA reconstruction error: standardise with train statistics, keep the principal components
 * that explain `varianceKept` of the train variance, score = squared error of the projection
 * back, per feature (contributions) and summed (score).
 */
export class PcaScorer implements Scorer {
  readonly name = 'pca';
  private mean: Float64Array = new Float64Array(0);
  private std: Float64Array = new Float64Array(0);
  private comps: Float64Array = new Float64Array(0);
  private k = 0;

  constructor(private readonly varianceKept = 0.95) {}

  async fit(rows: Float32Array, f: number): Promise<void> {
    ({ mean: this.mean, std: this.std } = meanStd(rows, f));
    const n = rows.length / f;
    const cov = new Float64Array(f * f);
    const z = new Float64Array(f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) z[j] = (rows[i * f + j]! - this.mean[j]!) / this.std[j]!;
      for (let a = 0; a < f; a++) for (let b = a; b < f; b++) cov[a * f + b]! += z[a]! * z[b]!;
    }
    for (let a = 0; a < f; a++)
      for (let b = a; b < f; b++) {
        cov[a * f + b]! /= Math.max(1, n - 1);
        cov[b * f + a] = cov[a * f + b]!;
      }
    const { values, vectors } = symmetricEigen(cov, f);
    const total = values.reduce((s, x) => s + Math.max(0, x), 0);
    let acc = 0;
    this.k = 0;
    while (this.k < f && acc < this.varianceKept * total) acc += Math.max(0, values[this.k++]!);
    this.comps = vectors.slice(0, this.k * f);
  }

  async score(rows: Float32Array, f: number): Promise<ScoreResult> {
    const n = rows.length / f;
    const scores = new Float64Array(n);
    const contributions = new Float64Array(n * f);
    const z = new Float64Array(f);
    const proj = new Float64Array(this.k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) z[j] = (rows[i * f + j]! - this.mean[j]!) / this.std[j]!;
      for (let c = 0; c < this.k; c++) {
        let s = 0;
        for (let j = 0; j < f; j++) s += this.comps[c * f + j]! * z[j]!;
        proj[c] = s;
      }
      let total = 0;
      for (let j = 0; j < f; j++) {
        let r = 0;
        for (let c = 0; c < this.k; c++) r += proj[c]! * this.comps[c * f + j]!;
        const e = (z[j]! - r) ** 2;
        contributions[i * f + j] = e;
        total += e;
      }
      scores[i] = total;
    }
    return { scores, contributions };
  }

  get components(): number {
    return this.k;
  }
}
