import { statSync } from 'node:fs';
import { request } from 'node:http';
import type { DockerService } from './schema.ts';
import { ServiceCommandError, ServiceUnavailableError, type ServiceAdapter, type ServiceStatus } from './service.ts';

/** A container inspect is a few KB; anything past this is not an answer we can use. */
const MAX_BODY_BYTES = 1024 * 1024;

interface EngineReply {
  status: number;
  body: string;
}

/**
 * A container restarted through the Docker Engine API on its unix socket (no docker CLI, no
 * shell): GET /containers/{id}/json to read its state, POST /containers/{id}/restart?t=N to
 * restart it. Paths are unversioned, so the engine answers with its own current API version.
 */
export class DockerServiceAdapter implements ServiceAdapter {
  readonly kind = 'docker';
  readonly name: string;

  constructor(private readonly decl: DockerService) {
    this.name = decl.name;
  }

  async status(signal?: AbortSignal): Promise<ServiceStatus> {
    const r = await this.call('GET', `/containers/${this.id()}/json`, signal);
    if (r.status === 404) return { running: false, detail: `no such container "${this.decl.container}"` };
    if (r.status !== 200) throw this.failure('inspect', r);
    let state: { Running?: boolean; Status?: string; Pid?: number; Health?: { Status?: string } };
    try {
      state = (JSON.parse(r.body) as { State?: typeof state }).State ?? {};
    } catch {
      throw new ServiceCommandError(`docker inspect ${this.decl.container}: the engine's answer is not JSON (${r.body.slice(0, 80)})`);
    }
    const health = state.Health?.Status ? `, health ${state.Health.Status}` : '';
    const running = state.Running === true && state.Status === 'running';
    return {
      running,
      ...(running && state.Pid ? { pid: state.Pid } : {}),
      detail: `container ${this.decl.container} is ${state.Status ?? 'in an unknown state'}${health}`,
    };
  }

  start(signal?: AbortSignal): Promise<ServiceStatus> {
    return this.act('start', '', signal);
  }

  stop(signal?: AbortSignal): Promise<ServiceStatus> {
    return this.act('stop', `?t=${this.decl.stopTimeoutSec}`, signal);
  }

  async restart(signal?: AbortSignal): Promise<ServiceStatus & { previousPid?: number }> {
    const before = await this.status(signal);
    const after = await this.act('restart', `?t=${this.decl.stopTimeoutSec}`, signal);
    return { ...after, ...(before.pid ? { previousPid: before.pid } : {}) };
  }

  private async act(verb: 'start' | 'stop' | 'restart', query: string, signal?: AbortSignal): Promise<ServiceStatus> {
    const r = await this.call('POST', `/containers/${this.id()}/${verb}${query}`, signal);
    // 204: done; 304: already in the asked state (start/stop), which is success for a healer.
    if (r.status !== 204 && r.status !== 304) throw this.failure(verb, r);
    return this.status(signal);
  }

  private id(): string {
    return encodeURIComponent(this.decl.container);
  }

  private failure(verb: string, r: EngineReply): ServiceCommandError {
    let msg = r.body.slice(0, 200);
    try {
      msg = (JSON.parse(r.body) as { message?: string }).message ?? msg;
    } catch {
      // not JSON: keep the raw start of the body
    }
    const hint = r.status === 404 ? ': check the container name in the service declaration' : '';
    return new ServiceCommandError(`docker ${verb} ${this.decl.container}: engine answered ${r.status}: ${msg}${hint}`);
  }

  private call(method: 'GET' | 'POST', path: string, signal?: AbortSignal): Promise<EngineReply> {
    const sock = this.decl.socketPath;
    let isSocket = false;
    try {
      isSocket = statSync(sock).isSocket();
    } catch {
      // missing: reported below
    }
    if (!isSocket) {
      return Promise.reject(
        new ServiceUnavailableError(`service "${this.name}": Docker engine not available: no unix socket at ${sock}: start dockerd or set socketPath`),
      );
    }
    const timeout = AbortSignal.timeout(this.decl.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise((ok, fail) => {
      const req = request({ socketPath: sock, path, method, headers: { host: 'docker' }, signal: s }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new ServiceCommandError(`docker ${method} ${path}: answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      });
      req.on('error', (e) => {
        if (e.name === 'AbortError') fail(new ServiceCommandError(`docker ${method} ${path}: no answer within ${this.decl.timeoutMs} ms or cancelled: check dockerd`));
        else if (e instanceof ServiceCommandError) fail(e);
        else fail(new ServiceUnavailableError(`service "${this.name}": Docker engine not reachable at ${sock}: ${e.message}`));
      });
      req.end();
    });
  }
}
