import { z } from 'zod';
import { HealNameSchema } from '../../../shared/policy/names.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const StatusCode = int(100, 599);

export const DEFAULT_PROBE_INTERVAL_SEC = 10;
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

const common = {
  name: HealNameSchema,
  intervalSec: int(1, 86_400).default(DEFAULT_PROBE_INTERVAL_SEC),
  timeoutMs: int(10, 600_000).default(DEFAULT_PROBE_TIMEOUT_MS),
};

function compiles(re: string): boolean {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
}

export const HttpProbeSchema = z.strictObject({
  ...common,
  kind: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
  /** One status, or an inclusive range; default 200–399 like Kubernetes' httpGet probe. */
  expectStatus: z.union([StatusCode, z.strictObject({ min: StatusCode, max: StatusCode })]).default({ min: 200, max: 399 }),
  /** Regular expression the response body (first 64 KiB) must match. */
  bodyMatch: z.string().min(1).refine(compiles, 'bodyMatch: not a valid regular expression').optional(),
  /** A response slower than this is a failure even when it arrives within the timeout. */
  maxLatencyMs: int(1, 600_000).optional(),
});

export const TcpProbeSchema = z.strictObject({
  ...common,
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: int(1, 65_535),
});

export const CommandProbeSchema = z.strictObject({
  ...common,
  kind: z.literal('command'),
  /** Run without a shell: argv[0] is the program. */
  argv: z.array(z.string().min(1)).min(1, 'argv: at least the program to run'),
  expectExit: int(0, 255).default(0),
});

/**
 * A probe's timeout must be shorter than its interval: a probe that may still run when the next
 * one is due is a probe whose results arrive late and bunched.
 */
export const ProbeSchema = z
  .discriminatedUnion('kind', [HttpProbeSchema, TcpProbeSchema, CommandProbeSchema])
  .refine((p) => p.timeoutMs < p.intervalSec * 1000, { message: 'timeoutMs must be shorter than intervalSec', path: ['timeoutMs'] });

export type Probe = z.infer<typeof ProbeSchema>;
export type HttpProbe = z.infer<typeof HttpProbeSchema>;
export type TcpProbe = z.infer<typeof TcpProbeSchema>;
export type CommandProbe = z.infer<typeof CommandProbeSchema>;

/** One probe run: success, how long it took (ms, wall time), and what was seen. */
export const ProbeResultSchema = z.object({
  ok: z.boolean(),
  latencyMs: z.number().nonnegative(),
  detail: z.string(),
});
export type ProbeResult = z.infer<typeof ProbeResultSchema>;
