import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFloat16, dequantizeInt8, encodeFloat16, F16_MAX, fromFloat16Bits, quantizeInt8, toFloat16Bits } from '../../../shared/federation/quantize.ts';

// An oracle independent of toFloat16Bits' arithmetic: every finite non-negative half, sorted by
// value (bit order is value order for them), searched for the nearest.
const POSITIVE_HALVES = Float64Array.from({ length: 0x7c00 }, (_, h) => fromFloat16Bits(h));

function nearestHalfBits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE_HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE_HALVES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (a >= POSITIVE_HALVES[hi]!) return sign | hi;
  const dLo = a - POSITIVE_HALVES[lo]!;
  const dHi = POSITIVE_HALVES[hi]! - a;
  if (dLo < dHi) return sign | lo;
  if (dHi < dLo) return sign | hi;
  return sign | (lo % 2 === 0 ? lo : hi);
}

test('float16 known values: ±0, 1, max, smallest subnormal and normal, infinities, NaN', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [F16_MAX, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // a tie between 0 and the smallest subnormal: to even (0)
    [3 * 2 ** -25, 0x0002], // a tie between subnormals 1 and 2: to even (2)
    [2 ** -14, 0x0400],
    [2 ** -14 - 2 ** -25, 0x0400], // a tie between the largest subnormal (odd) and the smallest normal
    [1 + 2 ** -11, 0x3c00], // a tie between 1 and 1+2^-10: to even (1)
    [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e300, 0x7c00],
  ];
  for (const [x, bits] of cases) assert.equal(toFloat16Bits(x), bits, `toFloat16Bits(${x})`);
  assert.equal(toFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.ok(toFloat16Bits(NaN) & 0x3ff, 'NaN keeps a non-zero fraction');
  assert.ok(Number.isNaN(fromFloat16Bits(0x7e00)));
  assert.ok(Number.isNaN(fromFloat16Bits(0xfc01)));
  assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
});

test('every one of the 65536 half bit patterns decodes and re-encodes to itself (NaNs stay NaN)', () => {
  for (let h = 0; h < 0x10000; h++) {
    const x = fromFloat16Bits(h);
    if (Number.isNaN(x)) assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(x))));
    else assert.equal(toFloat16Bits(x), h, `bits 0x${h.toString(16)} decode to ${x}`);
  }
});

test('every midpoint between adjacent halves rounds to the even one', () => {
  for (let h = 0; h < 0x7bff; h++) {
    const mid = (POSITIVE_HALVES[h]! + POSITIVE_HALVES[h + 1]!) / 2;
    assert.equal(toFloat16Bits(mid), h % 2 === 0 ? h : h + 1, `midpoint after 0x${h.toString(16)}`);
    assert.equal(toFloat16Bits(-mid), 0x8000 | (h % 2 === 0 ? h : h + 1));
  }
});

test('float16 of any float32 is the nearest half (independent oracle), ties to even', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true }), (x) => {
      assert.equal(toFloat16Bits(x), nearestHalfBits(x), `x = ${x}`);
    }),
    { numRuns: 20_000 },
  );
});

test('float16 round trip error: ≤ 2^-11 relative in the normal range, ≤ 2^-25 absolute below it', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -65504, max: 65504 }), (x) => {
      const back = decodeFloat16(encodeFloat16(Float32Array.of(x)))[0]!;
      const err = Math.abs(back - x);
      if (Math.abs(x) >= 2 ** -14) assert.ok(err <= Math.abs(x) * 2 ** -11, `${x} → ${back}`);
      else assert.ok(err <= 2 ** -25, `${x} → ${back}`);
    }),
    { numRuns: 20_000 },
  );
});

test('int8 round trip error is at most half a step (scale = max|x|/127), plus float32 rounding', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), { minLength: 1, maxLength: 64 }), (xs) => {
      const x = Float32Array.from(xs);
      const t = quantizeInt8(x);
      const max = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.equal(t.scale, Math.fround(t.scale), 'the scale is a float32');
      assert.ok(t.q.every((q) => q >= -127 && q <= 127));
      // Nearest float32 to max/127: half an ulp, which is 2^-150 absolute among subnormals.
      assert.ok(Math.abs(t.scale - max / 127) <= Math.max((max / 127) * 2 ** -24, 2 ** -149));
      const back = dequantizeInt8(t);
      x.forEach((v, i) => {
        // Among float32 subnormals a rounded-down scale can clamp the extreme value by up to 127 half-ulps.
        const bound = t.scale / 2 + Math.abs(v) * 2 ** -24 + 127 * 2 ** -149;
        assert.ok(Math.abs(back[i]! - v) <= bound, `x[${i}] = ${v} → ${back[i]} (scale ${t.scale})`);
      });
    }),
    { numRuns: 5_000 },
  );
});

test('int8: the largest magnitude maps to ±127, all-zero tensors get scale 0, non-finite input throws', () => {
  const t = quantizeInt8(Float32Array.of(-3, 0.5, 1.5));
  assert.equal(t.q[0], -127);
  assert.deepEqual(quantizeInt8(new Float32Array(4)), { scale: 0, q: new Int8Array(4) });
  const tiny = quantizeInt8(Float32Array.of(2 ** -149));
  assert.equal(dequantizeInt8(tiny)[0], 2 ** -149, 'a tiny non-zero tensor does not collapse to zero');
  assert.throws(() => quantizeInt8(Float32Array.of(1, NaN)), /value 1 is NaN/);
  assert.throws(() => quantizeInt8(Float32Array.of(Infinity)), /value 0 is Infinity/);
});
