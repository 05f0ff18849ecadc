// Contract suite: what every strategy promises, run against each of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { coordinateMedian, fedAvg, trimmedMean, withClipping, type ClientResult, type Strategy } from '../../../coordinator/federation/strategies.ts';
import { flat, result, valuesArb } from './fleet.ts';

const STRATEGIES: Array<[string, (minResults?: number) => Strategy]> = [
  ['fedavg', (m) => fedAvg({ minResults: m })],
  ['median', (m) => coordinateMedian({ minResults: m })],
  ['trimmed mean', (m) => trimmedMean({ beta: 0.2, minResults: m })],
  ['clipped fedavg', (m) => withClipping(fedAvg({ minResults: m }), { clipNorm: 1e6 })],
  ['clipped median', (m) => withClipping(coordinateMedian({ minResults: m }), { clipNorm: 1e6 })],
];

for (const [label, make] of STRATEGIES) {
  test(`${label}: n identical deltas aggregate to that delta exactly`, () => {
    fc.assert(
      fc.property(valuesArb(1000), fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 9, maxLength: 9 }), (v, n, samples) => {
        const results = Array.from({ length: n }, (_, i) => result(`a${i}`, v, samples[i]));
        const out = make().aggregate(results, []);
        // + 0 turns −0 into 0: a sum starting from 0 cannot give back −0, and the two are the same delta.
        assert.deepEqual(flat(out.delta!).map((x) => x + 0), flat(results[0]!.delta).map((x) => x + 0));
        assert.deepEqual(out.used, results.map((r) => r.agentId));
        assert.deepEqual(out.rejected, []);
      }),
      { numRuns: 200 },
    );
  });

  test(`${label}: a client with another shape, NaN or a duplicate id is rejected with a reason, the rest aggregate`, () => {
    const good = [result('a', [1, 2, 3, 4, 5, 6, 7, 8]), result('b', [1, 2, 3, 4, 5, 6, 7, 8]), result('c', [1, 2, 3, 4, 5, 6, 7, 8])];
    const wide: ClientResult = { agentId: 'wide', numSamples: 100, delta: [{ name: 'layer0.weight', dims: [3, 3], data: new Float32Array(9) }, good[0]!.delta[1]!] };
    const short: ClientResult = { agentId: 'short', numSamples: 100, delta: [good[0]!.delta[0]!] };
    const nan = result('nan', [1, 2, 3, 4, 5, 6, 7, NaN]);
    const dup = result('b', [9, 9, 9, 9, 9, 9, 9, 9]);
    const out = make().aggregate([good[0]!, wide, good[1]!, nan, short, dup, good[2]!], []);
    assert.deepEqual(out.used, ['a', 'b', 'c']);
    assert.deepEqual(flat(out.delta!), [1, 2, 3, 4, 5, 6, 7, 8]);
    const reasons = Object.fromEntries(out.rejected.map((r) => [r.agentId, r.reason]));
    assert.match(reasons.wide!, /shape differs from the majority's \(3 of 5\): tensor layer0\.weight has dims \[3, 3\], expected \[2, 3\]/);
    assert.match(reasons.short!, /tensor layer0\.bias \[2\] is missing/);
    assert.match(reasons.nan!, /non-finite value: layer0\.bias\[1\] is NaN/);
    assert.match(reasons.b!, /a second result from this agent/);
    assert.match(out.note, /3 used, 4 rejected, 0 failed/);
  });

  test(`${label}: no usable results, or fewer than minResults, keeps the current model (null) and says why`, () => {
    const none = make().aggregate([], [{ agentId: 'x', reason: 'timeout' }]);
    assert.equal(none.delta, null);
    assert.match(none.note, /0 used, 0 rejected, 1 failed; 0 usable result\(s\), at least 1 needed; keeping the current model/);
    const few = make(3).aggregate([result('a', [1, 1, 1, 1, 1, 1, 1, 1]), result('b', [1, 1, 1, 1, 1, 1, 1, 1])], []);
    assert.equal(few.delta, null);
    assert.deepEqual(few.used, []);
    assert.match(few.note, /2 usable result\(s\), at least 3 needed/);
    assert.throws(() => make(0), /minResults must be an integer >= 1, got 0/);
  });

  test(`${label}: failures are counted in the note and inputs are never mutated`, () => {
    const results = [result('a', [1, 2, 3, 4, 5, 6, 7, 8]), result('b', [3, 2, 1, 0, -1, -2, -3, -4], 50)];
    const before = results.map((r) => flat(r.delta));
    const out = make().aggregate(results, [{ agentId: 'c', reason: 'timeout' }, { agentId: 'd', reason: 'checksum' }]);
    assert.match(out.note, /2 used, 0 rejected, 2 failed/);
    assert.deepEqual(results.map((r) => flat(r.delta)), before);
    out.delta![0]!.data[0] = 1e9;
    assert.deepEqual(results.map((r) => flat(r.delta)), before, 'the aggregate does not alias an input');
  });
}
