import { z } from 'zod';
import { decodeUpdate, UPDATE_DECODE_REASONS, UpdateDecodeError, type Update } from '../federation/update-codec.ts';
import { PROTOCOL_VERSION } from './envelope.ts';
import type { KeyObject } from 'node:crypto';
import { COORDINATOR_ID, newMessageId } from './ids.ts';
import { signMessage, VERIFY_REASONS } from './sign.ts';
import { BINARY_TOPICS, TOPICS, matchBinaryTopic, matchTopic, maxPayloadBytes, topicFor, type BinaryTopicKey, type BodyOf, type MessageOf, type TopicKey } from './topics.ts';

export const REJECT_REASONS = [
  'unknown_topic',
  'oversized',
  'malformed_json',
  'unsupported_version',
  'schema',
  'sender_mismatch',
  'unknown_agent',
  // Signed topics (TOPICS[key].signed): no signature, a key we do not trust, a signature that does not verify.
  ...VERIFY_REASONS,
  // Binary updates: the update codec's own reasons (unsupported_version is shared).
  ...UPDATE_DECODE_REASONS.filter((r) => r !== 'unsupported_version'),
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

/** A message too large for its topic's limit: the sender must shrink it, retrying cannot help. */
export class PayloadTooLargeError extends Error {}

/**
 * Builds the envelope for `key` and serialises it, signed with `signer` when given (over the
 * envelope as validated, which is what the receiver verifies); throws if `body` does not match
 * the schema (a bug, not input).
 */
export function encode<K extends TopicKey>(
  key: K,
  args: { from: string; agentId?: string; body: BodyOf<K>; corr?: string; id?: string; ts?: number; signer?: KeyObject },
): Outgoing {
  const def = TOPICS[key];
  const id = args.id ?? newMessageId();
  const msg = { v: PROTOCOL_VERSION, id, corr: args.corr ?? id, from: args.from, ts: args.ts ?? Date.now(), kind: def.kind, body: args.body };
  const parsed = def.schema.safeParse(msg);
  if (!parsed.success) throw new Error(`refusing to send an invalid "${key}" message: ${z.prettifyError(parsed.error)}`);
  const topic = topicFor(key, args.agentId);
  const payload = JSON.stringify(args.signer ? signMessage(parsed.data, args.signer, topic) : parsed.data);
  if (Buffer.byteLength(payload) > maxPayloadBytes(key)) {
    throw new PayloadTooLargeError(`refusing to send "${key}": ${Buffer.byteLength(payload)} bytes exceeds ${maxPayloadBytes(key)}`);
  }
  return { topic, payload, qos: def.qos, retain: def.retain, id };
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
  const limit = maxPayloadBytes(m.key);
  if (size > limit) {
    return { ok: false, key: m.key, reason: 'oversized', detail: `${size} bytes exceeds the ${limit}-byte limit` };
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

export type DecodedBinary =
  | { ok: true; key: BinaryTopicKey; id: string | undefined; update: Update }
  | { ok: false; key: BinaryTopicKey; reason: RejectReason; detail: string };

/**
 * Validates a payload on a binary topic (null when the topic is not one): size, then the update
 * codec (its reason: truncated, bad_magic, unsupported_version, checksum, malformed), then that
 * the agent id inside the update is the agent named in the topic.
 */
export function decodeBinary(topic: string, payload: Uint8Array): DecodedBinary | null {
  const m = matchBinaryTopic(topic);
  if (!m) return null;
  const limit = BINARY_TOPICS[m.key].maxBytes;
  if (payload.byteLength > limit) return { ok: false, key: m.key, reason: 'oversized', detail: `${payload.byteLength} bytes exceeds the ${limit}-byte limit` };
  let update: Update;
  try {
    update = decodeUpdate(payload);
  } catch (e) {
    if (e instanceof UpdateDecodeError) return { ok: false, key: m.key, reason: e.reason, detail: e.message };
    throw e;
  }
  if (update.agentId !== m.id) {
    return { ok: false, key: m.key, reason: 'sender_mismatch', detail: `update says agent "${update.agentId}", topic names "${m.id}"` };
  }
  return { ok: true, key: m.key, id: m.id, update };
}

/** An update ready to publish: binary payload, its topic and delivery. */
export function encodeBinaryOutgoing(key: BinaryTopicKey, agentId: string, payload: Uint8Array): { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean } {
  const def = BINARY_TOPICS[key];
  return { topic: topicFor(key, agentId), payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: def.qos, retain: def.retain };
}
