import { z } from 'zod';
import { QUANTIZATIONS } from '../federation/update-codec.ts';
import { AgentIdSchema } from './ids.ts';

const finite = z.number().refine(Number.isFinite, 'a finite number');

export const StatusBodySchema = z.object({
  state: z.enum(['online', 'offline']),
  /** Why an offline status was sent: `lwt` is the broker publishing the Last Will. */
  reason: z.enum(['start', 'stop', 'lwt', 'reconnect']),
  agentVersion: z.string().max(64),
  featureVersion: z.number().int().positive(),
  modelVersion: z.string().max(128).nullable(),
  policyVersion: z.number().int().nonnegative().nullable(),
  cohort: z.string().max(64),
  host: z.object({
    hostname: z.string().max(255),
    platform: z.string().max(32),
    arch: z.string().max(32),
    cores: z.number().int().positive(),
  }),
  startedAt: z.number().int().nonnegative(),
});
export type StatusBody = z.infer<typeof StatusBodySchema>;

export const MetricStatsSchema = z.object({ min: finite, max: finite, mean: finite, last: finite });

export const TelemetryBodySchema = z.object({
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  featureVersion: z.number().int().positive(),
  /** Stats per feature over the interval, keyed by feature name (docs/features.md). */
  metrics: z.record(z.string().max(64), MetricStatsSchema),
  sampler: z.object({ ticks: z.number().int(), skipped: z.number().int(), errors: z.number().int(), tickMsMax: finite }),
  outbox: z.object({ events: z.number().int(), telemetry: z.number().int() }),
  /** The agent's own counters (rejected messages by topic and reason, outbox drops...). */
  counters: z.record(z.string().max(200), finite),
});
export type TelemetryBody = z.infer<typeof TelemetryBodySchema>;

export const EVENT_TYPES = ['anomaly', 'action', 'escalation', 'approval', 'notice'] as const;

export const EventBodySchema = z.object({
  type: z.enum(EVENT_TYPES),
  severity: z.enum(['info', 'warning', 'critical']),
  summary: z.string().min(1).max(1000),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type EventBody = z.infer<typeof EventBodySchema>;

/**
 * In a notice event's `data.roundDecline`: a sampled agent sits a federated round out (too few
 * samples, training failed), so the coordinator need not wait for it until the deadline.
 */
export const RoundDeclineSchema = z.object({ roundId: z.string().min(1).max(64), reason: z.string().min(1).max(64), detail: z.string().max(1000) });
export type RoundDecline = z.infer<typeof RoundDeclineSchema>;

/** Requests to one agent; the reply goes to agents/{id}/reply with `corr` = the request id. */
export const CmdBodySchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('ping') }),
  z.object({ command: z.literal('status') }),
  /** Answer to a heal approval request; `corr` is the episode's correlation id from the request event. */
  z.object({ command: z.literal('approve'), corr: z.string().min(1).max(64), approved: z.boolean(), by: z.string().min(1).max(128) }),
  /** Clears escalation, breaker and counters (of one rule, or all): the human's "try again". */
  z.object({ command: z.literal('heal_reset'), ruleId: z.string().min(1).max(64).optional(), by: z.string().min(1).max(128) }),
]);
export type CmdBody = z.infer<typeof CmdBodySchema>;

