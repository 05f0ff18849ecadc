import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CLK_TCK, listPids, readProc, readRssBytes, terminate, type ProcInfo, type TerminateResult } from '../services/linux-process.ts';

/** CPU is a rate: measured as the tick delta over this window, never from one snapshot. */
export const DEFAULT_CPU_SAMPLE_MS = 1_000;
/** "Top CPU consumer" must be using at least this much of one core, or there is no runaway to kill. */
export const DEFAULT_MIN_TOP_CPU_PCT = 50;
/** A memory runaway's target state: no candidate holds more than this share of RAM. */
export const DEFAULT_MAX_RSS_PCT = 50;
/** Blast radius: a pattern matching more processes than this is refused whole, not half-applied. */
export const DEFAULT_MAX_PATTERN_MATCHES = 10;
/** Regexes see at most this much of a cmdline: bounds matching cost on pathological argv. */
const MAX_CMDLINE_CHARS = 4_096;

/** Any process named like the SSH daemon or its session helpers (OpenSSH ≥ 9.8 runs sshd-session). */
const SSHD = /^sshd\b/;

export interface KillOptions {
  /** Regexes over comm and cmdline: processes the owner never lets the agent kill. */
  neverKill?: readonly string[];
  cpuSampleMs?: number;
  minTopCpuPct?: number;
  maxRssPct?: number;
  maxPatternMatches?: number;
  /**
   * Only consider descendants of this pid. Unset in production (the whole host); tests set it to
   * their own pid so a "top CPU" choice can never land on someone else's process on a shared machine.
   */
  descendantsOf?: number;
  procRoot?: string;
}

export interface Candidate extends ProcInfo {
  cpuPct?: number;
  rssBytes?: number;
}

/** What was (or would be) killed, for the outcome and the audit trail. */
export interface KillReport {
  pid: number;
  comm: string;
  cmdline: string;
  cpuPct?: number;
  rssBytes?: number;
  how?: TerminateResult['how'];
}

export class ProcessSelectionError extends Error {}

function joinCmd(p: ProcInfo): string {
  return (p.cmdline.length ? p.cmdline.join(' ') : `[${p.comm}]`).slice(0, MAX_CMDLINE_CHARS);
}

function compile(re: string, what: string): RegExp {
  try {
    return new RegExp(re);
  } catch (e) {
    throw new ProcessSelectionError(`${what} ${JSON.stringify(re)} is not a valid regular expression (${(e as Error).message}): fix it in the config`);
  }
}

/**
 * Chooses processes to kill and kills them. The exclusion set is not configurable away: the
 * agent, every ancestor of it (killing its parent or supervisor would kill it too), pid 1,
 * kernel threads, and anything named sshd (the way back into a remote box) are never
 * candidates, whatever the config or the policy says; `neverKill` adds to that list.
 */
export class ProcessKiller {
  private readonly never: RegExp[];
  private readonly root: string;

  constructor(private readonly o: KillOptions = {}) {
    this.never = (o.neverKill ?? []).map((r) => compile(r, 'neverKill pattern'));
    this.root = o.procRoot ?? '/proc';
  }

  /** Why a process may not be killed, or null if it may. */
  excludedBecause(p: ProcInfo, protectedPids: ReadonlySet<number>): string | null {
    if (p.pid === 1) return 'init (pid 1)';
    if (protectedPids.has(p.pid)) return p.pid === process.pid ? 'the agent itself' : 'an ancestor of the agent';
    // Kernel threads: kthreadd (2) and its children have no cmdline and cannot be killed anyway.
    if (p.pid === 2 || p.ppid === 2 || p.cmdline.length === 0) return 'a kernel thread';
    // argv[0] as a path (/usr/sbin/sshd) or as the title sshd gives its session processes ("sshd: admin@pts/0").
    const arg0 = p.cmdline[0] ?? '';
    if (SSHD.test(p.comm) || SSHD.test(arg0) || SSHD.test(basename(arg0))) return 'sshd';
    const cmd = joinCmd(p);
    for (const re of this.never) if (re.test(p.comm) || re.test(cmd)) return `neverKill ${re.source}`;
    return null;
  }

