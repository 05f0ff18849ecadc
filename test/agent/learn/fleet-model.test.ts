import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FleetModelKeeper } from '../../../agent/learn/fleet-model.ts';
import { train } from '../../../agent/learn/trainer.ts';
import { BASE, EXPECT, modelBody, rows } from './fleet-fixtures.ts';

test('a keeper holds newer versions only: same is ignored, older is stale (no rollback), a bad file or width is refused', async () => {
  const k = new FleetModelKeeper({ expect: EXPECT });
  assert.equal(k.offer(modelBody(0)).status, 'new');
  assert.equal(k.offer(modelBody(0)).status, 'same');
  const v2 = modelBody(2);
  assert.equal(k.offer(v2).status, 'new');
  assert.equal(k.get(2, v2.sha256)?.roundId, 'r2-a');
  assert.equal(k.get(0, modelBody(0).sha256), null, 'only the held version is served');
  const stale = k.offer(modelBody(1));
  assert.ok(stale.status === 'refused' && stale.reason === 'stale', JSON.stringify(stale));
  const tampered = { ...modelBody(3), sha256: 'b'.repeat(64) };
  const c = k.offer(tampered);
  assert.ok(c.status === 'refused' && c.reason === 'checksum');
  const wide = await train(rows(200, 3).subarray(0, 200 * 7), 7, { epochs: 0 });
  const w = k.offer(modelBody(4, wide));
  assert.ok(w.status === 'refused' && w.reason === 'incompatible', JSON.stringify(w));
  assert.match(w.detail, /does not fit this agent's 14 features/);
  assert.equal(k.held()!.version, 2);
  assert.deepEqual(k.held()!.model.mean, BASE.mean);
});

test('the held version survives a restart, so a replayed older model is still refused; a damaged file is reported, not trusted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keeper-'));
  try {
    new FleetModelKeeper({ expect: EXPECT, dir }).offer(modelBody(5));
    const again = new FleetModelKeeper({ expect: EXPECT, dir });
    again.load();
    assert.equal(again.held()?.version, 5);
    const r = again.offer(modelBody(4));
    assert.ok(r.status === 'refused' && r.reason === 'stale');
    writeFileSync(join(dir, 'global-model.json'), '{"version": 6, "onnx": "tr');
    const errors: string[] = [];
    const broken = new FleetModelKeeper({ expect: EXPECT, dir, onLoadError: (why) => errors.push(why) });
    broken.load();
    assert.equal(broken.held(), null);
    assert.equal(errors.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
