import type { z } from 'zod';
import { MAX_UPDATE_BYTES } from '../federation/update-codec.ts';
import { envelopeSchema, MAX_JSON_PAYLOAD_BYTES } from './envelope.ts';
import {
  CmdBodySchema,
  CoordinatorStatusBodySchema,
  EventBodySchema,
  FleetControlBodySchema,
  ModelBodySchema,
  PolicyBodySchema,
  RoundBodySchema,
  ReplyBodySchema,
  StatusBodySchema,
  TelemetryBodySchema,
} from './messages.ts';

export const TOPIC_ROOT = 'homeostat/v1';

type Direction = 'agent→coordinator' | 'coordinator→agent' | 'coordinator→all';

interface TopicDef<K extends string, S extends z.ZodType> {
  /** Pattern with `{id}` placeholders; `+` replaces them when subscribing to all. */
  pattern: string;
  kind: K;
  schema: S;
  qos: 0 | 1;
  retain: boolean;
  direction: Direction;
  description: string;
  /** Agents refuse it unless signed by the coordinator's key (shared/protocol/sign.ts): unsigned, forged, other key. */
  signed?: boolean;
  /** Largest payload accepted on this topic; MAX_JSON_PAYLOAD_BYTES unless the topic says otherwise. */
  maxBytes?: number;
}

/**
 * The model topic's limit: the ONNX file travels base64 in the JSON envelope. 2 MiB holds a model
 * of ~390,000 float32 parameters; the base model is 4,784 and an SMD-width (38-feature) one 12,700.
 */
export const MAX_MODEL_PAYLOAD_BYTES = 2 * 1024 * 1024;

function def<K extends string, B extends z.ZodType>(
  kind: K,
  pattern: string,
  body: B,
  meta: Omit<TopicDef<K, B>, 'pattern' | 'kind' | 'schema'>,
) {
  return { pattern: `${TOPIC_ROOT}/${pattern}`, kind, schema: envelopeSchema(kind, body), ...meta };
}

/**
 * The topic catalogue: the single place that says which topics exist, who publishes them,
 * at which QoS, retained or not, and what they carry. `publish()` and `on()` accept only
 * keys of this map, and docs/protocol.md is generated from it.
 */
export const TOPICS = {
  status: def('status', 'agents/{id}/status', StatusBodySchema, {
    qos: 1,
    retain: true,
    direction: 'agent→coordinator',
    description: 'online/offline and versions; the offline message is also the Last Will',
  }),
  telemetry: def('telemetry', 'agents/{id}/telemetry', TelemetryBodySchema, {
    qos: 1,
    retain: false,
    direction: 'agent→coordinator',
    description: 'summary over the telemetry interval (stats per feature, sampler and outbox state), not raw samples',
  }),
  events: def('event', 'agents/{id}/events', EventBodySchema, {
    qos: 1,
    retain: false,
    direction: 'agent→coordinator',
    description: 'anomaly / action / escalation / notice; stored once per message id',
  }),
  cmd: def('cmd', 'agents/{id}/cmd', CmdBodySchema, {
    qos: 1,
    retain: false,
    direction: 'coordinator→agent',
    description: 'requests to one agent (ping, status, approve a held action, reset heal guards), signed; answered on agents/{id}/reply',
    signed: true,
  }),
  reply: def('reply', 'agents/{id}/reply', ReplyBodySchema, {
    qos: 1,
    retain: false,
    direction: 'agent→coordinator',
    description: 'answer to a cmd; `corr` is the request id',
  }),
  coordinatorStatus: def('coordinator-status', 'coordinator/status', CoordinatorStatusBodySchema, {
    qos: 1,
    retain: true,
    direction: 'coordinator→all',
    description: 'online/offline of the coordinator; offline is its Last Will',
  }),
  fleetControl: def('fleet-control', 'fleet/control', FleetControlBodySchema, {
    qos: 1,
    retain: true,
    direction: 'coordinator→all',
    description: 'fleet-wide remediation pause switch (paused, by whom, why)',
    signed: true,
  }),
  policy: def('policy', 'fleet/policy/{id}', PolicyBodySchema, {
    qos: 1,
    retain: true,
    direction: 'coordinator→all',
    description: 'heal policy for one cohort (`{id}` is the cohort name), versioned; each agent validates it against its local ceiling',
    signed: true,
  }),
  rounds: def('round', 'fleet/rounds', RoundBodySchema, {
    qos: 1,
    retain: true,
    direction: 'coordinator→all',
    description: 'the current federated round (open, or its closed form): base model version, deadline, sampled agents, local training settings, clip/noise, quantisation',
    signed: true,
  }),
  model: def('model', 'fleet/model', ModelBodySchema, {
    qos: 1,
    retain: true,
    direction: 'coordinator→all',
    description: 'the current global model (version, round, SHA-256, the ONNX file base64)',
    maxBytes: MAX_MODEL_PAYLOAD_BYTES,
    signed: true,
  }),
} as const;

