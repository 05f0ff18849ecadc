import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyBodySchema, type PolicyBody } from '../../shared/protocol/messages.ts';
import { writeFileAtomic } from '../../shared/store/atomic-file.ts';

const FILE = 'policy.json';

/**
 * The last coordinator policy this agent accepted, kept beside its database so a restart while
 * the coordinator (or an in-memory broker's retained copy) is gone still runs the fleet's policy,
 * not the older local one. Written atomically: a crash leaves the old file or the new one.
 */
export function saveAcceptedPolicy(dataDir: string, body: PolicyBody): void {
  const path = join(dataDir, FILE);
  writeFileAtomic(path, JSON.stringify(body, null, 2), { mode: 0o600 });
}

/** The saved policy, or null; a file that no longer parses is reported through `onBad` and ignored. */
export function loadAcceptedPolicy(dataDir: string, onBad: (why: string) => void): PolicyBody | null {
  const path = join(dataDir, FILE);
  if (!existsSync(path)) return null;
  try {
    return PolicyBodySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    onBad(`${path}: ${(e as Error).message}`);
    return null;
  }
}
