import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin token: from the config, else read from <dataDir>/admin-token, else generated there
 * (mode 0600). `created` tells the caller to print it, which happens exactly once.
 */
export function resolveAdminToken(dataDir: string, configured?: string): { token: string; created: boolean; file: string | null } {
  if (configured) return { token: configured, created: false, file: null };
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), created: false, file };
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return { token, created: true, file };
}
