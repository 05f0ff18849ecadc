import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CommandService } from './schema.ts';
import { cmdlineMatches, readProc, terminate, type ProcInfo } from './linux-process.ts';
import { ServiceCommandError, type ServiceAdapter, type ServiceStatus } from './service.ts';
import { writeFileAtomic } from '../../../shared/store/atomic-file.ts';

/**
 * A service the agent runs itself: started in its own session (detached, so it outlives the
 * agent and its process group can be signalled as a whole), tracked through a pidfile. The pid is
 * the service while it is the very process the agent started (pid and start time, kept beside
 * the pidfile in `<pidfile>.start`), whatever its cmdline says now: nginx and `process.title`
 * rewrite theirs. A pidfile the agent did not write (the service's own, or one left from before)
 * is trusted only while its pid still carries the declared argv.
 */
export class CommandServiceAdapter implements ServiceAdapter {
  readonly kind = 'command';
  readonly name: string;
  private readonly pidfile: string;
  private readonly startRecord: string;
  private readonly logFile: string | undefined;

  constructor(private readonly decl: CommandService) {
    this.name = decl.name;
    // Resolved once: the agent's cwd must not change which file a relative config path means.
    this.pidfile = resolve(decl.pidfile);
    this.startRecord = `${this.pidfile}.start`;
    this.logFile = decl.logFile ? resolve(decl.logFile) : undefined;
  }

  async status(): Promise<ServiceStatus> {
    const r = this.inspect();
    return r.proc ? { running: true, pid: r.proc.pid, detail: r.detail } : { running: false, detail: r.detail };
  }

  async start(signal?: AbortSignal): Promise<ServiceStatus> {
    signal?.throwIfAborted();
    const cur = this.inspect();
    // Idempotent: a second start must never leave two copies fighting over one port.
    if (cur.proc) return { running: true, pid: cur.proc.pid, detail: `already running as pid ${cur.proc.pid}` };
    let out: number | 'ignore' = 'ignore';
    if (this.logFile) {
      mkdirSync(dirname(this.logFile), { recursive: true });
      out = openSync(this.logFile, 'a');
    }
    const [cmd, ...args] = this.decl.argv;
    try {
      const child = spawn(cmd!, args, {
        detached: true,
        stdio: ['ignore', out, out],
        cwd: this.decl.cwd,
        env: { ...process.env, ...this.decl.env },
      });
      await new Promise<void>((ok, fail) => {
        child.once('spawn', ok);
        child.once('error', (e) => fail(new ServiceCommandError(`service "${this.name}": cannot start ${JSON.stringify(this.decl.argv)}: ${e.message}: check argv and cwd`)));
      });
      child.unref();
      const pid = child.pid!;
      // The start time is fixed at fork, so it can be read before the child has exec'd.
      const startTicks = readProc(pid)?.startTicks;
      writeFileAtomic(this.pidfile, `${pid}\n`);
      if (startTicks !== undefined) writeFileAtomic(this.startRecord, `${pid} ${startTicks}\n`);
      return { running: true, pid, detail: `started as pid ${pid}` };
    } finally {
      if (typeof out === 'number') closeSync(out); // the child holds its own copy
    }
  }

  async stop(signal?: AbortSignal): Promise<ServiceStatus & { stoppedPid?: number }> {
    const cur = this.inspect();
    if (!cur.proc) {
      this.forget();
      return { running: false, detail: `not running (${cur.detail})` };
    }
    const p = cur.proc;
    const r = await terminate(p.pid, {
      graceMs: this.decl.stopTimeoutMs,
      startTicks: p.startTicks,
      // Only signal the group when the service leads it, which a detached start guarantees.
      group: p.pgrp === p.pid,
      ...(signal ? { signal } : {}),
    });
    this.forget();
    return { running: false, stoppedPid: p.pid, detail: `stopped pid ${p.pid} (${r.how.replace(/_/g, ' ')}, ${Math.round(r.waitedMs)} ms)` };
  }

  async restart(signal?: AbortSignal): Promise<ServiceStatus & { previousPid?: number }> {
    const stopped = await this.stop(signal);
    const started = await this.start(signal);
    return { ...started, ...(stopped.stoppedPid ? { previousPid: stopped.stoppedPid } : {}), detail: `${stopped.detail}; ${started.detail}` };
  }

  /** The live process behind the pidfile, or why there is none. */
  private inspect(): { proc: ProcInfo | null; detail: string } {
    let text: string;
    try {
      text = readFileSync(this.pidfile, 'utf8');
    } catch {
      return { proc: null, detail: `no pidfile at ${this.pidfile}` };
    }
    const pid = Number(text.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return { proc: null, detail: `pidfile ${this.pidfile} holds no pid (${JSON.stringify(text.slice(0, 20))})` };
    const p = readProc(pid);
    // A process being torn down has already lost its cmdline (mm released) before it turns zombie.
    if (!p || p.state === 'Z' || p.state === 'X' || p.cmdline.length === 0) return { proc: null, detail: `pid ${pid} from ${this.pidfile} is not running` };
    if (this.startedHere(p)) return { proc: p, detail: `running as pid ${pid}` };
    if (!cmdlineMatches(p.cmdline, this.decl.argv)) {
      return { proc: null, detail: `pid ${pid} from ${this.pidfile} is now another program (${JSON.stringify(p.cmdline.slice(0, 4))}): stale pidfile, pid reused` };
    }
    return { proc: p, detail: `running as pid ${pid}` };
  }

  /** Is this the process the agent started (same pid, same start time)? */
  private startedHere(p: ProcInfo): boolean {
    try {
      const [pid, ticks] = readFileSync(this.startRecord, 'utf8').trim().split(' ').map(Number);
      return pid === p.pid && ticks === p.startTicks;
    } catch {
      return false;
    }
  }

  private forget(): void {
    rmSync(this.pidfile, { force: true });
    rmSync(this.startRecord, { force: true });
  }

}
