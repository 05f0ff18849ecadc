import type { Activation, AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { backward, forwardBatch, fromModel, toModel, zeroGrads, type Layer } from './network.ts';
import { gaussian, mulberry32, shuffle } from './rng.ts';

export interface TrainOptions {
  window: number;
  /** Encoder widths, bottleneck last; the decoder mirrors them. */
  hidden: number[];
  activation: Activation;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Share of windows, taken from the end, held back for early stopping. */
  valFraction: number;
  patience: number;
  /** Smallest std a feature is standardised by: a feature flat in training must not turn noise into huge z. */
  stdFloor: number;
  /** Windows drawn per epoch (all when larger than the set): bounds epoch time on long histories. */
  windowsPerEpoch: number;
  /**
   * Std of Gaussian noise added to the standardised input while training, the target staying
   * clean (a denoising autoencoder; 0 = plain). Noise keeps the net from learning to copy each
   * input through, so it must lean on the relations between features and rows.
   */
  inputNoise: number;
  featureNames?: string[];
  onEpoch?: (e: { epoch: number; train: number; val: number }) => void;
  /** Yield to the event loop every this many ms, so training never delays the sampling tick. */
  yieldEveryMs?: number;
  /** What a yield awaits (default: one turn of the event loop); a caller bounding CPU rests here. */
  pause?: () => Promise<void>;
}

/**
 * Chosen on the seven SMD development machines with `homeostat eval` (docs/detection.md has the
 * runs): a 10-row window, a narrow 16→4 bottleneck, tanh. Wider layers and a 5-row window scored
 * lower; relu and longer training did not help. Input noise of one std raised mean best-F1 from
 * 0.540 to 0.547 (three seeds each): too small to pay for a new base model, and a base model
 * trained with it, fine-tuned on a new host, flagged 5.7 % of held-out normal windows against
 * 0 % before (test/agent/learn/local-tuning.test.ts), so it stays off.
 */
export const DEFAULT_TRAIN: TrainOptions = {
  window: 10,
  hidden: [16, 4],
  activation: 'tanh',
  epochs: 30,
  batchSize: 64,
  learningRate: 2e-3,
  seed: 1,
  valFraction: 0.1,
  patience: 4,
  windowsPerEpoch: 8000,
  stdFloor: 0.01,
  inputNoise: 0,
};

function initLayers(sizes: number[], activation: Activation, rand: () => number): Layer[] {
  const g = gaussian(rand);
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const inSize = sizes[i]!;
    const outSize = sizes[i + 1]!;
    const last = i + 2 === sizes.length;
    // Xavier/Glorot for tanh and linear layers, He for relu.
    const a: Activation = last ? 'linear' : activation;
    const scale = a === 'relu' ? Math.sqrt(2 / inSize) : Math.sqrt(2 / (inSize + outSize));
    layers.push({ inSize, outSize, activation: a, w: Float64Array.from({ length: inSize * outSize }, () => g() * scale), b: new Float64Array(outSize) });
  }
  return layers;
}

/** Standardised rows, float64, row-major. */
function standardise(rows: Float32Array, f: number, mean: ArrayLike<number>, std: ArrayLike<number>): Float64Array {
  const z = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) z[i] = (rows[i]! - mean[i % f]!) / std[i % f]!;
  return z;
}