export type TopicKey = keyof typeof TOPICS;
export type MessageOf<K extends TopicKey> = z.infer<(typeof TOPICS)[K]['schema']>;
export type BodyOf<K extends TopicKey> = MessageOf<K>['body'];

/** Whether agents accept this topic only when signed by the coordinator (the `signed` flag). */
export function mustBeSigned(key: TopicKey): boolean {
  const t: { signed?: boolean } = TOPICS[key];
  return t.signed === true;
}

/** Largest payload accepted on a JSON topic. */
export function maxPayloadBytes(key: TopicKey): number {
  const t: TopicDef<string, z.ZodType> = TOPICS[key];
  return t.maxBytes ?? MAX_JSON_PAYLOAD_BYTES;
}

/**
 * Topics whose payload is not a JSON envelope. An update is binary (HSU1, shared/federation/
 * update-codec.ts): at float16 a weight costs 2 bytes instead of 10-20 as JSON text. It carries
 * its own sender (agent id), round id and CRC, so it needs no envelope.
 */
export const BINARY_TOPICS = {
  updates: {
    pattern: `${TOPIC_ROOT}/agents/{id}/updates`,
    qos: 1,
    retain: false,
    direction: 'agent→coordinator',
    description: 'a weight update for a federated round (binary HSU1: quantised delta, round id, agent id, CRC-32)',
    maxBytes: MAX_UPDATE_BYTES,
  },
} as const satisfies Record<string, Omit<TopicDef<string, z.ZodType>, 'kind' | 'schema'>>;
export type BinaryTopicKey = keyof typeof BINARY_TOPICS;

/** The concrete topic for one agent (or the fixed topic when the pattern has no `{id}`). */
export function topicFor(key: TopicKey | BinaryTopicKey, id?: string): string {
  const p = patternOf(key);
  if (!p.includes('{id}')) return p;
  if (!id) throw new Error(`topic "${key}" needs an agent id`);
  return p.replace('{id}', id);
}

/** Subscription filter: `{id}` becomes `+`, or the given id. */
export function filterFor(key: TopicKey | BinaryTopicKey, id?: string): string {
  return patternOf(key).replace('{id}', id ?? '+');
}

function patternOf(key: TopicKey | BinaryTopicKey): string {
  return key in BINARY_TOPICS ? BINARY_TOPICS[key as BinaryTopicKey].pattern : TOPICS[key as TopicKey].pattern;
}

const matchersOf = <K extends string>(patterns: Record<K, { pattern: string }>) => (Object.keys(patterns) as K[]).map((key) => ({ key, parts: patterns[key].pattern.split('/') }));
const matchers = matchersOf(TOPICS);
const binaryMatchers = matchersOf(BINARY_TOPICS);

/** Which catalogue entry a concrete topic belongs to, with the `{id}` it names. */
export function matchTopic(topic: string): { key: TopicKey; id: string | undefined } | null {
  return matchIn(matchers, topic);
}

/** Which binary topic a concrete topic is, with the `{id}` it names. */
export function matchBinaryTopic(topic: string): { key: BinaryTopicKey; id: string | undefined } | null {
  return matchIn(binaryMatchers, topic);
}

function matchIn<K extends string>(list: ReadonlyArray<{ key: K; parts: string[] }>, topic: string): { key: K; id: string | undefined } | null {
  const parts = topic.split('/');
  for (const m of list) {
    if (m.parts.length !== parts.length) continue;
    let id: string | undefined;
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      if (m.parts[i] === '{id}') id = parts[i];
      else if (m.parts[i] !== parts[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return { key: m.key, id };
  }
  return null;
}
