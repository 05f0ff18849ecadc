import { z } from 'zod';
import { ActionSchema } from './actions.ts';
import { HealNameSchema } from './names.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const finite = z.number().refine(Number.isFinite, 'a finite number');

/** A probe (declared in the local config) failing k of its last n runs. */
export const ProbeFailingSchema = z
  .strictObject({
    kind: z.literal('probe_failing'),
    probe: HealNameSchema,
    k: int(1, 20).default(3),
    n: int(1, 20).default(5),
  })
  .refine((s) => s.k <= s.n, { message: 'k must be ≤ n', path: ['k'] });

/** A feature (docs/features.md) beyond a bound for every sample of `forSec`. */
export const MetricConditionSchema = z.strictObject({
  kind: z.literal('metric'),
  feature: z.string().min(1).max(64),
  op: z.enum(['>', '>=', '<', '<=']),
  value: finite,
  forSec: int(0, 86_400).default(30),
});

/** An open anomaly, optionally only one whose top contributor is a given feature. */
export const AnomalySymptomSchema = z.strictObject({
  kind: z.literal('anomaly'),
  topFeature: z.string().min(1).max(64).optional(),
});

/** A managed service (local config) not running. */
export const ProcessDownSchema = z.strictObject({
  kind: z.literal('process_down'),
  service: HealNameSchema,
});

export const SymptomSchema = z.discriminatedUnion('kind', [ProbeFailingSchema, MetricConditionSchema, AnomalySymptomSchema, ProcessDownSchema]);
export type Symptom = z.infer<typeof SymptomSchema>;

/**
 * Per-rule guards. Defaults follow the anchors: Kubernetes' CrashLoopBackOff (10 s doubling to
 * 300 s, reset after 10 minutes of health), systemd's StartLimitBurst (a bounded number of
 * attempts), and the issue's 180 s before a human hears about it.
 */
export const GuardsSchema = z
  .strictObject({
    /** Minimum time between two actions of this rule on one target, whatever their outcome. */
    cooldownSec: int(0, 86_400).default(30),
    /** After a failed recovery: wait initial·2^(failures−1), at most max, jittered to 50–100 %. */
    backoff: z.strictObject({ initialSec: int(0, 3600).default(10), maxSec: int(0, 86_400).default(300) }).prefault({}),
    /** Opens after this many failed recoveries in a row; half-open (one trial) after openSec. */
    breaker: z.strictObject({ failures: int(1, 100).default(3), openSec: int(1, 86_400).default(600) }).prefault({}),
    /**
     * After an action the symptom must clear, and stay clear for settleSec, within windowSec, or
     * the attempt failed. A service that dies a second after every restart fails here.
     */
    verify: z.strictObject({ windowSec: int(1, 3600).default(30), settleSec: int(0, 3600).default(5) }).prefault({}),
    /** An episode not recovered this long after the symptom appeared escalates to a human; the agent then stops trying on that target until reset. */
    escalateAfterSec: int(1, 86_400).default(180),
    /** Failure counters and the breaker reset after this long without the symptom (Monit's never-resetting counters are the complaint). */
    stableSec: int(1, 7 * 86_400).default(600),
    /** High-risk: ask the coordinator and act only on an explicit approval within the timeout. */
    approval: z.strictObject({ required: z.boolean().default(false), timeoutSec: int(1, 3600).default(120) }).prefault({}),
  })
  .refine((g) => g.backoff.initialSec <= g.backoff.maxSec, { message: 'backoff.initialSec must be ≤ backoff.maxSec', path: ['backoff', 'initialSec'] })
  .refine((g) => g.verify.settleSec < g.verify.windowSec, { message: 'verify.settleSec must be shorter than verify.windowSec', path: ['verify', 'settleSec'] });
export type Guards = z.infer<typeof GuardsSchema>;

export const RuleSchema = z.strictObject({
  id: HealNameSchema,
  description: z.string().max(500).optional(),
  symptom: SymptomSchema,
  action: ActionSchema,
  guards: GuardsSchema.prefault({}),
  /** Decide and report, never act, for this rule (the policy-wide switch covers all rules). */
  dryRun: z.boolean().default(false),
});
export type Rule = z.infer<typeof RuleSchema>;

/**
 * The healing policy: what symptoms lead to which actions under which guards. Written by the
 * device owner (agent config, version 0) or pushed by the coordinator (versions 1, 2, ...). The
 * agent's local config is the ceiling either way (agent/heal/ceiling.ts).
 */
export const PolicySchema = z
  .strictObject({
    version: z.number().int().nonnegative().default(0),
    dryRun: z.boolean().default(false),
    /** Across all rules: systemd's StartLimitBurst, node-wide. */
    maxActionsPerHour: int(0, 10_000).default(20),
    rules: z.array(RuleSchema).max(200).default([]),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', message: `rule id "${r.id}" is used twice: rule ids must be unique`, path: ['rules', i, 'id'] });
      seen.add(r.id);
    });
  });
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

/** A policy that does not parse. `problems` name the rule (by id) and the field. */
export class PolicyError extends Error {
  readonly expected = true;
  constructor(readonly problems: string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
  }
}

/** Issue paths like ["rules", 2, "action", "service"] → `rule "restart-web" (rules[2]).action.service`. */
export function describePolicyPath(raw: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const rule = (raw as { rules?: Array<{ id?: unknown }> })?.rules?.[path[1]];
    const id = typeof rule?.id === 'string' ? `rule "${rule.id}" (rules[${path[1]}])` : `rules[${path[1]}]`;
    return [id, ...path.slice(2).map(String)].join('.');
  }
  return path.map(String).join('.') || '(policy)';
}

export function parsePolicy(raw: unknown): Policy {
  const r = PolicySchema.safeParse(raw);
  if (r.success) return r.data;
  throw new PolicyError(r.error.issues.map((i) => `${describePolicyPath(raw, i.path)}: ${i.message}`));
}
