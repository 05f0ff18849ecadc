import { z } from 'zod';
import { loadConfig } from '../shared/config/load.ts';
import { AgentIdSchema } from '../shared/protocol/ids.ts';
import { DetectConfigSchema } from './detect/detector.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The agent's local config (YAML or JSON). Strict: an unknown key is an error, because a typo
 * silently falling back to a default is how a node ends up not doing what its owner wrote.
 */
export const AgentConfigSchema = z.strictObject({
  version: z.literal(1).default(1),
  /** Fixed id; when absent one is generated at first start and kept in `<dataDir>/agent-id`. */
  id: AgentIdSchema.optional(),
  dataDir: z.string().min(1).default('./.homeostat/agent'),
  cohort: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).default('default'),
  broker: z
    .strictObject({
      url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, 'a URL like mqtt://host:1883').default('mqtt://127.0.0.1:1884'),
      username: z.string().optional(),
      password: z.string().optional(),
      backoff: z
        .strictObject({ initialMs: int(50, 60_000).default(500), maxMs: int(100, 600_000).default(30_000) })
        .default({ initialMs: 500, maxMs: 30_000 }),
    })
    .prefault({}),
  sampling: z.strictObject({ intervalMs: int(100, 60_000).default(1000) }).prefault({}),
  telemetry: z.strictObject({ intervalSec: int(1, 3600).default(10) }).prefault({}),
  store: z
    .strictObject({
      samples: z.strictObject({ maxAgeHours: int(1, 24 * 90).default(48), maxRows: int(1000, 50_000_000).default(200_000) }).prefault({}),
      events: z.strictObject({ maxRows: int(100, 10_000_000).default(100_000) }).prefault({}),
      outbox: z.strictObject({ maxEvents: int(10, 10_000_000).default(100_000), maxTelemetry: int(10, 1_000_000).default(10_000) }).prefault({}),
    })
    .prefault({}),
  /** Anomaly detection (agent/detect): model file, threshold calibration, debounce; `enabled: false` runs without it. */
  detect: DetectConfigSchema.extend({ enabled: z.boolean().default(true) }).prefault({}),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export function loadAgentConfig(path?: string, overrides: Record<string, unknown> = {}): AgentConfig {
  return loadConfig(AgentConfigSchema, path, overrides);
}
