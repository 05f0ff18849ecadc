import { z } from 'zod';

/**
 * Feature vector v1: what the agent samples every tick, in this order. The order is the
 * model's input order, so it only ever changes with a new FEATURE_VERSION. docs/features.md
 * documents each (units, sources, refresh period, measured cost).
 */
export const FEATURE_VERSION = 1;

export const FEATURES_V1 = [
  { name: 'cpu_user_pct', unit: '%', source: '/proc/stat', description: 'user+nice CPU time over the tick, % of all cores' },
  { name: 'cpu_system_pct', unit: '%', source: '/proc/stat', description: 'system+irq+softirq CPU time over the tick, % of all cores' },
  { name: 'cpu_iowait_pct', unit: '%', source: '/proc/stat', description: 'iowait time over the tick, % of all cores' },
  { name: 'load1_per_core', unit: 'ratio', source: '/proc/loadavg', description: '1-minute load average divided by the core count' },
  { name: 'mem_used_pct', unit: '%', source: '/proc/meminfo', description: '100 × (1 − MemAvailable / MemTotal)' },
  { name: 'swap_used_pct', unit: '%', source: '/proc/meminfo', description: '100 × (1 − SwapFree / SwapTotal); 0 without swap' },
  { name: 'disk_used_max_pct', unit: '%', source: 'statfs(2) over /proc/self/mounts', description: 'highest used % over real (block-device) filesystems' },
  { name: 'disk_read_bytes_s', unit: 'B/s', source: '/proc/diskstats', description: 'bytes read per second, summed over whole disks' },
  { name: 'disk_write_bytes_s', unit: 'B/s', source: '/proc/diskstats', description: 'bytes written per second, summed over whole disks' },
  { name: 'net_rx_bytes_s', unit: 'B/s', source: '/proc/net/dev', description: 'bytes received per second, all interfaces but loopback' },
  { name: 'net_tx_bytes_s', unit: 'B/s', source: '/proc/net/dev', description: 'bytes sent per second, all interfaces but loopback' },
  { name: 'process_count', unit: 'count', source: '/proc', description: 'number of processes' },
  { name: 'top_proc_cpu_pct', unit: '% of one core', source: '/proc/<pid>/stat', description: 'CPU of the busiest process over the last scan window' },
  { name: 'top_proc_mem_pct', unit: '%', source: '/proc/<pid>/stat', description: 'resident memory of the largest process, % of MemTotal' },
] as const;

export type FeatureName = (typeof FEATURES_V1)[number]['name'];
export const FEATURE_NAMES: readonly FeatureName[] = FEATURES_V1.map((f) => f.name);
export const FEATURE_COUNT = FEATURE_NAMES.length;

export const SampleSchema = z.object({
  ts: z.number().int().nonnegative(),
  v: z.array(z.number().refine(Number.isFinite, 'a finite number')).length(FEATURE_COUNT),
});
export type Sample = z.infer<typeof SampleSchema>;
