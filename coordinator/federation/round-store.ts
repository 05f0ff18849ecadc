import type { Db } from '../../shared/store/sqlite.ts';
import { RoundBodySchema, type RoundBody } from '../../shared/protocol/messages.ts';

export const ROUND_OUTCOMES = ['published', 'below_minimum', 'failed'] as const;
export type RoundOutcome = (typeof ROUND_OUTCOMES)[number];

/** What a closed round did, for the API and the round's record. */
export interface RoundSummary {
  strategy: string;
  used: string[];
  rejected: Array<{ agentId: string; reason: string }>;
  failures: Array<{ agentId: string; reason: string }>;
  /** Bytes of the accepted updates, per agent. */
  bytes: Record<string, number>;
  durationMs: number;
}

export interface RoundRecord {
  id: string;
  seq: number;
  state: 'open' | 'closed';
  announce: RoundBody;
  openedAt: number;
  deadline: number;
  closedAt: number | null;
  outcome: RoundOutcome | null;
  note: string | null;
  summary: RoundSummary | null;
  modelVersion: number | null;
}

export interface StoredUpdate {
  agentId: string;
  receivedAt: number;
  numSamples: number;
  bytes: number;
  payload: Uint8Array;
}

export interface StoredModel {
  version: number;
  roundId: string | null;
  sha256: string;
  createdAt: number;
  onnx: Uint8Array;
}

type RoundRow = {
  id: string;
  seq: number;
  state: 'open' | 'closed';
  announce: string;
  opened_at: number;
  deadline: number;
  closed_at: number | null;
  outcome: RoundOutcome | null;
  note: string | null;
  summary: string | null;
  model_version: number | null;
};

function toRound(r: RoundRow): RoundRecord {
  return {
    id: r.id,
    seq: r.seq,
    state: r.state,
    announce: RoundBodySchema.parse(JSON.parse(r.announce)),
    openedAt: r.opened_at,
    deadline: r.deadline,
    closedAt: r.closed_at,
    outcome: r.outcome,
    note: r.note,
    summary: r.summary ? (JSON.parse(r.summary) as RoundSummary) : null,
    modelVersion: r.model_version,
  };
}

/** Rejections kept per round in the table: a flood from one hostile client must not grow it without bound. */
export const MAX_REJECTIONS_PER_ROUND = 1000;

