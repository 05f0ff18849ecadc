import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildApi } from '../../coordinator/api/server.ts';
import { CoordinatorStore } from '../../coordinator/store/store.ts';
import { Counters } from '../../shared/observe/counters.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { newMessageId } from '../../shared/protocol/ids.ts';
import type { CmdBody, FleetControlBody } from '../../shared/protocol/messages.ts';

const store = new CoordinatorStore(join(mkdtempSync(join(tmpdir(), 'homeostat-api-')), 'c.db'), { telemetryRows: 1000, eventRows: 1000 });
const TOKEN = 'admin-token-for-tests-0123';
let pinged = '';
const sent: Array<{ id: string; body: CmdBody }> = [];
let control: FleetControlBody = { paused: false, by: 'default', reason: '', at: 0 };
const app = buildApi({
  store,
  counters: new Counters(),
  log: silentLogger,
  adminToken: TOKEN,
  brokerConnected: () => true,
  cmd: async (id, body) => {
    sent.push({ id, body });
    if (body.command === 'ping') pinged = id;
    if (body.command === 'approve' && body.corr === 'stale') return { ok: false, error: 'no approval request is waiting' };
    return { ok: true, result: { pong: true } };
  },
  fleetControl: () => control,
  setPaused: async (paused, by, reason) => (control = { paused, by, reason, at: 1 }),
});
after(async () => {
  await app.close();
  store.close();
});

const status = { state: 'online', reason: 'start', agentVersion: '1', featureVersion: 1, modelVersion: null, policyVersion: null, cohort: 'default', host: { hostname: 'h', platform: 'linux', arch: 'x64', cores: 2 }, startedAt: 5 } as const;
store.applyStatus('a1', 1000, status);
for (let i = 0; i < 5; i++) store.addEvent(newMessageId(2000 + i), 'a1', `c${i}`, 2000 + i, { type: 'notice', severity: 'info', summary: `e${i}`, data: {} }, 9999);
store.addEvent(newMessageId(2100), 'a2', 'x', 2100, { type: 'anomaly', severity: 'warning', summary: 'other agent', data: {} }, 9999);

test('GET /api/agents and /api/agents/:id return the registry; unknown ids are a JSON 404', async () => {
  const all = (await app.inject({ url: '/api/agents', remoteAddress: '127.0.0.1' })).json();
  assert.deepEqual(all.map((a: { id: string }) => a.id), ['a1', 'a2']);
  const one = await app.inject({ url: '/api/agents/a1', remoteAddress: '127.0.0.1' });
  assert.equal(one.json().state, 'online');
  assert.equal(one.json().events, 5);
  const missing = await app.inject({ url: '/api/agents/nope', remoteAddress: '127.0.0.1' });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json().error, /no agent "nope"/);
});

test('GET /api/events filters by agent and since, limits, and orders by time', async () => {
  const get = async (qs: string) => (await app.inject({ url: `/api/events?${qs}`, remoteAddress: '127.0.0.1' })).json();
  assert.equal((await get('')).length, 6);
  assert.deepEqual((await get('agent=a1&since=2003')).map((e: { summary: string }) => e.summary), ['e3', 'e4']);
  assert.deepEqual((await get('agent=a1&limit=2')).map((e: { summary: string }) => e.summary), ['e0', 'e1']);
  assert.equal((await get(`since=${new Date(2100).toISOString()}`)).length, 1, 'ISO dates work too');
});

test('bad query parameters get a 400 naming the parameter', async () => {
  for (const [qs, field] of [['limit=0', 'limit'], ['limit=5000', 'limit'], ['since=yesterday', 'since'], ['agent=Bad/Id', 'agent'], ['colour=red', '']] as const) {
    const r = await app.inject({ url: `/api/events?${qs}`, remoteAddress: '127.0.0.1' });
    assert.equal(r.statusCode, 400, qs);
    assert.match(r.json().error, new RegExp(`query ${field}`), qs);
  }
});

test('reads are open on loopback only; admin endpoints always need the token', async () => {
  assert.equal((await app.inject({ url: '/api/agents', remoteAddress: '10.1.2.3' })).statusCode, 401);
  assert.equal((await app.inject({ url: '/api/agents', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
  assert.equal((await app.inject({ url: '/api/agents', remoteAddress: '::1' })).statusCode, 200);
  const noToken = await app.inject({ method: 'POST', url: '/api/agents/a1/ping', remoteAddress: '127.0.0.1' });
  assert.equal(noToken.statusCode, 401);
  assert.equal(pinged, '');
  const wrong = await app.inject({ method: 'POST', url: '/api/agents/a1/ping', remoteAddress: '127.0.0.1', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  const ok = await app.inject({ method: 'POST', url: '/api/agents/a1/ping', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  assert.equal(pinged, 'a1');
});

test('/healthz and /metrics answer', async () => {
  assert.deepEqual((await app.inject({ url: '/healthz', remoteAddress: '10.9.9.9' })).json(), { ok: true, broker: true, db: true });
  const m = await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
  assert.match(m.headers['content-type'] as string, /text\/plain/);
});

test('heal admin endpoints: approvals, reset and the fleet pause need the token and validate their body', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const post = (url: string, payload?: unknown, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url, remoteAddress: '127.0.0.1', headers, ...(payload ? { payload: payload as object } : {}) });
  assert.equal((await post('/api/fleet/pause', { reason: 'x' }, {})).statusCode, 401);
  const approve = await post('/api/agents/a1/approvals/c1', { approved: true, by: 'alice' });
  assert.equal(approve.statusCode, 200);
  assert.deepEqual(sent.at(-1), { id: 'a1', body: { command: 'approve', corr: 'c1', approved: true, by: 'alice' } });
  assert.equal((await post('/api/agents/a1/approvals/c1', { approved: 'yes' })).statusCode, 400);
  assert.equal((await post('/api/agents/a1/approvals/stale', { approved: false })).statusCode, 409, 'the agent refused: no such request');
  assert.equal((await post('/api/agents/nobody/approvals/c1', { approved: true })).statusCode, 404);
  assert.equal((await post('/api/agents/a1/heal/reset', { ruleId: 'restart-web' })).statusCode, 200);
  assert.deepEqual(sent.at(-1)!.body, { command: 'heal_reset', by: 'admin', ruleId: 'restart-web' });
  const paused = await post('/api/fleet/pause', { reason: 'maintenance', by: 'bob' });
  assert.equal(paused.json().paused, true);
  assert.equal((await app.inject({ url: '/api/fleet/control', remoteAddress: '127.0.0.1' })).json().reason, 'maintenance');
  assert.equal((await post('/api/fleet/resume')).json().paused, false);
});
