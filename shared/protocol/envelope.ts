import { z } from 'zod';
import { MessageIdSchema } from './ids.ts';

/** The protocol's schema version. A message with another `v` is rejected as `unsupported_version`. */
export const PROTOCOL_VERSION = 1;

/**
 * Largest payload either side accepts, in bytes. JSON messages are small (a telemetry summary of
 * the v1 feature vector is ~3 KiB); 64 KiB leaves room for growth and caps what a misbehaving or
 * hostile client can make us parse. Binary model/update payloads get their own limit.
 */
export const MAX_JSON_PAYLOAD_BYTES = 64 * 1024;

/**
 * Detached signature over the canonical envelope without `sig` (see sign.ts when it lands).
 * Optional in v1: agents' own messages are authenticated by broker credentials; fleet messages
 * (policy, model, rounds) must carry one.
 */
export const SignatureSchema = z.object({
  alg: z.literal('ed25519'),
  keyId: z.string().min(1).max(128),
  value: z.string().min(1).max(256).describe('base64'),
});

/**
 * Everything the protocol needs travels in the payload, not in MQTT 5 properties, so the
 * embedded aedes broker (MQTT 3.1.1) and any 3.1.1 device work the same.
 */
export function envelopeSchema<K extends string, B extends z.ZodType>(kind: K, body: B) {
  return z.object({
    v: z.literal(PROTOCOL_VERSION),
    id: MessageIdSchema.describe('message id: the idempotency key; a redelivery carries the same id'),
    corr: z.string().min(1).max(128).describe('correlation id: ties an anomaly, its actions and reports together'),
    from: z.string().min(1).max(64).describe('sender: an agent id or "coordinator"'),
    ts: z.number().int().nonnegative().describe('creation time, ms since the Unix epoch'),
    kind: z.literal(kind),
    body,
    sig: SignatureSchema.optional(),
  });
}
