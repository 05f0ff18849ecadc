import { join } from 'node:path';
import { MqttConnection } from '../shared/link/mqtt-connection.ts';
import { Counters } from '../shared/observe/counters.ts';
import { createLogger, type Logger } from '../shared/observe/log.ts';
import { encode } from '../shared/protocol/codec.ts';
import { COORDINATOR_ID } from '../shared/protocol/ids.ts';
import { FleetControlBodySchema, type CmdBody, type FleetControlBody, type ReplyBody } from '../shared/protocol/messages.ts';
import { Router } from '../shared/protocol/router.ts';
import { filterFor } from '../shared/protocol/topics.ts';
import { HOMEOSTAT_VERSION } from '../shared/version.ts';
import { systemClock } from '../agent/sense/sampler.ts';
import { resolveAdminToken } from './admin-token.ts';
import { buildApi } from './api/server.ts';
import { EmbeddedBroker, listenError } from './broker/embedded.ts';
import type { CoordinatorConfig } from './config.ts';
import { RoundStore } from './federation/round-store.ts';
import { Rounds } from './federation/rounds.ts';
import { registerIngest } from './ingest.ts';
import { loadOrCreateFleetKeys, type FleetKeys } from './keys.ts';
import { PolicyDistribution } from './policy/distribution.ts';
import { CoordinatorStore } from './store/store.ts';

/** How long a command waits for the agent's reply. */
export const CMD_TIMEOUT_MS = 10_000;

/**
 * The coordinator: broker (embedded aedes, or an external URL) → one MQTT client → router →
 * registry/ingest → sqlite, and the HTTP API over the same store. The embedded broker is just a
 * broker the coordinator connects to over loopback, so both modes run the same client code.
 */
export class Coordinator {
  readonly counters = new Counters();
  log: Logger;
  store!: CoordinatorStore;
  broker: EmbeddedBroker | null = null;
  private conn!: MqttConnection;
  private api: ReturnType<typeof buildApi> | null = null;
  private startedAt = 0;
  private readonly pendingCmds = new Map<string, (r: ReplyBody) => void>();
  /** The fleet signing key pair: signs cmd, fleetControl and policy (agents trust its public half). */
  keys!: FleetKeys;
  rounds!: Rounds;
  policies!: PolicyDistribution;
  apiAddress = '';
  brokerUrl = '';
  adminToken = '';

  private readonly announceToken: (line: string) => void;

  constructor(
    readonly config: CoordinatorConfig,
    opts: { log?: Logger; announceToken?: (line: string) => void } = {},
  ) {
    this.log = opts.log ?? createLogger('coordinator');
    this.announceToken = opts.announceToken ?? ((line) => process.stdout.write(`homeostat: ${line}\n`));
  }

