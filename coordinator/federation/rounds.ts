import type { Clock } from '../../agent/sense/sampler.ts';
import { flattenWeights } from '../../models/autoencoder/weights.ts';
import { shapeMismatch } from '../../shared/federation/tensor.ts';
import type { Update } from '../../shared/federation/update-codec.ts';
import { decodeUpdate } from '../../shared/federation/update-codec.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { RoundDeclineSchema, type EventBody, type ModelBody, type RoundBody } from '../../shared/protocol/messages.ts';
import { REJECTED_METRIC } from '../../shared/protocol/router.ts';
import { STRATEGY_NAMES, type FederationConfig, type StrategyName } from './config.ts';
import { GlobalModel, type CurrentModel } from './global-model.ts';
import { RoundAlreadyClosed, type RoundStore, type RoundOutcome, type RoundRecord, type RoundSummary } from './round-store.ts';
import { sampleAgents } from './sampling.ts';
import type { ClientFailure, ClientResult } from './strategies.ts';
import { strategyFor } from './strategy-for.ts';

/** Why an update that decoded fine was still refused (counted as homeostat_messages_rejected_total{topic="updates",reason}). */
export const UPDATE_REJECT_REASONS = ['wrong_round', 'not_sampled', 'duplicate', 'late', 'wrong_base', 'wrong_shape', 'strategy_rejected'] as const;
export type UpdateRejectReason = (typeof UPDATE_REJECT_REASONS)[number];

export const ROUND_METRICS = {
  rounds: 'homeostat_fed_rounds_total',
  updates: 'homeostat_fed_updates_accepted_total',
  updateBytes: 'homeostat_fed_update_bytes_total',
  declines: 'homeostat_fed_declines_total',
  modelVersion: 'homeostat_fed_model_version',
} as const;

/** Wait before closing a round again after closing it failed (a full disk, a locked database). */
export const CLOSE_RETRY_MS = 30_000;

/** How a sampled agent's decline is kept among the round's refusals (it is the agent's refusal to send). */
const DECLINED = 'declined';

/** Why a round could not be opened; the API answers 409 with the message. */
export class RoundRefused extends Error {
  readonly expected = true;
}

export interface RoundsDeps {
  config: FederationConfig;
  store: RoundStore;
  /** Ids of the agents that may be sampled (online now). */
  candidates: () => string[];
  isOnline: (agentId: string) => boolean;
  /** Encodes, signs and publishes (retained) a fleet message; rejects when it could not be sent. */
  publish: (msg: { key: 'rounds'; body: RoundBody } | { key: 'model'; body: ModelBody }) => Promise<void>;
  log: Logger;
  counters: Counters;
  clock: Clock;
  /** Uniform [0, 1) for sampling; Math.random by default. */
  rand?: () => number;
}

const toModelBody = (m: CurrentModel): ModelBody => ({ version: m.version, roundId: m.roundId, sha256: m.sha256, createdAt: m.createdAt, onnx: Buffer.from(m.onnx).toString('base64') });

/**
 * Federated rounds: announce → collect → aggregate → build the ONNX model → sign → publish
 * retained → close. Failures and stragglers are data for the strategy (Flower's
 * aggregate_fit(results, failures)); a round below its minimum at the deadline closes without a
 * new model and says why. All state is in sqlite: a restarted coordinator resumes an open round
 * whose deadline is ahead and closes one whose deadline passed.
 */
export class Rounds {
  readonly models: GlobalModel;
  private open: { record: RoundRecord; sampled: Set<string> } | null = null;
  private deadlineTimer: unknown = null;
  private scheduleTimer: unknown = null;
  private readonly closing = new Map<string, Promise<void>>();
  private running = false;

  constructor(private readonly d: RoundsDeps) {
    this.models = new GlobalModel(d.store, d.config.baseModelPath, () => d.clock.now());
  }

  /** The rounds' records (for the API). */
  get store(): RoundStore {
    return this.d.store;
  }

