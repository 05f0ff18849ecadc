import { readFileSync } from 'node:fs';
import { cmdlineMatches, readProc, waitUntilGone, isAlive } from '../heal/services/linux-process.ts';
import type { ChaosReport, KillChaos } from './options.ts';

/** SIGKILL is not catchable; this only bounds the wait for the kernel to reap the process. */
const KILL_WAIT_MS = 5_000;

/**
 * SIGKILLs the process named by a managed service's pidfile: the crash a healer must notice.
 * Refuses pid 1, itself, and (when `argv` is given) a pid that no longer runs that argv.
 */
export async function killChaos(o: KillChaos): Promise<ChaosReport> {
  let text: string;
  try {
    text = readFileSync(o.pidfile, 'utf8');
  } catch (e) {
    throw new Error(`kill chaos: cannot read pidfile ${o.pidfile} (${(e as NodeJS.ErrnoException).code}): is the service running?`);
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) throw new Error(`kill chaos: pidfile ${o.pidfile} holds ${JSON.stringify(text.trim())}, not a pid it may kill`);
  const p = readProc(pid);
  if (!p || !isAlive(pid, p.startTicks)) throw new Error(`kill chaos: pid ${pid} from ${o.pidfile} is not running: nothing to kill`);
  if (o.argv && !cmdlineMatches(p.cmdline, o.argv)) {
    throw new Error(`kill chaos: pid ${pid} runs ${JSON.stringify(p.cmdline.slice(0, 4))}, not the service's argv: stale pidfile, refusing`);
  }
  process.kill(pid, 'SIGKILL');
  const gone = await waitUntilGone(() => isAlive(pid, p.startTicks), KILL_WAIT_MS);
  return {
    kind: 'kill',
    detail: `SIGKILLed pid ${pid} (${p.comm}) from ${o.pidfile}${gone ? '' : ', but it was still there after 5 s (uninterruptible sleep?)'}`,
    data: { pid, comm: p.comm, gone },
  };
}
