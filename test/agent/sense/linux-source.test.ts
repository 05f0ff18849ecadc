import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEATURES_V1, FEATURE_COUNT } from '../../../agent/sense/features.ts';
import { LinuxSource } from '../../../agent/sense/linux-source.ts';

test('real samples from this machine are finite and in range', async () => {
  const src = new LinuxSource();
  const t0 = Date.now();
  src.read(t0);
  // Burn a little CPU so the second read has something to measure.
  const end = Date.now() + 200;
  while (Date.now() < end);
  const v = src.read(Date.now());
  assert.equal(v.length, FEATURE_COUNT);
  FEATURES_V1.forEach((f, i) => {
    const x = v[i]!;
    assert.ok(Number.isFinite(x), `${f.name} is ${x}`);
    assert.ok(x >= 0, `${f.name} = ${x} is negative`);
    if (f.unit === '%') assert.ok(x <= 100, `${f.name} = ${x} exceeds 100`);
  });
  const byName = Object.fromEntries(FEATURES_V1.map((f, i) => [f.name, v[i]!]));
  assert.ok(byName.process_count! >= 1);
  assert.ok(byName.mem_used_pct! > 0);
  assert.ok(byName.cpu_user_pct! + byName.cpu_system_pct! > 0, 'the busy loop shows up as CPU time');
});
