import { z } from 'zod';
import { loadConfig } from '../shared/config/load.ts';
import { AgentIdSchema } from '../shared/protocol/ids.ts';
import { FederationConfigSchema } from './federation/config.ts';

const port = z.number().int().min(0, 'a port from 0 (any free port) to 65535').max(65535, 'a port from 0 (any free port) to 65535');

const EmbeddedBrokerSchema = z.strictObject({
  embedded: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: port.default(1884) }),
});
const ExternalBrokerSchema = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, 'a URL like mqtt://host:1883'),
  username: z.string().optional(),
  password: z.string().optional(),
});

/** The coordinator's config (YAML or JSON). Strict, like the agent's: unknown keys are errors. */
export const CoordinatorConfigSchema = z.strictObject({
  version: z.literal(1).default(1),
  dataDir: z.string().min(1).default('./.homeostat/coordinator'),
  /** `embedded` runs aedes in-process (MQTT 3.1.1); `url` uses an external broker. Same client code either way. */
  broker: z.union([EmbeddedBrokerSchema, ExternalBrokerSchema]).default({ embedded: { host: '127.0.0.1', port: 1884 } }),
  api: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8787),
      /** Bearer token for admin endpoints; generated at first start into <dataDir>/admin-token when absent. */
      adminToken: z.string().min(16, 'at least 16 characters').optional(),
    })
    .prefault({}),
  enrolment: z
    .strictObject({
      /** open: an agent is registered by its first valid message. allowlist: only `agents` are accepted. */
      mode: z.enum(['open', 'allowlist']).default('open'),
      agents: z.array(AgentIdSchema).default([]),
    })
    .prefault({}),
  retention: z
    .strictObject({
      telemetryRows: z.number().int().min(100).default(500_000),
      eventRows: z.number().int().min(100).default(1_000_000),
    })
    .prefault({}),
  /** Federated rounds (coordinator/federation, docs/federation.md). */
  federation: FederationConfigSchema.prefault({}),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorConfigSchema>;

export function loadCoordinatorConfig(path?: string, overrides: Record<string, unknown> = {}): CoordinatorConfig {
  return loadConfig(CoordinatorConfigSchema, path, overrides);
}