  async start(): Promise<void> {
    const c = this.config;
    this.startedAt = Date.now();
    try {
      this.store = new CoordinatorStore(join(c.dataDir, 'coordinator.db'), c.retention);
      const token = resolveAdminToken(c.dataDir, c.api.adminToken);
      this.adminToken = token.token;
      if (token.created) {
        // Printed once, the first time: afterwards it is only in the 0600 file.
        this.announceToken(`admin token created (saved in ${token.file}, shown only now): ${token.token}`);
      }
      this.keys = loadOrCreateFleetKeys(c.dataDir);
      if (this.keys.created) this.log.info({ file: this.keys.privateFile, keyId: this.keys.keyId }, 'fleet signing key created; agents need its public key ("homeostat coordinator key")');

      if ('embedded' in c.broker) {
        this.broker = new EmbeddedBroker(c.broker.embedded.host, c.broker.embedded.port, this.log);
        await this.broker.start();
        this.brokerUrl = this.broker.url;
      } else {
        this.brokerUrl = c.broker.url;
      }

      const router = new Router(this.log, this.counters);
      registerIngest(router, this.store, c.enrolment, this.counters, this.log, { onEvent: (id, body) => this.rounds.onEvent(id, body) });
      router.on('reply', (msg) => {
        this.pendingCmds.get(msg.corr)?.(msg.body);
      });
      const signer = this.keys.privateKey;
      this.rounds = new Rounds({
        config: c.federation,
        store: new RoundStore(this.store.db),
        candidates: () => this.store.agents().filter((a) => a.state === 'online').map((a) => a.id),
        isOnline: (id) => this.store.agent(id)?.state === 'online',
        publish: async (m) => {
          const out = m.key === 'rounds' ? encode('rounds', { from: COORDINATOR_ID, body: m.body, signer }) : encode('model', { from: COORDINATOR_ID, body: m.body, signer });
          await this.conn.publish(out);
        },
        log: this.log.child({ part: 'federation' }),
        counters: this.counters,
        clock: systemClock,
      });
      this.rounds.start();
      router.onBinary('updates', (u, ctx) => this.rounds.onUpdate(u, ctx.payload));
      const status = (state: 'online' | 'offline', reason: 'start' | 'stop' | 'lwt') =>
        encode('coordinatorStatus', { from: COORDINATOR_ID, body: { state, reason, version: HOMEOSTAT_VERSION, startedAt: this.startedAt } });
      this.conn = new MqttConnection({
        url: this.brokerUrl,
        clientId: 'homeostat-coordinator',
        // A persistent session: the broker queues agents' QoS 1 messages while we reconnect.
        clean: false,
        username: 'url' in c.broker ? c.broker.username : undefined,
        password: 'url' in c.broker ? c.broker.password : undefined,
        subscriptions: [filterFor('status'), filterFor('telemetry'), filterFor('events'), filterFor('reply'), filterFor('updates')],
        will: () => status('offline', 'lwt'),
        // Announced only after the subscriptions exist: agents hold their outbox until they see it.
        onConnect: async () => {
          // The pause switch, policies, round and model are republished first: an in-memory broker
          // forgot its retained copies. One that cannot be sent is logged, not fatal: failing here
          // would reconnect forever without ever announcing the coordinator online.
          const republish = (what: string, send: () => Promise<void>) =>
            send().catch((e: Error) => this.log.warn({ err: e.message }, `${what} not republished; the next reconnect tries again`));
          await republish('fleet pause switch', async () => this.conn.publish(encode('fleetControl', { from: COORDINATOR_ID, body: this.fleetControl(), signer: this.keys.privateKey })));
          await this.policies.republish();
          await republish('federated round and model', () => this.rounds.republish());
          await this.conn.publish(status('online', 'start'));
        },
        onMessage: async (topic, payload, retained) => {
          await router.dispatch(topic, payload, retained);
        },
        role: 'coordinator',
        log: this.log,
        counters: this.counters,
      });
      this.policies = new PolicyDistribution({ db: this.store.db, signer: this.keys.privateKey, publish: (out) => this.conn.publish(out), log: this.log, counters: this.counters });
      await this.conn.start(true);

      this.api = buildApi({
        store: this.store,
        counters: this.counters,
        log: this.log,
        adminToken: this.adminToken,
        brokerConnected: () => this.conn.connected,
        cmd: (id, body) => this.sendCmd(id, body),
        fleetControl: () => this.fleetControl(),
        setPaused: (paused, by, reason) => this.setPaused(paused, by, reason),
        policies: this.policies,
        federation: this.rounds,
      });
      try {
        this.apiAddress = await this.api.listen({ host: c.api.host, port: c.api.port });
      } catch (e) {
        throw listenError(e as NodeJS.ErrnoException, 'HTTP', c.api.host, c.api.port, 'api.port');
      }
      this.log.info({ api: this.apiAddress, broker: this.brokerUrl }, 'coordinator started');
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (this.conn?.connected) {
      await this.conn.publish(encode('coordinatorStatus', { from: COORDINATOR_ID, body: { state: 'offline', reason: 'stop', version: HOMEOSTAT_VERSION, startedAt: this.startedAt } })).catch(() => undefined);
    }
    await this.rounds?.stop();
    await this.conn?.stop();
    await this.api?.close();
    this.api = null;
    await this.broker?.stop();
    this.store?.close();
  }

  get brokerConnected(): boolean {
    return this.conn?.connected ?? false;
  }

  fleetControl(): FleetControlBody {
    const saved = this.store.setting('fleet-control');
    return saved ? FleetControlBodySchema.parse(JSON.parse(saved)) : { paused: false, by: 'default', reason: '', at: 0 };
  }

  /** Pauses or resumes remediation on every agent: stored, then published retained. */
  async setPaused(paused: boolean, by: string, reason: string): Promise<FleetControlBody> {
    const body: FleetControlBody = { paused, by, reason, at: Date.now() };
    this.store.setSetting('fleet-control', JSON.stringify(body));
    await this.conn.publish(encode('fleetControl', { from: COORDINATOR_ID, body, signer: this.keys.privateKey }));
    this.log.info(body, paused ? 'fleet remediation paused' : 'fleet remediation resumed');
    return body;
  }

  /** Sends a command to one agent and waits for its reply (matched by correlation id). */
  async sendCmd(agentId: string, body: CmdBody): Promise<ReplyBody> {
    const out = encode('cmd', { from: COORDINATOR_ID, agentId, body, signer: this.keys.privateKey });
    const reply = new Promise<ReplyBody>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pendingCmds.delete(out.id);
        reject(new Error(`agent "${agentId}" did not answer "${body.command}" within ${CMD_TIMEOUT_MS} ms`));
      }, CMD_TIMEOUT_MS);
      this.pendingCmds.set(out.id, (r) => {
        clearTimeout(t);
        this.pendingCmds.delete(out.id);
        resolve(r);
      });
    });
    try {
      await this.conn.publish(out);
    } catch (e) {
      this.pendingCmds.get(out.id)?.({ ok: false, error: 'not sent' });
      reply.catch(() => undefined);
      throw new Error(`could not send "${body.command}" to agent "${agentId}": ${(e as Error).message}`);
    }
    return reply;
  }
}
