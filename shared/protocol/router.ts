import type { KeyObject } from 'node:crypto';
import type { Logger } from '../observe/log.ts';
import type { Counters } from '../observe/counters.ts';
import type { Update } from '../federation/update-codec.ts';
import { decode, decodeBinary, type RejectReason } from './codec.ts';
import { verifyMessage } from './sign.ts';
import { mustBeSigned, type BinaryTopicKey, type MessageOf, type TopicKey } from './topics.ts';

export type Handler<K extends TopicKey> = (msg: MessageOf<K>, ctx: { topic: string; id: string | undefined; retained: boolean }) => void | Promise<void>;
export type BinaryHandler = (update: Update, ctx: { topic: string; id: string | undefined; payload: Uint8Array }) => void | Promise<void>;

export const REJECTED_METRIC = 'homeostat_messages_rejected_total';
export const ACCEPTED_METRIC = 'homeostat_messages_accepted_total';
export const HANDLER_ERRORS_METRIC = 'homeostat_handler_errors_total';

/**
 * Validate at the boundary, route by schema: handlers are registered per catalogue key and never
 * see raw JSON. Anything invalid is logged with topic and reason, counted, and dropped; a handler
 * that throws is logged and counted, never allowed to take the process down.
 */
export class Router {
  private readonly handlers = new Map<TopicKey, Handler<TopicKey>>();
  private readonly binaryHandlers = new Map<BinaryTopicKey, BinaryHandler>();
  /** Keys that may sign the catalogue's `signed` topics (the agent's fleet.publicKey); empty refuses them all. */
  signers: readonly KeyObject[] = [];
  /** Appended to the refusal when `signers` is empty: what to configure. */
  noSignersHint = 'no signing key configured';
  /** Extra acceptance check after schema validation (the coordinator uses it for enrolment). */
  admit: (key: TopicKey | BinaryTopicKey, id: string | undefined) => { ok: true } | { ok: false; reason: RejectReason; detail: string } = () => ({ ok: true });

  constructor(
    private readonly log: Logger,
    private readonly counters: Counters,
  ) {
    counters.define(REJECTED_METRIC, 'Incoming MQTT messages rejected, by topic key and reason');
    counters.define(ACCEPTED_METRIC, 'Incoming MQTT messages accepted, by topic key');
    counters.define(HANDLER_ERRORS_METRIC, 'Handlers that threw while processing a valid message, by topic key');
  }

  on<K extends TopicKey>(key: K, handler: Handler<K>): this {
    this.handlers.set(key, handler as unknown as Handler<TopicKey>);
    return this;
  }

  /** A handler for a binary topic: it gets the update decoded and checked, and the bytes as received (to store). */
  onBinary(key: BinaryTopicKey, handler: BinaryHandler): this {
    this.binaryHandlers.set(key, handler);
    return this;
  }

  /** After the schema, before `admit`: a signed topic's message must verify under one of `signers`. */
  private checkSignature(key: TopicKey, msg: object, topic: string): { ok: true } | { ok: false; reason: RejectReason; detail: string } {
    if (!mustBeSigned(key)) return { ok: true };
    const v = verifyMessage(msg, this.signers, topic);
    if (v.ok || this.signers.length) return v;
    return { ...v, detail: `${v.detail}; ${this.noSignersHint}` };
  }

  /** Returns once the handler has finished, so callers can ack only after the work is done. */
  async dispatch(topic: string, payload: Buffer, retained = false): Promise<boolean> {
    const b = decodeBinary(topic, payload);
    if (b) return this.dispatchBinary(topic, payload, b);
    const d = decode(topic, payload);
    let reason: RejectReason | null = null;
    let detail = '';
    if (!d.ok) {
      reason = d.reason;
      detail = d.detail;
    } else if (!this.handlers.has(d.key)) {
      reason = 'unknown_topic';
      detail = `no handler for "${d.key}" on this side`;
    } else {
      const s = this.checkSignature(d.key, d.msg, topic);
      const a = s.ok ? this.admit(d.key, d.id) : s;
      if (!a.ok) ({ reason, detail } = a);
    }
    if (reason !== null || !d.ok) {
      const key = d.key ?? 'unknown';
      this.counters.inc(REJECTED_METRIC, { topic: key, reason: reason ?? 'schema' });
      this.log.warn({ topic, reason, detail, bytes: payload.byteLength }, 'rejected message');
      return false;
    }
    this.counters.inc(ACCEPTED_METRIC, { topic: d.key });
    try {
      await this.handlers.get(d.key)!(d.msg, { topic, id: d.id, retained });
      return true;
    } catch (e) {
      this.counters.inc(HANDLER_ERRORS_METRIC, { topic: d.key });
      this.log.error({ topic, err: e }, 'handler failed');
      return false;
    }
  }

  private async dispatchBinary(topic: string, payload: Buffer, b: NonNullable<ReturnType<typeof decodeBinary>>): Promise<boolean> {
    let reason: RejectReason | null = null;
    let detail = '';
    if (!b.ok) ({ reason, detail } = b);
    else if (!this.binaryHandlers.has(b.key)) {
      reason = 'unknown_topic';
      detail = `no handler for "${b.key}" on this side`;
    } else {
      const a = this.admit(b.key, b.id);
      if (!a.ok) ({ reason, detail } = a);
    }
    if (reason !== null || !b.ok) {
      this.counters.inc(REJECTED_METRIC, { topic: b.key, reason: reason ?? 'malformed' });
      this.log.warn({ topic, reason, detail, bytes: payload.byteLength }, 'rejected message');
      return false;
    }
    this.counters.inc(ACCEPTED_METRIC, { topic: b.key });
    try {
      await this.binaryHandlers.get(b.key)!(b.update, { topic, id: b.id, payload });
      return true;
    } catch (e) {
      this.counters.inc(HANDLER_ERRORS_METRIC, { topic: b.key });
      this.log.error({ topic, err: e }, 'handler failed');
      return false;
    }
  }
}
