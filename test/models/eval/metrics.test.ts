import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bestF1, bestPaF1, f1At, paF1At, quantile, segments } from '../../../models/eval/metrics.ts';

test('best F1 on a hand-computed case', () => {
  const scores = [0.1, 0.9, 0.8, 0.2, 0.7, 0.3];
  const labels = [0, 1, 1, 0, 0, 1];
  // threshold 0.8: tp 2, fp 0, fn 1 → P 1, R 2/3, F1 0.8; threshold 0.3: tp 3, fp 1 → F1 6/7 ≈ 0.857
  const b = bestF1(scores, labels);
  assert.equal(b.threshold, 0.3);
  assert.ok(Math.abs(b.f1 - 6 / 7) < 1e-12);
  assert.deepEqual(f1At(scores, labels, 0.8), { f1: 0.8, p: 1, r: 2 / 3, threshold: 0.8 });
});

test('ties cannot be split by a threshold', () => {
  const b = bestF1([0.5, 0.5, 0.5, 0.1], [1, 0, 0, 0]);
  assert.equal(b.threshold, 0.5);
  assert.ok(Math.abs(b.f1 - 0.5) < 1e-12, 'P 1/3, R 1');
});

test('point adjust: one flagged point detects its whole segment', () => {
  const labels = [0, 1, 1, 1, 1, 0, 0, 1, 1, 0];
  const scores = [0, 0, 0.9, 0, 0, 0, 0, 0, 0, 0];
  assert.deepEqual(segments(labels), [[1, 4], [7, 8]]);
  const pa = paF1At(scores, labels, 0.5); // segment 1 (4 points) detected, segment 2 (2) missed
  assert.equal(pa.p, 1);
  assert.equal(pa.r, 4 / 6);
  assert.ok(f1At(scores, labels, 0.5).f1 < pa.f1);
  assert.ok(Math.abs(bestPaF1(scores, labels).f1 - pa.f1) < 1e-12);
});

const series = fc.integer({ min: 2, max: 60 }).chain((n) =>
  fc.tuple(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n })),
);

test('property: best F1 is at least F1 at any threshold; best PA-F1 at least PA-F1 at any threshold', () => {
  fc.assert(
    fc.property(series, fc.double({ min: 0, max: 1, noNaN: true }), ([s, l], t) => {
      return bestF1(s, l).f1 >= f1At(s, l, t).f1 - 1e-12 && bestPaF1(s, l).f1 >= paF1At(s, l, t).f1 - 1e-12;
    }),
  );
});

test('property: PA-F1 is at least point-wise F1 at the same threshold', () => {
  fc.assert(fc.property(series, fc.double({ min: 0, max: 1, noNaN: true }), ([s, l], t) => paF1At(s, l, t).f1 >= f1At(s, l, t).f1 - 1e-12));
});

test('property: the exact sweeps equal brute force over every observed threshold', () => {
  fc.assert(
    fc.property(series, ([s, l]) => {
      const brute = Math.max(0, ...s.map((t) => f1At(s, l, t).f1));
      const brutePa = Math.max(0, ...s.map((t) => paF1At(s, l, t).f1));
      return Math.abs(bestF1(s, l).f1 - brute) < 1e-12 && Math.abs(bestPaF1(s, l).f1 - brutePa) < 1e-12;
    }),
  );
});

test('quantile interpolates', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3], 1), 3);
});
