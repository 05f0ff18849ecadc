import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/observe/log.ts';

/** A port that cannot be bound; the message says which and what to do. */
export class PortInUseError extends Error {
  readonly expected = true;
}

export function listenError(e: NodeJS.ErrnoException, what: string, host: string, port: number, key: string): Error {
  if (e.code === 'EADDRINUSE') return new PortInUseError(`${what} port ${port} on ${host} is in use: stop what holds it, or set ${key}`);
  if (e.code === 'EACCES') return new PortInUseError(`${what} port ${port} on ${host} needs privileges: choose a port above 1023 with ${key}`);
  if (e.code === 'EADDRNOTAVAIL') return new PortInUseError(`${what} cannot listen on ${host}: that address is not on this machine; fix ${key.replace(/port$/, 'host')}`);
  return e;
}

/**
 * The embedded broker: aedes (MQTT 3.1.1) on a TCP port. In-memory persistence: retained
 * messages and sessions do not survive its restart, which the protocol is built to tolerate
 * (agents republish status on connect, and hold their outbox until the coordinator is online).
 */
export class EmbeddedBroker {
  private broker: Aedes | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly host: string,
    private port: number,
    private readonly log: Logger,
  ) {}

  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    // Client ids are `homeostat-agent-<id>` (up to 80 chars); aedes' default cap is 23, MQTT 3.1.1's minimum.
    const broker = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval: 60_000 });
    broker.on('clientError', (client, err) => this.log.debug({ client: client.id, err: err.message }, 'mqtt client error'));
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await new Promise<void>((r) => broker.close(() => r()));
      throw listenError(e as NodeJS.ErrnoException, 'MQTT', this.host, this.port, 'broker.embedded.port');
    }
    this.port = (server.address() as AddressInfo).port;
    this.broker = broker;
    this.server = server;
    this.log.info({ url: this.url }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const { broker, server } = this;
    this.broker = null;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
  }
}
