import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CommandService } from './schema.ts';
import { cmdlineMatches, readProc, terminate, type ProcInfo } from './linux-process.ts';
import { ServiceCommandError, type ServiceAdapter, type ServiceStatus } from './service.ts';

/**
 * A service the agent runs itself: started in its own session (detached, so it outlives the
 * agent and its process group can be signalled as a whole), tracked through a pidfile whose pid
 * must still carry the service's argv.
 */
export class CommandServiceAdapter implements ServiceAdapter {
  readonly kind = 'command';
  readonly name: string;
  private readonly pidfile: string;
  private readonly logFile: string | undefined;

  constructor(private readonly decl: CommandService) {
    this.name = decl.name;
    // Resolved once: the agent's cwd must not change which file a relative config path means.
    this.pidfile = resolve(decl.pidfile);
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
      this.writePidfile(pid);
      return { running: true, pid, detail: `started as pid ${pid}` };
    } finally {
      if (typeof out === 'number') closeSync(out); // the child holds its own copy
    }
  }

  async stop(signal?: AbortSignal): Promise<ServiceStatus & { stoppedPid?: number }> {
    const cur = this.inspect();
    if (!cur.proc) {
      rmSync(this.pidfile, { force: true });
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
    rmSync(this.pidfile, { force: true });
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
    if (!cmdlineMatches(p.cmdline, this.decl.argv)) {
      return { proc: null, detail: `pid ${pid} from ${this.pidfile} is now another program (${JSON.stringify(p.cmdline.slice(0, 4))}): stale pidfile, pid reused` };
    }
    return { proc: p, detail: `running as pid ${pid}` };
  }

  /** Write-then-rename, so a reader never sees a half-written pid. */
  private writePidfile(pid: number): void {
    mkdirSync(dirname(this.pidfile), { recursive: true });
    const tmp = `${this.pidfile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${pid}\n`);
    renameSync(tmp, this.pidfile);
  }
}
