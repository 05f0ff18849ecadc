import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { trimmedMean } from '../../../../coordinator/federation/strategies.ts';
import { flat, fleetArb, honestRange, mixed, result } from '../fleet.ts';

test('trimmed mean drops floor(beta·n) values from each end per coordinate', () => {
  const rs = [1, 2, 3, 4, 100].map((x, i) => result(`a${i}`, [x, -x, 0, 0, 0, 0, 0, 0]));
  const out = trimmedMean({ beta: 0.2 }).aggregate(rs, []);
  assert.deepEqual(flat(out.delta!).slice(0, 2), [3, -3]);
  assert.match(out.note, /1 trimmed from each end of 5 per coordinate/);
  assert.equal(flat(trimmedMean({ beta: 0 }).aggregate(rs, []).delta!)[0], 22, 'beta 0 is the plain (unweighted) mean');
});

test('trimmed mean: beta outside [0, 0.5) is refused at construction', () => {
  for (const beta of [-0.1, 0.5, 0.7, NaN]) assert.throws(() => trimmedMean({ beta }), /beta \(the fraction trimmed from each side\) must be in \[0, 0\.5\), got/);
});

test('trimmed mean with beta = f/n: f arbitrary clients cannot leave the honest range', () => {
  fc.assert(
    fc.property(fleetArb, ({ honest, hostile, order }) => {
      const n = order.length;
      const out = trimmedMean({ beta: hostile.length / n }).aggregate(mixed(honest, hostile, order), []);
      const got = flat(out.delta!);
      honestRange(honest).forEach(([lo, hi], i) => assert.ok(got[i]! >= lo && got[i]! <= hi, `coordinate ${i}: ${got[i]} outside [${lo}, ${hi}]`));
    }),
    { numRuns: 1000 },
  );
});

test('trimmed mean trims f, not f − 1, when beta·n rounds just below f (3/47·47 = 2.9999999999999996)', () => {
  const rs = Array.from({ length: 47 }, (_, i) => result(`a${i}`, i < 3 ? [1e30, 0, 0, 0, 0, 0, 0, 0] : [1, 0, 0, 0, 0, 0, 0, 0]));
  const out = trimmedMean({ beta: 3 / 47 }).aggregate(rs, []);
  assert.equal(flat(out.delta!)[0], 1);
});
