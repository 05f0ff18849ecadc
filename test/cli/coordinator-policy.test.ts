import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parsePublicKey, keyIdOf } from '../../shared/protocol/sign.ts';
import { startFleet, type Fleet } from '../support/fleet.ts';
import { freePort } from '../support/ports.ts';
import { cli } from '../support/cli.ts';

const TOKEN = 'test-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'homeostat-cli-policy-'));


const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.includes('ExperimentalWarning') && !l.includes('--trace-warnings'));

let f: Fleet;
before(async () => {
  f = await startFleet('aedes');
});
after(async () => {
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});

test('coordinator key: creates the pair once (private 0600) and prints the same public key line every time', async () => {
  const data = join(dir, 'keyed');
  const first = await cli(['coordinator', 'key', '--data-dir', data]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /created the fleet signing key/);
  const line = first.stdout.trim();
  assert.equal(line.length, 60);
  assert.equal(statSync(join(data, 'fleet-key.pem')).mode & 0o777, 0o600);
  const again = await cli(['coordinator', 'key', '--data-dir', data]);
  assert.equal(again.stdout.trim(), line);
  assert.doesNotMatch(again.stderr, /created/);
  const pem = await cli(['coordinator', 'key', '--data-dir', data, '--pem']);
  assert.equal(keyIdOf(parsePublicKey(pem.stdout)), keyIdOf(parsePublicKey(line)));
});

test('the coordinator refuses to start on a group/world-readable private key, with the chmod to run', async () => {
  const data = join(dir, 'loose');
  mkdirSync(data);
  assert.equal((await cli(['coordinator', 'key', '--data-dir', data])).code, 0);
  chmodSync(join(data, 'fleet-key.pem'), 0o644);
  const cfg = join(dir, 'loose.json');
  writeFileSync(cfg, JSON.stringify({ dataDir: data, broker: { embedded: { host: '127.0.0.1', port: await freePort() } }, api: { port: 0 } }));
  const r = await cli(['coordinator', '-c', cfg]);
  assert.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^homeostat: .*readable by group or others \\(mode 0644\\): run "chmod 600 ${join(data, 'fleet-key.pem')}" and start again$`));
});

test('policy push, history and show against the running coordinator (token from --token or the data directory)', async () => {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, ['rules:', '  - id: cpu-note', '    symptom: { kind: metric, feature: cpu_user_pct, op: ">", value: 95 }', '    action: { type: notify, message: cpu high }', ''].join('\n'));
  const api = ['--api', f.api];
  const p1 = await cli(['coordinator', 'policy', 'push', file, ...api, '--token', TOKEN, '--author', 'alice']);
  assert.equal(p1.code, 0, p1.stderr);
  assert.match(p1.stdout, /^policy v1 for cohort default published \(1 change\)\n {2}\+ rules: /);

  // The token file a coordinator writes in its data directory is found with --data-dir.
  const data = join(dir, 'coord-data');
  mkdirSync(data);
  writeFileSync(join(data, 'admin-token'), `${TOKEN}\n`);
  writeFileSync(file, ['dryRun: true', 'rules:', '  - id: cpu-note', '    symptom: { kind: metric, feature: cpu_user_pct, op: ">", value: 90 }', '    action: { type: notify, message: cpu high }', ''].join('\n'));
  const p2 = await cli(['coordinator', 'policy', 'push', file, ...api, '--data-dir', data, '--author', 'bob', '--cohort', 'edge']);
  assert.equal(p2.code, 0, p2.stderr);
  assert.match(p2.stdout, /^policy v2 for cohort edge published/);
  const p3 = await cli(['coordinator', 'policy', 'push', file, ...api, '--data-dir', data, '--author', 'bob']);
  assert.match(p3.stdout, /^policy v3 for cohort default published \(2 changes since v1\)\n {2}~ rules\[id=cpu-note\]\.symptom\.value: 95 → 90\n {2}\+ dryRun: true\n$/);

  const h = await cli(['coordinator', 'policy', 'history', ...api]);
  assert.equal(h.code, 0, h.stderr);
  const rows = h.stdout.trim().split('\n');
  assert.match(rows[0]!, /^version\s+cohort\s+author\s+created\s+changes$/);
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3)), [['v1', 'default', 'alice'], ['v2', 'edge', 'bob'], ['v3', 'default', 'bob']]);
  const edge = await cli(['coordinator', 'policy', 'history', ...api, '--cohort', 'edge', '--json']);
  assert.deepEqual((JSON.parse(edge.stdout) as Array<{ version: number }>).map((v) => v.version), [2]);

  const s = await cli(['coordinator', 'policy', 'show', 'v3', ...api]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^policy v3 for cohort default, by bob at .* \(replaces v1\)\n\nchanges since v1:\n {2}~ rules\[id=cpu-note\]\.symptom\.value: 95 → 90\n {2}\+ dryRun: true\n\npolicy:\n {2}dryRun: true\n {2}rules:\n/);
  const missing = await cli(['coordinator', 'policy', 'show', '9', ...api]);
  assert.equal(missing.code, 1);
  assert.deepEqual(errorLines(missing.stderr), ['homeostat: no policy version 9 (GET /api/policies lists them)']);
});

test('policy push refusals: invalid policy lists rule and field; wrong token and unreachable API say what to do', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ rules: [{ id: 'x', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value: 1 }, action: { type: 'restart_service' } }] }));
  const r = await cli(['coordinator', 'policy', 'push', bad, '--api', f.api, '--token', TOKEN]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^homeostat: .*bad\.json was not pushed:\n {2}rule "x" \(rules\[0\]\)\.action\.service: /);
  const before = (await (await fetch(`${f.api}/api/policies`)).json()) as unknown[];

  const wrong = await cli(['coordinator', 'policy', 'push', bad, '--api', f.api, '--token', 'not-the-token']);
  assert.equal(wrong.code, 1);
  assert.match(errorLines(wrong.stderr).join('\n'), /^homeostat: the coordinator at .* refused the admin token \(--token\): pass --token, or --data-dir\/-c/);
  const down = await cli(['coordinator', 'policy', 'history', '--api', `http://127.0.0.1:${await freePort()}`]);
  assert.equal(down.code, 1);
  assert.match(errorLines(down.stderr).join('\n'), /^homeostat: cannot reach the coordinator API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the coordinator running\?/);
  assert.equal(((await (await fetch(`${f.api}/api/policies`)).json()) as unknown[]).length, before.length, 'nothing was stored by the refused pushes');
});
