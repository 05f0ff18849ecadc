import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { backoffDelay } from '../../../shared/link/backoff.ts';

test('backoff stays within [exp/2, exp] and never exceeds the cap', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const opts = { initialMs: 500, maxMs: 30_000 };
      const exp = Math.min(opts.maxMs, opts.initialMs * 2 ** attempt);
      const d = backoffDelay(attempt, opts, () => r);
      return d >= Math.floor(exp / 2) && d <= exp;
    }),
  );
});

test('backoff grows then spreads a fleet over the window', () => {
  const opts = { initialMs: 100, maxMs: 10_000 };
  assert.equal(backoffDelay(0, opts, () => 0), 50);
  assert.equal(backoffDelay(3, opts, () => 0), 400);
  assert.equal(backoffDelay(20, opts, () => 0.999999), 10_000);
  const fleet = new Set(Array.from({ length: 100 }, () => backoffDelay(6, opts)));
  assert.ok(fleet.size > 50, `100 agents should not retry in lockstep (got ${fleet.size} distinct delays)`);
});
