import { z } from 'zod';
import { MAX_JSON_PAYLOAD_BYTES, PROTOCOL_VERSION } from './envelope.ts';
import { COORDINATOR_ID, newMessageId } from './ids.ts';
import { TOPICS, matchTopic, topicFor, type BodyOf, type MessageOf, type TopicKey } from './topics.ts';

export const REJECT_REASONS = [
  'unknown_topic',
  'oversized',
  'malformed_json',
  'unsupported_version',
  'schema',
  'sender_mismatch',
  'unknown_agent',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Decoded =
  | { ok: true; key: TopicKey; id: string | undefined; msg: MessageOf<TopicKey> }
  | { ok: false; key: TopicKey | null; reason: RejectReason; detail: string };

export interface Outgoing {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  /** The envelope's message id: outbox rows and acks are tracked by it. */
  id: string;
}

/** Builds the envelope for `key` and serialises it; throws if `body` does not match the schema (a bug, not input). */
export function encode<K extends TopicKey>(
  key: K,
  args: { from: string; agentId?: string; body: BodyOf<K>; corr?: string; id?: string; ts?: number },
): Outgoing {
  const def = TOPICS[key];
  const id = args.id ?? newMessageId();
  const msg = { v: PROTOCOL_VERSION, id, corr: args.corr ?? id, from: args.from, ts: args.ts ?? Date.now(), kind: def.kind, body: args.body };
  const parsed = def.schema.safeParse(msg);
  if (!parsed.success) throw new Error(`refusing to send an invalid "${key}" message: ${z.prettifyError(parsed.error)}`);
  const payload = JSON.stringify(parsed.data);
  if (Buffer.byteLength(payload) > MAX_JSON_PAYLOAD_BYTES) {
    throw new Error(`refusing to send "${key}": ${Buffer.byteLength(payload)} bytes exceeds ${MAX_JSON_PAYLOAD_BYTES}`);
  }
  return { topic: topicFor(key, args.agentId), payload, qos: def.qos, retain: def.retain, id };
}

function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`;
}

/**
 * Validates an incoming payload against the catalogue, in the order that gives the most
 * useful reason: topic, size, JSON, protocol version, schema, then that the sender named in
 * the envelope is the agent named in the topic (an agent may speak only for itself).
 */
export function decode(topic: string, payload: Buffer | Uint8Array | string): Decoded {
  const m = matchTopic(topic);
  if (!m) return { ok: false, key: null, reason: 'unknown_topic', detail: `no catalogue entry for "${topic}"` };
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_JSON_PAYLOAD_BYTES) {
    return { ok: false, key: m.key, reason: 'oversized', detail: `${size} bytes exceeds the ${MAX_JSON_PAYLOAD_BYTES}-byte limit` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, key: m.key, reason: 'malformed_json', detail: (e as Error).message };
  }
  if (raw && typeof raw === 'object' && 'v' in raw && (raw as { v: unknown }).v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      key: m.key,
      reason: 'unsupported_version',
      detail: `schema version ${JSON.stringify((raw as { v: unknown }).v)}, this build speaks ${PROTOCOL_VERSION}`,
    };
  }
  const parsed = TOPICS[m.key].schema.safeParse(raw);
  if (!parsed.success) return { ok: false, key: m.key, reason: 'schema', detail: firstIssue(parsed.error) };
  const msg = parsed.data as MessageOf<TopicKey>;
  const fromAgent = TOPICS[m.key].direction === 'agent→coordinator';
  if (fromAgent && msg.from !== m.id) {
    return { ok: false, key: m.key, reason: 'sender_mismatch', detail: `envelope says from "${msg.from}", topic names "${m.id}"` };
  }
  if (!fromAgent && msg.from !== COORDINATOR_ID) {
    return { ok: false, key: m.key, reason: 'sender_mismatch', detail: `only the coordinator publishes "${m.key}", envelope says from "${msg.from}"` };
  }
  return { ok: true, key: m.key, id: m.id, msg };
}
