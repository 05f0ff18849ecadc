import { z } from 'zod';

/** No fault runs longer than this, whatever was asked: chaos left running by mistake must end. */
export const MAX_CHAOS_DURATION_MS = 3_600_000;

/** "30s", "2m", "500ms", "1h", or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`duration ${JSON.stringify(text)}: expected a number with ms, s, m or h (like 30s)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const Duration = z.number().int().min(1).max(MAX_CHAOS_DURATION_MS);

export const CpuChaosSchema = z.strictObject({
  durationMs: Duration,
  /** Cores to burn, one child process each. */
  cores: z.number().int().min(1).max(256).default(1),
});

export const MemoryChaosSchema = z.strictObject({
  durationMs: Duration,
  mb: z.number().int().min(1).max(1_048_576),
});

export const DiskChaosSchema = z.strictObject({
  durationMs: Duration,
  dir: z.string().min(1),
  mb: z.number().int().min(1).max(1_048_576),
  /** Write speed; a slow fill is what a log gone wild looks like. */
  rateMbPerSec: z.number().positive().max(10_000).default(10),
  fileMb: z.number().int().min(1).max(1024).default(1),
  /** Leave the files when the fault ends (the clean_dir tests and demos need them). */
  keep: z.boolean().default(false),
});

export const KillChaosSchema = z.strictObject({
  pidfile: z.string().min(1),
  /** When given, the pid must still run this argv (a stale pidfile must not get a stranger killed). */
  argv: z.array(z.string().min(1)).min(1).optional(),
});

export const HangChaosSchema = z
  .strictObject({
    durationMs: Duration,
    /** The demo service's --hang-flag file: the deadline is written into it, so the hang ends even if we die. */
    flagFile: z.string().min(1).optional(),
    /** Or its pidfile: SIGUSR1 now, SIGUSR2 at the end (the service caps a signalled hang itself). */
    pidfile: z.string().min(1).optional(),
  })
  .refine((o) => (o.flagFile === undefined) !== (o.pidfile === undefined), 'hang: give exactly one of flagFile or pidfile');

export const ChaosKindSchema = z.enum(['cpu', 'memory', 'disk', 'kill', 'hang']);
export type ChaosKind = z.infer<typeof ChaosKindSchema>;

export const ChaosOptionSchemas = {
  cpu: CpuChaosSchema,
  memory: MemoryChaosSchema,
  disk: DiskChaosSchema,
  kill: KillChaosSchema,
  hang: HangChaosSchema,
} as const;

export type ChaosOptions = { [K in ChaosKind]: z.input<(typeof ChaosOptionSchemas)[K]> };

/** What a fault did, measured: for the CLI to print and the tests to check. */
export interface ChaosReport {
  kind: ChaosKind;
  detail: string;
  data: Record<string, unknown>;
}

/** A running fault: stop() ends it early; done settles when it has ended either way. */
export interface ChaosHandle {
  readonly kind: ChaosKind;
  /** Child process ids doing the damage (cpu, memory), for tests and for the operator. */
  readonly pids: readonly number[];
  readonly done: Promise<ChaosReport>;
  stop(): Promise<ChaosReport>;
}

export type CpuChaos = z.output<typeof CpuChaosSchema>;
export type MemoryChaos = z.output<typeof MemoryChaosSchema>;
export type DiskChaos = z.output<typeof DiskChaosSchema>;
export type KillChaos = z.output<typeof KillChaosSchema>;
export type HangChaos = z.output<typeof HangChaosSchema>;
