import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** USER_HZ: fixed at 100 on every mainstream Linux architecture (the unit of utime/stime/starttime). */
export const CLK_TCK = 100;
/** How often a wait-for-exit looks at /proc: short enough that a stop returns promptly, cheap (one stat read). */
export const EXIT_POLL_MS = 25;

/** One process as /proc shows it at one moment. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** Kernel's 15-char task name (PR_SET_NAME / executable basename). */
  comm: string;
  /** argv as the process sees it; empty for kernel threads. */
  cmdline: string[];
  /** R, S, D, Z, T, ... */
  state: string;
  /** Start time in clock ticks since boot: with the pid it identifies a process across pid reuse. */
  startTicks: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/**
 * Fields of /proc/<pid>/stat after the comm, which is parenthesised and may itself contain
 * spaces and parentheses: hence the last ')' (proc(5)).
 */
export function parseStat(pid: number, stat: string, cmdlineRaw: string): ProcInfo {
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const f = stat.slice(close + 2).split(' ');
  // After the comm: state is field 3, so ppid (4) is index 1, pgrp (5) 2, utime (14) 11, stime (15) 12, starttime (22) 19.
  return {
    pid,
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    comm,
    cmdline: splitCmdline(cmdlineRaw),
    state: f[0] ?? '?',
    startTicks: Number(f[19]),
    cpuTicks: Number(f[11]) + Number(f[12]),
  };
}

/** NUL-separated argv; a process that rewrote its title (process.title) leaves a run of NULs at the end. */
export function splitCmdline(raw: string): string[] {
  const trimmed = raw.replace(/\0+$/, '');
  return trimmed === '' ? [] : trimmed.split('\0');
}

/** The process, or null when it does not exist (or exited between the two reads). */
export function readProc(pid: number, root = '/proc'): ProcInfo | null {
  try {
    const stat = readFileSync(`${root}/${pid}/stat`, 'utf8');
    const cmdline = readFileSync(`${root}/${pid}/cmdline`, 'utf8');
    return parseStat(pid, stat, cmdline);
  } catch {
    return null;
  }
}

export function listPids(root = '/proc'): number[] {
  const out: number[] = [];
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** Resident set size in bytes, from VmRSS (kB, so no page-size guess); null if the process is gone. */
export function readRssBytes(pid: number, root = '/proc'): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`${root}/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0; // kernel threads have no VmRSS line
  } catch {
    return null;
  }
}

/**
 * True while `pid` exists, is not a zombie, and (when `startTicks` is given) is still the same
 * process. A zombie has already exited: only its parent's wait() is missing, and signals do
 * nothing to it, so counting it as alive would make every stop time out.
 */
export function isAlive(pid: number, startTicks?: number, root = '/proc'): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else; we cannot have started it, but it is alive.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const p = readProc(pid, root);
  if (!p || p.state === 'Z' || p.state === 'X') return false;
  return startTicks === undefined || p.startTicks === startTicks;
}

/**
 * Does a live cmdline belong to the program started with `argv`? Equal argument by argument,
 * except that the program itself is compared by basename (execvp resolves PATH) and that a
 * script run through its #! line shows its interpreter first: so `argv` must be the tail.
 */
export function cmdlineMatches(cmdline: readonly string[], argv: readonly string[]): boolean {
  if (argv.length === 0 || cmdline.length < argv.length) return false;
  const tail = cmdline.slice(cmdline.length - argv.length);
  if (basename(tail[0]!) !== basename(argv[0]!)) return false;
  for (let i = 1; i < argv.length; i++) if (tail[i] !== argv[i]) return false;
  return true;
}

export type TerminateResult = { how: 'already_gone' | 'exited_after_sigterm' | 'sigkill'; waitedMs: number };

/**
 * SIGTERM, wait up to `graceMs` for the process to go, then SIGKILL. `startTicks` pins the
 * identity: if the pid is reused by another process while we wait, nothing more is sent.
 * `group` signals the whole process group (a service started with its own session), so a
 * shell wrapper's children go too.
 */
export async function terminate(
  pid: number,
  opts: { graceMs: number; startTicks: number; group?: boolean; signal?: AbortSignal; root?: string },
): Promise<TerminateResult> {
  const alive = () => isAlive(pid, opts.startTicks, opts.root);
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(opts.group ? -pid : pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  };
  const t0 = performance.now();
  if (!alive()) return { how: 'already_gone', waitedMs: 0 };
  send('SIGTERM');
  if (await waitUntilGone(alive, opts.graceMs, opts.signal)) return { how: 'exited_after_sigterm', waitedMs: performance.now() - t0 };
  if (alive()) send('SIGKILL');
  // SIGKILL cannot be caught; the wait is only for the kernel to tear the process down.
  await waitUntilGone(alive, 5_000, opts.signal);
  return { how: 'sigkill', waitedMs: performance.now() - t0 };
}

/** Polls until `alive()` is false or `ms` pass; rejects with the signal's reason when aborted. */
export async function waitUntilGone(alive: () => boolean, ms: number, signal?: AbortSignal): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    signal?.throwIfAborted();
    if (!alive()) return true;
    if (performance.now() >= end) return false;
    await new Promise((r) => setTimeout(r, Math.min(EXIT_POLL_MS, Math.max(1, end - performance.now()))));
  }
}
