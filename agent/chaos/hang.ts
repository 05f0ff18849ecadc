import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosHandle, ChaosReport, HangChaos } from './options.ts';
import { writeFileAtomic } from '../../shared/store/atomic-file.ts';

/**
 * Makes the demo service hang: alive, accepting connections, never answering /health. Through
 * the flag file the deadline travels with the fault (the service stops hanging on time even if
 * this process dies); through signals the service's own cap bounds it.
 */
export async function startHangChaos(o: HangChaos): Promise<ChaosHandle> {
  const deadline = Date.now() + o.durationMs;
  let pid: number | undefined;
  if (o.flagFile) {
    writeFileAtomic(o.flagFile, `${deadline}\n`);
  } else {
    pid = Number(readFileSync(o.pidfile!, 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`hang chaos: pidfile ${o.pidfile} holds no usable pid`);
    process.kill(pid, 'SIGUSR1');
  }
  const ctl = new AbortController();
  const end = (): void => {
    if (o.flagFile) rmSync(o.flagFile, { force: true });
    else {
      try {
        process.kill(pid!, 'SIGUSR2');
      } catch {
        // the service is gone: nothing hangs any more
      }
    }
  };
  const done: Promise<ChaosReport> = delay(Math.max(0, deadline - Date.now()), undefined, { signal: ctl.signal })
    .catch(() => undefined)
    .then(() => {
      end();
      const how = o.flagFile ? `flag file ${o.flagFile}` : `SIGUSR1/SIGUSR2 to pid ${pid}`;
      return { kind: 'hang' as const, detail: `service hung for ${ctl.signal.aborted ? 'less than ' : ''}${o.durationMs} ms via ${how}`, data: { deadline, stoppedEarly: ctl.signal.aborted, ...(pid ? { pid } : {}) } };
    });
  return {
    kind: 'hang',
    pids: [],
    done,
    stop: () => {
      ctl.abort();
      return done;
    },
  };
}
