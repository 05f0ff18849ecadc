/**
 * What the evaluation needs from any detector: fit on a machine's train rows, score its test
 * rows. The autoencoder and the baselines (PCA, z-score) all implement it, so the report puts
 * them side by side on the same splits in the same run.
 */
export interface ScoreResult {
  /** One score per input row (higher = more anomalous). Rows before a full window get the first full window's score. */
  scores: Float64Array;
  /** Row-major [rows][features] per-feature contribution, or null if the scorer cannot explain. */
  contributions: Float64Array | null;
}

export interface Scorer {
  readonly name: string;
  /** `rows` is row-major [n][features]. `onProgress` reports epochs/loss for long fits. */
  fit(rows: Float32Array, features: number, onProgress?: (msg: string) => void): Promise<void>;
  score(rows: Float32Array, features: number): Promise<ScoreResult>;
}
