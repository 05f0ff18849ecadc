import { connect } from 'node:net';
import { runArgv } from '../actions/run-argv.ts';
import type { CommandProbe, HttpProbe, Probe, ProbeResult, TcpProbe } from './schema.ts';

/** bodyMatch looks at this much of the body: enough for any health page, bounded for a huge one. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Runs one probe. Never throws: every failure is a result with a detail saying what was seen. */
export function runProbe(probe: Probe, signal?: AbortSignal): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return httpProbe(probe, signal);
    case 'tcp':
      return tcpProbe(probe, signal);
    case 'command':
      return commandProbe(probe, signal);
  }
}

function bounded(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, t]) : t;
}

function statusOk(p: HttpProbe, status: number): boolean {
  const e = p.expectStatus;
  return typeof e === 'number' ? status === e : status >= e.min && status <= e.max;
}

function expected(p: HttpProbe): string {
  const e = p.expectStatus;
  return typeof e === 'number' ? String(e) : `${e.min}-${e.max}`;
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

export async function httpProbe(p: HttpProbe, signal?: AbortSignal): Promise<ProbeResult> {
  const t0 = performance.now();
  const s = bounded(p.timeoutMs, signal);
  try {
    // redirect: 'manual' so a 3xx is judged as the service's answer, like Kubernetes does.
    const res = await fetch(p.url, { signal: s, redirect: 'manual', headers: { 'user-agent': 'homeostat-probe' } });
    const body = p.bodyMatch ? await readBounded(res) : (await res.body?.cancel(), '');
    const latencyMs = performance.now() - t0;
    if (!statusOk(p, res.status)) return { ok: false, latencyMs, detail: `HTTP ${res.status}, expected ${expected(p)}` };
    if (p.bodyMatch && !new RegExp(p.bodyMatch).test(body)) {
      return { ok: false, latencyMs, detail: `HTTP ${res.status} but the body does not match /${p.bodyMatch}/ (starts ${JSON.stringify(body.slice(0, 60))})` };
    }
    if (p.maxLatencyMs !== undefined && latencyMs > p.maxLatencyMs) {
      return { ok: false, latencyMs, detail: `HTTP ${res.status} in ${Math.round(latencyMs)} ms, slower than maxLatencyMs ${p.maxLatencyMs}` };
    }
    return { ok: true, latencyMs, detail: `HTTP ${res.status} in ${Math.round(latencyMs)} ms` };
  } catch (e) {
    return { ok: false, latencyMs: performance.now() - t0, detail: describeFetchError(e, p.timeoutMs, signal) };
  }
}

function describeFetchError(e: unknown, timeoutMs: number, signal?: AbortSignal): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (signal?.aborted) return 'cancelled';
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms (no complete answer)`;
  const c = err.cause;
  if (c?.code === 'ECONNREFUSED') return 'connection refused';
  return `request failed: ${c?.code ?? c?.message ?? err.message}`;
}

export function tcpProbe(p: TcpProbe, signal?: AbortSignal): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((ok) => {
    if (signal?.aborted) return ok({ ok: false, latencyMs: 0, detail: 'cancelled' });
    const sock = connect({ host: p.host, port: p.port, timeout: p.timeoutMs });
    const done = (r: Omit<ProbeResult, 'latencyMs'>) => {
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      ok({ ...r, latencyMs: performance.now() - t0 });
    };
    const onAbort = () => done({ ok: false, detail: 'cancelled' });
    signal?.addEventListener('abort', onAbort, { once: true });
    // The socket timeout is an idle timer: before connect it bounds the connect itself.
    sock.once('connect', () => done({ ok: true, detail: `connected to ${p.host}:${p.port} in ${Math.round(performance.now() - t0)} ms` }));
    sock.once('timeout', () => done({ ok: false, detail: `connect to ${p.host}:${p.port} timed out after ${p.timeoutMs} ms` }));
    sock.once('error', (e: NodeJS.ErrnoException) =>
      done({ ok: false, detail: e.code === 'ECONNREFUSED' ? `connection refused by ${p.host}:${p.port}` : `connect to ${p.host}:${p.port} failed: ${e.code ?? e.message}` }),
    );
  });
}

export async function commandProbe(p: CommandProbe, signal?: AbortSignal): Promise<ProbeResult> {
  const t0 = performance.now();
  try {
    const r = await runArgv(p.argv, { timeoutMs: p.timeoutMs, ...(signal ? { signal } : {}), maxOutputBytes: 1024 });
    if (r.cancelled) return { ok: false, latencyMs: r.latencyMs, detail: 'cancelled' };
    if (r.timedOut) return { ok: false, latencyMs: r.latencyMs, detail: `timed out after ${p.timeoutMs} ms (killed)` };
    const ok = r.code === p.expectExit;
    const said = (r.stderr.trim() || r.stdout.trim()).split('\n').pop()?.slice(0, 200) ?? '';
    const how = r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
    return { ok, latencyMs: r.latencyMs, detail: ok ? how : `${how}, expected ${p.expectExit}${said ? `: ${said}` : ''}` };
  } catch (e) {
    return { ok: false, latencyMs: performance.now() - t0, detail: (e as Error).message };
  }
}
