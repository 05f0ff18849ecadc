import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TelemetryWindow } from '../../../agent/link/telemetry.ts';

test('a telemetry window summarises min/max/mean/last and starts afresh after take()', () => {
  const w = new TelemetryWindow(['a', 'b']);
  assert.equal(w.take(), null);
  w.add(10, [1, 5]);
  w.add(11, [3, -1]);
  w.add(12, [2, 2]);
  assert.deepEqual(w.take(), { from: 10, to: 12, samples: 3, metrics: { a: { min: 1, max: 3, mean: 2, last: 2 }, b: { min: -1, max: 5, mean: 2, last: 2 } } });
  w.add(20, [7, 7]);
  assert.deepEqual(w.take()!.metrics.a, { min: 7, max: 7, mean: 7, last: 7 });
});
