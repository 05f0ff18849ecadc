import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * Agent ids appear inside topic names, so they may not contain MQTT's separators or
 * wildcards ('/', '+', '#') [MQTT-4.7.1-1]; a conservative grammar also keeps them
 * safe in file names and URLs.
 */
export const AgentIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'agent id: 1-63 chars of a-z 0-9 . _ -, starting with a letter or digit');
export type AgentId = z.infer<typeof AgentIdSchema>;

/** The coordinator's sender name in envelopes. */
export const COORDINATOR_ID = 'coordinator';

/** A cohort name: a topic level (fleet/policy/{cohort}) and a file-name-safe word. */
export const CohortSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a cohort name: 1-63 characters of a-z 0-9 _ -, starting with a letter or digit');

/**
 * Message ids are UUIDv7-shaped: a 48-bit millisecond timestamp then random bits, so ids sort
 * by creation time (handy in sqlite indexes and logs) and never collide across restarts.
 */
export function newMessageId(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const MessageIdSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID');

/** A fresh agent id: readable prefix from the host name plus randomness, valid under AgentIdSchema. */
export function newAgentId(hostname: string): string {
  const base = hostname.toLowerCase().replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 40) || 'agent';
  return `${base}-${randomBytes(4).toString('hex')}`;
}
