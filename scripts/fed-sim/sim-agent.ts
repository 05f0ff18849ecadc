import type { KeyObject } from 'node:crypto';
import { FleetModelKeeper } from '../../agent/learn/fleet-model.ts';
import { Participant, type RoundResult } from '../../agent/learn/participant.ts';
import { mulberry32, gaussian } from '../../agent/learn/rng.ts';
import type { ModelExpectation } from '../../agent/detect/model-file.ts';
import { MqttConnection } from '../../shared/link/mqtt-connection.ts';
import { decodeUpdate, encodeUpdate } from '../../shared/federation/update-codec.ts';
import type { NamedTensor } from '../../shared/federation/tensor.ts';
import { Counters } from '../../shared/observe/counters.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { Router } from '../../shared/protocol/router.ts';
import { filterFor } from '../../shared/protocol/topics.ts';

export const ATTACKS = ['noise', 'sign-flip', 'x100'] as const;
/** Fewer train rows than this and a simulated agent sits every round out (the round then waits for its deadline). */
export const SIM_MIN_SAMPLES = 1000;
export type Attack = (typeof ATTACKS)[number];

/**
 * How a poisoned agent rewrites its (honestly trained, clipped) delta before sending it:
 * random noise N(0, 1) per coordinate in place of the delta, the delta negated, or ×100.
 */
export function poison(delta: NamedTensor[], attack: Attack, rand: () => number): NamedTensor[] {
  const g = gaussian(rand);
  const f = attack === 'noise' ? () => g() : attack === 'sign-flip' ? (v: number) => -v : (v: number) => 100 * v;
  return delta.map((t) => ({ ...t, data: t.data.map((v) => f(v)) }));
}

export interface SimAgent {
  id: string;
  keeper: FleetModelKeeper;
  results: RoundResult[];
  stop(): Promise<void>;
}

/**
 * One simulated agent: the agent's real federated-learning part (FleetModelKeeper + Participant)
 * on its own real MQTT connection, verifying the coordinator's signatures with its public key,
 * training only on its own machine's train split. Not the whole Agent: SMD machines have 38
 * features, the agent samples 14 of its own host.
 */
export async function startSimAgent(o: { id: string; url: string; publicKey: KeyObject; expect: ModelExpectation; train: Float32Array; attack?: Attack }): Promise<SimAgent> {
  const counters = new Counters();
  const router = new Router(silentLogger, counters);
  router.signers = [o.publicKey];
  const keeper = new FleetModelKeeper({ expect: o.expect });
  const results: RoundResult[] = [];
  const rand = mulberry32(7);
  const f = o.expect.featureNames.length;
  let conn: MqttConnection;
  const participant = new Participant({
    agentId: o.id,
    config: { participate: true, minSamples: SIM_MIN_SAMPLES, cpuShare: 1 },
    keeper,
    samples: (limit) => o.train.subarray(Math.max(0, o.train.length - limit * f)),
    publish: async (out) => {
      if (o.attack) {
        const u = decodeUpdate(out.payload);
        out = { ...out, payload: Buffer.from(encodeUpdate({ ...u, tensors: poison(u.tensors, o.attack, rand) })) };
      }
      await conn.publish(out);
    },
    log: silentLogger,
    counters,
    onResult: (r) => results.push(r),
  });
  router.on('rounds', (msg) => participant.onRound(msg.body));
  router.on('model', (msg) => {
    if (keeper.offer(msg.body).status === 'new') participant.onModel();
  });
  router.on('coordinatorStatus', () => undefined);
  const status = (state: 'online' | 'offline', reason: 'start' | 'lwt' | 'stop') =>
    encode('status', {
      from: o.id,
      agentId: o.id,
      body: { state, reason, agentVersion: 'fed-sim', featureVersion: 1, modelVersion: null, policyVersion: null, cohort: 'default', host: { hostname: o.id, platform: process.platform, arch: process.arch, cores: 1 }, startedAt: Date.now() },
    });
  conn = new MqttConnection({
    url: o.url,
    clientId: `homeostat-agent-${o.id}`,
    clean: true,
    will: () => status('offline', 'lwt'),
    subscriptions: [filterFor('rounds'), filterFor('model'), filterFor('coordinatorStatus')],
    onConnect: async () => {
      await conn.publish(status('online', 'start'));
    },
    onMessage: async (topic, payload, retained) => {
      await router.dispatch(topic, payload, retained);
    },
    role: 'agent',
    log: silentLogger,
    counters,
  });
  await conn.start(true);
  return {
    id: o.id,
    keeper,
    results,
    stop: async () => {
      await participant.stop();
      await conn.publish(status('offline', 'stop')).catch(() => undefined);
      await conn.stop();
    },
  };
}