  /** Loads the model lineage and resumes (or closes) the round a previous run left open. */
  start(): void {
    const c = this.d.counters;
    c.define(ROUND_METRICS.rounds, 'Federated rounds closed, by outcome (published, below_minimum, failed)');
    c.define(ROUND_METRICS.updates, 'Federated updates accepted into a round');
    c.define(ROUND_METRICS.updateBytes, 'Bytes of accepted federated updates');
    c.define(ROUND_METRICS.declines, 'Sampled agents that said they sit a round out (too few samples, training failed)');
    c.define(ROUND_METRICS.modelVersion, 'Version of the current global model', 'gauge');
    c.define(REJECTED_METRIC, 'Incoming MQTT messages rejected, by topic key and reason');
    this.running = true;
    const m = this.models.init();
    c.set(ROUND_METRICS.modelVersion, m.version);
    const open = this.d.store.openRounds();
    // Only one round is ever open; older ones could only come from a crash between two writes.
    for (const r of open.slice(0, -1)) void this.finish(r.id, 'superseded by a later open round at restart');
    const last = open.at(-1);
    if (last) {
      this.setOpen(last);
      if (last.deadline <= this.d.clock.now()) {
        this.d.log.info({ round: last.id }, 'round left open by the previous run is past its deadline: closing it');
        void this.finish(last.id, 'deadline passed while the coordinator was down');
      } else {
        this.d.log.info({ round: last.id, deadline: new Date(last.deadline).toISOString(), updates: this.d.store.updateInfo(last.id).length }, 'resuming the round left open by the previous run');
        this.armDeadline(last);
      }
    }
    this.armSchedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer('deadlineTimer');
    this.clearTimer('scheduleTimer');
    await Promise.allSettled([...this.closing.values()]);
  }

  /** The round message and model to (re)publish retained: an in-memory broker forgets them on restart. */
  async republish(): Promise<void> {
    await this.d.publish({ key: 'model', body: toModelBody(this.models.current()) });
    const last = this.d.store.latestRound();
    if (last) await this.d.publish({ key: 'rounds', body: last.announce });
  }

  current(): RoundRecord | null {
    return this.open?.record ?? null;
  }

  /** Opens a round now. Throws RoundRefused when one is open or too few agents are online. */
  async startRound(o: { strategy?: StrategyName } = {}): Promise<RoundRecord> {
    if (!this.running) throw new RoundRefused('federation is not running');
    if (this.open) throw new RoundRefused(`round ${this.open.record.id} is still open (deadline ${new Date(this.open.record.deadline).toISOString()}); wait for it to close`);
    const c = this.d.config;
    const online = this.d.candidates();
    if (online.length < c.minParticipants) {
      throw new RoundRefused(`${online.length} agent(s) online, federation.minParticipants is ${c.minParticipants}: start more agents or lower it`);
    }
    const sampled = sampleAgents(online, { fraction: c.sampleFraction, min: c.minParticipants, max: c.maxParticipants }, this.d.rand ?? Math.random);
    const now = this.d.clock.now();
    const seq = this.d.store.nextSeq();
    const base = this.models.current();
    const announce: RoundBody = {
      roundId: `r${seq}-${now.toString(36)}`,
      state: 'open',
      baseVersion: base.version,
      baseSha256: base.sha256,
      openedAt: now,
      deadline: now + Math.round(c.deadlineSec * 1000),
      minParticipants: c.minParticipants,
      sampled,
      training: c.training,
      clipNorm: c.clipNorm,
      noiseMultiplier: c.noiseMultiplier,
      quantization: c.quantization,
      strategy: o.strategy ?? c.strategy,
    };
    this.d.store.openRound(announce, seq);
    const record = this.d.store.round(announce.roundId)!;
    this.setOpen(record);
    this.armDeadline(record);
    this.clearTimer('scheduleTimer');
    this.d.log.info({ round: announce.roundId, sampled: sampled.length, strategy: announce.strategy, base: base.version, deadline: new Date(announce.deadline).toISOString() }, 'federated round opened');
    await this.d.publish({ key: 'rounds', body: announce }).catch((e: Error) => this.d.log.warn({ err: e.message, round: announce.roundId }, 'round announcement not sent now; it is republished on reconnect'));
    return record;
  }

