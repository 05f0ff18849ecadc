import { randomBytes } from 'node:crypto';
import { mkdirSync, statfsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosHandle, ChaosReport, DiskChaos } from './options.ts';

/** The fill never takes more than this share of the space available: the fault must not brick the host. */
export const MAX_DISK_SHARE = 0.5;
export const DISK_CHAOS_PREFIX = 'homeostat-chaos-';

/**
 * Writes `mb` MB of files into `dir` at `rateMbPerSec`, then holds them until the duration ends
 * and removes them (unless `keep`). Random bytes, so a compressing filesystem really fills.
 */
export async function startDiskChaos(o: DiskChaos): Promise<ChaosHandle> {
  mkdirSync(o.dir, { recursive: true });
  const s = statfsSync(o.dir);
  const avail = s.bavail * s.bsize;
  if (o.mb * 1048576 > avail * MAX_DISK_SHARE) {
    throw new Error(
      `disk chaos: ${o.mb} MB is more than ${MAX_DISK_SHARE * 100}% of the ${Math.floor(avail / 1048576)} MB available on ${o.dir}: ask for at most ${Math.floor((avail * MAX_DISK_SHARE) / 1048576)} MB`,
    );
  }
  const ctl = new AbortController();
  const deadline = Date.now() + o.durationMs;
  const chunk = randomBytes(o.fileMb * 1048576);
  const stamp = Date.now();
  const files: string[] = [];
  let written = 0;

  const run = async (): Promise<ChaosReport> => {
    let error: string | undefined;
    try {
      const stepMs = (1000 * o.fileMb) / o.rateMbPerSec;
      let next = Date.now();
      while (written < o.mb * 1048576 && Date.now() < deadline) {
        const size = Math.min(chunk.length, o.mb * 1048576 - written);
        const f = join(o.dir, `${DISK_CHAOS_PREFIX}${stamp}-${String(files.length).padStart(5, '0')}.bin`);
        files.push(f); // before the write, so a write cut short by stop() is removed too
        await writeFile(f, chunk.subarray(0, size), { signal: ctl.signal });
        written += size;
        next += stepMs;
        await delay(Math.max(0, Math.min(next, deadline) - Date.now()), undefined, { signal: ctl.signal });
      }
      await delay(Math.max(0, deadline - Date.now()), undefined, { signal: ctl.signal });
    } catch (e) {
      if (!ctl.signal.aborted) error = (e as Error).message;
    }
    if (!o.keep) await Promise.all(files.map((f) => rm(f, { force: true })));
    const mb = (written / 1048576).toFixed(1);
    return {
      kind: 'disk',
      detail: `wrote ${files.length} file(s), ${mb} MB into ${o.dir}${ctl.signal.aborted ? ', stopped early' : ''}; ${o.keep ? 'kept them' : 'removed them'}${error ? `; stopped by an error: ${error}` : ''}`,
      data: { dir: o.dir, files: files.length, bytes: written, kept: o.keep, ...(error ? { error } : {}) },
    };
  };
  const done = run();
  return {
    kind: 'disk',
    pids: [],
    done,
    stop: () => {
      ctl.abort();
      return done;
    },
  };
}
