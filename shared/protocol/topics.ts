import type { z } from 'zod';
import { envelopeSchema } from './envelope.ts';
import {
  CmdBodySchema,
  CoordinatorStatusBodySchema,
  EventBodySchema,
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
}

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
    description: 'requests to one agent (ping, status); answered on agents/{id}/reply',
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
} as const;

export type TopicKey = keyof typeof TOPICS;
export type MessageOf<K extends TopicKey> = z.infer<(typeof TOPICS)[K]['schema']>;
export type BodyOf<K extends TopicKey> = MessageOf<K>['body'];

/**
 * Topics of ARCHITECTURE.md that later work defines (policy, model, rounds, updates). Listed so
 * the docs show the whole tree and so nobody reuses the names; no code publishes them yet.
 */
export const RESERVED_TOPICS = [
  { pattern: `${TOPIC_ROOT}/agents/{id}/updates`, qos: 1, retain: false, description: 'model update for a round (binary)' },
  { pattern: `${TOPIC_ROOT}/fleet/policy/{cohort}`, qos: 1, retain: true, description: 'signed policy' },
  { pattern: `${TOPIC_ROOT}/fleet/model`, qos: 1, retain: true, description: 'signed global model' },
  { pattern: `${TOPIC_ROOT}/fleet/rounds`, qos: 1, retain: true, description: 'open federated round' },
] as const;

/** The concrete topic for one agent (or the fixed topic when the pattern has no `{id}`). */
export function topicFor(key: TopicKey, id?: string): string {
  const p = TOPICS[key].pattern;
  if (!p.includes('{id}')) return p;
  if (!id) throw new Error(`topic "${key}" needs an agent id`);
  return p.replace('{id}', id);
}

/** Subscription filter: `{id}` becomes `+`, or the given id. */
export function filterFor(key: TopicKey, id?: string): string {
  return TOPICS[key].pattern.replace('{id}', id ?? '+');
}

const matchers = (Object.keys(TOPICS) as TopicKey[]).map((key) => {
  const parts = TOPICS[key].pattern.split('/');
  return { key, parts };
});

/** Which catalogue entry a concrete topic belongs to, with the `{id}` it names. */
export function matchTopic(topic: string): { key: TopicKey; id: string | undefined } | null {
  const parts = topic.split('/');
  for (const m of matchers) {
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
