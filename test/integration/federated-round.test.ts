import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { Coordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/federation/round-store.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { fakeAgent, update } from '../support/fake-fed-agent.ts';
import { getJson, startFleet, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };

async function startRound(api: string): Promise<RoundRecord> {
  const r = await fetch(`${api}/api/federation/rounds`, { method: 'POST', headers: AUTH, body: '{}' });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()) as RoundRecord;
}

const roundState = (api: string, id: string) => getJson<RoundRecord & { rejections: Array<{ agentId: string; reason: string }> }>(`${api}/api/federation/rounds/${id}`);

async function rejectedUpdates(api: string): Promise<Record<string, number>> {
  const c = await getJson<Record<string, Array<{ labels: Record<string, string>; value: number }>>>(`${api}/api/counters`);
  return Object.fromEntries((c.homeostat_messages_rejected_total ?? []).filter((s) => s.labels.topic === 'updates').map((s) => [s.labels.reason!, s.value]));
}

describe('federated rounds over a real broker', () => {
  let fleet: Fleet;
  const clients: MqttClient[] = [];
  before(async () => {
    fleet = await startFleet('aedes', { federation: { minParticipants: 2, sampleFraction: 0.5, deadlineSec: 4 } });
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await fleet.close();
  });

  it('refuses a truncated update, one for the wrong round and one from an agent not sampled, each with its reason, counted; an agent that disconnects is a failure and the round closes at its deadline', async () => {
    const agents = await Promise.all(['fa1', 'fa2', 'fa3', 'fa4'].map((id) => fakeAgent(fleet.brokerUrl, id)));
    clients.push(...agents.map((a) => a.client));
    await waitFor(() => fleet.coordinator.store.agents().filter((a) => a.state === 'online').length === 4, 10_000, 'four agents online');
    const round = await startRound(fleet.api);
    const sampled = round.announce.sampled;
    assert.equal(sampled.length, 2);
    const byId = (id: string) => agents[['fa1', 'fa2', 'fa3', 'fa4'].indexOf(id)]!;
    const [s1, s2] = sampled as [string, string];
    const outsider = ['fa1', 'fa2', 'fa3', 'fa4'].find((a) => !sampled.includes(a))!;

    const good = update(round.id, s1);
    await byId(s1).send(good.subarray(0, good.length - 7));
    await byId(s1).send(update('r999-zz', s1));
    await byId(outsider).send(update(round.id, outsider));
    await byId(s1).send(good);
    await waitFor(async () => Object.keys(await rejectedUpdates(fleet.api)).length === 3, 5_000, 'three refusals counted');
    assert.deepEqual(await rejectedUpdates(fleet.api), { truncated: 1, wrong_round: 1, not_sampled: 1 });
    assert.deepEqual((await roundState(fleet.api, round.id)).rejections.map((r) => [r.agentId, r.reason]), [[outsider, 'not_sampled']]);

    // The other sampled agent drops off the network without a word: the broker publishes its Last Will.
    byId(s2).client.stream.destroy();
    await waitFor(() => fleet.coordinator.store.agent(s2)?.state === 'offline', 5_000, `${s2} offline`);
    const closed = await waitFor(async () => {
      const r = await roundState(fleet.api, round.id);
      return r.state === 'closed' ? r : null;
    }, 10_000, 'the round closed at its deadline');
    assert.equal(closed.outcome, 'below_minimum');
    assert.deepEqual(closed.summary!.used, []);
    assert.deepEqual(closed.summary!.failures, [{ agentId: s2, reason: 'offline (disconnected) without sending an update' }]);
    assert.match(closed.note!, /deadline reached: .*1 usable result\(s\), at least 2 needed; keeping the current model/);
    assert.ok(closed.closedAt! >= closed.deadline, 'closed at the deadline, not before');
  });
});

describe('a coordinator restarted mid-round', () => {
  it('resumes the open round from its data directory: updates before and after the restart both count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fed-restart-'));
    const config = loadCoordinatorConfig(undefined, {
      dataDir: join(dir, 'coordinator'),
      broker: { embedded: { host: '127.0.0.1', port: 0 } },
      api: { host: '127.0.0.1', port: 0, adminToken: 'test-admin-token-0123456789' },
      federation: { minParticipants: 2, deadlineSec: 8 },
    });
    let c = new Coordinator(config, { log: silentLogger });
    const clients: MqttClient[] = [];
    try {
      await c.start();
      const a = await fakeAgent(c.brokerUrl, 'ra1');
      const b = await fakeAgent(c.brokerUrl, 'ra2');
      clients.push(a.client, b.client);
      await waitFor(() => c.store.agents().filter((x) => x.state === 'online').length === 2, 10_000, 'two agents online');
      const round = await startRound(c.apiAddress);
      await a.send(update(round.id, 'ra1', 0.01));
      await waitFor(() => c.rounds.store.updates(round.id).length === 1, 5_000, 'first update stored');

      await c.stop();
      for (const x of clients.splice(0)) x.end(true);
      c = new Coordinator(config, { log: silentLogger });
      await c.start();
      const resumed = await roundState(c.apiAddress, round.id);
      assert.equal(resumed.state, 'open', 'still open after the restart');
      const b2 = await fakeAgent(c.brokerUrl, 'ra2');
      clients.push(b2.client);
      await b2.send(update(round.id, 'ra2', 0.03));
      const closed = await waitFor(async () => {
        const r = await roundState(c.apiAddress, round.id);
        return r.state === 'closed' ? r : null;
      }, 10_000, 'the resumed round closed');
      assert.equal(closed.outcome, 'published', closed.note ?? '');
      assert.deepEqual(closed.summary!.used, ['ra1', 'ra2']);
      const model = await getJson<{ version: number; roundId: string }>(`${c.apiAddress}/api/federation/model`);
      assert.deepEqual([model.version, model.roundId], [1, round.id]);
    } finally {
      for (const x of clients) x.end(true);
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
