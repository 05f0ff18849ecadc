/**
 * The anomaly model's architecture: the one contract shared by the TypeScript trainer
 * (agent/learn/), the ONNX graph builder (models/onnx/) and the evaluation (models/eval/).
 *
 * Graph, for a batch of N windows of W consecutive feature vectors of width F:
 *   x       float32 [N, W, F]   raw features, as the sampler produced them
 *   z       = (x - mean) / std  per feature; mean/std are initializers, so the file alone scores raw data
 *   h       = dense layers over z flattened to [N, W*F]; the last layer outputs W*F values
 *   err     = (h - z)^2 * errScale   errScale[F] weights each feature's error (1 = plain MSE)
 *   contrib = mean over W of err     float32 [N, F]  why: per-feature share of the score
 *   score   = mean over F of contrib float32 [N]     what: the anomaly score
 */
export type Activation = 'relu' | 'tanh' | 'linear';

export interface DenseLayer {
  inSize: number;
  outSize: number;
  activation: Activation;
  /** Row-major [outSize][inSize]: y[o] = sum_i weight[o*inSize + i] * x[i] + bias[o]. */
  weight: Float32Array;
  bias: Float32Array;
}

export interface AutoencoderModel {
  window: number;
  features: number;
  /** Names of the F features, in input order (documented feature vector, or dataset columns). */
  featureNames: string[];
  mean: Float32Array;
  std: Float32Array;
  errScale: Float32Array;
  layers: DenseLayer[];
}

export interface ForwardResult {
  score: Float32Array;
  contrib: Float32Array;
}

/** Checks the shapes agree; throws a message naming the first mismatch. */
export function validateModel(m: AutoencoderModel): void {
  const width = m.window * m.features;
  const fail = (what: string): never => {
    throw new Error(`invalid autoencoder model: ${what}`);
  };
  if (!(m.window >= 1 && m.features >= 1)) fail(`window ${m.window} and features ${m.features} must be >= 1`);
  if (m.featureNames.length !== m.features) fail(`featureNames has ${m.featureNames.length} names, expected ${m.features}`);
  for (const [k, v] of [['mean', m.mean], ['std', m.std], ['errScale', m.errScale]] as const) {
    if (v.length !== m.features) fail(`${k} has length ${v.length}, expected ${m.features}`);
  }
  if (m.layers.length === 0) fail('no layers');
  let size = width;
  m.layers.forEach((l, i) => {
    if (l.inSize !== size) fail(`layer ${i} inSize ${l.inSize}, expected ${size}`);
    if (l.weight.length !== l.inSize * l.outSize) fail(`layer ${i} weight length ${l.weight.length}, expected ${l.inSize * l.outSize}`);
    if (l.bias.length !== l.outSize) fail(`layer ${i} bias length ${l.bias.length}, expected ${l.outSize}`);
    size = l.outSize;
  });
  if (size !== width) fail(`last layer outputs ${size}, expected window*features = ${width}`);
}

function activate(a: Activation, v: number): number {
  if (a === 'relu') return v > 0 ? v : 0;
  if (a === 'tanh') return Math.tanh(v);
  return v;
}

/** Reference forward pass (float64 accumulation, float32 storage). `x` is N*W*F raw values. */
export function forward(m: AutoencoderModel, x: Float32Array): ForwardResult {
  const F = m.features;
  const width = m.window * F;
  if (x.length % width !== 0) throw new Error(`input length ${x.length} is not a multiple of window*features = ${width}`);
  const n = x.length / width;
  const score = new Float32Array(n);
  const contrib = new Float32Array(n * F);
  const z = new Float32Array(width);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < width; j++) {
      const f = j % F;
      z[j] = (x[s * width + j]! - m.mean[f]!) / m.std[f]!;
    }
    let cur: Float32Array = z;
    for (const l of m.layers) {
      const next = new Float32Array(l.outSize);
      for (let o = 0; o < l.outSize; o++) {
        let acc = l.bias[o]!;
        const row = o * l.inSize;
        for (let i = 0; i < l.inSize; i++) acc += l.weight[row + i]! * cur[i]!;
        next[o] = activate(l.activation, acc);
      }
      cur = next;
    }
    let total = 0;
    for (let f = 0; f < F; f++) {
      let e = 0;
      for (let w = 0; w < m.window; w++) {
        const d = cur[w * F + f]! - z[w * F + f]!;
        e += d * d;
      }
      const c = (e / m.window) * m.errScale[f]!;
      contrib[s * F + f] = c;
      total += c;
    }
    score[s] = total / F;
  }
  return { score, contrib };
}
