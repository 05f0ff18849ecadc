import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SymptomEvaluator } from '../../../agent/heal/symptoms.ts';

const FEATURES = ['cpu_user_pct', 'mem_used_pct'];
const evaluator = () =>
  new SymptomEvaluator({ probeWindow: () => ({ failures: 0, seen: 0 }), services: new Map(), featureIndex: (f) => FEATURES.indexOf(f) });
const metric = (forSec: number) => ({ kind: 'metric' as const, feature: 'mem_used_pct', op: '>' as const, value: 90, forSec });

test('a metric condition sustained for forSec: present only once it has held that long without a break', async () => {
  const s = evaluator();
  const t0 = 1_000_000;
  for (let k = 0; k < 10; k++) s.addSample(t0 + k * 1000, [5, k < 3 ? 50 : 95]);
  // Held from t0+3 s to t0+9 s: 6 s.
  assert.deepEqual(await s.read(metric(6), t0 + 9000), { present: true, evidence: 'mem_used_pct > 90 for 6 s: 95 now, holding for 6 s', data: { feature: 'mem_used_pct', value: 95 } });
  assert.equal((await s.read(metric(7), t0 + 9000)).present, false);
  s.addSample(t0 + 10_000, [5, 80]);
  assert.equal((await s.read(metric(1), t0 + 10_000)).evidence, 'mem_used_pct > 90 for 1 s: now 80');
  s.addSample(t0 + 11_000, [5, 99]);
  assert.equal((await s.read(metric(6), t0 + 11_000)).present, false, 'the break started the run again');
});

test('a forSec longer than the sample history still fires once the condition has held that long', async () => {
  const s = evaluator();
  const t0 = 1_000_000;
  const forSec = 10_000; // more samples than the history keeps at 1 Hz
  let t = t0;
  s.addSample(t, [5, 95]);
  assert.equal((await s.read(metric(forSec), t)).present, false);
  for (let k = 1; k <= forSec; k++) s.addSample((t = t0 + k * 1000), [5, 95]);
  const r = await s.read(metric(forSec), t);
  assert.equal(r.present, true, r.evidence);
  assert.match(r.evidence, /holding for 10000 s$/);
});
