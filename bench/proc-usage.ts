import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux; /proc/<pid>/stat times are in these ticks

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Samples a process's CPU % of one core and RSS once a second for `seconds`, after `warmupSec`
 * (start-up compilation is not steady-state cost).
 */
export async function watch(pid: number, seconds: number, warmupSec = 5): Promise<{ cpuPct: number; rssAvg: number; rssMax: number }> {
  await new Promise((r) => setTimeout(r, warmupSec * 1000));
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(rssMiB(pid));
  }
  const cpu = cpuSeconds(pid) - c0;
  const wall = (performance.now() - t0) / 1000;
  return { cpuPct: (100 * cpu) / wall, rssAvg: rss.reduce((a, b) => a + b, 0) / rss.length, rssMax: Math.max(...rss) };
}
