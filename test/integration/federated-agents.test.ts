import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { Agent } from '../../agent/agent.ts';
import { DEFAULT_BASE_MODEL_PATH } from '../../agent/detect/detector.ts';
import { ACCEPT_METRIC } from '../../agent/learn/accept.ts';
import { FLEET_MODELS_METRIC } from '../../agent/learn/fleet-learning.ts';
import { PARTICIPANT_METRIC } from '../../agent/learn/participant.ts';
import { gaussian, mulberry32 } from '../../agent/learn/rng.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../../agent/sense/features.ts';
import type { RoundRecord } from '../../coordinator/federation/round-store.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { REJECTED_METRIC } from '../../shared/protocol/router.ts';
import { getJson, startFleet, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };
const SAMPLES = 1500;

const counter = (a: Agent, name: string, labels: Record<string, string>) =>
  a.counters.snapshot()[name]?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0;

/**
 * Real agents (sampling off; their stores filled with a synthetic normal history) take part in a
 * round over the embedded broker: each fine-tunes the base model on its own samples, sends an
 * HSU1 update, receives the signed global model and runs the acceptance test on it.
 */
describe('real agents in a federated round', () => {
  let fleet: Fleet;
  const agents: Agent[] = [];
  before(async () => {
    fleet = await startFleet('aedes', { federation: { minParticipants: 2, deadlineSec: 60, training: { epochs: 1, learningRate: 1e-3, windowsPerEpoch: 256, maxSamples: SAMPLES } } });
    for (const [k, id] of ['fl-a', 'fl-b'].entries()) {
      const a = new Agent(
        fleet.agentConfig({ id, heal: { enabled: false }, detect: { tuning: { enabled: false } }, learn: { minSamples: 300, cpuShare: 1, accept: { minSamples: 300, maxFprIncrease: 1 } } }),
        { log: silentLogger, sampling: false },
      );
      await a.start();
      const g = gaussian(mulberry32(10 + k));
      const F = FEATURE_NAMES.length;
      for (let i = 0; i < SAMPLES; i++) a.store.insertSample(1_000_000 + i * 1000, FEATURE_VERSION, Array.from({ length: F }, (_, f) => 10 + 3 * f + (k + 1) * Math.sin(i / (20 + f)) + 0.2 * g()));
      agents.push(a);
    }
    await waitFor(() => fleet.coordinator.store.agents().filter((a) => a.state === 'online').length === 2, 10_000, 'two agents online');
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await fleet.close();
  });

  it('each agent trains and sends; the round publishes v1; each agent holds it, tests it and runs it; status reports it', async () => {
    const res = await fetch(`${fleet.api}/api/federation/rounds`, { method: 'POST', headers: AUTH, body: JSON.stringify({ strategy: 'median' }) });
    assert.equal(res.status, 201, await res.clone().text());
    const round = (await res.json()) as RoundRecord;
    const closed = await waitFor(async () => {
      const r = await getJson<RoundRecord>(`${fleet.api}/api/federation/rounds/${round.id}`);
      return r.state === 'closed' ? r : null;
    }, 25_000, 'the round closed');
    assert.equal(closed.outcome, 'published', closed.note ?? '');
    assert.match(closed.note!, /every sampled agent reported/);
    assert.deepEqual([...closed.summary!.used].sort(), ['fl-a', 'fl-b']);
    assert.equal(closed.summary!.strategy, 'median');
    for (const [id, bytes] of Object.entries(closed.summary!.bytes)) assert.ok(bytes > 9_000 && bytes < 10_500, `${id}: an f16 update of the base model is ~9.8 kB, got ${bytes}`);
    for (const a of agents) {
      assert.equal(counter(a, PARTICIPANT_METRIC, { result: 'sent' }), 1);
      await waitFor(() => a.learning!.keeper.held()?.version === 1, 10_000, `${a.id} holds v1`);
      await waitFor(() => counter(a, ACCEPT_METRIC, { result: 'accepted' }) === 1, 15_000, `${a.id} accepted v1`);
      assert.equal(a.detector!.status().modelVersion, 'global-v1');
      await waitFor(() => fleet.coordinator.store.agent(a.id)?.versions.model === 'global-v1', 10_000, `the registry shows ${a.id} on global-v1`);
    }
  });

  it('an unsigned or replayed older model is refused and counted; the agent keeps what it holds', async () => {
    const a = agents[0]!;
    const held = a.learning!.keeper.held()!;
    const client = await mqtt.connectAsync(fleet.brokerUrl, { clientId: 'impostor', protocolVersion: 4 });
    try {
      const forged = encode('model', { from: 'coordinator', body: { version: 99, roundId: 'r99-x', sha256: held.sha256, createdAt: 1, onnx: Buffer.from(held.onnx).toString('base64') } });
      await client.publishAsync(forged.topic, forged.payload, { qos: 1 });
      await waitFor(() => counter(a, REJECTED_METRIC, { topic: 'model', reason: 'unsigned' }) >= 1, 5_000, 'unsigned model refused');
      // A replay of the base model message (v0), genuinely signed by the coordinator: the agent is on v1 and does not go back.
      const onnx = readFileSync(DEFAULT_BASE_MODEL_PATH);
      const replay = encode('model', { from: 'coordinator', signer: fleet.coordinator.keys.privateKey, body: { version: 0, roundId: null, sha256: createHash('sha256').update(onnx).digest('hex'), createdAt: 1, onnx: onnx.toString('base64') } });
      await client.publishAsync(replay.topic, replay.payload, { qos: 1 });
      await waitFor(() => counter(a, FLEET_MODELS_METRIC, { result: 'stale' }) === 1, 5_000, 'replayed v0 refused as stale');
    } finally {
      await client.endAsync();
    }
    assert.equal(a.learning!.keeper.held()!.version, 1);
    assert.equal(a.detector!.status().modelVersion, 'global-v1');
  });
});
