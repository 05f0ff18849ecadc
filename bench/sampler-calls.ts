// What each candidate source of the feature vector costs per call: systeminformation's calls
// next to the direct /proc reads the sampler uses, and the sampler's whole tick. The baseline is
// one read of /proc/stat, measured in the same run. Wall time per call (median of N) and CPU
// time per call (process.cpuUsage, user+system, mean).
import { readFileSync, readdirSync } from 'node:fs';
import si from 'systeminformation';
import { LinuxSource } from '../agent/sense/linux-source.ts';
import { machineLine, median } from './machine.ts';

const N = Number(process.env.BENCH_CALLS ?? 30);

/**
 * `gapMs` spaces the calls: systeminformation's processes() and disksIO() answer from a cache
 * when called again within about a second, which would measure the cache, not the work.
 */
async function measure(fn: () => unknown, gapMs = 0): Promise<{ wallMs: number; cpuMs: number; n: number }> {
  await fn(); // warm (first calls load modules, fill caches)
  const n = gapMs ? 5 : N;
  const walls: number[] = [];
  let cpu = 0;
  for (let i = 0; i < n; i++) {
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    const c0 = process.cpuUsage();
    const t = performance.now();
    await fn();
    walls.push(performance.now() - t);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
  }
  return { wallMs: median(walls), cpuMs: cpu / n, n };
}

const src = new LinuxSource();
let t = Date.now();
const cases: Array<[string, () => unknown, number?]> = [
  ['baseline: read /proc/stat', () => readFileSync('/proc/stat', 'utf8')],
  ['/proc/meminfo', () => readFileSync('/proc/meminfo', 'utf8')],
  ['/proc/net/dev + /proc/diskstats', () => [readFileSync('/proc/net/dev', 'utf8'), readFileSync('/proc/diskstats', 'utf8')]],
  ['readdir /proc (process count)', () => readdirSync('/proc')],
  ['sampler tick (LinuxSource.read, amortised slow parts)', () => src.read((t += 1000))],
  ['si.currentLoad()', () => si.currentLoad()],
  ['si.mem()', () => si.mem()],
  ['si.networkStats()', () => si.networkStats()],
  ['si.disksIO()', () => si.disksIO(), 1100],
  ['si.fsSize() (spawns df)', () => si.fsSize()],
  ['si.processes() (walks every pid)', () => si.processes(), 1100],
];

const rows: string[] = [];
let base = { wallMs: 1, cpuMs: 1 };
for (const [name, fn, gap] of cases) {
  const r = await measure(fn, gap);
  if (name.startsWith('baseline')) base = r;
  rows.push(`| ${name}${r.n !== N ? ` (${r.n} calls, 1.1 s apart)` : ''} | ${r.wallMs.toFixed(3)} | ${r.cpuMs.toFixed(3)} | ${(r.cpuMs / base.cpuMs).toFixed(1)}× |`);
}
console.log(`## Sampler sources: cost per call (${N} calls each unless noted)

${machineLine()}

| source | wall ms (median) | CPU ms (mean) | CPU vs baseline |
|---|---|---|---|
${rows.join('\n')}
`);
