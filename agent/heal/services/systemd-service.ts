import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { SystemdService } from './schema.ts';
import { ServiceCommandError, ServiceUnavailableError, type ServiceAdapter, type ServiceStatus } from './service.ts';

/** Output beyond this is cut: systemctl's answers here are one line; a runaway one must not fill memory. */
const MAX_OUTPUT_BYTES = 64 * 1024;

export interface SystemdOptions {
  /** The systemctl binary (tests point it at a fake that records its argv). */
  systemctl?: string;
  /** sd_booted(3): the host runs systemd iff this directory exists. */
  bootedMarker?: string;
}

/**
 * A unit driven through systemctl. Usable only on a host booted with systemd: a container or a
 * firecracker VM often ships the systemctl binary without systemd running, where every call
 * fails with "System has not been booted with systemd"; that case is reported as unavailable.
 */
export class SystemdServiceAdapter implements ServiceAdapter {
  readonly kind = 'systemd';
  readonly name: string;
  private readonly systemctl: string;
  private readonly marker: string;

  constructor(
    private readonly decl: SystemdService,
    opts: SystemdOptions = {},
  ) {
    this.name = decl.name;
    this.systemctl = opts.systemctl ?? 'systemctl';
    this.marker = opts.bootedMarker ?? '/run/systemd/system';
  }

  async status(signal?: AbortSignal): Promise<ServiceStatus> {
    this.requireSystemd();
    // is-active exits 0 only for "active"; its stdout names the state either way.
    const r = await this.run(['is-active', '--', this.decl.unit], signal);
    const state = r.stdout.trim() || 'unknown';
    if (r.code !== 0) return { running: false, detail: `unit ${this.decl.unit} is ${state}` };
    const pid = await this.mainPid(signal);
    return { running: true, ...(pid ? { pid } : {}), detail: `unit ${this.decl.unit} is active${pid ? ` (main pid ${pid})` : ''}` };
  }

  start(signal?: AbortSignal): Promise<ServiceStatus> {
    return this.act('start', signal);
  }

  stop(signal?: AbortSignal): Promise<ServiceStatus> {
    return this.act('stop', signal);
  }

  async restart(signal?: AbortSignal): Promise<ServiceStatus & { previousPid?: number }> {
    this.requireSystemd();
    const before = await this.mainPid(signal);
    const after = await this.act('restart', signal);
    return { ...after, ...(before ? { previousPid: before } : {}) };
  }

  private async act(verb: 'start' | 'stop' | 'restart', signal?: AbortSignal): Promise<ServiceStatus> {
    this.requireSystemd();
    const r = await this.run([verb, '--', this.decl.unit], signal);
    if (r.code !== 0) {
      throw new ServiceCommandError(`systemctl ${verb} ${this.decl.unit} failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}: see journalctl -u ${this.decl.unit}`);
    }
    return this.status(signal);
  }

  private async mainPid(signal?: AbortSignal): Promise<number | undefined> {
    const r = await this.run(['show', '--property=MainPID', '--value', '--', this.decl.unit], signal);
    const pid = Number(r.stdout.trim());
    return r.code === 0 && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  }

  private requireSystemd(): void {
    if (!existsSync(this.marker)) {
      throw new ServiceUnavailableError(
        `service "${this.name}": systemd not available on this host (${this.marker} does not exist, so it was not booted with systemd): declare the service as kind "command" or run the agent on a systemd host`,
      );
    }
  }

  private run(args: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
    const timeout = AbortSignal.timeout(this.decl.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise((ok, fail) => {
      execFile(this.systemctl, args, { signal: s, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return ok({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: unknown };
        if (e.code === 'ENOENT') {
          return fail(new ServiceUnavailableError(`service "${this.name}": systemd not available: ${this.systemctl} not found on PATH`));
        }
        if (e.name === 'AbortError') {
          return fail(new ServiceCommandError(`systemctl ${args.join(' ')} gave no answer within ${this.decl.timeoutMs} ms or was cancelled: raise timeoutMs or check systemd`));
        }
        if (typeof e.code === 'number') return ok({ code: e.code, stdout, stderr });
        fail(new ServiceCommandError(`systemctl ${args.join(' ')}: ${e.message}`));
      });
    });
  }
}
