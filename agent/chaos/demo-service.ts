import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A hang started by SIGUSR1 ends by itself after this long, even if no SIGUSR2 ever comes. */
export const DEFAULT_MAX_HANG_MS = 300_000;
/** Requests held unanswered while hanging; past this the oldest connection is dropped (and counted). */
export const MAX_HELD_REQUESTS = 1_000;

export interface DemoServiceOptions {
  port: number;
  host?: string;
  /** File whose content is a deadline (epoch ms): while now < deadline, /health hangs. */
  hangFlag?: string;
  maxHangMs?: number;
}

export interface DemoService {
  readonly port: number;
  /** Requests dropped because too many were held. */
  dropped(): number;
  hanging(): boolean;
  close(): Promise<void>;
}

/**
 * The fixture service tests and demos manage: /health answers 200 "ok", until it is told to
 * hang (SIGUSR1, or a deadline in the flag file). Hanging, it keeps accepting connections and
 * reading requests but never answers: alive to `kill -0`, dead to its probe, the case a
 * process check alone cannot see.
 */
export async function startDemoService(o: DemoServiceOptions): Promise<DemoService> {
  const maxHang = o.maxHangMs ?? DEFAULT_MAX_HANG_MS;
  let signalHangUntil = 0;
  let dropped = 0;
  const held: ServerResponse[] = [];

  const flagUntil = (): number => {
    if (!o.hangFlag) return 0;
    try {
      const v = Number(readFileSync(o.hangFlag, 'utf8').trim());
      return Number.isFinite(v) ? v : 0;
    } catch {
      return 0;
    }
  };
  const hanging = () => Date.now() < Math.max(signalHangUntil, flagUntil());

  const onUsr1 = () => (signalHangUntil = Date.now() + maxHang);
  const onUsr2 = () => (signalHangUntil = 0);
  process.on('SIGUSR1', onUsr1);
  process.on('SIGUSR2', onUsr2);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health' && hanging()) {
      held.push(res);
      if (held.length > MAX_HELD_REQUESTS) {
        held.shift()!.socket?.destroy();
        dropped++;
      }
      return;
    }
    if (req.url === '/health') {
      // The pid lets a caller check that the process answering is the one it manages.
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok pid=${process.pid}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health\n');
  });
  // Held requests are released (their sockets closed) once the hang is over, so they do not pile up.
  const sweeper = setInterval(() => {
    if (held.length && !hanging()) for (const r of held.splice(0)) r.socket?.destroy();
  }, 500);
  sweeper.unref();

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host ?? '127.0.0.1', () => ok());
  });
  return {
    port: (server.address() as AddressInfo).port,
    dropped: () => dropped,
    hanging,
    close: async () => {
      clearInterval(sweeper);
      process.off('SIGUSR1', onUsr1);
      process.off('SIGUSR2', onUsr2);
      for (const r of held.splice(0)) r.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function parseArgs(argv: string[]): DemoServiceOptions {
  const o: DemoServiceOptions = { port: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`demo-service: ${k} needs a value`);
    if (k === '--port') o.port = Number(v);
    else if (k === '--host') o.host = v;
    else if (k === '--hang-flag') o.hangFlag = v;
    else if (k === '--max-hang-sec') o.maxHangMs = Number(v) * 1000;
    else throw new Error(`demo-service: unknown option ${k} (known: --port, --host, --hang-flag, --max-hang-sec)`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`demo-service: --port ${o.port} is not a port number`);
  return o;
}

/** Run directly (`node --import tsx agent/chaos/demo-service.ts --port 8080`): serve until SIGTERM/SIGINT. */
export async function demoServiceMain(argv: string[]): Promise<void> {
  const svc = await startDemoService(parseArgs(argv));
  process.stdout.write(`demo service listening on ${svc.port} (pid ${process.pid})\n`);
  const quit = () => void svc.close().then(() => process.exit(0));
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  demoServiceMain(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
