import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a file so that a reader, or a crash, sees the old content or the new, never half of
 * either: a temporary file beside it (named for this process, so two writers never share one),
 * then a rename, which is atomic within one filesystem. Creates the directory if needed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: { mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, o.mode === undefined ? undefined : { mode: o.mode });
  renameSync(tmp, path);
}