export const ReplyBodySchema = z.object({
  ok: z.boolean(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.string().max(1000).optional(),
});
export type ReplyBody = z.infer<typeof ReplyBodySchema>;

/** Fleet-wide remediation switch, retained: an agent that connects later still learns it. */
export const FleetControlBodySchema = z.object({
  paused: z.boolean(),
  by: z.string().min(1).max(128),
  reason: z.string().max(500).default(''),
  at: z.number().int().nonnegative(),
});
export type FleetControlBody = z.infer<typeof FleetControlBodySchema>;

/**
 * A heal policy for one cohort, retained. The policy itself stays unparsed here: the agent
 * validates it (naming rule and field) and checks it against its local ceiling, so a bad policy
 * is refused *and reported* by every agent rather than dropped at the codec.
 */
export const PolicyBodySchema = z.object({
  version: z.number().int().positive(),
  author: z.string().min(1).max(128),
  createdAt: z.number().int().nonnegative(),
  policy: z.record(z.string(), z.unknown()),
});
export type PolicyBody = z.infer<typeof PolicyBodySchema>;

export const CoordinatorStatusBodySchema = z.object({
  state: z.enum(['online', 'offline']),
  reason: z.enum(['start', 'stop', 'lwt']),
  version: z.string().max(64),
  startedAt: z.number().int().nonnegative(),
});
export type CoordinatorStatusBody = z.infer<typeof CoordinatorStatusBodySchema>;

/** Round ids: `r{sequence}-{base36 time}`, short enough for the update codec's 64-byte field. */
export const RoundIdSchema = z.string().regex(/^r[0-9]{1,9}-[a-z0-9]{1,12}$/, 'a round id like r12-lx3k9a');
const uint32 = z.number().int().min(0).max(0xffffffff);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest, 64 lowercase hex digits');

/** How a participant fine-tunes for a round: the coordinator decides, every participant does the same. */
export const LocalTrainingSchema = z.object({
  epochs: z.number().int().min(1).max(100),
  learningRate: z.number().positive().max(1),
  /** Windows drawn per local epoch: bounds the work on a small node whatever its history. */
  windowsPerEpoch: z.number().int().min(64).max(1_000_000),
  /** The most recent normal samples a participant trains on. */
  maxSamples: z.number().int().min(100).max(10_000_000),
});
export type LocalTraining = z.infer<typeof LocalTrainingSchema>;

/**
 * A federated round, retained on fleet/rounds while it is open (and, once closed, its closed
 * form, so a late joiner does not train for it). Signed: it tells nodes to train and what to send.
 * At most 1,000 sampled ids keeps it well inside the JSON limit (64 chars × 1,000 < 64 KiB).
 */
export const RoundBodySchema = z.object({
  roundId: RoundIdSchema,
  state: z.enum(['open', 'closed']),
  /** The global model version participants fine-tune from (0 = the fleet's base model). */
  baseVersion: uint32,
  baseSha256: sha256Hex,
  openedAt: z.number().int().nonnegative(),
  /** Updates after this time (ms since the epoch) are refused as late. */
  deadline: z.number().int().nonnegative(),
  minParticipants: z.number().int().min(1),
  sampled: z.array(AgentIdSchema).min(1).max(1000),
  training: LocalTrainingSchema,
  /** L2 bound each participant clips its delta to; null = no clipping. */
  clipNorm: z.number().positive().nullable(),
  /** Gaussian noise of std noiseMultiplier·clipNorm per coordinate (needs clipNorm). */
  noiseMultiplier: z.number().min(0).max(100),
  quantization: z.enum(QUANTIZATIONS),
  /** The aggregation the coordinator will use (informational for nodes). */
  strategy: z.string().min(1).max(64),
});
export type RoundBody = z.infer<typeof RoundBodySchema>;

/**
 * The global model, retained on fleet/model and signed. Version 0 is the base model the fleet
 * starts from; every later version comes from a round. `onnx` is the file, base64: the topic has
 * its own size limit (MAX_MODEL_PAYLOAD_BYTES) because SMD-width models exceed 64 KiB.
 */
export const ModelBodySchema = z.object({
  version: uint32,
  /** The round that produced it; null for the base model (version 0). */
  roundId: RoundIdSchema.nullable(),
  /** SHA-256 of the ONNX bytes: checked by the receiver before parsing. */
  sha256: sha256Hex,
  createdAt: z.number().int().nonnegative(),
  onnx: z.string().min(1).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
});
export type ModelBody = z.infer<typeof ModelBodySchema>;

/** The version string a global model carries in its file, in agents' status and in anomaly events. */
export const globalModelLabel = (version: number): string => `global-v${version}`;
