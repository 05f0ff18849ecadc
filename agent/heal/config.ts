import { z } from 'zod';
import { ACTION_TYPES } from '../../shared/policy/actions.ts';
import { HealNameSchema } from '../../shared/policy/names.ts';
import { PolicySchema } from '../../shared/policy/policy.ts';
import { ProbeSchema } from './probes/schema.ts';
import { ManagedServiceSchema } from './services/schema.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * What the device owner allows, whatever a policy asks: the ceiling. Empty by default, so a fresh
 * agent heals nothing until its owner says what it may touch.
 */
export const AllowSchema = z.strictObject({
  /** Action types any policy may use on this node. */
  actions: z.array(z.enum(ACTION_TYPES)).default(['notify']),
  /** run_command's table: name → argv (argv[0] the program). Never a shell string. */
  commands: z.record(HealNameSchema, z.array(z.string().min(1)).min(1, 'argv: at least the program to run')).default({}),
  /** Roots clean_dir may work in (a policy's path must be one of them or inside one). */
  cleanDirs: z.array(z.strictObject({ path: z.string().min(1), maxDeleteBytes: z.number().int().positive().optional() })).default([]),
  kill: z
    .strictObject({
      /** Patterns a policy may kill by (exactly as written in the policy). */
      patterns: z.array(z.string().min(1)).default([]),
      /** "top consumer" kills a policy may ask for. */
      top: z.array(z.enum(['cpu', 'memory'])).default([]),
      /** Added to the built-in exclusions (the agent itself, pid 1, sshd), which always apply. */
      neverKill: z.array(z.string().min(1)).default([]),
      /** A "top cpu" kill needs a process at least this busy (% of one core). */
      minTopCpuPct: z.number().positive().max(10_000).optional(),
      /** A "top memory" kill needs a process holding at least this share of RAM. */
      maxRssPct: z.number().positive().max(100).optional(),
    })
    .prefault({}),
});
export type Allow = z.infer<typeof AllowSchema>;

export const HealConfigSchema = z.strictObject({
  /** Master switch of the whole engine (probes keep running either way when declared). */
  enabled: z.boolean().default(true),
  /** Node-wide dry run: decide, audit and report, never act, whatever the policy says. */
  dryRun: z.boolean().default(false),
  /** How often rules are evaluated. */
  tickMs: int(100, 60_000).default(1000),
  services: z.array(ManagedServiceSchema).default([]),
  probes: z.array(ProbeSchema).default([]),
  allow: AllowSchema.prefault({}),
  /** Hard cap on actions per hour on this node; a policy's own limit can only be lower. */
  maxActionsPerHour: int(0, 10_000).default(30),
  /** The owner's own rules (policy version 0), used until a coordinator policy is accepted. */
  policy: PolicySchema.prefault({}),
});
export type HealConfig = z.infer<typeof HealConfigSchema>;
