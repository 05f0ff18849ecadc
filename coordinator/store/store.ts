import type { EventBody, StatusBody, TelemetryBody } from '../../shared/protocol/messages.ts';
import { openDatabase, type Db } from '../../shared/store/sqlite.ts';
import { COORDINATOR_MIGRATIONS } from './migrations.ts';

export interface AgentRecord {
  id: string;
  state: 'online' | 'offline' | 'unknown';
  stateReason: string | null;
  cohort: string | null;
  firstSeen: number;
  lastSeen: number;
  versions: { agent: string | null; feature: number | null; model: string | null; policy: number | null };
  host: StatusBody['host'] | null;
  startedAt: number | null;
  latestTelemetry: (TelemetryBody & { ts: number }) | null;
}

export interface EventRecord {
  id: string;
  agent: string;
  corr: string;
  ts: number;
  type: string;
  severity: string;
  summary: string;
  data: unknown;
  receivedAt: number;
}

type AgentRow = {
  id: string;
  state: AgentRecord['state'];
  state_reason: string | null;
  cohort: string | null;
  first_seen: number;
  last_seen: number;
  agent_version: string | null;
  feature_version: number | null;
  model_version: string | null;
  policy_version: number | null;
  host: string | null;
  started_at: number | null;
  telemetry_ts: number | null;
  telemetry: string | null;
};

function toAgent(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    state: r.state,
    stateReason: r.state_reason,
    cohort: r.cohort,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    versions: { agent: r.agent_version, feature: r.feature_version, model: r.model_version, policy: r.policy_version },
    host: r.host ? JSON.parse(r.host) : null,
    startedAt: r.started_at,
    latestTelemetry: r.telemetry ? { ...JSON.parse(r.telemetry), ts: r.telemetry_ts } : null,
  };
}

/** Retention runs every this many inserts, so the hot path stays one INSERT. */
const PRUNE_EVERY = 500;

/** The coordinator's sqlite file: registry, telemetry history, events (deduplicated by message id). */
export class CoordinatorStore {
  readonly db: Db;
  private inserts = 0;
  private readonly s;

  constructor(
    path: string,
    private readonly retention: { telemetryRows: number; eventRows: number },
  ) {
    this.db = openDatabase(path, 'coordinator', COORDINATOR_MIGRATIONS);
    const db = this.db;
    this.s = {
      touch: db.prepare(
        `INSERT INTO agents (id, state, first_seen, last_seen) VALUES (?, 'unknown', ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
      ),
      status: db.prepare(
        `UPDATE agents SET state = ?, state_reason = ?, status_ts = ?, cohort = ?, agent_version = ?, feature_version = ?,
           model_version = ?, policy_version = ?, host = ?, started_at = ?
         WHERE id = ?`,
      ),
      telemetry: db.prepare('INSERT OR IGNORE INTO telemetry (msg_id, agent_id, ts, body) VALUES (?, ?, ?, ?)'),
      latest: db.prepare('UPDATE agents SET telemetry_ts = ?, telemetry = ? WHERE id = ? AND (telemetry_ts IS NULL OR telemetry_ts <= ?)'),
      event: db.prepare('INSERT OR IGNORE INTO events (msg_id, agent_id, corr, ts, type, severity, summary, data, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      agent: db.prepare('SELECT * FROM agents WHERE id = ?'),
      agents: db.prepare('SELECT * FROM agents ORDER BY id'),
      pruneTelemetry: db.prepare('DELETE FROM telemetry WHERE rowid <= (SELECT rowid FROM telemetry ORDER BY rowid DESC LIMIT 1 OFFSET ?)'),
      pruneEvents: db.prepare('DELETE FROM events WHERE rowid <= (SELECT rowid FROM events ORDER BY rowid DESC LIMIT 1 OFFSET ?)'),
    };
  }

  /** Small durable settings (the fleet pause switch): the meta table every Homeostat file has. */
  setting(key: string): string | null {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(`setting:${key}`) as { value: string } | undefined)?.value ?? null;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(`setting:${key}`, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  hasAgent(id: string): boolean {
    return this.s.agent.get(id) !== undefined;
  }

  /**
   * Applies a status message in arrival order. Not by envelope time: a Last Will is built when the
   * agent connects, so it is older than the `online` it follows, yet it is the newer fact. The
   * broker keeps one retained status per agent, the latest, so arrival order is the truth.
   */
  applyStatus(id: string, ts: number, b: StatusBody): void {
    this.db.transaction(() => {
      this.s.touch.run(id, ts, ts);
      this.s.status.run(b.state, b.reason, ts, b.cohort, b.agentVersion, b.featureVersion, b.modelVersion, b.policyVersion, JSON.stringify(b.host), b.startedAt, id);
    })();
  }

  /** Returns false when this message id was already stored (a redelivery). */
  addTelemetry(msgId: string, id: string, ts: number, body: TelemetryBody): boolean {
    const fresh = this.db.transaction(() => {
      this.s.touch.run(id, ts, ts);
      const json = JSON.stringify(body);
      const n = this.s.telemetry.run(msgId, id, ts, json).changes;
      if (n) this.s.latest.run(ts, json, id, ts);
      return n === 1;
    })();
    this.maybePrune();
    return fresh;
  }

  /** Returns false when this message id was already stored (a redelivery). */
  addEvent(msgId: string, id: string, corr: string, ts: number, body: EventBody, receivedAt: number): boolean {
    const fresh = this.db.transaction(() => {
      this.s.touch.run(id, ts, ts);
      return this.s.event.run(msgId, id, corr, ts, body.type, body.severity, body.summary, JSON.stringify(body.data), receivedAt).changes === 1;
    })();
    this.maybePrune();
    return fresh;
  }

  touch(id: string, ts: number): void {
    this.s.touch.run(id, ts, ts);
  }

  agent(id: string): AgentRecord | null {
    const r = this.s.agent.get(id) as AgentRow | undefined;
    return r ? toAgent(r) : null;
  }

  agents(): AgentRecord[] {
    return (this.s.agents.all() as AgentRow[]).map(toAgent);
  }

  events(q: { agent?: string | undefined; since?: number | undefined; limit: number }): EventRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.agent) {
      where.push('agent_id = ?');
      args.push(q.agent);
    }
    if (q.since !== undefined) {
      where.push('ts >= ?');
      args.push(q.since);
    }
    const rows = this.db
      .prepare(`SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts, msg_id LIMIT ?`)
      .all(...args, q.limit) as Array<{ msg_id: string; agent_id: string; corr: string; ts: number; type: string; severity: string; summary: string; data: string; received_at: number }>;
    return rows.map((r) => ({ id: r.msg_id, agent: r.agent_id, corr: r.corr, ts: r.ts, type: r.type, severity: r.severity, summary: r.summary, data: JSON.parse(r.data), receivedAt: r.received_at }));
  }

  eventCount(agent?: string): number {
    const r = agent ? this.db.prepare('SELECT count(*) AS n FROM events WHERE agent_id = ?').get(agent) : this.db.prepare('SELECT count(*) AS n FROM events').get();
    return (r as { n: number }).n;
  }

  private maybePrune(): void {
    if (++this.inserts < PRUNE_EVERY) return;
    this.inserts = 0;
    this.s.pruneTelemetry.run(this.retention.telemetryRows);
    this.s.pruneEvents.run(this.retention.eventRows);
  }
}
