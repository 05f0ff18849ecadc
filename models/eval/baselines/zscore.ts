import type { ScoreResult, Scorer } from '../scorer.ts';
import { meanStd } from '../../autoencoder/standardize.ts';

/** Per-feature z-score against train statistics: score = the largest |z| of the row; contributions = |z|. */
export class ZScoreScorer implements Scorer {
  readonly name = 'zscore';
  private mean: Float64Array = new Float64Array(0);
  private std: Float64Array = new Float64Array(0);

  async fit(rows: Float32Array, f: number): Promise<void> {
    ({ mean: this.mean, std: this.std } = meanStd(rows, f));
  }

  async score(rows: Float32Array, f: number): Promise<ScoreResult> {
    const n = rows.length / f;
    const scores = new Float64Array(n);
    const contributions = new Float64Array(n * f);
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let j = 0; j < f; j++) {
        const z = Math.abs((rows[i * f + j]! - this.mean[j]!) / this.std[j]!);
        contributions[i * f + j] = z;
        if (z > m) m = z;
      }
      scores[i] = m;
    }
    return { scores, contributions };
  }
}
