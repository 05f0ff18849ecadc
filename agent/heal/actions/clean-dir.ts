import { lstatSync, opendirSync, realpathSync, statfsSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';

/** Entries looked at per run: a directory with millions of files is cleaned in several runs, not one endless walk. */
export const MAX_WALK_ENTRIES = 200_000;
const MAX_DEPTH = 64;

/** An allow-listed root, with the owner's ceiling on what one run may delete there. */
export interface CleanRoot {
  path: string;
  maxDeleteBytes?: number;
}

export interface CleanRequest {
  path: string;
  olderThanSec: number;
  targetFreePct?: number;
  maxDeleteBytes?: number;
}

export interface FsSpace {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface CleanDeps {
  now?: () => number;
  /** The filesystem's space; tests may model a small disk, production reads fs.statfs. */
  statfs?: (path: string) => FsSpace;
}

export interface CleanReport {
  ok: boolean;
  detail: string;
  root: string;
  files: number;
  bytes: number;
  /** Files eligible by age that were left (limit reached, target reached, or errors). */
  remainingOld: number;
  freePctBefore: number;
  freePctAfter: number;
  stoppedBecause: 'target_reached' | 'max_bytes' | 'no_more_old_files' | 'walk_limit';
  deleted: string[];
  errors: string[];
}

export class CleanRefusedError extends Error {}

/** Free space as df shows it: available to unprivileged users over (used + available). */
export function freePct(s: FsSpace): number {
  const used = s.blocks - s.bfree;
  const denom = used + s.bavail;
  return denom > 0 ? (100 * s.bavail) / denom : 100;
}

function inside(child: string, root: string): boolean {
  return child === root || child.startsWith(root.endsWith(sep) ? root : root + sep);
}

interface Old {
  path: string;
  mtimeMs: number;
  size: number;
  ino: number;
}

/**
 * Resolves the real directory a request names and the allow-listed root that contains it, or
 * refuses. Roots are resolved too: an allow-listed path that is itself a symlink means where it
 * points, checked now, not where it pointed when the config was written.
 */
export function resolveTarget(req: CleanRequest, roots: readonly CleanRoot[]): { dir: string; root: CleanRoot; rootReal: string } {
  if (!isAbsolute(req.path)) throw new CleanRefusedError(`clean_dir: path ${JSON.stringify(req.path)} is not absolute: give an absolute path inside an allow-listed directory`);
  let dir: string;
  try {
    dir = realpathSync(req.path);
  } catch (e) {
    throw new CleanRefusedError(`clean_dir: cannot resolve ${req.path} (${(e as NodeJS.ErrnoException).code}): check that it exists`);
  }
  if (!lstatSync(dir).isDirectory()) throw new CleanRefusedError(`clean_dir: ${req.path} is not a directory`);
  for (const root of roots) {
    let rootReal: string;
    try {
      rootReal = realpathSync(root.path);
    } catch {
      continue; // an allow-listed directory that does not exist (yet) allows nothing
    }
    if (inside(dir, rootReal)) return { dir, root, rootReal };
  }
  const allowed = roots.map((r) => r.path).join(', ') || 'none';
  throw new CleanRefusedError(`clean_dir: ${req.path} (really ${dir}) is not inside an allow-listed directory (allowed: ${allowed}): add it to the local config's clean_dir list if it should be cleanable`);
}

/**
 * Files (and symlinks, as links) under `dir` older than the cut-off, oldest first. lstat only:
 * a symlink is never followed, so a link to /etc is at most deleted itself. Subdirectories on
 * another filesystem are skipped (like find -xdev): freeing them does not free this one.
 */
export function findOld(dir: string, cutoffMs: number): { old: Old[]; truncated: boolean } {
  const dev = lstatSync(dir).dev;
  const old: Old[] = [];
  const stack: Array<{ path: string; depth: number }> = [{ path: dir, depth: 0 }];
  let seen = 0;
  while (stack.length) {
    const { path, depth } = stack.pop()!;
    let d;
    try {
      d = opendirSync(path);
    } catch {
      continue; // vanished or unreadable: nothing to clean there
    }
    try {
      for (let e = d.readSync(); e; e = d.readSync()) {
        if (++seen > MAX_WALK_ENTRIES) return { old: sortOld(old), truncated: true };
        const full = join(path, e.name);
        let st: Stats;
        try {
          st = lstatSync(full);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (st.dev === dev && depth < MAX_DEPTH) stack.push({ path: full, depth: depth + 1 });
        } else if ((st.isFile() || st.isSymbolicLink()) && st.mtimeMs < cutoffMs) {
          // A symlink's size is its target's name length, not space: removing it frees (next to) nothing.
          old.push({ path: full, mtimeMs: st.mtimeMs, size: st.isFile() ? st.size : 0, ino: st.ino });
        }
      }
    } finally {
      d.closeSync();
    }
  }
  return { old: sortOld(old), truncated: false };
}

function sortOld(old: Old[]): Old[] {
  return old.sort((a, b) => a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path));
}

/**
 * Deletes old files oldest first until the filesystem has `targetFreePct` free or
 * `maxDeleteBytes` (the smaller of the request's and the root's) would be exceeded. Never
 * deletes a directory. With `dryRun` nothing is deleted and free space is estimated.
 */
export function cleanDir(req: CleanRequest, roots: readonly CleanRoot[], opts: { dryRun: boolean; signal?: AbortSignal } & CleanDeps): CleanReport {
  const now = opts.now ?? Date.now;
  const statfs = opts.statfs ?? ((p: string) => statfsSync(p));
  const { dir, root, rootReal } = resolveTarget(req, roots);
  const caps = [req.maxDeleteBytes, root.maxDeleteBytes].filter((x): x is number => x !== undefined);
  const maxBytes = caps.length ? Math.min(...caps) : Infinity;
  const { old, truncated } = findOld(dir, now() - req.olderThanSec * 1000);
  const space0 = statfs(dir);
  const before = freePct(space0);
  // In a dry run the disk does not change: estimate by crediting the bytes we would free.
  const pctNow = (freed: number) =>
    opts.dryRun ? freePct({ ...space0, bavail: space0.bavail + freed / space0.bsize, bfree: space0.bfree + freed / space0.bsize }) : freePct(statfs(dir));
  const deleted: string[] = [];
  const errors: string[] = [];
  let bytes = 0;
  let i = 0;
  let stopped: CleanReport['stoppedBecause'] = truncated ? 'walk_limit' : 'no_more_old_files';
  for (; i < old.length; i++) {
    opts.signal?.throwIfAborted();
    const f = old[i]!;
    if (req.targetFreePct !== undefined && pctNow(bytes) >= req.targetFreePct) {
      stopped = 'target_reached';
      break;
    }
    if (bytes + f.size > maxBytes) {
      stopped = 'max_bytes';
      break;
    }
    if (!opts.dryRun) {
      const r = unlinkInside(f, rootReal);
      if (r !== 'deleted') {
        if (r !== 'gone') errors.push(r);
        continue;
      }
    }
    deleted.push(f.path);
    bytes += f.size;
  }
  if (i === old.length && req.targetFreePct !== undefined && pctNow(bytes) >= req.targetFreePct) stopped = 'target_reached';
  const after = pctNow(bytes);
  const ok = req.targetFreePct === undefined ? errors.length === 0 : after >= req.targetFreePct;
  const verb = opts.dryRun ? 'would delete' : 'deleted';
  const target = req.targetFreePct !== undefined ? ` (target ${req.targetFreePct}%)` : '';
  return {
    ok,
    detail: `${verb} ${deleted.length} file(s), ${bytes} bytes in ${dir}; free ${before.toFixed(1)}% → ${after.toFixed(1)}%${target}; stopped: ${stopped.replace(/_/g, ' ')}${errors.length ? `; ${errors.length} error(s): ${errors[0]}` : ''}`,
    root: rootReal,
    files: deleted.length,
    bytes,
    remainingOld: old.length - deleted.length,
    freePctBefore: before,
    freePctAfter: after,
    stoppedBecause: stopped,
    deleted,
    errors,
  };
}

/**
 * The last check before unlink: the file's directory must still resolve inside the root (a
 * subdirectory swapped for a symlink since the walk would otherwise redirect us) and the
 * entry must still be the non-directory we saw. unlink never follows the final symlink.
 */
function unlinkInside(f: Old, rootReal: string): 'deleted' | 'gone' | string {
  try {
    if (!inside(realpathSync(dirname(f.path)), rootReal)) return `${f.path}: its directory now resolves outside ${rootReal}; skipped`;
    const st = lstatSync(f.path);
    if (st.isDirectory() || st.ino !== f.ino) return `${f.path}: changed since the walk; skipped`;
    unlinkSync(f.path);
    return 'deleted';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Someone else removed it first: not ours to count, not an error.
    return code === 'ENOENT' ? 'gone' : `${f.path}: ${code ?? (e as Error).message}`;
  }
}

/** Target state for verification: free space at target, or (without a target) no old file left. */
export function cleanDirState(req: CleanRequest, roots: readonly CleanRoot[], deps: CleanDeps = {}): { healthy: boolean; detail: string } {
  const { dir } = resolveTarget(req, roots);
  if (req.targetFreePct !== undefined) {
    const pct = freePct((deps.statfs ?? ((p: string) => statfsSync(p)))(dir));
    return { healthy: pct >= req.targetFreePct, detail: `${dir}: ${pct.toFixed(1)}% free, target ${req.targetFreePct}%` };
  }
  const { old } = findOld(dir, (deps.now ?? Date.now)() - req.olderThanSec * 1000);
  return { healthy: old.length === 0, detail: `${dir}: ${old.length} file(s) older than ${req.olderThanSec} s` };
}