  /**
   * One decoded update. Runs inside the message handler (before the PUBACK), so it only checks
   * and stores; closing the round is started here but never awaited (it publishes on the same
   * connection, see docs/ARCHITECTURE.md "Delivery", rule 6).
   */
  onUpdate(u: Update, payload: Uint8Array): void {
    const open = this.open;
    const reject = (reason: UpdateRejectReason, detail: string) => {
      this.d.counters.inc(REJECTED_METRIC, { topic: 'updates', reason });
      this.d.store.addRejection(u.roundId, u.agentId, reason, detail, this.d.clock.now());
      this.d.log.warn({ agent: u.agentId, round: u.roundId, reason, detail }, 'federated update refused');
    };
    if (!open || u.roundId !== open.record.id) {
      return reject('wrong_round', open ? `the open round is ${open.record.id}, not ${u.roundId}` : `no round is open (update for ${u.roundId})`);
    }
    const a = open.record.announce;
    if (!open.sampled.has(u.agentId)) return reject('not_sampled', `agent ${u.agentId} was not sampled for round ${a.roundId}`);
    if (this.d.store.hasUpdate(a.roundId, u.agentId)) return reject('duplicate', `agent ${u.agentId} already sent its update for round ${a.roundId}; only the first counts`);
    const now = this.d.clock.now();
    if (now > a.deadline) return reject('late', `arrived ${now - a.deadline} ms after the deadline`);
    if (u.baseVersion !== a.baseVersion) return reject('wrong_base', `trained from model v${u.baseVersion}, the round is on v${a.baseVersion}`);
    const shape = shapeMismatch(flattenWeights(this.models.current().model), u.tensors);
    if (shape) return reject('wrong_shape', shape);
    this.d.store.addUpdate(a.roundId, { agentId: u.agentId, receivedAt: now, numSamples: u.numSamples, bytes: payload.byteLength, payload });
    this.d.counters.inc(ROUND_METRICS.updates);
    this.d.counters.inc(ROUND_METRICS.updateBytes, {}, payload.byteLength);
    this.d.log.info({ agent: u.agentId, round: a.roundId, bytes: payload.byteLength, samples: u.numSamples, quantization: u.quantization }, 'federated update accepted');
    this.closeIfAllAnswered(a.roundId, open.sampled);
  }

  /**
   * An agent's event. A notice carrying `roundDecline` for the open round, from an agent sampled
   * for it that has sent nothing, records that it sits the round out (kept with the round's
   * refusals as `declined`, so a restart still knows), so the round need not wait for it.
   */
  onEvent(agentId: string, body: EventBody): void {
    const d = RoundDeclineSchema.safeParse(body.data.roundDecline);
    const open = this.open;
    if (body.type !== 'notice' || !d.success || !open || d.data.roundId !== open.record.id || !open.sampled.has(agentId)) return;
    if (this.d.store.hasUpdate(open.record.id, agentId)) return;
    this.d.store.addRejection(open.record.id, agentId, DECLINED, `${d.data.reason}: ${d.data.detail}`, this.d.clock.now());
    this.d.counters.inc(ROUND_METRICS.declines);
    this.d.log.info({ agent: agentId, round: open.record.id, reason: d.data.reason, detail: d.data.detail }, 'a sampled agent sits the round out');
    this.closeIfAllAnswered(open.record.id, open.sampled);
  }

  /** Closes the round once every sampled agent has sent its update or declined. */
  private closeIfAllAnswered(roundId: string, sampled: Set<string>): void {
    const answered = new Set(this.d.store.updateInfo(roundId).map((u) => u.agentId));
    for (const r of this.d.store.rejections(roundId)) if (r.reason === DECLINED) answered.add(r.agentId);
    if ([...sampled].every((id) => answered.has(id))) void this.finish(roundId, 'every sampled agent reported or declined');
  }

  /** Closes a round: aggregate what arrived, publish a new model if there is one, record why. Idempotent. */
  finish(roundId: string, why: string): Promise<void> {
    let p = this.closing.get(roundId);
    if (!p) {
      p = this.close(roundId, why)
        .catch((e: unknown) => {
          // Left open, the round would refuse every new one until a restart: try again later.
          this.d.log.error({ err: (e as Error).message, round: roundId, retryInMs: CLOSE_RETRY_MS }, 'closing the round failed; trying again');
          if (this.running && this.open?.record.id === roundId) {
            this.clearTimer('deadlineTimer');
            this.deadlineTimer = this.d.clock.setTimeout(() => void this.finish(roundId, why), CLOSE_RETRY_MS);
          }
        })
        .finally(() => this.closing.delete(roundId));
      this.closing.set(roundId, p);
    }
    return p;
  }

