import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildApi } from '../../coordinator/api/server.ts';
import { PolicyDistribution } from '../../coordinator/policy/distribution.ts';
import { CoordinatorStore } from '../../coordinator/store/store.ts';
import { Counters } from '../../shared/observe/counters.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { generateSigningKeys } from '../../shared/protocol/sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-api-policies-'));
const store = new CoordinatorStore(join(dir, 'c.db'), { telemetryRows: 1000, eventRows: 1000 });
const TOKEN = 'admin-token-for-tests-0123';
let brokerUp = true;
const published: string[] = [];
const counters = new Counters();
const policies = new PolicyDistribution({
  db: store.db,
  signer: generateSigningKeys().privateKey,
  publish: async (out) => {
    if (!brokerUp) throw new Error('not connected');
    published.push(out.topic);
  },
  log: silentLogger,
  counters,
});
const app = buildApi({
  store,
  counters,
  log: silentLogger,
  adminToken: TOKEN,
  brokerConnected: () => true,
  cmd: async () => ({ ok: true }),
  fleetControl: () => ({ paused: false, by: 'default', reason: '', at: 0 }),
  setPaused: async (paused, by, reason) => ({ paused, by, reason, at: 1 }),
  policies,
});
after(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
const push = (payload: unknown, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url: '/api/policies', headers, payload: payload as object, remoteAddress: '127.0.0.1' });
const get = (url: string) => app.inject({ url, remoteAddress: '127.0.0.1' });
const rule = { id: 'cpu-high', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value: 90 }, action: { type: 'notify', message: 'cpu high' } };

test('POST /api/policies needs the admin token, even from loopback', async () => {
  const r = await push({ policy: { rules: [] } }, {});
  assert.equal(r.statusCode, 401);
  assert.equal(published.length, 0);
});

test('an invalid policy is a 400 listing each problem by rule and field', async () => {
  const r = await push({ policy: { rules: [{ ...rule, guards: { cooldownSec: -1 } }] } });
  assert.equal(r.statusCode, 400);
  assert.deepEqual(r.json().problems, ['rule "cpu-high" (rules[0]).guards.cooldownSec: Too small: expected number to be >=0']);
  assert.equal((await push({ cohort: 'edge', nonsense: 1, policy: {} })).statusCode, 400, 'unknown request keys');
  assert.equal((await push({})).statusCode, 400, 'no policy');
});

test('push → 201 with version and diff; stored but unpublished → 202; history and show read it back', async () => {
  const r1 = await push({ author: 'alice', policy: { rules: [rule] } });
  assert.equal(r1.statusCode, 201);
  assert.equal(r1.json().version, 1);
  assert.equal(r1.json().published, true);
  brokerUp = false;
  const r2 = await push({ cohort: 'edge', policy: { rules: [] } });
  assert.equal(r2.statusCode, 202);
  assert.match(r2.json().error, /stored as v2 but not published/);
  brokerUp = true;
  assert.deepEqual(published, ['homeostat/v1/fleet/policy/default']);

  const all = (await get('/api/policies')).json() as Array<{ version: number; cohort: string; author: string }>;
  assert.deepEqual(all.map((v) => [v.version, v.cohort, v.author]), [[1, 'default', 'alice'], [2, 'edge', 'admin']]);
  assert.deepEqual(((await get('/api/policies?cohort=edge')).json() as Array<{ version: number }>).map((v) => v.version), [2]);
  assert.equal((await get('/api/policies?cohort=BAD!')).statusCode, 400);
  const one = (await get('/api/policies/1')).json();
  assert.deepEqual(one.policy, { rules: [rule] });
  assert.deepEqual(one.diff, [{ op: 'added', path: 'rules', value: [rule] }]);
  assert.equal((await get('/api/policies/7')).statusCode, 404);
  assert.match((await get('/api/policies/7')).json().error, /no policy version 7/);
  assert.equal((await get('/api/policies/0')).statusCode, 400);
  assert.equal((await get('/api/policies/abc')).statusCode, 400);
});
