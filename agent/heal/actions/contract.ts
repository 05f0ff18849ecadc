/**
 * STAND-IN, to be deleted: the shapes agreed in the brief, written here only because
 * shared/policy/actions.ts (Action, ActionOutcome zod schemas) and agent/heal/executor.ts
 * (ActionExecutor) did not exist when this folder was written. Once they do, every import of
 * this file switches to them and this file goes. Types only: nothing here is a second schema.
 */
export type Action =
  | { type: 'restart_service'; service: string }
  | { type: 'kill_process'; target: { pattern: string } | { top: 'cpu' | 'memory' }; graceMs: number }
  | { type: 'clean_dir'; path: string; olderThanSec: number; targetFreePct?: number; maxDeleteBytes?: number }
  | { type: 'run_command'; command: string }
  | { type: 'notify'; message: string };

export interface ActionOutcome {
  ok: boolean;
  detail: string;
  data?: Record<string, unknown>;
}

export interface ExecuteContext {
  signal: AbortSignal;
  dryRun: boolean;
  correlationId: string;
}

export interface ActionExecutor {
  execute(action: Action, ctx: ExecuteContext): Promise<ActionOutcome>;
  targetState(action: Action): Promise<{ healthy: boolean; detail: string }>;
}
