import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { Agent } from '../../agent/agent.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { MAX_JSON_PAYLOAD_BYTES } from '../../shared/protocol/envelope.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { topicFor, type TopicKey } from '../../shared/protocol/topics.ts';
import { getJson, startFleet, type BrokerKind, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';

const AGENT = 'good-agent';
const REJECTED = 'homeostat_messages_rejected_total';
type Snapshot = Record<string, Array<{ labels: Record<string, string>; value: number }>>;

/** A valid envelope for each topic, to be broken in each way below. */
function valid(key: TopicKey, id: string): { topic: string; msg: Record<string, unknown> } {
  const status = { state: 'online', reason: 'start', agentVersion: '0', featureVersion: 1, modelVersion: null, policyVersion: null, cohort: 'default', host: { hostname: 'h', platform: 'linux', arch: 'x64', cores: 1 }, startedAt: 1 };
  const bodies: Record<TopicKey, unknown> = {
    status,
    telemetry: { from: 0, to: 1, samples: 1, featureVersion: 1, metrics: {}, sampler: { ticks: 1, skipped: 0, errors: 0, tickMsMax: 1 }, outbox: { events: 0, telemetry: 0 }, counters: {} },
    events: { type: 'notice', severity: 'info', summary: 'x', data: {} },
    reply: { ok: true },
    cmd: { command: 'ping' },
    coordinatorStatus: { state: 'online', reason: 'start', version: '0', startedAt: 1 },
    fleetControl: { paused: false, by: 'admin', reason: '', at: 1 },
    policy: { version: 1, author: 'admin', createdAt: 1, policy: { rules: [] } },
    rounds: { roundId: 'r1-a', state: 'open', baseVersion: 0, baseSha256: '0'.repeat(64), openedAt: 1, deadline: 2, minParticipants: 1, sampled: [id], training: { epochs: 1, learningRate: 0.001, windowsPerEpoch: 64, maxSamples: 100 }, clipNorm: null, noiseMultiplier: 0, quantization: 'f16', strategy: 'fedavg' },
    model: { version: 1, roundId: 'r1-a', sha256: '0'.repeat(64), createdAt: 1, onnx: 'AA==' },
  };
  const fromCoordinator = key === 'cmd' || key === 'coordinatorStatus' || key === 'fleetControl' || key === 'policy';
  // The policy topic is per cohort (the agent's is "default"), the others per agent.
  const out = encode(key, { from: fromCoordinator ? 'coordinator' : id, agentId: key === 'policy' ? 'default' : id, body: bodies[key] as never });
  return { topic: out.topic, msg: JSON.parse(out.payload) };
}

/**
 * For every topic either side subscribes to: malformed JSON, wrong schema, wrong schema version,
 * oversized payload, and an unknown agent id (or a sender that may not publish there) are each
 * rejected, logged, counted under their reason where the API shows it, and a good message still
 * goes through afterwards.
 */
export function badInputSuite(kind: BrokerKind): void {
  let f: Fleet;
  let agent: Agent;
  let client: MqttClient;

  before(async () => {
    f = await startFleet(kind, { enrolment: { mode: 'allowlist', agents: [AGENT] } });
    agent = new Agent(f.agentConfig({ id: AGENT, telemetry: { intervalSec: 1 } }), { log: silentLogger });
    await agent.start();
    await waitFor(() => f.coordinator.store.agent(AGENT)?.state === 'online', 10_000, 'agent online');
    client = await mqtt.connectAsync(f.brokerUrl, { clientId: `evil-${kind}`, protocolVersion: 4 });
  });
  after(async () => {
    await client.endAsync();
    await agent.stop();
    await f.close();
  });

  test(`${kind}: each kind of bad input is rejected and counted by reason; good messages still flow`, async () => {
    const coordinatorTopics: TopicKey[] = ['status', 'telemetry', 'events', 'reply'];
    const agentTopics: TopicKey[] = ['cmd', 'coordinatorStatus', 'fleetControl', 'policy'];
    const expect: Array<{ side: 'coordinator' | 'agent'; topic: TopicKey; reason: string }> = [];
    for (const key of [...coordinatorTopics, ...agentTopics]) {
      const side: 'coordinator' | 'agent' = coordinatorTopics.includes(key) ? 'coordinator' : 'agent';
      const { topic, msg } = valid(key, AGENT);
      const send = (payload: string | Buffer) => client.publishAsync(topic, payload, { qos: 1 });
      await send('{"v":1, "id": oops');
      await send(JSON.stringify({ ...msg, body: { nonsense: true } }));
      await send(JSON.stringify({ ...msg, v: 2 }));
      await send(Buffer.alloc(MAX_JSON_PAYLOAD_BYTES + 1, 0x7b));
      expect.push(...['malformed_json', 'schema', 'unsupported_version', 'oversized'].map((reason) => ({ side, topic: key, reason })));
      if (side === 'coordinator') {
        const stranger = valid(key, 'stranger-agent');
        await client.publishAsync(stranger.topic, JSON.stringify(stranger.msg), { qos: 1 });
        expect.push({ side, topic: key, reason: 'unknown_agent' });
      }
      // A sender speaking for someone else: another agent's id, or an agent posing as the coordinator.
      await send(JSON.stringify({ ...msg, from: side === 'coordinator' ? 'impostor' : AGENT }));
      expect.push({ side, topic: key, reason: 'sender_mismatch' });
    }

    const rejectedAt = (snap: Snapshot | Record<string, number>, topic: string, reason: string): number => {
      if (Array.isArray((snap as Snapshot)[REJECTED])) {
        return (snap as Snapshot)[REJECTED]!.find((s) => s.labels.topic === topic && s.labels.reason === reason)?.value ?? 0;
      }
      return (snap as Record<string, number>)[`${REJECTED}{topic="${topic}",reason="${reason}"}`] ?? 0;
    };
    // The coordinator's counters are on its API; the agent's travel in its telemetry to the same API.
    await waitFor(
      async () => {
        const coord = await getJson<Snapshot>(`${f.api}/api/counters`);
        const a = await getJson<{ latestTelemetry: { counters: Record<string, number> } | null }>(`${f.api}/api/agents/${AGENT}`);
        return expect.every((e) => rejectedAt(e.side === 'coordinator' ? coord : (a.latestTelemetry?.counters ?? {}), e.topic, e.reason) >= 1);
      },
      15_000,
      'every rejection counted under its reason',
    ).catch(async (e: Error) => {
      const coord = await getJson<Snapshot>(`${f.api}/api/counters`);
      const a = await getJson<{ latestTelemetry: { counters: Record<string, number> } | null }>(`${f.api}/api/agents/${AGENT}`);
      const missing = expect.filter((x) => rejectedAt(x.side === 'coordinator' ? coord : (a.latestTelemetry?.counters ?? {}), x.topic, x.reason) < 1);
      throw new Error(`${e.message}; missing: ${JSON.stringify(missing)}`);
    });
    const prom = await (await fetch(`${f.api}/metrics`)).text();
    assert.match(prom, /homeostat_messages_rejected_total\{topic="events",reason="oversized"\} 1/);
    assert.equal(f.coordinator.store.hasAgent('stranger-agent'), false, 'an unknown agent never enters the registry');

    // Both processes still work: an event flows up, a command flows down and is answered.
    const id = agent.emitEvent({ type: 'notice', severity: 'info', summary: 'still alive', data: {} });
    await waitFor(() => f.coordinator.store.events({ agent: AGENT, limit: 1000 }).some((e) => e.id === id), 10_000, 'a good event after the bad ones');
    const pong = await fetch(`${f.api}/api/agents/${AGENT}/ping`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token-0123456789' } });
    assert.equal(pong.status, 200);
    assert.equal(((await pong.json()) as { result: { pong: boolean } }).result.pong, true);
    assert.equal((await fetch(`${f.api}/healthz`)).status, 200);
  });
}
