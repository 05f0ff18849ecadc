/**
 * Pure parsers for the /proc files the Linux source reads. Kept apart from the I/O so they are
 * tested on fixture text, including the odd cases (wrapping counters, process names with spaces).
 */
export interface CpuTimes {
  user: number;
  system: number;
  iowait: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseCpuTimes(stat: string): CpuTimes {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate "cpu" line');
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  // guest and guest_nice are already counted in user and nice.
  return { user: user + nice, system: system + irq + softirq, iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

export function cpuPercents(a: CpuTimes, b: CpuTimes): { user: number; system: number; iowait: number } {
  const dt = b.total - a.total;
  if (dt <= 0) return { user: 0, system: 0, iowait: 0 };
  const pct = (x: number) => Math.min(100, Math.max(0, (100 * x) / dt));
  return { user: pct(b.user - a.user), system: pct(b.system - a.system), iowait: pct(b.iowait - a.iowait) };
}

export function parseLoad1(loadavg: string): number {
  const v = Number(loadavg.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new Error(`cannot read the load average from "${loadavg.slice(0, 40)}"`);
  return v;
}

export function parseMeminfo(meminfo: string): { memUsedPct: number; swapUsedPct: number; memTotalBytes: number } {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo);
    return m ? Number(m[1]) : undefined;
  };
  const total = kb('MemTotal');
  if (!total) throw new Error('/proc/meminfo has no MemTotal');
  // MemAvailable exists since Linux 3.14; older kernels approximate it.
  const avail = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  const swapTotal = kb('SwapTotal') ?? 0;
  const swapFree = kb('SwapFree') ?? 0;
  return {
    memUsedPct: Math.min(100, Math.max(0, 100 * (1 - avail / total))),
    swapUsedPct: swapTotal > 0 ? Math.min(100, Math.max(0, 100 * (1 - swapFree / swapTotal))) : 0,
    memTotalBytes: total * 1024,
  };
}

/** Bytes read and written, summed over the named whole-disk devices (partitions would double count). */
export function parseDiskstats(diskstats: string, disks: ReadonlySet<string>): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || !disks.has(f[2]!)) continue;
    read += Number(f[5]) * 512; // sectors are always 512 bytes in /proc/diskstats
    write += Number(f[9]) * 512;
  }
  return { read, write };
}

export function parseNetDev(netdev: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of netdev.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === 'lo') continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** utime+stime (clock ticks) and RSS (pages) of /proc/<pid>/stat; the comm field may hold spaces and parentheses. */
export function parsePidStat(stat: string): { ticks: number; rssPages: number; comm: string } {
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const f = stat.slice(close + 2).split(' ');
  // After the comm: state is field 3, so utime (14) is index 11, stime (15) 12, rss (24) 21.
  return { ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]), comm };
}

/** Filesystems that sit on storage a node can fill; pseudo and in-memory ones are not "disk". */
export const REAL_FS_TYPES = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'jfs', 'reiserfs', 'nilfs2', 'bcachefs']);

export function realMounts(mounts: string): string[] {
  const out = new Set<string>();
  for (const line of mounts.split('\n')) {
    const [dev, mnt, type] = line.split(' ');
    if (!dev || !mnt || !type || !REAL_FS_TYPES.has(type)) continue;
    // /proc/mounts escapes spaces and tabs in paths as octal.
    out.add(mnt.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return [...out];
}

/** Counter delta per second; a counter that went backwards (reset, wrap, device removed) yields 0. */
export function rate(prev: number, cur: number, seconds: number): number {
  if (seconds <= 0 || cur < prev) return 0;
  return (cur - prev) / seconds;
}
