import type { BackoffOptions } from '../../shared/link/backoff.ts';
import { MqttConnection } from '../../shared/link/mqtt-connection.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { encode } from '../../shared/protocol/codec.ts';
import type { StatusBody } from '../../shared/protocol/messages.ts';
import { Router } from '../../shared/protocol/router.ts';
import { filterFor } from '../../shared/protocol/topics.ts';
import type { AgentStore, OutboxRow } from '../store/store.ts';

/** Unacknowledged publishes in one batch: enough to fill a LAN round trip, small enough that a broken link wastes little. */
export const MAX_INFLIGHT = 32;
/** Retry period for the outbox when nothing else (a reconnect, a new row) wakes the drain. */
export const DRAIN_RETRY_MS = 5_000;

export interface LinkOptions {
  url: string;
  agentId: string;
  /** The cohort whose policy topic this agent follows. */
  cohort: string;
  username?: string | undefined;
  password?: string | undefined;
  backoff: BackoffOptions;
  /** The current status body (versions change while running: model, policy). */
  status: () => Omit<StatusBody, 'state' | 'reason'>;
  store: AgentStore;
  router: Router;
  log: Logger;
  counters: Counters;
  now?: () => number;
}

/**
 * The agent's MQTT side: retained status with a Last Will, and the store-and-forward drain.
 *
 * Rows leave the sqlite outbox only on the broker's PUBACK. The drain runs only while the
 * coordinator's retained status says `online`: the coordinator announces itself after its
 * subscriptions exist, so a freshly restarted broker (which forgot every session) never receives
 * an event that nobody is subscribed to yet. A row sent twice (crash after send, before ack) is
 * deduplicated by its message id at the coordinator.
 */
export class Link {
  private readonly conn: MqttConnection;
  private coordinatorOnline = false;
  private draining = false;
  private again = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly o: LinkOptions) {
    this.now = o.now ?? Date.now;
    o.counters.define('homeostat_outbox_sent_total', 'Outbox rows acknowledged by the broker, by kind');
    o.counters.define('homeostat_outbox_send_failures_total', 'Outbox publishes that failed (row kept for retry), by kind');
    o.router.on('coordinatorStatus', (msg) => {
      const was = this.coordinatorOnline;
      this.coordinatorOnline = msg.body.state === 'online';
      if (this.coordinatorOnline !== was) o.log.info({ coordinator: msg.body.state }, 'coordinator status changed');
      if (this.coordinatorOnline) this.kick();
    });
    this.conn = new MqttConnection({
      url: o.url,
      clientId: `homeostat-agent-${o.agentId}`,
      clean: true,
      username: o.username,
      password: o.password,
      backoff: o.backoff,
      role: 'agent',
      log: o.log,
      counters: o.counters,
      subscriptions: [filterFor('cmd', o.agentId), filterFor('coordinatorStatus'), filterFor('fleetControl'), filterFor('policy', o.cohort), filterFor('rounds'), filterFor('model')],
      will: () => this.statusMessage('offline', 'lwt'),
      onConnect: async () => {
        await this.conn.publish(this.statusMessage('online', 'start'));
      },
      onDisconnect: () => {
        // The retained coordinator status will be delivered again on resubscribe.
        this.coordinatorOnline = false;
      },
      onMessage: async (topic, payload, retained) => {
        await o.router.dispatch(topic, payload, retained);
      },
    });
  }

  get connected(): boolean {
    return this.conn.connected;
  }

  get coordinatorIsOnline(): boolean {
    return this.coordinatorOnline;
  }

  async start(): Promise<void> {
    this.retry = setInterval(() => this.kick(), DRAIN_RETRY_MS);
    this.retry.unref();
    await this.conn.start(false);
  }

  /** Publishes a retained offline status (a clean disconnect suppresses the Last Will), then disconnects. */
  async stop(): Promise<void> {
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
    if (this.conn.connected) await this.conn.publish(this.statusMessage('offline', 'stop')).catch(() => undefined);
    await this.conn.stop();
  }

  /** Publishes outside the outbox (replies, status, federated updates): for messages whose loss the sender handles. */
  publishDirect(out: { topic: string; payload: string | Buffer; qos: 0 | 1; retain: boolean }): Promise<void> {
    return this.conn.publish(out);
  }

  republishStatus(): Promise<void> {
    return this.conn.publish(this.statusMessage('online', 'reconnect'));
  }

  /** Wakes the drain; cheap to call after every enqueue. */
  kick(): void {
    if (this.draining) {
      this.again = true;
      return;
    }
    void this.drain();
  }

  private statusMessage(state: 'online' | 'offline', reason: StatusBody['reason']) {
    return encode('status', { from: this.o.agentId, agentId: this.o.agentId, body: { ...this.o.status(), state, reason } });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      do {
        this.again = false;
        while (this.conn.connected && this.coordinatorOnline) {
          // One batch in flight at a time: the next batch starts when every PUBACK (or failure) is in.
          const rows = this.o.store.nextOutbox(0, MAX_INFLIGHT);
          if (rows.length === 0) break;
          const results = await Promise.all(rows.map((r) => this.send(r)));
          if (results.includes(false)) break;
        }
      } while (this.again && this.conn.connected && this.coordinatorOnline);
    } finally {
      this.draining = false;
    }
  }

  private async send(row: OutboxRow): Promise<boolean> {
    try {
      await this.conn.publish(row);
      this.o.store.ack(row, this.now());
      this.o.counters.inc('homeostat_outbox_sent_total', { kind: row.kind });
      return true;
    } catch (e) {
      this.o.counters.inc('homeostat_outbox_send_failures_total', { kind: row.kind });
      this.o.log.debug({ seq: row.seq, err: (e as Error).message }, 'outbox publish failed; kept for retry');
      try {
        this.o.store.attemptFailed(row);
      } catch {
        // the store may be closing during shutdown; the row stays queued either way
      }
      return false;
    }
  }
}