  /** Every live, killable process (inside the test scope, when one is set). */
  candidates(): Candidate[] {
    const all = new Map<number, ProcInfo>();
    for (const pid of listPids(this.root)) {
      const p = readProc(pid, this.root);
      if (p && p.state !== 'Z' && p.state !== 'X') all.set(pid, p);
    }
    const prot = this.protectedPids(all);
    const scope = this.o.descendantsOf;
    return [...all.values()].filter((p) => this.excludedBecause(p, prot) === null && (scope === undefined || isDescendant(p, scope, all)));
  }

  /** Non-excluded processes whose comm or cmdline matches; a too-broad pattern is refused whole. */
  byPattern(pattern: string): Candidate[] {
    const re = compile(pattern, 'kill_process pattern');
    const hits = this.candidates().filter((p) => re.test(p.comm) || re.test(joinCmd(p)));
    const max = this.o.maxPatternMatches ?? DEFAULT_MAX_PATTERN_MATCHES;
    if (hits.length > max) {
      throw new ProcessSelectionError(
        `kill_process pattern /${pattern}/ matches ${hits.length} processes, more than the limit of ${max}: narrow the pattern (nothing was killed)`,
      );
    }
    return hits;
  }

  /** The candidate using the most CPU over a sampling window, with its % of one core. */
  async topCpu(signal?: AbortSignal): Promise<Candidate | null> {
    const before = new Map(this.candidates().map((p) => [p.pid, p]));
    const t0 = performance.now();
    await delay(this.o.cpuSampleMs ?? DEFAULT_CPU_SAMPLE_MS, undefined, signal ? { signal } : {});
    const seconds = (performance.now() - t0) / 1000;
    let best: Candidate | null = null;
    for (const p of this.candidates()) {
      const b = before.get(p.pid);
      // Same pid with another start time is a new process: no baseline, so no rate.
      if (!b || b.startTicks !== p.startTicks) continue;
      const cpuPct = (100 * (p.cpuTicks - b.cpuTicks)) / CLK_TCK / seconds;
      if (!best || cpuPct > best.cpuPct!) best = { ...p, cpuPct };
    }
    return best;
  }

  /** The candidate with the largest resident set. */
  topMemory(): Candidate | null {
    let best: Candidate | null = null;
    for (const p of this.candidates()) {
      const rssBytes = readRssBytes(p.pid, this.root);
      if (rssBytes !== null && (!best || rssBytes > best.rssBytes!)) best = { ...p, rssBytes };
    }
    return best;
  }

  minTopCpuPct(): number {
    return this.o.minTopCpuPct ?? DEFAULT_MIN_TOP_CPU_PCT;
  }

  maxRssBytes(): number {
    return (memTotalBytes(this.root) * (this.o.maxRssPct ?? DEFAULT_MAX_RSS_PCT)) / 100;
  }

  async kill(p: Candidate, graceMs: number, signal?: AbortSignal): Promise<KillReport> {
    // Only this pid, never its group: a runaway's process group may be its parent's, even ours.
    const r = await terminate(p.pid, { graceMs, startTicks: p.startTicks, root: this.root, ...(signal ? { signal } : {}) });
    return { ...report(p), how: r.how };
  }

  private protectedPids(all: ReadonlyMap<number, ProcInfo>): Set<number> {
    const out = new Set<number>([process.pid, process.ppid]);
    // Walk up from the agent: its whole ancestry keeps it alive.
    let cur = all.get(process.ppid);
    for (let i = 0; cur && cur.ppid > 0 && i < 64; i++) {
      out.add(cur.ppid);
      cur = all.get(cur.ppid);
    }
    return out;
  }
}

function isDescendant(p: ProcInfo, ancestor: number, all: ReadonlyMap<number, ProcInfo>): boolean {
  let cur: ProcInfo | undefined = p;
  for (let i = 0; cur && i < 64; i++) {
    if (cur.ppid === ancestor) return true;
    cur = all.get(cur.ppid);
  }
  return false;
}

export function report(p: Candidate): KillReport {
  return {
    pid: p.pid,
    comm: p.comm,
    cmdline: joinCmd(p).slice(0, 200),
    ...(p.cpuPct !== undefined ? { cpuPct: Math.round(p.cpuPct * 10) / 10 } : {}),
    ...(p.rssBytes !== undefined ? { rssBytes: p.rssBytes } : {}),
  };
}

function memTotalBytes(root: string): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync(`${root}/meminfo`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
