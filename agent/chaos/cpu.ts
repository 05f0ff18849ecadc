import { spawnFaultChild } from './fault-child.ts';
import type { ChaosHandle, ChaosReport, CpuChaos } from './options.ts';

/**
 * The burner. It reads the clock between short loops and exits at its deadline by itself; the
 * marker comment puts "homeostat-chaos-cpu" in its cmdline, so kill_process patterns can find it.
 */
const BURNER = `/* homeostat-chaos-cpu */ const until = Number(process.argv[1]); let x = 0;
while (Date.now() < until) { for (let i = 0; i < 1e6; i++) x = (x + i) | 0; }
process.exit(x === 0.5 ? 1 : 0);`;

export const CPU_CHAOS_MARKER = 'homeostat-chaos-cpu';

/** Burns `cores` cores, one child each, until the deadline. */
export async function startCpuChaos(o: CpuChaos): Promise<ChaosHandle> {
  const deadline = Date.now() + o.durationMs;
  const kids = await Promise.all(Array.from({ length: o.cores }, () => spawnFaultChild(BURNER, deadline)));
  const pids = kids.map((k) => k.child.pid!);
  let stoppedEarly = false;
  const done: Promise<ChaosReport> = Promise.all(kids.map((k) => k.exited)).then((exits) => ({
    kind: 'cpu',
    detail: `burned ${o.cores} core(s) for up to ${o.durationMs} ms (pids ${pids.join(', ')})${stoppedEarly ? ', stopped early' : ''}; exits: ${exits.map((e) => e.signal ?? `code ${e.code}`).join(', ')}`,
    data: { pids, deadline, exits, stoppedEarly },
  }));
  return {
    kind: 'cpu',
    pids,
    done,
    stop: () => {
      stoppedEarly = true;
      for (const k of kids) k.kill();
      return done;
    },
  };
}
