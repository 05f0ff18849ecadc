import type { Counters } from '../../shared/observe/counters.ts';
import type { Outgoing } from '../../shared/protocol/codec.ts';
import type { EventBody } from '../../shared/protocol/messages.ts';
import { openDatabase, type Db } from '../../shared/store/sqlite.ts';
import { AGENT_MIGRATIONS } from './migrations.ts';

export interface AuditRecord {
  ts: number;
  kind: string;
  corr: string | null;
  record: unknown;
}

/**
 * Audit records from `since` on, oldest first. Takes any handle on an agent database: the store's
 * own, or a read-only one the CLI opens beside a running agent.
 */
export function readAuditSince(db: Pick<Db, 'prepare'>, since: number): AuditRecord[] {
  const rows = db.prepare('SELECT ts, kind, corr, record FROM audit WHERE ts >= ? ORDER BY seq').all(since) as Array<{ ts: number; kind: string; corr: string | null; record: string }>;
  return rows.map((r) => ({ ts: r.ts, kind: r.kind, corr: r.corr, record: JSON.parse(r.record) as unknown }));
}

export interface StoreLimits {
  samples: { maxAgeHours: number; maxRows: number };
  events: { maxRows: number };
  outbox: { maxEvents: number; maxTelemetry: number };
}

export interface OutboxRow {
  seq: number;
  msgId: string;
  kind: 'event' | 'telemetry';
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

/** The outbox holds `maxEvents` unsent events; one more is refused, loudly, never dropped silently. */
export class OutboxFullError extends Error {}

/** Pruning runs every this many sample inserts: one DELETE per minute at 1 Hz, not per tick. */
const PRUNE_EVERY = 60;

export const OUTBOX_METRICS = {
  dropped: 'homeostat_outbox_dropped_total',
  refused: 'homeostat_outbox_refused_total',
  pending: 'homeostat_outbox_pending',
} as const;

/**
 * The agent's sqlite file: samples (bounded by age and rows), events (local history), the
 * outbox (store-and-forward) and the audit log. Synchronous by design: better-sqlite3 calls take
 * microseconds in WAL mode, far less than an async hop, and keep each write atomic.
 */
export class AgentStore {
  readonly db: Db;
  private sinceprune = 0;
  private readonly stmt;
  /** Unsent rows per kind, kept in memory so the hot path never runs count(*) over the outbox. */
  private readonly pending = { event: 0, telemetry: 0 };

