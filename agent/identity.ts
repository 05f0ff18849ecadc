import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../shared/config/load.ts';
import { AgentIdSchema, newAgentId } from '../shared/protocol/ids.ts';

/**
 * The agent's id: from the config if set, else generated once and kept in `<dataDir>/agent-id`,
 * a plain file beside (not inside) the database, so moving a corrupt database aside keeps the
 * node's identity and its history at the coordinator.
 */
export function resolveAgentId(dataDir: string, configured?: string): string {
  if (configured) return configured;
  const file = join(dataDir, 'agent-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    const ok = AgentIdSchema.safeParse(id);
    if (!ok.success) throw new ConfigError(`${file} holds "${id}", not a valid agent id: fix it or delete the file to get a new id`);
    return id;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = newAgentId(hostname());
  writeFileSync(file, id + '\n', { mode: 0o644 });
  return id;
}
