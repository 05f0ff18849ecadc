import type { Action, ActionOutcome } from '../../shared/policy/actions.ts';

export interface ExecuteContext {
  signal: AbortSignal;
  /** Decide and describe, change nothing. */
  dryRun: boolean;
  correlationId: string;
}

/**
 * What the engine drives. `execute` never throws for an action that failed (the outcome says
 * so); `targetState` answers "is the thing this action fixes healthy now?", which verification
 * and crash reconciliation both ask.
 */
export interface ActionExecutor {
  execute(action: Action, ctx: ExecuteContext): Promise<ActionOutcome>;
  targetState(action: Action): Promise<{ healthy: boolean; detail: string }>;
}