  private async close(roundId: string, why: string): Promise<void> {
    const record = this.d.store.round(roundId);
    if (!record || record.state === 'closed') return;
    const t0 = this.d.clock.now();
    const a = record.announce;
    const stored = this.d.store.updates(roundId);
    const results: ClientResult[] = stored.map((s) => {
      const u = decodeUpdate(s.payload);
      return { agentId: u.agentId, numSamples: u.numSamples, delta: u.tensors };
    });
    const reported = new Set(results.map((r) => r.agentId));
    const lastRefusal = new Map(this.d.store.rejections(roundId).map((r) => [r.agentId, r]));
    const failures: ClientFailure[] = a.sampled
      .filter((id) => !reported.has(id))
      .map((id) => {
        const refused = lastRefusal.get(id);
        if (refused?.reason === DECLINED) return { agentId: id, reason: `sat the round out (${refused.detail})` };
        const base = this.d.isOnline(id) ? 'no update by the deadline' : 'offline (disconnected) without sending an update';
        return { agentId: id, reason: refused ? `${base}; its update was refused (${refused.reason})` : base };
      });
    const name = (STRATEGY_NAMES as readonly string[]).includes(a.strategy) ? (a.strategy as StrategyName) : this.d.config.strategy;
    const strategy = strategyFor(name, { minResults: a.minParticipants, trimBeta: this.d.config.trimBeta, clipNorm: a.clipNorm ?? this.d.config.clipNorm });
    const agg = strategy.aggregate(results, failures);
    for (const r of agg.rejected) {
      this.d.counters.inc(REJECTED_METRIC, { topic: 'updates', reason: 'strategy_rejected' });
      this.d.store.addRejection(roundId, r.agentId, 'strategy_rejected', r.reason, t0);
    }
    let outcome: RoundOutcome;
    let note: string;
    let next: CurrentModel | null = null;
    if (!agg.delta) {
      outcome = 'below_minimum';
      note = `${why}: ${agg.note}`;
    } else {
      try {
        next = this.models.next(agg.delta, { roundId, strategy: strategy.name, used: agg.used });
        outcome = 'published';
        note = `${why}: ${agg.note}; model v${next.version}`;
      } catch (e) {
        outcome = 'failed';
        note = `${why}: ${agg.note}; building the model failed: ${(e as Error).message}`;
      }
    }
    const closed: RoundBody = { ...a, state: 'closed' };
    const summary: RoundSummary = {
      strategy: strategy.name,
      used: agg.used,
      rejected: agg.rejected,
      failures,
      bytes: Object.fromEntries(stored.map((s) => [s.agentId, s.bytes])),
      durationMs: this.d.clock.now() - a.openedAt,
    };
    try {
      this.d.store.closeRound({ announce: closed, closedAt: this.d.clock.now(), outcome, note, summary, model: next });
    } catch (e) {
      if (e instanceof RoundAlreadyClosed) return;
      throw e;
    }
    if (this.open?.record.id === roundId) {
      this.open = null;
      this.clearTimer('deadlineTimer');
    }
    if (next) {
      this.models.advance(next);
      this.d.counters.set(ROUND_METRICS.modelVersion, next.version);
    }
    this.d.counters.inc(ROUND_METRICS.rounds, { outcome });
    this.d.log[outcome === 'published' ? 'info' : 'warn']({ round: roundId, outcome, used: agg.used.length, failures: failures.length, model: next?.version }, `federated round closed: ${note}`);
    const sendFailed = (e: Error) => this.d.log.warn({ err: e.message, round: roundId }, 'round result not sent now; it is republished on reconnect');
    if (next) await this.d.publish({ key: 'model', body: toModelBody(next) }).catch(sendFailed);
    await this.d.publish({ key: 'rounds', body: closed }).catch(sendFailed);
    this.armSchedule();
  }

  private setOpen(record: RoundRecord): void {
    this.open = { record, sampled: new Set(record.announce.sampled) };
  }

  private armDeadline(r: RoundRecord): void {
    this.clearTimer('deadlineTimer');
    // A few ms past the deadline, so an update stamped exactly at it is still in.
    this.deadlineTimer = this.d.clock.setTimeout(() => void this.finish(r.id, 'deadline reached'), Math.max(0, r.deadline - this.d.clock.now()) + 5);
  }

  /** With federation.everyMin, the next round starts that long after the last one closed (or `delayMs` from now). */
  private armSchedule(delayMs?: number): void {
    const every = this.d.config.everyMin;
    if (!every || !this.running || this.open) return;
    this.clearTimer('scheduleTimer');
    const last = this.d.store.latestRound();
    const due = (last?.closedAt ?? this.d.clock.now()) + every * 60_000;
    this.scheduleTimer = this.d.clock.setTimeout(
      () => {
        this.scheduleTimer = null;
        this.startRound().catch((e: Error) => {
          this.d.log.warn({ err: e.message }, 'scheduled round not started; trying again after federation.everyMin');
          this.armSchedule(every * 60_000);
        });
      },
      delayMs ?? Math.max(0, due - this.d.clock.now()),
    );
  }

  private clearTimer(which: 'deadlineTimer' | 'scheduleTimer'): void {
    if (this[which] !== null) this.d.clock.clearTimeout(this[which]);
    this[which] = null;
  }
}