class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(
    private readonly params: Float64Array[],
    private readonly lr: number,
    private readonly b1 = 0.9,
    private readonly b2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(grads: Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    this.params.forEach((p, k) => {
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        m[i] = this.b1 * m[i]! + (1 - this.b1) * g[i]!;
        v[i] = this.b2 * v[i]! + (1 - this.b2) * g[i]! * g[i]!;
        p[i]! -= (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
    });
  }
}

/** Mean reconstruction loss of `layers` over the windows starting at `starts`. */
function evalLoss(layers: Layer[], z: Float64Array, starts: Uint32Array, width: number, batch: number): number {
  let total = 0;
  for (let s = 0; s < starts.length; s += batch) {
    const b = Math.min(batch, starts.length - s);
    const x = new Float64Array(b * width);
    for (let k = 0; k < b; k++) x.set(z.subarray(starts[s + k]!, starts[s + k]! + width), k * width);
    const outs = forwardBatch(layers, x, b);
    const y = outs[outs.length - 1]!;
    for (let i = 0; i < y.length; i++) total += (y[i]! - x[i]!) ** 2;
  }
  return total / Math.max(1, starts.length * width);
}

/**
 * Trains (or, given `from`, fine-tunes) the autoencoder on row-major rows [n][f]: mini-batch Adam
 * on the mean squared error of reconstructing each clean window from its copy (noisy when inputNoise > 0),
 * early stopping on the held-back tail, seeded. The best weights by validation loss are
 * returned; `from` is never modified.
 */
export async function train(rows: Float32Array, f: number, options: Partial<TrainOptions> = {}, from?: AutoencoderModel): Promise<AutoencoderModel> {
  const o = { ...DEFAULT_TRAIN, ...options };
  const W = from?.window ?? o.window;
  const n = rows.length / f;
  if (n < W + 2) throw new Error(`training needs at least ${W + 2} rows, got ${n}`);
  const width = W * f;
  const rand = mulberry32(o.seed);
  const { mean, std } = from ? { mean: from.mean, std: from.std } : meanStd(rows, f, o.stdFloor);
  const z = standardise(rows, f, mean, std);
  const layers = from ? fromModel(from) : initLayers([width, ...o.hidden, ...o.hidden.slice(0, -1).reverse(), width], o.activation, rand);
  const all = Uint32Array.from({ length: n - W + 1 }, (_, i) => i * f);
  const nVal = Math.max(1, Math.floor(all.length * o.valFraction));
  const trainStarts = all.slice(0, all.length - nVal);
  const valStarts = all.slice(all.length - nVal);
  const adam = new Adam(layers.flatMap((l) => [l.w, l.b]), o.learningRate);
  // Created only when used, so a plain run draws the same random sequence as before noise existed.
  const noise = o.inputNoise > 0 ? gaussian(rand) : null;
  let best = { val: Infinity, layers: layers.map((l) => ({ ...l, w: l.w.slice(), b: l.b.slice() })) };
  let stale = 0;
  let lastYield = performance.now();
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    shuffle(trainStarts, rand);
    const take = Math.min(trainStarts.length, o.windowsPerEpoch);
    let sum = 0;
    for (let s = 0; s < take; s += o.batchSize) {
      const b = Math.min(o.batchSize, take - s);
      const x = new Float64Array(b * width);
      for (let k = 0; k < b; k++) x.set(z.subarray(trainStarts[s + k]!, trainStarts[s + k]! + width), k * width);
      const input = noise ? x.map((v) => v + o.inputNoise * noise()) : x;
      const g = zeroGrads(layers);
      const outs = forwardBatch(layers, input, b);
      sum += backward(layers, outs, x, b, g) * b;
      adam.step(layers.flatMap((_, k) => [g.w[k]!, g.b[k]!]));
      if (o.yieldEveryMs !== undefined && performance.now() - lastYield > o.yieldEveryMs) {
        await (o.pause ? o.pause() : new Promise((r) => setImmediate(r)));
        lastYield = performance.now();
      }
    }
    const val = evalLoss(layers, z, valStarts, width, 256);
    o.onEpoch?.({ epoch, train: sum / take, val });
    if (val < best.val - 1e-6) {
      best = { val, layers: layers.map((l) => ({ ...l, w: l.w.slice(), b: l.b.slice() })) };
      stale = 0;
    } else if (++stale >= o.patience) break;
  }
  return toModel(best.layers, {
    window: W,
    features: f,
    featureNames: from?.featureNames ?? o.featureNames ?? Array.from({ length: f }, (_, i) => `f${i + 1}`),
    mean: Float32Array.from(mean),
    std: Float32Array.from(std),
    errScale: from?.errScale.slice() ?? new Float32Array(f).fill(1),
  });
}
