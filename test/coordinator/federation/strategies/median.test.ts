import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { coordinateMedian } from '../../../../coordinator/federation/strategies.ts';
import { COORDS, flat, fleetArb, honestRange, mixed, result } from '../fleet.ts';

test('median per coordinate: the middle value, or the mean of the two middle ones', () => {
  const odd = coordinateMedian().aggregate([result('a', [1, 5, 0, 0, 0, 0, 0, -1]), result('b', [3, 4, 0, 0, 0, 0, 0, -3]), result('c', [2, 100, 0, 0, 0, 0, 0, -2])], []);
  assert.deepEqual(flat(odd.delta!), [2, 5, 0, 0, 0, 0, 0, -2]);
  const even = coordinateMedian().aggregate([result('a', [1, 0, 0, 0, 0, 0, 0, 0]), result('b', [4, 0, 0, 0, 0, 0, 0, 0]), result('c', [2, 0, 0, 0, 0, 0, 0, 0]), result('d', [1e30, 0, 0, 0, 0, 0, 0, 0])], []);
  assert.equal(flat(even.delta!)[0], 3);
});

test('median: with f < n/2 arbitrary clients, every coordinate stays within the honest clients\' range', () => {
  fc.assert(
    fc.property(fleetArb, ({ honest, hostile, order }) => {
      const out = coordinateMedian().aggregate(mixed(honest, hostile, order), []);
      const got = flat(out.delta!);
      honestRange(honest).forEach(([lo, hi], i) => assert.ok(got[i]! >= lo && got[i]! <= hi, `coordinate ${i}: ${got[i]} outside [${lo}, ${hi}]`));
      assert.equal(got.length, COORDS);
    }),
    { numRuns: 1000 },
  );
});

test('median ignores sample counts: a client claiming a million samples is one vote', () => {
  const out = coordinateMedian().aggregate([result('a', [1, 1, 1, 1, 1, 1, 1, 1], 1), result('b', [2, 2, 2, 2, 2, 2, 2, 2], 1), result('liar', [99, 99, 99, 99, 99, 99, 99, 99], 1e6)], []);
  assert.deepEqual(flat(out.delta!), [2, 2, 2, 2, 2, 2, 2, 2]);
});
