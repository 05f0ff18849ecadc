import { z } from 'zod';
import { loadConfig } from '../shared/config/load.ts';
import { AgentIdSchema, CohortSchema } from '../shared/protocol/ids.ts';
import type { KeyObject } from 'node:crypto';
import { parsePublicKey, readPublicKeyFile } from '../shared/protocol/sign.ts';
import { DetectConfigSchema } from './detect/detector.ts';
import { HealConfigSchema } from './heal/config.ts';
import { LearnConfigSchema } from './learn/learn-config.ts';
import { LocalTuningConfigSchema } from './learn/local-tuning.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The coordinator's public key: policies, commands, the fleet pause switch (and models and
 * rounds) are accepted only when signed by it. Inline (the line `homeostat coordinator key`
 * prints, or PEM) or as a file; without either, all of those are refused.
 */
export const FleetConfigSchema = z
  .strictObject({
    publicKey: z
      .string()
      .optional()
      .superRefine((k, ctx) => {
        if (k === undefined) return;
        try {
          parsePublicKey(k);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    /** A file holding the key (PEM or the one-line form), e.g. the coordinator's fleet-key.pub; read at start. */
    publicKeyFile: z.string().min(1).optional(),
  })
  .refine((f) => !(f.publicKey && f.publicKeyFile), { message: 'set publicKey or publicKeyFile, not both', path: ['publicKeyFile'] });

/**
 * The agent's local config (YAML or JSON). Strict: an unknown key is an error, because a typo
 * silently falling back to a default is how a node ends up not doing what its owner wrote.
 */
export const AgentConfigSchema = z.strictObject({
  version: z.literal(1).default(1),
  /** Fixed id; when absent one is generated at first start and kept in `<dataDir>/agent-id`. */
  id: AgentIdSchema.optional(),
  dataDir: z.string().min(1).default('./.homeostat/agent'),
  cohort: CohortSchema.default('default'),
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
  detect: DetectConfigSchema.extend({
    enabled: z.boolean().default(true),
    /** Retraining on this node's own normal samples, in the background, with a bounded CPU share. */
    tuning: LocalTuningConfigSchema.prefault({}),
  }).prefault({}),
  /** Local remediation (agent/heal): managed services, probes, what any policy may do here (the ceiling), the owner's own rules. */
  heal: HealConfigSchema.prefault({}),
  /** Federated learning: taking part in rounds, and the acceptance test for the fleet's models (docs/federation.md). */
  learn: LearnConfigSchema.prefault({}),
  fleet: FleetConfigSchema.prefault({}),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** The coordinator key this agent trusts, or null when none is configured. Throws (naming the file) when the file is unusable. */
export function fleetPublicKey(fleet: AgentConfig['fleet']): KeyObject | null {
  if (fleet.publicKey) return parsePublicKey(fleet.publicKey);
  if (fleet.publicKeyFile) return readPublicKeyFile(fleet.publicKeyFile);
  return null;
}

/** Why signed topics are refused when no key is configured: logged with every refusal. */
export const NO_FLEET_KEY_HINT = 'no fleet.publicKey configured: run "homeostat coordinator key" and put it in the agent config';

export function loadAgentConfig(path?: string, overrides: Record<string, unknown> = {}): AgentConfig {
  return loadConfig(AgentConfigSchema, path, overrides);
}
