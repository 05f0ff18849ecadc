import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { Agent } from '../../agent/agent.ts';
import { loadAcceptedPolicy } from '../../agent/heal/policy-file.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { COORDINATOR_ID } from '../../shared/protocol/ids.ts';
import { REJECTED_METRIC } from '../../shared/protocol/router.ts';
import { generateSigningKeys } from '../../shared/protocol/sign.ts';
import { topicFor, type TopicKey } from '../../shared/protocol/topics.ts';
import { getJson, startFleet, type BrokerKind, type Fleet } from '../support/fleet.ts';
import { sleep, waitFor } from '../support/wait.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };
const POLICY_TOPIC = topicFor('policy', 'default');
const rule = (id: string, value: number) => ({ id, symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value, forSec: 60 }, action: { type: 'notify', message: `cpu over ${value}` } });

/**
 * Signed policy distribution over a real broker: a push reaches a real agent, which applies it
 * and reports its version; unsigned, wrong-key, forged and replayed policies (and unsigned
 * commands and pause switches) are refused by reason, counted, and change nothing.
 */
export function signedPolicySuite(kind: BrokerKind): void {
  let f: Fleet;
  let agent: Agent;
  let attacker: MqttClient;
  const retained: string[] = [];

  const newAgent = (id: string) => new Agent(f.agentConfig({ id, detect: { enabled: false }, telemetry: { intervalSec: 1 } }), { log: silentLogger });
  const push = async (policy: unknown, author = 'alice') => {
    const r = await fetch(`${f.api}/api/policies`, { method: 'POST', headers: AUTH, body: JSON.stringify({ author, policy }) });
    assert.equal(r.status, 201, await r.clone().text());
    return ((await r.json()) as { version: number }).version;
  };
  const rejected = (a: Agent, topic: TopicKey, reason: string) => a.counters.get(REJECTED_METRIC, { topic, reason });
  const policyVersion = (a: Agent) => a.healing!.engine.policyVersion;

  before(async () => {
    f = await startFleet(kind);
    agent = newAgent('policy-agent');
    await agent.start();
    await waitFor(() => f.coordinator.store.agent('policy-agent')?.state === 'online', 10_000, 'agent online');
    attacker = await mqtt.connectAsync(f.brokerUrl, { clientId: `attacker-${kind}`, protocolVersion: 4 });
    attacker.on('message', (topic, payload) => {
      if (topic === POLICY_TOPIC) retained.push(payload.toString());
    });
    await attacker.subscribeAsync(POLICY_TOPIC, { qos: 1 });
  });
  after(async () => {
    await attacker.endAsync();
    await agent.stop();
    await f.close();
  });

  test(`${kind}: a pushed policy is applied by the agent and its version shows in the coordinator's registry`, async () => {
    const v1 = await push({ rules: [rule('cpu-high', 95)] });
    await waitFor(() => policyVersion(agent) === v1, 10_000, `agent runs policy v${v1}`);
    await waitFor(async () => (await getJson<{ versions: { policy: number | null } }>(`${f.api}/api/agents/policy-agent`)).versions.policy === v1, 10_000, 'the status reports it');
    const v2 = await push({ rules: [rule('cpu-high', 90)] }, 'bob');
    assert.equal(v2, v1 + 1);
    await waitFor(() => policyVersion(agent) === v2, 10_000, `agent runs policy v${v2}`);
    await waitFor(() => retained.length >= 2, 5000, 'both versions seen on the wire');
    assert.equal(agent.counters.get('homeostat_policy_updates_total', { result: 'applied' }), 2);
  });

  test(`${kind}: unsigned, wrong-key, forged and replayed policies, unsigned commands and pause switches are refused and counted; the agent keeps its policy`, async () => {
    const inForce = policyVersion(agent);
    const [v1Signed, v2Signed] = [JSON.parse(retained[0]!), JSON.parse(retained[retained.length - 1]!)];
    const evil = { rules: [rule('cpu-high', 1)], dryRun: false };
    const body = { version: inForce + 10, author: 'mallory', createdAt: Date.now(), policy: evil };
    const send = (topic: string, payload: string) => attacker.publishAsync(topic, payload, { qos: 1 });

    await send(POLICY_TOPIC, encode('policy', { from: COORDINATOR_ID, agentId: 'default', body }).payload);
    await send(POLICY_TOPIC, encode('policy', { from: COORDINATOR_ID, agentId: 'default', body, signer: generateSigningKeys().privateKey }).payload);
    // The coordinator's real signature on v2, over a body the attacker changed.
    await send(POLICY_TOPIC, JSON.stringify({ ...v2Signed, body: { ...v2Signed.body, version: inForce + 10, policy: evil } }));
    // A genuine, correctly signed older version: a rollback attempt.
    await send(POLICY_TOPIC, JSON.stringify(v1Signed));
    await send(topicFor('fleetControl'), encode('fleetControl', { from: COORDINATOR_ID, body: { paused: true, by: 'mallory', reason: 'x', at: Date.now() } }).payload);
    await send(topicFor('cmd', 'policy-agent'), encode('cmd', { from: COORDINATOR_ID, agentId: 'policy-agent', body: { command: 'heal_reset', by: 'mallory' } }).payload);

    await waitFor(
      () =>
        rejected(agent, 'policy', 'unsigned') === 1 &&
        rejected(agent, 'policy', 'unknown_key') === 1 &&
        rejected(agent, 'policy', 'bad_signature') === 1 &&
        rejected(agent, 'fleetControl', 'unsigned') === 1 &&
        rejected(agent, 'cmd', 'unsigned') === 1 &&
        agent.counters.get('homeostat_policy_updates_total', { result: 'stale' }) === 1,
      10_000,
      'each refusal counted under its reason',
    );
    assert.equal(policyVersion(agent), inForce, 'the policy in force did not change');
    assert.equal(agent.healing!.engine.isPaused, false, 'a forged pause did nothing');
    const saved = loadAcceptedPolicy(agent.config.dataDir, (why) => assert.fail(why));
    assert.deepEqual([saved?.version, saved?.author], [inForce, 'bob'], 'the saved copy is still the coordinator\'s');
    // The agent's counters travel in its telemetry: the refusals are visible at the coordinator.
    await waitFor(
      async () => {
        const c = (await getJson<{ latestTelemetry: { counters: Record<string, number> } | null }>(`${f.api}/api/agents/policy-agent`)).latestTelemetry?.counters ?? {};
        return c[`${REJECTED_METRIC}{topic="policy",reason="bad_signature"}`] === 1 && c[`${REJECTED_METRIC}{topic="cmd",reason="unsigned"}`] === 1;
      },
      10_000,
      'the refusals in the telemetry the coordinator holds',
    );
    // Still obeying the real coordinator.
    const pong = await fetch(`${f.api}/api/agents/policy-agent/ping`, { method: 'POST', headers: { authorization: AUTH.authorization } });
    assert.equal(pong.status, 200);
  });

  test(`${kind}: after the broker forgets retained messages, the coordinator republishes the latest policy and a new agent gets it`, async () => {
    const latest = policyVersion(agent);
    await f.stopBroker();
    await f.startBroker();
    await waitFor(() => f.coordinator.brokerConnected, 15_000, 'the coordinator reconnected');
    const fresh = newAgent('late-agent');
    await fresh.start();
    try {
      await waitFor(() => policyVersion(fresh) === latest, 15_000, `the new agent runs v${latest}`);
      await sleep(200);
      assert.equal(rejected(fresh, 'policy', 'bad_signature') + rejected(fresh, 'policy', 'unsigned'), 0, 'the republished copy is the signed original');
    } finally {
      await fresh.stop();
    }
  });
}
