import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { formatAudit, parseSince } from '../../agent/heal/audit-format.ts';
import { EngineHarness, healConfig } from '../agent/heal/support/engine-harness.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const h = new EngineHarness(
  healConfig({
    rules: [{ id: 'restart-web', symptom: { kind: 'process_down', service: 'web' }, action: { type: 'restart_service', service: 'web' }, guards: { verify: { windowSec: 5, settleSec: 1 } } }],
  }),
);
after(() => h.close());

test('parseSince reads durations back from now and dates, and says what it expects otherwise', () => {
  assert.equal(parseSince('2h', 10_000_000), 10_000_000 - 7_200_000);
  assert.equal(parseSince('2026-11-23T02:13:00Z'), Date.UTC(2026, 10, 23, 2, 13));
  assert.throws(() => parseSince('yesterday-ish'), /expected a duration back from now/);
});

test('`homeostat agent audit` answers "why did you restart web?" from the agent database', async () => {
  h.t = Date.UTC(2026, 10, 23, 2, 13, 0);
  h.present.set('down:web', true);
  await h.step(0);
  h.present.set('down:web', false);
  await h.run(3);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'agent', 'audit', '--data-dir', h.dir, '--since', '2026-11-01', '--utc'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const acted = lines.findIndex((l) => /^2026-11-23 02:13:00 .* restart-web +acted +done/.test(l));
  assert.ok(acted >= 0, r.stdout);
  assert.match(lines[acted + 1]!, /because: down:web present/);
  assert.ok(lines.some((l) => /restart-web +verified +recovered/.test(l)), r.stdout);
  const json = spawnSync(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'agent', 'audit', '--data-dir', h.dir, '--since', '2026-11-01', '--json'], { cwd: REPO, encoding: 'utf8' });
  assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l).kind), ['symptom', 'acted', 'verified']);
  const missing = spawnSync(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'agent', 'audit', '--data-dir', '/nonexistent'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no agent database at \/nonexistent\/agent.db: pass --data-dir/);
});

test('formatAudit says so when nothing happened', () => {
  assert.equal(formatAudit([]), 'no heal decisions recorded in this period\n');
});
