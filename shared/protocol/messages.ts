import { z } from 'zod';

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

export const EVENT_TYPES = ['anomaly', 'action', 'escalation', 'notice'] as const;

export const EventBodySchema = z.object({
  type: z.enum(EVENT_TYPES),
  severity: z.enum(['info', 'warning', 'critical']),
  summary: z.string().min(1).max(1000),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type EventBody = z.infer<typeof EventBodySchema>;

/** Requests to one agent; the reply goes to agents/{id}/reply with `corr` = the request id. */
export const CmdBodySchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('ping') }),
  z.object({ command: z.literal('status') }),
]);
export type CmdBody = z.infer<typeof CmdBodySchema>;

export const ReplyBodySchema = z.object({
  ok: z.boolean(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.string().max(1000).optional(),
});
export type ReplyBody = z.infer<typeof ReplyBodySchema>;

export const CoordinatorStatusBodySchema = z.object({
  state: z.enum(['online', 'offline']),
  reason: z.enum(['start', 'stop', 'lwt']),
  version: z.string().max(64),
  startedAt: z.number().int().nonnegative(),
});
export type CoordinatorStatusBody = z.infer<typeof CoordinatorStatusBodySchema>;
