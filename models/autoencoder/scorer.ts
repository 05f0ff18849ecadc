import { train, type TrainOptions } from '../../agent/learn/trainer.ts';
import type { ScoreResult, Scorer } from '../eval/scorer.ts';
import { forward, type AutoencoderModel } from './spec.ts';

/** All sliding windows of rows, flattened as the graph's input [N, W, F]. */
export function windows(rows: Float32Array, f: number, w: number): Float32Array {
  const n = rows.length / f - w + 1;
  if (n <= 0) return new Float32Array(0);
  const x = new Float32Array(n * w * f);
  for (let s = 0; s < n; s++) x.set(rows.subarray(s * f, (s + w) * f), s * w * f);
  return x;
}

/** The autoencoder for the evaluation harness: trains on the train split, scores every row. */
export class AutoencoderScorer implements Scorer {
  readonly name = 'autoencoder';
  model: AutoencoderModel | null = null;

  constructor(private readonly o: Partial<TrainOptions> = {}) {}

  async fit(rows: Float32Array, f: number, onProgress?: (msg: string) => void): Promise<void> {
    this.model = await train(rows, f, { ...this.o, onEpoch: (e) => onProgress?.(`epoch ${e.epoch} train ${e.train.toFixed(4)} val ${e.val.toFixed(4)}`) });
  }

  async score(rows: Float32Array, f: number): Promise<ScoreResult> {
    const m = this.model;
    if (!m) throw new Error('score() before fit()');
    const n = rows.length / f;
    const { score, contrib } = forward(m, windows(rows, f, m.window));
    // The window ending at row t scores row t; rows before the first full window take its score.
    const scores = new Float64Array(n);
    const contributions = new Float64Array(n * f);
    for (let t = 0; t < n; t++) {
      const k = Math.max(0, t - m.window + 1);
      scores[t] = score[k]!;
      contributions.set(contrib.subarray(k * f, (k + 1) * f), t * f);
    }
    return { scores, contributions };
  }
}