  constructor(
    path: string,
    private readonly limits: StoreLimits,
    private readonly counters: Counters,
  ) {
    this.db = openDatabase(path, 'agent', AGENT_MIGRATIONS);
    counters.define(OUTBOX_METRICS.dropped, 'Outbox rows dropped at the limit, by kind (only telemetry is ever dropped)');
    counters.define(OUTBOX_METRICS.refused, 'Messages refused because the outbox was full, by kind');
    counters.define(OUTBOX_METRICS.pending, 'Rows waiting in the outbox, by kind', 'gauge');
    const db = this.db;
    this.stmt = {
      insertSample: db.prepare('INSERT INTO samples (ts, feature_version, v) VALUES (?, ?, ?)'),
      pruneSamplesAge: db.prepare('DELETE FROM samples WHERE ts < ?'),
      pruneSamplesRows: db.prepare('DELETE FROM samples WHERE rowid <= (SELECT rowid FROM samples ORDER BY rowid DESC LIMIT 1 OFFSET ?)'),
      insertEvent: db.prepare('INSERT INTO events (id, ts, corr, type, severity, summary, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      pruneEvents: db.prepare(
        'DELETE FROM events WHERE forwarded_at IS NOT NULL AND id IN (SELECT id FROM events WHERE forwarded_at IS NOT NULL ORDER BY ts DESC LIMIT -1 OFFSET ?)',
      ),
      markForwarded: db.prepare('UPDATE events SET forwarded_at = ? WHERE id = ?'),
      countOutbox: db.prepare('SELECT count(*) AS n FROM outbox WHERE kind = ?'),
      insertOutbox: db.prepare('INSERT INTO outbox (msg_id, kind, topic, payload, qos, retain, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      dropOldestTelemetry: db.prepare(`DELETE FROM outbox WHERE seq = (SELECT seq FROM outbox WHERE kind = 'telemetry' ORDER BY seq LIMIT 1)`),
      nextOutbox: db.prepare('SELECT seq, msg_id, kind, topic, payload, qos, retain FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      deleteOutbox: db.prepare('DELETE FROM outbox WHERE seq = ?'),
      bumpAttempts: db.prepare('UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?'),
      insertAudit: db.prepare('INSERT INTO audit (ts, kind, corr, record) VALUES (?, ?, ?, ?)'),
    };
    this.pending.event = (this.stmt.countOutbox.get('event') as { n: number }).n;
    this.pending.telemetry = (this.stmt.countOutbox.get('telemetry') as { n: number }).n;
    this.refreshPendingGauge();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // -- samples ----------------------------------------------------------------------------------

  insertSample(ts: number, featureVersion: number, v: readonly number[] | Float32Array): void {
    const f = v instanceof Float32Array ? v : Float32Array.from(v);
    this.stmt.insertSample.run(ts, featureVersion, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    if (++this.sinceprune >= PRUNE_EVERY) {
      this.sinceprune = 0;
      this.pruneSamples(ts);
    }
  }

  pruneSamples(now: number): void {
    this.stmt.pruneSamplesAge.run(now - this.limits.samples.maxAgeHours * 3_600_000);
    this.stmt.pruneSamplesRows.run(this.limits.samples.maxRows);
  }

  /** Samples with ts in [from, to), oldest first. */
  samples(from: number, to: number, opts: { excludeAnomalous?: boolean; limit?: number } = {}): Array<{ ts: number; v: Float32Array; anomalous: boolean }> {
    const rows = this.db
      .prepare(
        `SELECT ts, v, anomalous FROM samples WHERE ts >= ? AND ts < ? ${opts.excludeAnomalous ? 'AND anomalous = 0' : ''} ORDER BY ts LIMIT ?`,
      )
      .all(from, to, opts.limit ?? -1) as Array<{ ts: number; v: Buffer; anomalous: number }>;
    return rows.map((r) => ({ ts: r.ts, v: new Float32Array(r.v.buffer.slice(r.v.byteOffset, r.v.byteOffset + r.v.byteLength)), anomalous: r.anomalous === 1 }));
  }

  /**
   * The newest `limit` samples of one feature version as row-major rows [n][features], oldest
   * first (what training and the acceptance test take), copied straight from the stored blobs.
   */
  recentRows(limit: number, opts: { excludeAnomalous?: boolean; featureVersion: number; features: number }): Float32Array {
    const rows = this.db
      .prepare(`SELECT v FROM samples WHERE feature_version = ? ${opts.excludeAnomalous ? 'AND anomalous = 0' : ''} ORDER BY ts DESC LIMIT ?`)
      .all(opts.featureVersion, limit) as Array<{ v: Buffer }>;
    const f = opts.features;
    const out = new Float32Array(rows.length * f);
    // Byte copies: a blob's Buffer need not sit at a 4-byte-aligned offset for a Float32Array view.
    const bytes = new Uint8Array(out.buffer);
    // Newest first from the bounded query; written back in time order.
    rows.forEach((r, k) => bytes.set(r.v.subarray(0, f * 4), (rows.length - 1 - k) * f * 4));
    return out;
  }

  markAnomalous(from: number, to: number): void {
    this.db.prepare('UPDATE samples SET anomalous = 1 WHERE ts >= ? AND ts <= ?').run(from, to);
  }

  sampleCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n;
  }

  // -- events and the outbox ---------------------------------------------------------------------

  /**
   * Records an event locally and queues its envelope in one transaction, so an event is either
   * both stored and queued or neither. Refuses with OutboxFullError at `maxEvents` unsent events:
   * old events are the story of an incident and are never dropped to make room.
   */
  enqueueEvent(out: Outgoing, ts: number, corr: string, body: EventBody): void {
    this.db.transaction(() => {
      if (this.count('event') >= this.limits.outbox.maxEvents) {
        this.counters.inc(OUTBOX_METRICS.refused, { kind: 'event' });
        throw new OutboxFullError(
          `outbox holds ${this.limits.outbox.maxEvents} unsent events (store.outbox.maxEvents): event "${body.summary}" refused; the coordinator has been unreachable for long — check the broker link`,
        );
      }
      this.stmt.insertEvent.run(out.id, ts, corr, body.type, body.severity, body.summary, JSON.stringify(body.data));
      this.stmt.insertOutbox.run(out.id, 'event', out.topic, out.payload, out.qos, out.retain ? 1 : 0, ts);
      this.stmt.pruneEvents.run(this.limits.events.maxRows);
    })();
    this.pending.event++;
    this.refreshPendingGauge();
  }

  /**
   * Queues a telemetry summary. At `maxTelemetry` unsent summaries the oldest is dropped
   * (counted): a fresh summary is worth more than a stale one, and events are untouched.
   */
  enqueueTelemetry(out: Outgoing, ts: number): void {
    this.db.transaction(() => {
      if (this.count('telemetry') >= this.limits.outbox.maxTelemetry) {
        this.stmt.dropOldestTelemetry.run();
        this.pending.telemetry--;
        this.counters.inc(OUTBOX_METRICS.dropped, { kind: 'telemetry' });
      }
      this.stmt.insertOutbox.run(out.id, 'telemetry', out.topic, out.payload, out.qos, out.retain ? 1 : 0, ts);
    })();
    this.pending.telemetry++;
    this.refreshPendingGauge();
  }

  /** Up to `limit` rows after `afterSeq`, oldest first. */
  nextOutbox(afterSeq: number, limit: number): OutboxRow[] {
    const rows = this.stmt.nextOutbox.all(afterSeq, limit) as Array<{
      seq: number;
      msg_id: string;
      kind: 'event' | 'telemetry';
      topic: string;
      payload: string;
      qos: number;
      retain: number;
    }>;
    return rows.map((r) => ({ seq: r.seq, msgId: r.msg_id, kind: r.kind, topic: r.topic, payload: r.payload, qos: r.qos as 0 | 1, retain: r.retain === 1 }));
  }

  /** The broker acknowledged the row: it leaves the outbox, and an event is marked forwarded. */
  ack(row: OutboxRow, now: number): void {
    const removed = this.db.transaction(() => {
      const r = this.stmt.deleteOutbox.run(row.seq).changes;
      if (row.kind === 'event') this.stmt.markForwarded.run(now, row.msgId);
      return r;
    })();
    this.pending[row.kind] -= removed;
    this.refreshPendingGauge();
  }

  attemptFailed(row: OutboxRow): void {
    this.stmt.bumpAttempts.run(row.seq);
  }

  count(kind: 'event' | 'telemetry'): number {
    return this.pending[kind];
  }

  events(opts: { since?: number; limit?: number } = {}): Array<{ id: string; ts: number; corr: string; type: string; severity: string; summary: string; data: unknown; forwardedAt: number | null }> {
    const rows = this.db
      .prepare('SELECT id, ts, corr, type, severity, summary, data, forwarded_at FROM events WHERE ts >= ? ORDER BY ts, id LIMIT ?')
      .all(opts.since ?? 0, opts.limit ?? -1) as Array<{ id: string; ts: number; corr: string; type: string; severity: string; summary: string; data: string; forwarded_at: number | null }>;
    return rows.map((r) => ({ id: r.id, ts: r.ts, corr: r.corr, type: r.type, severity: r.severity, summary: r.summary, data: JSON.parse(r.data), forwardedAt: r.forwarded_at }));
  }

  // -- audit ---------------------------------------------------------------------------------------

  audit(ts: number, kind: string, corr: string | null, record: unknown): void {
    this.stmt.insertAudit.run(ts, kind, corr, JSON.stringify(record));
  }

  auditSince(since: number): AuditRecord[] {
    return readAuditSince(this.db, since);
  }

  /** One episode's records, oldest first: an escalation's story. */
  auditOf(corr: string): Array<{ ts: number; kind: string; record: unknown }> {
    const rows = this.db.prepare('SELECT ts, kind, record FROM audit WHERE corr = ? ORDER BY seq').all(corr) as Array<{ ts: number; kind: string; record: string }>;
    return rows.map((r) => ({ ts: r.ts, kind: r.kind, record: JSON.parse(r.record) }));
  }

  private refreshPendingGauge(): void {
    this.counters.set(OUTBOX_METRICS.pending, this.pending.event, { kind: 'event' });
    this.counters.set(OUTBOX_METRICS.pending, this.pending.telemetry, { kind: 'telemetry' });
  }
}
