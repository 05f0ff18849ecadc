import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { debounceStep, DebounceOptionsSchema, INITIAL_DEBOUNCE, type DebounceOptions } from '../../../agent/detect/debounce.ts';

function run(ticks: boolean[], o: DebounceOptions) {
  let s = INITIAL_DEBOUNCE;
  return ticks.map((over) => {
    const step = debounceStep(s, over, o);
    s = step.state;
    return step.transition;
  });
}

const options = fc
  .record({ k: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1, max: 10 }), m: fc.integer({ min: 1, max: 12 }) })
  .filter((o) => o.k <= o.n);

test('opens on the k-th over-threshold tick within n; closes on the m-th clean tick', () => {
  const o = { k: 3, n: 5, m: 4 };
  const t = true;
  const f = false;
  assert.deepEqual(run([t, f, t, f, t, t, f, f, f, f, t], o), [null, null, null, null, 'opened', null, null, null, null, 'closed', null]);
  // Three overs spread over 6 ticks are not 3 of 5: never opens.
  assert.deepEqual(run([t, f, f, t, f, t, f, f, t], o), Array(9).fill(null));
  // An over tick while open restarts the clean count.
  assert.deepEqual(run([t, t, t, f, f, f, t, f, f, f, f], o), [null, null, 'opened', null, null, null, null, null, null, null, 'closed']);
});

test('k = n = m = 1 follows the raw signal', () => {
  assert.deepEqual(run([true, false, true, true, false], { k: 1, n: 1, m: 1 }), ['opened', 'closed', 'opened', null, 'closed']);
});

test('options: k may not exceed n; defaults are 3 of 5, 15 clean', () => {
  assert.deepEqual(DebounceOptionsSchema.parse({}), { k: 12, n: 15, m: 15 });
  assert.throws(() => DebounceOptionsSchema.parse({ k: 4, n: 3 }), /k must not exceed n/);
});

test('property: one noisy tick among clean ones never opens when k > 1', () => {
  fc.assert(
    fc.property(options.filter((o) => o.k > 1), fc.nat(200), fc.nat(200), (o, before, after) => {
      const ticks = [...Array(before).fill(false), true, ...Array(after).fill(false)];
      assert.ok(!run(ticks, o).includes('opened'));
    }),
  );
});

test('property: no anomaly opens unless k of the last n ticks were over', () => {
  fc.assert(
    fc.property(options, fc.array(fc.boolean(), { maxLength: 300 }), (o, ticks) => {
      run(ticks, o).forEach((tr, i) => {
        if (tr !== 'opened') return;
        const overs = ticks.slice(Math.max(0, i - o.n + 1), i + 1).filter(Boolean).length;
        assert.ok(overs >= o.k, `opened at ${i} with ${overs} of the last ${o.n} over`);
      });
    }),
  );
});

test('property: an open anomaly never closes before m clean ticks, and closes exactly at the m-th', () => {
  fc.assert(
    fc.property(options, fc.array(fc.boolean(), { maxLength: 300 }), (o, ticks) => {
      const tr = run(ticks, o);
      let open = false;
      let clean = 0;
      tr.forEach((t, i) => {
        if (open) {
          clean = ticks[i] ? 0 : clean + 1;
          if (t === 'closed') assert.equal(clean, o.m, `closed at ${i} after ${clean} clean ticks`);
          else assert.ok(clean < o.m, `still open at ${i} after ${clean} clean ticks`);
        }
        if (t === 'opened') {
          assert.ok(!open);
          open = true;
          clean = 0;
        }
        if (t === 'closed') open = false;
      });
    }),
  );
});

test('property: opens and closes alternate, starting with an open', () => {
  fc.assert(
    fc.property(options, fc.array(fc.boolean(), { maxLength: 300 }), (o, ticks) => {
      const seq = run(ticks, o).filter((t) => t !== null);
      seq.forEach((t, i) => assert.equal(t, i % 2 === 0 ? 'opened' : 'closed'));
    }),
  );
});
