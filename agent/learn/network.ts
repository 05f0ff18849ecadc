import type { Activation, AutoencoderModel } from '../../models/autoencoder/spec.ts';

/**
 * The trainable part of the autoencoder (the dense stack) in float64, with an exact backward
 * pass. Exported weights are rounded to float32 once, at the end, into an AutoencoderModel.
 */
export interface Layer {
  inSize: number;
  outSize: number;
  activation: Activation;
  w: Float64Array; // [out][in]
  b: Float64Array;
}

export interface Grads {
  w: Float64Array[];
  b: Float64Array[];
}

function act(a: Activation, v: number): number {
  return a === 'relu' ? (v > 0 ? v : 0) : a === 'tanh' ? Math.tanh(v) : v;
}

/** Derivative of the activation, from its output y (valid for relu, tanh and linear). */
function dact(a: Activation, y: number): number {
  return a === 'relu' ? (y > 0 ? 1 : 0) : a === 'tanh' ? 1 - y * y : 1;
}

export function zeroGrads(layers: Layer[]): Grads {
  return { w: layers.map((l) => new Float64Array(l.w.length)), b: layers.map((l) => new Float64Array(l.b.length)) };
}

/**
 * Forward a batch (row-major [B][D]) and return every layer's output, input first. The loss is
 * the mean squared reconstruction error over the batch and all D outputs, which is exactly the
 * mean `score` of spec.ts with errScale = 1.
 */
export function forwardBatch(layers: Layer[], x: Float64Array, batch: number): Float64Array[] {
  const outs: Float64Array[] = [x];
  let cur = x;
  for (const l of layers) {
    const y = new Float64Array(batch * l.outSize);
    for (let s = 0; s < batch; s++) {
      const xi = s * l.inSize;
      const yo = s * l.outSize;
      for (let o = 0; o < l.outSize; o++) {
        let acc = l.b[o]!;
        const row = o * l.inSize;
        for (let i = 0; i < l.inSize; i++) acc += l.w[row + i]! * cur[xi + i]!;
        y[yo + o] = act(l.activation, acc);
      }
    }
    outs.push(y);
    cur = y;
  }
  return outs;
}

export function loss(recon: Float64Array, target: Float64Array): number {
  let s = 0;
  for (let i = 0; i < recon.length; i++) s += (recon[i]! - target[i]!) ** 2;
  return s / recon.length;
}

/** Adds the gradient of `loss(forward(x), x)` to `g`; returns the loss. */
export function backward(layers: Layer[], outs: Float64Array[], target: Float64Array, batch: number, g: Grads): number {
  const last = outs[outs.length - 1]!;
  const n = last.length;
  let delta = new Float64Array(n);
  let total = 0;
  const L = layers.length;
  for (let i = 0; i < n; i++) {
    const d = last[i]! - target[i]!;
    total += d * d;
    delta[i] = ((2 * d) / n) * dact(layers[L - 1]!.activation, last[i]!);
  }
  for (let k = L - 1; k >= 0; k--) {
    const l = layers[k]!;
    const input = outs[k]!;
    const gw = g.w[k]!;
    const gb = g.b[k]!;
    const prev = k > 0 ? new Float64Array(batch * l.inSize) : null;
    for (let s = 0; s < batch; s++) {
      const xi = s * l.inSize;
      const yo = s * l.outSize;
      for (let o = 0; o < l.outSize; o++) {
        const d = delta[yo + o]!;
        if (d === 0) continue;
        gb[o]! += d;
        const row = o * l.inSize;
        for (let i = 0; i < l.inSize; i++) {
          gw[row + i]! += d * input[xi + i]!;
          if (prev) prev[xi + i]! += d * l.w[row + i]!;
        }
      }
    }
    if (prev) {
      const a = layers[k - 1]!.activation;
      for (let i = 0; i < prev.length; i++) prev[i]! *= dact(a, input[i]!);
      delta = prev;
    }
  }
  return total / n;
}

/** Rounds the float64 network and the standardisation into the float32 model of spec.ts. */
export function toModel(layers: Layer[], base: Omit<AutoencoderModel, 'layers'>): AutoencoderModel {
  return {
    ...base,
    layers: layers.map((l) => ({ inSize: l.inSize, outSize: l.outSize, activation: l.activation, weight: Float32Array.from(l.w), bias: Float32Array.from(l.b) })),
  };
}

export function fromModel(m: AutoencoderModel): Layer[] {
  return m.layers.map((l) => ({ inSize: l.inSize, outSize: l.outSize, activation: l.activation, w: Float64Array.from(l.weight), b: Float64Array.from(l.bias) }));
}
