import { z } from 'zod';
import { ActionOutcomeSchema, ActionSchema } from './actions.ts';

export const DECISIONS = [
  'symptom', // a rule's symptom appeared: an episode starts
  'acted', // the action ran
  'dry_run', // the action was decided and described, not run
  'skipped', // a guard held the action back (which one: `guard`)
  'verified', // after the action the symptom cleared and stayed clear
  'verify_failed', // ... or it did not, within the window
  'relapse', // a recovered symptom came back within the stable period: counted as a failed recovery
  'breaker_open', // N failed recoveries: no attempts until half-open
  'escalated', // not recovered in time: a human is told, the agent stops on this target
  'cleared', // the symptom went away without (further) action
  'reset', // counters reset after a stable period, or an operator reset the target
  'reconciled', // an intent found open at start (the agent died mid-action) and checked
  'approval_requested',
  'approval_denied',
  'approval_timeout',
  'policy_applied',
  'policy_refused',
  'paused',
  'resumed',
] as const;
export type DecisionKind = (typeof DECISIONS)[number];

/**
 * One heal decision: what the audit log stores and the event carries, so "why did you restart
 * nginx at 02:13?" is answered by the rule, the evidence that fired it, the guards it passed or
 * hit, the action and what came of it.
 */
export const DecisionSchema = z.object({
  decision: z.enum(DECISIONS),
  detail: z.string().max(4000),
  policyVersion: z.number().int().nonnegative(),
  ruleId: z.string().max(64).optional(),
  target: z.string().max(4200).optional(),
  /** The symptom reading that led here. */
  evidence: z.string().max(4000).optional(),
  evidenceData: z.record(z.string(), z.unknown()).optional(),
  action: ActionSchema.optional(),
  actionId: z.string().max(64).optional(),
  outcome: ActionOutcomeSchema.optional(),
  guard: z.string().max(32).optional(),
  dryRun: z.boolean().optional(),
  /** For escalations: the episode's earlier decisions, oldest first. */
  story: z.array(z.object({ ts: z.number(), decision: z.string(), detail: z.string() })).optional(),
});
export type Decision = z.infer<typeof DecisionSchema>;
