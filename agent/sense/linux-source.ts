import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { FEATURE_COUNT } from './features.ts';
import { cpuPercents, parseCpuTimes, parseDiskstats, parseLoad1, parseMeminfo, parseNetDev, parsePidStat, rate, realMounts, type CpuTimes } from './proc-parse.ts';

/** Disk usage changes slowly and statfs per mount is the priciest read: refresh every 30 s. */
export const DISK_USAGE_REFRESH_MS = 30_000;
/** A full /proc/<pid> scan costs ~1-3 ms per 200 processes (bench/sampler-calls.ts): every 5 s. */
export const TOP_PROCESS_REFRESH_MS = 5_000;
const CLK_TCK = 100; // USER_HZ, fixed at 100 on every mainstream Linux architecture

function isPid(name: string): boolean {
  return name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57;
}

/**
 * Reads feature vector v1 straight from /proc: every read here is a small virtual file, no
 * process is spawned (systeminformation's fsSize runs `df`, and processes() walks every pid
 * on each call; see docs/features.md for the measured costs).
 */
export class LinuxSource {
  private readonly cores = os.cpus().length || 1;
  private disks: Set<string> = new Set();
  private prev: { t: number; cpu: CpuTimes; disk: { read: number; write: number }; net: { rx: number; tx: number } } | null = null;
  private diskUsedPct = 0;
  private diskAt = -Infinity;
  private top = { cpu: 0, mem: 0 };
  private topAt = -Infinity;
  private prevTicks = new Map<number, number>();
  private prevTopT = 0;

  constructor(private readonly root = '/proc') {}

  read(now: number): number[] {
    const cpu = parseCpuTimes(readFileSync(`${this.root}/stat`, 'utf8'));
    const load1 = parseLoad1(readFileSync(`${this.root}/loadavg`, 'utf8'));
    const mem = parseMeminfo(readFileSync(`${this.root}/meminfo`, 'utf8'));
    if (this.disks.size === 0) this.disks = wholeDisks();
    const disk = parseDiskstats(readFileSync(`${this.root}/diskstats`, 'utf8'), this.disks);
    const net = parseNetDev(readFileSync(`${this.root}/net/dev`, 'utf8'));
    const pids = readdirSync(this.root).filter(isPid);
    if (now - this.diskAt >= DISK_USAGE_REFRESH_MS) {
      this.diskUsedPct = maxDiskUsedPct(readFileSync(`${this.root}/self/mounts`, 'utf8'));
      this.diskAt = now;
    }
    if (now - this.topAt >= TOP_PROCESS_REFRESH_MS) {
      this.scanTop(pids, now, mem.memTotalBytes);
      this.topAt = now;
    }
    const p = this.prev;
    const dt = p ? (now - p.t) / 1000 : 0;
    const pct = p ? cpuPercents(p.cpu, cpu) : { user: 0, system: 0, iowait: 0 };
    const v = [
      pct.user,
      pct.system,
      pct.iowait,
      load1 / this.cores,
      mem.memUsedPct,
      mem.swapUsedPct,
      this.diskUsedPct,
      p ? rate(p.disk.read, disk.read, dt) : 0,
      p ? rate(p.disk.write, disk.write, dt) : 0,
      p ? rate(p.net.rx, net.rx, dt) : 0,
      p ? rate(p.net.tx, net.tx, dt) : 0,
      pids.length,
      this.top.cpu,
      this.top.mem,
    ];
    this.prev = { t: now, cpu, disk, net };
    if (v.length !== FEATURE_COUNT) throw new Error(`linux source produced ${v.length} values, expected ${FEATURE_COUNT}`);
    return v;
  }

  private scanTop(pids: string[], now: number, memTotal: number): void {
    const page = 4096;
    const next = new Map<number, number>();
    const dt = (now - this.prevTopT) / 1000;
    let cpu = 0;
    let rss = 0;
    for (const s of pids) {
      let st;
      try {
        st = parsePidStat(readFileSync(`${this.root}/${s}/stat`, 'utf8'));
      } catch {
        continue; // the process exited between readdir and read
      }
      const pid = Number(s);
      next.set(pid, st.ticks);
      const before = this.prevTicks.get(pid);
      if (before !== undefined && dt > 0) cpu = Math.max(cpu, (100 * (st.ticks - before)) / CLK_TCK / dt);
      rss = Math.max(rss, st.rssPages * page);
    }
    this.prevTicks = next;
    this.prevTopT = now;
    this.top = { cpu: Math.max(0, cpu), mem: memTotal > 0 ? Math.min(100, (100 * rss) / memTotal) : 0 };
  }
}

/** Whole disks are the entries of /sys/block; loop and RAM devices are not storage a node fills. */
function wholeDisks(): Set<string> {
  try {
    return new Set(readdirSync('/sys/block').filter((d) => !/^(loop|ram|zram)/.test(d)));
  } catch {
    return new Set();
  }
}

function maxDiskUsedPct(mounts: string): number {
  let max = 0;
  for (const m of realMounts(mounts)) {
    try {
      const s = statfsSync(m);
      if (s.blocks === 0) continue;
      // Like df: used / (used + available to unprivileged users), so root's reserve counts as full.
      const used = s.blocks - s.bfree;
      const pct = (100 * used) / (used + s.bavail);
      if (Number.isFinite(pct)) max = Math.max(max, pct);
    } catch {
      // an unreadable mount point (permissions, stale network mount) is skipped, not fatal
    }
  }
  return max;
}