/** Rounds, their updates and the published models, in the coordinator's sqlite file (migration 2). */
export class RoundStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insertRound: db.prepare('INSERT INTO fed_rounds (id, seq, state, announce, opened_at, deadline) VALUES (?, ?, ?, ?, ?, ?)'),
      round: db.prepare('SELECT * FROM fed_rounds WHERE id = ?'),
      open: db.prepare(`SELECT * FROM fed_rounds WHERE state = 'open' ORDER BY seq`),
      latest: db.prepare('SELECT * FROM fed_rounds ORDER BY seq DESC LIMIT 1'),
      list: db.prepare('SELECT * FROM fed_rounds ORDER BY seq DESC LIMIT ?'),
      maxSeq: db.prepare('SELECT coalesce(max(seq), 0) AS n FROM fed_rounds'),
      close: db.prepare(`UPDATE fed_rounds SET state = 'closed', announce = ?, closed_at = ?, outcome = ?, note = ?, summary = ?, model_version = ? WHERE id = ? AND state = 'open'`),
      insertUpdate: db.prepare('INSERT OR IGNORE INTO fed_updates (round_id, agent_id, received_at, num_samples, bytes, payload) VALUES (?, ?, ?, ?, ?, ?)'),
      updates: db.prepare('SELECT agent_id, received_at, num_samples, bytes, payload FROM fed_updates WHERE round_id = ? ORDER BY received_at, agent_id'),
      updateInfo: db.prepare('SELECT agent_id, received_at, num_samples, bytes FROM fed_updates WHERE round_id = ? ORDER BY received_at, agent_id'),
      hasUpdate: db.prepare('SELECT 1 FROM fed_updates WHERE round_id = ? AND agent_id = ?'),
      rejectionCount: db.prepare('SELECT count(*) AS n FROM fed_rejections WHERE round_id = ?'),
      insertRejection: db.prepare('INSERT INTO fed_rejections (round_id, agent_id, reason, detail, at) VALUES (?, ?, ?, ?, ?)'),
      rejections: db.prepare('SELECT agent_id, reason, detail, at FROM fed_rejections WHERE round_id = ? ORDER BY seq'),
      insertModel: db.prepare('INSERT INTO fed_models (version, round_id, sha256, created_at, onnx) VALUES (?, ?, ?, ?, ?)'),
      latestModel: db.prepare('SELECT * FROM fed_models ORDER BY version DESC LIMIT 1'),
    };
  }

  nextSeq(): number {
    return (this.s.maxSeq.get() as { n: number }).n + 1;
  }

  openRound(announce: RoundBody, seq: number): void {
    this.s.insertRound.run(announce.roundId, seq, 'open', JSON.stringify(announce), announce.openedAt, announce.deadline);
  }

  round(id: string): RoundRecord | null {
    const r = this.s.round.get(id) as RoundRow | undefined;
    return r ? toRound(r) : null;
  }

  openRounds(): RoundRecord[] {
    return (this.s.open.all() as RoundRow[]).map(toRound);
  }

  latestRound(): RoundRecord | null {
    const r = this.s.latest.get() as RoundRow | undefined;
    return r ? toRound(r) : null;
  }

  rounds(limit: number): RoundRecord[] {
    return (this.s.list.all(limit) as RoundRow[]).map(toRound);
  }

  /**
   * Closes a round and stores its new model in one transaction. Throws RoundAlreadyClosed (and
   * stores nothing) when the round was closed already.
   */
  closeRound(c: { announce: RoundBody; closedAt: number; outcome: RoundOutcome; note: string; summary: RoundSummary; model: StoredModel | null }): void {
    this.db.transaction(() => {
      if (c.model) this.s.insertModel.run(c.model.version, c.model.roundId, c.model.sha256, c.model.createdAt, c.model.onnx);
      const n = this.s.close.run(JSON.stringify(c.announce), c.closedAt, c.outcome, c.note, JSON.stringify(c.summary), c.model?.version ?? null, c.announce.roundId).changes;
      if (n === 0) throw new RoundAlreadyClosed();
    })();
  }

  /** Returns false when this agent already has an update in this round. */
  addUpdate(roundId: string, u: StoredUpdate): boolean {
    return this.s.insertUpdate.run(roundId, u.agentId, u.receivedAt, u.numSamples, u.bytes, u.payload).changes === 1;
  }

  hasUpdate(roundId: string, agentId: string): boolean {
    return this.s.hasUpdate.get(roundId, agentId) !== undefined;
  }

  updates(roundId: string): StoredUpdate[] {
    return (this.s.updates.all(roundId) as Array<{ agent_id: string; received_at: number; num_samples: number; bytes: number; payload: Buffer }>).map((r) => ({
      agentId: r.agent_id,
      receivedAt: r.received_at,
      numSamples: r.num_samples,
      bytes: r.bytes,
      payload: new Uint8Array(r.payload),
    }));
  }

  /** The round's updates without their payloads: who sent what, for bookkeeping and the API. */
  updateInfo(roundId: string): Array<Omit<StoredUpdate, 'payload'>> {
    return (this.s.updateInfo.all(roundId) as Array<{ agent_id: string; received_at: number; num_samples: number; bytes: number }>).map((r) => ({
      agentId: r.agent_id,
      receivedAt: r.received_at,
      numSamples: r.num_samples,
      bytes: r.bytes,
    }));
  }

  /** Recorded up to MAX_REJECTIONS_PER_ROUND per round; the counter still counts every one. */
  addRejection(roundId: string, agentId: string, reason: string, detail: string, at: number): void {
    if ((this.s.rejectionCount.get(roundId) as { n: number }).n >= MAX_REJECTIONS_PER_ROUND) return;
    this.s.insertRejection.run(roundId, agentId, reason, detail, at);
  }

  rejections(roundId: string): Array<{ agentId: string; reason: string; detail: string; at: number }> {
    return (this.s.rejections.all(roundId) as Array<{ agent_id: string; reason: string; detail: string; at: number }>).map((r) => ({ agentId: r.agent_id, reason: r.reason, detail: r.detail, at: r.at }));
  }

  /** Stores the base model as version 0 when the table is empty. */
  addModel(m: StoredModel): void {
    this.s.insertModel.run(m.version, m.roundId, m.sha256, m.createdAt, m.onnx);
  }

  latestModel(): StoredModel | null {
    const r = this.s.latestModel.get() as { version: number; round_id: string | null; sha256: string; created_at: number; onnx: Buffer } | undefined;
    return r ? { version: r.version, roundId: r.round_id, sha256: r.sha256, createdAt: r.created_at, onnx: new Uint8Array(r.onnx) } : null;
  }
}

/** A second close of the same round (e.g. the deadline timer and the last update at once): the first one wins. */
export class RoundAlreadyClosed extends Error {
  constructor() {
    super('round already closed');
  }
}
