import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { RoundRecord } from '../../coordinator/federation/round-store.ts';
import { fakeAgent, update } from '../support/fake-fed-agent.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

const TOKEN = 'test-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'fed-kill-'));
const procs: ChildProcess[] = [];
const clients: MqttClient[] = [];
after(() => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** The real coordinator process (embedded broker), ready once its API answers. */
async function startCoordinator(config: string, api: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'coordinator', '-c', config], { stdio: 'ignore', env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'silent' } });
  procs.push(p);
  await waitFor(async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok === true, 30_000, 'the coordinator API up');
  return p;
}

const round = async (api: string, id: string) => (await (await fetch(`${api}/api/federation/rounds/${id}`)).json()) as RoundRecord & { updates: Array<{ agentId: string }> };

test('a coordinator SIGKILLed mid-round resumes the round from its sqlite file: the update sent before the kill and the one after both count', async () => {
  const [mqttPort, apiPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const broker = `mqtt://127.0.0.1:${mqttPort}`;
  const config = join(dir, 'coordinator.json');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      broker: { embedded: { host: '127.0.0.1', port: mqttPort } },
      api: { host: '127.0.0.1', port: apiPort, adminToken: TOKEN },
      federation: { minParticipants: 2, deadlineSec: 60 },
    }),
  );
  const first = await startCoordinator(config, api);
  const a = await fakeAgent(broker, 'ka1');
  const b = await fakeAgent(broker, 'ka2');
  clients.push(a.client, b.client);
  await waitFor(async () => ((await (await fetch(`${api}/api/agents`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ state: string }>).filter((x) => x.state === 'online').length === 2, 10_000, 'two agents online');
  const res = await fetch(`${api}/api/federation/rounds`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 201, await res.clone().text());
  const opened = (await res.json()) as RoundRecord;
  await a.send(update(opened.id, 'ka1', 0.01));
  await waitFor(async () => (await round(api, opened.id)).updates.length === 1, 10_000, 'the first update stored');

  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  for (const c of clients.splice(0)) c.end(true);

  await startCoordinator(config, api);
  const resumed = await round(api, opened.id);
  assert.equal(resumed.state, 'open', 'the round is still open after the kill');
  assert.deepEqual(resumed.updates.map((u) => u.agentId), ['ka1'], 'the update sent before the kill is kept');
  const b2 = await fakeAgent(broker, 'ka2');
  clients.push(b2.client);
  await b2.send(update(opened.id, 'ka2', 0.03));
  const closed = await waitFor(async () => {
    const r = await round(api, opened.id);
    return r.state === 'closed' ? r : null;
  }, 15_000, 'the resumed round closed');
  assert.equal(closed.outcome, 'published', closed.note ?? '');
  assert.deepEqual([...closed.summary!.used].sort(), ['ka1', 'ka2']);
  assert.equal(closed.modelVersion, 1);
});
