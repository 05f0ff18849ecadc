import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.ts';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { Coordinator } from '../../coordinator/coordinator.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { Mosquitto } from './mosquitto.ts';

export type BrokerKind = 'aedes' | 'mosquitto';
export const BROKERS: BrokerKind[] = ['aedes', 'mosquitto'];

/**
 * A real coordinator over a real broker: its embedded aedes, or a Mosquitto of the test's own.
 * `stopBroker`/`startBroker` take the broker down and up again on the same port.
 */
export interface Fleet {
  kind: BrokerKind;
  coordinator: Coordinator;
  dir: string;
  brokerUrl: string;
  api: string;
  /** The coordinator's public key, as agents are configured with it (agentConfig() already does). */
  publicKey: string;
  stopBroker(): Promise<void>;
  startBroker(): Promise<void>;
  agentConfig(overrides?: Record<string, unknown>): AgentConfig;
  close(): Promise<void>;
}

export async function startFleet(kind: BrokerKind, coordinator: Record<string, unknown> = {}): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), `homeostat-${kind}-`));
  const mosq = kind === 'mosquitto' ? await Mosquitto.start() : null;
  const cfg = loadCoordinatorConfig(undefined, {
    dataDir: join(dir, 'coordinator'),
    broker: mosq ? { url: mosq.url } : { embedded: { host: '127.0.0.1', port: 0 } },
    api: { host: '127.0.0.1', port: 0, adminToken: 'test-admin-token-0123456789' },
    ...coordinator,
  });
  const c = new Coordinator(cfg, { log: silentLogger });
  await c.start();
  let agents = 0;
  return {
    kind,
    coordinator: c,
    dir,
    brokerUrl: c.brokerUrl,
    api: c.apiAddress,
    publicKey: c.keys.publicKeyText,
    stopBroker: () => (mosq ? mosq.stop() : c.broker!.stop()),
    startBroker: () => (mosq ? mosq.start() : c.broker!.start()),
    agentConfig: (overrides = {}) =>
      loadAgentConfig(undefined, {
        dataDir: join(dir, `agent-${agents++}`),
        broker: { url: c.brokerUrl, backoff: { initialMs: 100, maxMs: 1000 } },
        fleet: { publicKey: c.keys.publicKeyText },
        ...overrides,
      }),
    close: async () => {
      await c.stop();
      await mosq?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
