import { readFileSync } from 'node:fs';
import { spawnFaultChild } from './fault-child.ts';
import type { ChaosHandle, ChaosReport, MemoryChaos } from './options.ts';

/** A balloon never takes more than this share of MemAvailable: the fault must not take the host down. */
export const MAX_MEMORY_SHARE = 0.5;

/**
 * The balloon: 1 MiB buffers filled with a non-zero byte, so every page is really resident
 * (zero pages may stay shared with the kernel's zero page), held until the deadline.
 */
const BALLOON = `/* homeostat-chaos-memory */ const until = Number(process.argv[1]); const mb = Number(process.argv[2]);
const held = []; for (let i = 0; i < mb; i++) held.push(Buffer.alloc(1048576, 1));
globalThis.held = held; process.stdout.write('ready\\n');
setTimeout(() => process.exit(0), Math.max(0, until - Date.now()));`;

export function memAvailableBytes(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  if (!m) throw new Error('memory chaos: /proc/meminfo has no MemAvailable line (kernel older than 3.14?): cannot size the balloon safely');
  return Number(m[1]) * 1024;
}

export async function startMemoryChaos(o: MemoryChaos): Promise<ChaosHandle> {
  const avail = memAvailableBytes();
  const want = o.mb * 1048576;
  if (want > avail * MAX_MEMORY_SHARE) {
    throw new Error(
      `memory chaos: ${o.mb} MB is more than ${MAX_MEMORY_SHARE * 100}% of the ${Math.floor(avail / 1048576)} MB available: ask for at most ${Math.floor((avail * MAX_MEMORY_SHARE) / 1048576)} MB`,
    );
  }
  const deadline = Date.now() + o.durationMs;
  const kid = await spawnFaultChild(BALLOON, deadline, [String(o.mb)], true);
  const pid = kid.child.pid!;
  let stoppedEarly = false;
  const done: Promise<ChaosReport> = kid.exited.then((e) => ({
    kind: 'memory',
    detail: `held ${o.mb} MB in pid ${pid} for up to ${o.durationMs} ms${stoppedEarly ? ', stopped early' : ''}; exit ${e.signal ?? e.code}`,
    data: { pid, mb: o.mb, deadline, exit: e, stoppedEarly },
  }));
  return {
    kind: 'memory',
    pids: [pid],
    done,
    stop: () => {
      stoppedEarly = true;
      kid.kill();
      return done;
    },
  };
}
