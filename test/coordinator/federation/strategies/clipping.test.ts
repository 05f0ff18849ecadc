import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fedAvg, withClipping, type Strategy } from '../../../../coordinator/federation/strategies.ts';
import { l2Norm } from '../../../../shared/federation/tensor.ts';
import { COORDS, flat, hostileValuesArb, result, tensorsFrom, valuesArb } from '../fleet.ts';

const distance = (a: number[], b: number[]) => Math.hypot(...a.map((x, i) => x - b[i]!));
const scaledTo = (v: number[], norm: number) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => (x / n) * norm);
};

test('each delta is clipped to L2 ≤ C before the inner strategy; smaller ones pass unchanged', () => {
  fc.assert(
    fc.property(hostileValuesArb, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (v, c) => {
      const out = withClipping(fedAvg(), { clipNorm: c }).aggregate([result('a', v)], []);
      const norm = l2Norm(tensorsFrom(v));
      // + 0: FedAvg's sum from 0 turns −0 into 0, the same delta.
      if (norm <= c) assert.deepEqual(flat(out.delta!).map((x) => x + 0), flat(tensorsFrom(v)).map((x) => x + 0));
      else assert.ok(Math.abs(l2Norm(out.delta!) - c) <= c * 1e-6, `norm ${l2Norm(out.delta!)} vs C ${c}`);
    }),
    { numRuns: 1000 },
  );
});

test('a ×100 attacker moves FedAvg a lot, clipped FedAvg by at most C·w (w = its weight share)', () => {
  fc.assert(
    fc.property(
      fc.array(valuesArb(1), { minLength: 3, maxLength: 9 }),
      valuesArb(1).filter((v) => Math.hypot(...v) > 0.1),
      fc.integer({ min: 1, max: 1000 }),
      (honestValues, own, attackerSamples) => {
        const C = 1;
        const honest = honestValues.map((v, i) => result(`h${i}`, scaledTo(v, 0.5)));
        const d = scaledTo(own, 0.5);
        const w = attackerSamples / (attackerSamples + 100 * honest.length);
        const run = (s: Strategy, attack: number[]) => flat(s.aggregate([...honest, result('attacker', attack, attackerSamples)], []).delta!);
        const plain = fedAvg();
        const clipped = withClipping(fedAvg(), { clipNorm: C });
        const x100 = d.map((x) => 100 * x);
        const zero = new Array<number>(COORDS).fill(0);
        // Without clipping the attacker moves the aggregate by 99·w·|d| ≈ 50·w.
        assert.ok(distance(run(plain, x100), run(plain, d)) >= 99 * w * 0.5 * (1 - 1e-5));
        // With it, its whole contribution w·clip(x100) has norm ≤ C·w, against sending nothing at all.
        assert.ok(distance(run(clipped, x100), run(clipped, zero)) <= C * w * (1 + 1e-5) + 1e-6);
        assert.ok(distance(run(clipped, x100), run(clipped, d)) <= 2 * C * w * (1 + 1e-5) + 1e-6);
      },
    ),
    { numRuns: 300 },
  );
});

test('clipping leaves NaN/Infinity deltas for the inner strategy to reject by name', () => {
  const out = withClipping(fedAvg(), { clipNorm: 1 }).aggregate([result('a', [1, 0, 0, 0, 0, 0, 0, 0]), result('inf', [Infinity, 0, 0, 0, 0, 0, 0, 0])], []);
  assert.deepEqual(out.used, ['a']);
  assert.match(out.rejected[0]!.reason, /layer0\.weight\[0\] is Infinity/);
  assert.match(out.note, /^clipped 0 of 2 deltas to L2 ≤ 1; fedavg: 1 used, 1 rejected/);
});

test('clipNorm must be finite and positive', () => {
  for (const clipNorm of [0, -1, NaN, Infinity]) assert.throws(() => withClipping(fedAvg(), { clipNorm }), /clipNorm must be a finite number > 0/);
});
