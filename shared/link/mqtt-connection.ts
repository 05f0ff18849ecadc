import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Counters } from '../observe/counters.ts';
import type { Logger } from '../observe/log.ts';
import type { Outgoing } from '../protocol/codec.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';

export const CONNECT_TIMEOUT_MS = 10_000;
export const PUBLISH_TIMEOUT_MS = 15_000;
export const KEEPALIVE_S = 30;

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  /** false keeps the broker session (subscriptions, queued QoS 1) across reconnects. */
  clean: boolean;
  username?: string | undefined;
  password?: string | undefined;
  /** Built afresh for every connection attempt (each Last Will gets its own message id). */
  will?: () => Outgoing;
  subscriptions: string[];
  backoff?: BackoffOptions;
  /** Runs after every successful connect and subscribe, before `connected` callers are released. */
  onConnect?: () => Promise<void>;
  onDisconnect?: () => void;
  /** The PUBACK for a QoS 1 message is sent only after this resolves, so ack means "handled". */
  onMessage: (topic: string, payload: Buffer, retained: boolean) => Promise<void>;
  log: Logger;
  counters: Counters;
  /** Metric label telling which process owns the connection (agent, coordinator). */
  role: string;
}

export class BrokerUnreachableError extends Error {}

/**
 * One MQTT connection that owns its reconnect. Every attempt uses a fresh mqtt.js client with
 * mqtt.js's own reconnect disabled; that way no publish can sit forever in mqtt.js's in-memory
 * store: a publish either gets its PUBACK or fails when the connection closes, and the caller's
 * durable outbox (sqlite) decides what to resend.
 */
export class MqttConnection {
  private client: MqttClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = true;
  private up = false;
  private readonly pending = new Set<(err: Error) => void>();
  private firstConnect: { resolve: () => void; reject: (e: Error) => void; failFast: boolean } | null = null;

  constructor(private readonly opts: MqttConnectionOptions) {}

  get connected(): boolean {
    return this.up;
  }

  /**
   * Resolves on the first successful connect. With `failFast`, rejects with a one-line
   * BrokerUnreachableError if that first attempt fails; otherwise resolves at once and keeps
   * retrying in the background.
   */
  start(failFast = false): Promise<void> {
    const { counters } = this.opts;
    counters.define('homeostat_mqtt_connects_total', 'Successful MQTT connections, by role');
    counters.define('homeostat_mqtt_disconnects_total', 'MQTT connections lost, by role');
    counters.define('homeostat_mqtt_connect_failures_total', 'Failed MQTT connection attempts, by role');
    counters.define('homeostat_mqtt_connected', 'Whether the MQTT connection is up (1) or not (0)', 'gauge');
    this.stopped = false;
    const p = new Promise<void>((resolve, reject) => {
      this.firstConnect = { resolve, reject, failFast };
    });
    if (!failFast) this.firstConnect?.resolve();
    this.connect();
    return p;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    this.setDown();
    if (c) {
      // A clean DISCONNECT means the broker discards the Last Will [MQTT-3.14.4-3]; callers that
      // want "offline" retained publish it before stop().
      await Promise.race([c.endAsync(false).catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
      c.end(true);
    }
  }

  async subscribe(filters: string[], qos: 0 | 1 = 1): Promise<void> {
    const c = this.client;
    if (!c || !this.up) throw new Error('not connected');
    await c.subscribeAsync(Object.fromEntries(filters.map((topic) => [topic, { qos }])));
  }

  /** Resolves when the broker acknowledged (QoS 1) or the packet was written (QoS 0). A Buffer payload is sent as is (binary topics). */
  publish(out: Pick<Outgoing, 'topic' | 'qos' | 'retain'> & { payload: string | Buffer }): Promise<void> {
    const c = this.client;
    if (!c || !this.up) return Promise.reject(new Error('not connected'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        this.pending.delete(fail);
        reject(err);
      };
      const t = setTimeout(() => fail(new Error(`publish to ${out.topic} not acknowledged within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
      t.unref();
      this.pending.add(fail);
      c.publish(out.topic, out.payload, { qos: out.qos, retain: out.retain }, (err) => {
        if (err) return fail(err);
        if (settled) return;
        settled = true;
        clearTimeout(t);
        this.pending.delete(fail);
        resolve();
      });
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const o = this.opts;
    const will = o.will?.();
    const options: IClientOptions = {
      clientId: o.clientId,
      clean: o.clean,
      username: o.username,
      password: o.password,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: KEEPALIVE_S,
      resubscribe: false,
      queueQoSZero: false,
      protocolVersion: 4,
      ...(will ? { will: { topic: will.topic, payload: Buffer.from(will.payload), qos: will.qos, retain: will.retain } } : {}),
    };
    const c = mqtt.connect(o.url, options);
    this.client = c;
    c.handleMessage = (packet, done) => {
      o.onMessage(packet.topic, packet.payload as Buffer, packet.retain).then(
        () => done(),
        (err) => {
          o.log.error({ err, topic: packet.topic }, 'message handler failed');
          done();
        },
      );
    };
    let failed = false;
    const onFail = (err: Error | undefined) => {
      if (failed || this.client !== c) return;
      failed = true;
      const wasUp = this.up;
      this.setDown();
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.end(true);
      if (wasUp) {
        o.counters.inc('homeostat_mqtt_disconnects_total', { role: o.role });
        o.log.warn({ url: o.url, err: err?.message }, 'broker connection lost');
        o.onDisconnect?.();
      } else {
        o.counters.inc('homeostat_mqtt_connect_failures_total', { role: o.role });
        if (this.firstConnect?.failFast) {
          const fc = this.firstConnect;
          this.firstConnect = null;
          this.stopped = true;
          fc.reject(new BrokerUnreachableError(`cannot reach the MQTT broker at ${o.url} (${err?.message ?? 'connection closed'}): start it, or fix broker.url in the config`));
          return;
        }
      }
      this.scheduleReconnect(err);
    };
    c.on('connect', () => {
      this.attempt = 0;
      void this.onConnected(c).catch((err: Error) => {
        o.log.error({ err: err.message }, 'setting up the connection failed; reconnecting');
        onFail(err);
      });
    });
    c.on('error', (err) => onFail(err));
    c.on('close', () => onFail(undefined));
  }

  private async onConnected(c: MqttClient): Promise<void> {
    const o = this.opts;
    this.up = true;
    if (o.subscriptions.length) await this.subscribe(o.subscriptions);
    if (this.client !== c) return;
    o.counters.inc('homeostat_mqtt_connects_total', { role: o.role });
    o.counters.set('homeostat_mqtt_connected', 1, { role: o.role });
    o.log.info({ url: o.url, clientId: o.clientId }, 'connected to broker');
    await o.onConnect?.();
    const fc = this.firstConnect;
    this.firstConnect = null;
    fc?.resolve();
  }

  private setDown(): void {
    this.up = false;
    this.opts.counters.set('homeostat_mqtt_connected', 0, { role: this.opts.role });
    const err = new Error('connection closed before the broker acknowledged');
    for (const fail of [...this.pending]) fail(err);
  }

  private scheduleReconnect(err: Error | undefined): void {
    if (this.stopped || this.timer) return;
    const delay = backoffDelay(this.attempt++, this.opts.backoff ?? DEFAULT_BACKOFF);
    this.opts.log.debug({ delay, attempt: this.attempt, err: err?.message }, 'reconnecting after backoff');
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.timer.unref?.();
  }
}
