import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fedAvg } from '../../../../coordinator/federation/strategies.ts';
import { flat, result } from '../fleet.ts';

test('fedavg weighs each delta by its sample count', () => {
  const out = fedAvg().aggregate([result('a', [1, 0, 0, 0, 0, 0, 0, 4], 300), result('b', [5, 0, 0, 0, 0, 0, 0, -4], 100)], []);
  assert.deepEqual(flat(out.delta!), [2, 0, 0, 0, 0, 0, 0, 2]);
  assert.match(out.note, /weighted by 400 samples/);
});

test('fedavg rejects results without a positive integer sample count', () => {
  const out = fedAvg().aggregate([result('a', [1, 1, 1, 1, 1, 1, 1, 1], 10), result('zero', [9, 9, 9, 9, 9, 9, 9, 9], 0), result('half', [9, 9, 9, 9, 9, 9, 9, 9], 2.5)], []);
  assert.deepEqual(out.used, ['a']);
  assert.deepEqual(flat(out.delta!), [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(
    out.rejected.map((r) => r.agentId),
    ['zero', 'half'],
  );
  assert.match(out.rejected[0]!.reason, /numSamples 0 is not a positive integer/);
});

test('fedavg is not robust: one client claiming many samples drags it anywhere (why the robust strategies exist)', () => {
  const honest = Array.from({ length: 9 }, (_, i) => result(`h${i}`, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]));
  const out = fedAvg().aggregate([...honest, result('liar', [-1000, 0, 0, 0, 0, 0, 0, 0], 1_000_000)], []);
  assert.ok(out.delta![0]!.data[0]! < -990);
});
