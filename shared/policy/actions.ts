import { z } from 'zod';
import { HealNameSchema } from './names.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** A regular expression in a string, checked to compile so a bad pattern fails at load, not at 02:13. */
const Pattern = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

export const RestartServiceSchema = z.strictObject({
  type: z.literal('restart_service'),
  /** A managed service declared in the agent's local config. */
  service: HealNameSchema,
});

export const KillProcessSchema = z.strictObject({
  type: z.literal('kill_process'),
  /** A regex over comm and cmdline, or the top consumer of a resource. */
  target: z.union([z.strictObject({ pattern: Pattern }), z.strictObject({ top: z.enum(['cpu', 'memory']) })]),
  /** SIGTERM first; SIGKILL if still alive after this long. */
  graceMs: int(0, 60_000).default(3_000),
});

export const CleanDirSchema = z.strictObject({
  type: z.literal('clean_dir'),
  /** Must lie inside a root the local config allows. */
  path: z.string().min(1).max(4096),
  olderThanSec: int(0, 10 * 365 * 86_400),
  /** Stop deleting (oldest first) once the filesystem has this much free. */
  targetFreePct: z.number().min(0).max(100).optional(),
  maxDeleteBytes: z.number().int().positive().optional(),
});

export const RunCommandSchema = z.strictObject({
  type: z.literal('run_command'),
  /** A name in the local config's command table (an argv, never a shell string). */
  command: HealNameSchema,
});

export const NotifySchema = z.strictObject({
  type: z.literal('notify'),
  message: z.string().min(1).max(500),
});

export const ActionSchema = z.discriminatedUnion('type', [RestartServiceSchema, KillProcessSchema, CleanDirSchema, RunCommandSchema, NotifySchema]);
export type Action = z.infer<typeof ActionSchema>;
export type ActionType = Action['type'];
export const ACTION_TYPES = ['restart_service', 'kill_process', 'clean_dir', 'run_command', 'notify'] as const satisfies readonly ActionType[];

/** What an executor reports; `ok` is "the action did what it says", not "the symptom is gone" (verification decides that). */
export const ActionOutcomeSchema = z.object({
  ok: z.boolean(),
  detail: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type ActionOutcome = z.infer<typeof ActionOutcomeSchema>;

/**
 * What an action acts on, as a stable string: guards (cooldown, breaker, backoff) are kept per
 * rule and target, so two rules restarting one service do not share a breaker by accident, and one
 * rule's kill of pattern A does not block its kill of pattern B.
 */
export function actionTarget(a: Action): string {
  switch (a.type) {
    case 'restart_service':
      return `service:${a.service}`;
    case 'kill_process':
      return 'pattern' in a.target ? `process:/${a.target.pattern}/` : `process:top-${a.target.top}`;
    case 'clean_dir':
      return `dir:${a.path}`;
    case 'run_command':
      return `command:${a.command}`;
    case 'notify':
      return 'notify';
  }
}
