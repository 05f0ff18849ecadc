/**
 * Lossy encodings of float32 deltas for the update codec.
 *
 * float16: IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits), round to nearest, ties to
 * even, with infinities, NaN and subnormals. Relative error ≤ 2^-11 for |x| in [2^-14, 65504];
 * absolute error ≤ 2^-25 below that (subnormals); |x| ≥ 65520 becomes ±Infinity.
 *
 * int8: symmetric per-tensor quantisation, q = round(x / scale) with scale = max|x| / 127, so
 * |x − q·scale| ≤ scale / 2 (plus float32 rounding): the error is relative to the tensor's largest
 * value, not to x.
 */

const F16_EXP_BIAS = 15;
/** Halfway between 65504 (largest finite half) and 65536: from here on RNE rounds to infinity. */
const F16_OVERFLOW = 65520;
const F16_MIN_NORMAL = 2 ** -14;
const F16_SUBNORMAL_STEP = 2 ** -24;
const F16_QUIET_NAN = 0x7e00;
const F16_INF = 0x7c00;

export const F16_MAX = 65504;

const f64 = new DataView(new ArrayBuffer(8));

/** Round half to even, for non-negative v below 2^52 (where v − floor(v) is exact). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The binary16 bit pattern nearest to x (ties to even). Rounds the float64 directly, so no double rounding. */
export function toFloat16Bits(x: number): number {
  if (Number.isNaN(x)) return F16_QUIET_NAN;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= F16_OVERFLOW) return sign | F16_INF;
  // Subnormal range: multiples of 2^-24. A result of 1024 steps is the smallest normal, whose bit
  // pattern is also 1024 (0x0400), so the carry needs no special case.
  if (a < F16_MIN_NORMAL) return sign | roundHalfEven(a / F16_SUBNORMAL_STEP);
  // Exponent from the float64 bits: Math.log2 is not exact near powers of two.
  f64.setFloat64(0, a);
  const e = ((f64.getUint32(0) >>> 20) & 0x7ff) - 1023;
  let frac = roundHalfEven((a / 2 ** e - 1) * 1024);
  let exp = e + F16_EXP_BIAS;
  if (frac === 1024) {
    frac = 0;
    exp += 1;
  }
  return sign | (exp << 10) | frac;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * F16_SUBNORMAL_STEP;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - F16_EXP_BIAS);
}

export function encodeFloat16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = toFloat16Bits(x[i]!);
  return out;
}

export function decodeFloat16(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = fromFloat16Bits(h[i]!);
  return out;
}

export interface Int8Tensor {
  /** A float32 value (stored as such on the wire); 0 for an all-zero tensor. */
  scale: number;
  /** In [-127, 127]: symmetric, so -128 is never produced. */
  q: Int8Array;
}

/** Symmetric per-tensor int8. Throws on non-finite input: one NaN or Infinity would wipe out the scale. */
export function quantizeInt8(x: Float32Array): Int8Tensor {
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) throw new Error(`int8 quantisation: value ${i} is ${v}; only finite values can be quantised`);
    max = Math.max(max, Math.abs(v));
  }
  // The scale travels as float32; quantise against that rounded scale so decoding matches exactly.
  // The floor at the smallest float32 subnormal keeps a tiny non-zero tensor from becoming all zeros.
  const scale = max === 0 ? 0 : Math.max(Math.fround(max / 127), 2 ** -149);
  const q = new Int8Array(x.length);
  if (scale === 0) return { scale, q };
  for (let i = 0; i < x.length; i++) {
    // Rounding the scale to float32 can put max/scale a hair above 127.
    q[i] = Math.max(-127, Math.min(127, Math.round(x[i]! / scale)));
  }
  return { scale, q };
}

export function dequantizeInt8(t: Int8Tensor): Float32Array {
  const out = new Float32Array(t.q.length);
  for (let i = 0; i < t.q.length; i++) out[i] = t.q[i]! * t.scale;
  return out;
}
