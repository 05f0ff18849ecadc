import { actionTarget, type Action, type ActionOutcome } from '../../shared/policy/actions.ts';
import type { Decision, DecisionKind } from '../../shared/policy/decision.ts';
import { parsePolicy, type Policy, type Rule } from '../../shared/policy/policy.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import { silentLogger, type Logger } from '../../shared/observe/log.ts';
import type { EventBody } from '../../shared/protocol/messages.ts';
import { checkCeiling, PolicyRefusedError } from './ceiling.ts';
import type { HealConfig } from './config.ts';
import type { ActionExecutor } from './executor.ts';
import { gate, HOUR_MS, observe, RateWindow, recordFailure, recordRecovery, type TrackState } from './guards.ts';
import type { HealJournal } from './journal.ts';
import type { SymptomReading } from './symptoms.ts';

export const HEAL_METRICS = {
  decisions: 'homeostat_heal_decisions_total',
  paused: 'homeostat_heal_paused',
  policyVersion: 'homeostat_heal_policy_version',
} as const;

export interface SymptomReader {
  read(s: Rule['symptom'], now: number, signal?: AbortSignal): Promise<SymptomReading>;
}

export interface HealEngineOptions {
  heal: HealConfig;
  /** The agent's feature names: metric and anomaly symptoms must name one. */
  features: readonly string[];
  executor: ActionExecutor;
  symptoms: SymptomReader;
  journal: HealJournal;
  /** Appends to the agent's audit log (sqlite). */
  audit: (ts: number, kind: string, corr: string | null, record: Decision) => void;
  /** The episode's audit records so far, for the escalation's story. */
  auditOf: (corr: string) => Array<{ ts: number; kind: string; record: unknown }>;
  /** Queues an event for the coordinator; must not throw for a full outbox (the caller logs). */
  emit: (body: EventBody, corr: string) => void;
  newId: () => string;
  now?: () => number;
  rand?: () => number;
  log?: Logger;
  counters?: Counters;
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'acting'; actionId: string }
  | { kind: 'verifying'; actionId: string; action: Action; deadline: number; clearSince: number | null }
  | { kind: 'awaiting_approval'; deadline: number; answer: { approved: boolean; by: string } | null };

interface Track {
  key: string;
  rule: Rule;
  target: string;
  state: TrackState;
  phase: Phase;
  episode: { corr: string; startedAt: number } | null;
  /** The guard that last held this track back: a skip is recorded when it changes, not every tick. */
  lastGuard: string | null;
  /** The state as last written to sqlite: an unchanged state is not written again (every tick would, for every rule). */
  saved: string;
}

const EVENT_TYPE: Partial<Record<DecisionKind, EventBody['type']>> = {
  acted: 'action',
  dry_run: 'action',
  verified: 'action',
  verify_failed: 'action',
  reconciled: 'action',
  relapse: 'action',
  escalated: 'escalation',
  approval_requested: 'approval',
};

const SEVERITY: Partial<Record<DecisionKind, EventBody['severity']>> = {
  verify_failed: 'warning',
  relapse: 'warning',
  breaker_open: 'warning',
  policy_refused: 'warning',
  approval_requested: 'warning',
  escalated: 'critical',
};

/**
 * The agent's hands: evaluates each rule's symptom every tick, passes due actions through the
 * guards, journals intent before acting and outcome after, verifies that the symptom cleared,
 * and escalates what it cannot fix. Every decision is an audit record and an event.
 */
export class HealEngine {
  private policy: Policy;
  private paused = false;
  private readonly tracks = new Map<string, Track>();
  private readonly rate: RateWindow;
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly rand: () => number;
  private readonly log: Logger;

  constructor(private readonly o: HealEngineOptions) {
    this.now = o.now ?? Date.now;
    this.rand = o.rand ?? Math.random;
    this.log = o.log ?? silentLogger;
    o.counters?.define(HEAL_METRICS.decisions, 'Heal decisions by rule and decision (acted, skipped by guard, escalated...)');
    o.counters?.define(HEAL_METRICS.paused, 'Whether the coordinator has paused remediation (1) or not (0)', 'gauge');
    o.counters?.define(HEAL_METRICS.policyVersion, 'Version of the heal policy in force (0 = the local config)', 'gauge');
    // The owner's own rules must fit the owner's own ceiling: a contradiction is a config error at start.
    checkCeiling(o.heal.policy, o.heal, o.features);
    this.policy = o.heal.policy;
    o.counters?.set(HEAL_METRICS.policyVersion, this.policy.version);
    this.rate = new RateWindow(o.journal.actedSince(this.now() - HOUR_MS));
  }

  get policyVersion(): number {
    return this.policy.version;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Reconciles what a previous run left open, then evaluates every `tickMs`. */
  async start(): Promise<void> {
    await this.reconcile();
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'heal tick failed; next tick runs as usual'))
        .finally(() => {
          this.ticking = null;
          if (!this.abort.signal.aborted) this.timer = setTimeout(loop, this.o.heal.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('heal engine stopped'));
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await this.idle();
  }

  /** Resolves when no action is running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  /**
   * Replaces the policy after validating it and checking it against the local ceiling. A policy
   * that fails either is refused whole (audited, reported) and the current one stays.
   */
  setPolicy(raw: unknown, source: string): { ok: true; version: number } | { ok: false; problems: string[] } {
    const now = this.now();
    let p: Policy;
    try {
      p = parsePolicy(raw);
      checkCeiling(p, this.o.heal, this.o.features);
    } catch (e) {
      const problems = e instanceof PolicyRefusedError ? e.problems : ((e as { problems?: string[] }).problems ?? [(e as Error).message]);
      const version = (raw as { version?: unknown })?.version;
      this.record(now, null, {
        decision: 'policy_refused',
        policyVersion: this.policy.version,
        detail: `policy ${typeof version === 'number' ? `v${version} ` : ''}from ${source} refused, v${this.policy.version} stays in force: ${problems.join('; ')}`,
      });
      return { ok: false, problems };
    }
    this.policy = p;
    // Tracks keyed by rule and target: rules that changed start fresh guard state only if their target changed.
    for (const [key, t] of this.tracks) {
      const r = p.rules.find((x) => x.id === t.rule.id);
      if (r && actionTarget(r.action) === t.target) {
        t.rule = r;
        continue;
      }
      this.tracks.delete(key);
      try {
        this.o.journal.deleteTrack(key);
      } catch (e) {
        this.log.error({ rule: t.rule.id, err: (e as Error).message }, 'could not delete the guard state of a removed rule');
      }
    }
    this.o.counters?.set(HEAL_METRICS.policyVersion, p.version);
    this.record(now, null, { decision: 'policy_applied', policyVersion: p.version, detail: `policy v${p.version} from ${source} in force: ${p.rules.length} rule(s)${p.dryRun ? ', dry-run' : ''}` });
    return { ok: true, version: p.version };
  }

  setPaused(paused: boolean, by: string, reason = ''): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.o.counters?.set(HEAL_METRICS.paused, paused ? 1 : 0);
    this.record(this.now(), null, { decision: paused ? 'paused' : 'resumed', policyVersion: this.policy.version, detail: `${paused ? 'paused' : 'resumed'} by ${by}${reason ? `: ${reason}` : ''}` });
  }

  /** An operator's "try again": clears escalation, breaker and counters of matching tracks. Returns how many. */
  reset(by: string, ruleId?: string): number {
    let n = 0;
    const now = this.now();
    for (const t of this.allTracks()) {
      if (ruleId && t.rule.id !== ruleId) continue;
      const s = t.state;
      if (s.escalatedAt === null && s.failures === 0 && s.breakerOpenedAt === null) continue;
      Object.assign(s, { failures: 0, breakerOpenedAt: null, notBefore: 0, recoveredAt: null, escalatedAt: null });
      t.episode = null;
      t.lastGuard = null;
      this.save(t, now);
      this.record(now, t, { decision: 'reset', detail: `reset by ${by}: escalation, breaker and counters cleared` });
      n++;
    }
    return n;
  }

  /** The coordinator's answer to an approval request (`corr` = the episode's correlation id). */
  answerApproval(corr: string, approved: boolean, by: string): boolean {
    for (const t of this.tracks.values()) {
      if (t.phase.kind === 'awaiting_approval' && t.episode?.corr === corr && t.phase.answer === null) {
        t.phase.answer = { approved, by };
        return true;
      }
    }
    return false;
  }

  /** Guard state of every rule and target, for status and the CLI. */
  snapshot(): Array<{ ruleId: string; target: string; phase: string; state: TrackState; episode: { corr: string; startedAt: number } | null }> {
    return this.allTracks().map((t) => ({ ruleId: t.rule.id, target: t.target, phase: t.phase.kind, state: { ...t.state }, episode: t.episode }));
  }

  /** One evaluation of every rule. Actions run in the background; their verification happens on later ticks. */
  async tick(): Promise<void> {
    for (const rule of byRank(this.policy.rules)) {
      if (this.abort.signal.aborted) return;
      const t = this.track(rule);
      if (t.phase.kind === 'acting') continue;
      try {
        await this.evaluate(t, this.now());
      } catch (e) {
        this.log.error({ rule: rule.id, err: (e as Error).message }, 'rule evaluation failed; the rule is evaluated again next tick');
      }
    }
  }

  // -- evaluation ------------------------------------------------------------------------------

  private async evaluate(t: Track, now: number): Promise<void> {
    const g = t.rule.guards;
    const reading = await this.o.symptoms.read(t.rule.symptom, now, this.abort.signal);
    if (t.phase.kind === 'verifying') return this.verify(t, t.phase, reading, now);

    const seen = observe(t.state, g, now, reading.present, this.rand);
    if (seen === 'relapse') {
      const opened = t.state.breakerOpenedAt === now;
      this.record(now, t, { decision: 'relapse', detail: `the symptom came back within ${g.stableSec} s of recovering: failed recovery ${t.state.failures}`, ...evidence(reading) });
      if (opened) this.breakerOpened(t, now);
    } else if (seen === 'reset') {
      this.record(now, t, { decision: 'reset', detail: `no symptom for ${g.stableSec} s: failure count, backoff and breaker reset` });
    }

    if (!reading.present) {
      if (t.phase.kind === 'awaiting_approval') {
        t.phase = { kind: 'idle' };
        this.record(now, t, { decision: 'cleared', detail: 'the symptom cleared while waiting for approval: request withdrawn', ...evidence(reading) });
        t.episode = null;
      } else if (t.episode && t.state.clearSince !== null && now - t.state.clearSince >= g.verify.settleSec * 1000) {
        this.record(now, t, { decision: 'cleared', detail: 'the symptom cleared without further action', ...evidence(reading) });
        t.episode = null;
        t.lastGuard = null;
      }
      this.save(t, now);
      return;
    }

    if (!t.episode) {
      t.episode = { corr: reading.corr ?? this.o.newId(), startedAt: now };
      this.record(now, t, { decision: 'symptom', detail: reading.evidence, ...evidence(reading) });
    }
    if (t.state.escalatedAt === null && now - t.episode.startedAt >= g.escalateAfterSec * 1000) this.escalate(t, reading, now);

    if (t.phase.kind === 'awaiting_approval') return this.awaitApproval(t, t.phase, reading, now);

    const busy = [...this.tracks.values()].find((o) => o !== t && o.target === t.target && o.phase.kind !== 'idle');
    const verdict: ReturnType<typeof gate> = busy
      ? { go: false, guard: 'target_busy', until: null, detail: `rule "${busy.rule.id}" is already ${busy.phase.kind.replace('_', ' ')} on ${t.target}` }
      : gate(t.state, g, now, { paused: this.paused, rate: this.rate, maxPerHour: Math.min(this.policy.maxActionsPerHour, this.o.heal.maxActionsPerHour) });
    if (!verdict.go) {
      if (t.lastGuard !== verdict.guard) {
        t.lastGuard = verdict.guard;
        this.record(now, t, { decision: 'skipped', guard: verdict.guard, detail: `${actionName(t.rule.action)} held back: ${verdict.detail}`, ...evidence(reading) });
      }
      this.save(t, now);
      return;
    }
    t.lastGuard = null;
    const dryRun = this.o.heal.dryRun || this.policy.dryRun || t.rule.dryRun;
    if (t.rule.guards.approval.required && !dryRun) {
      t.phase = { kind: 'awaiting_approval', deadline: now + g.approval.timeoutSec * 1000, answer: null };
      this.record(now, t, {
        decision: 'approval_requested',
        detail: `${actionName(t.rule.action)} needs approval: answer within ${g.approval.timeoutSec} s (POST /api/agents/<id>/approvals/${t.episode.corr}); no answer means no action`,
        ...evidence(reading),
      });
      return;
    }
    this.act(t, reading, now, dryRun, verdict.halfOpen);
  }

  private awaitApproval(t: Track, p: Extract<Phase, { kind: 'awaiting_approval' }>, reading: SymptomReading, now: number): void {
    if (p.answer?.approved) {
      t.phase = { kind: 'idle' };
      this.act(t, reading, now, false, t.state.breakerOpenedAt !== null, `approved by ${p.answer.by}`);
      return;
    }
    if (p.answer || now >= p.deadline) {
      t.phase = { kind: 'idle' };
      // Counts as an attempt for the cooldown, so a denied or unanswered request is not re-asked every tick.
      t.state.lastActionAt = now;
      this.record(now, t, p.answer ? { decision: 'approval_denied', detail: `${actionName(t.rule.action)} denied by ${p.answer.by}: not done` } : { decision: 'approval_timeout', detail: `no approval within ${t.rule.guards.approval.timeoutSec} s: not done` });
      this.save(t, now);
    }
  }

  private act(t: Track, reading: SymptomReading, now: number, dryRun: boolean, halfOpen: boolean, why = ''): void {
    const action = t.rule.action;
    const actionId = this.o.newId();
    const corr = t.episode!.corr;
    t.state.lastActionAt = now;
    if (!dryRun) this.rate.record(now);
    // Intent first, in one sqlite statement: an agent that dies after this line reconciles at start.
    this.o.journal.writeIntent({ id: actionId, corr, ts: now, ruleId: t.rule.id, target: t.target, policyVersion: this.policy.version, action, dryRun });
    this.save(t, now);
    t.phase = { kind: 'acting', actionId };
    const run = (async () => {
      const outcome = await this.o.executor.execute(action, { signal: this.abort.signal, dryRun, correlationId: corr });
      const done = this.now();
      this.o.journal.finish(actionId, outcome, done);
      const trial = halfOpen ? ' (half-open trial)' : '';
      const reason = why ? ` (${why})` : '';
      if (dryRun) {
        t.phase = { kind: 'idle' };
        this.record(done, t, { decision: 'dry_run', actionId, action, outcome, dryRun: true, detail: `dry-run${reason}: ${outcome.detail}`, ...evidence(reading) });
      } else if (!outcome.ok) {
        t.phase = { kind: 'idle' };
        this.record(done, t, { decision: 'acted', actionId, action, outcome, detail: `${actionName(action)} failed${trial}${reason}: ${outcome.detail}`, ...evidence(reading) });
        this.failed(t, done, `the action itself failed`);
      } else {
        t.phase = { kind: 'verifying', actionId, action, deadline: done + t.rule.guards.verify.windowSec * 1000, clearSince: null };
        this.record(done, t, { decision: 'acted', actionId, action, outcome, detail: `${outcome.detail}${trial}${reason}`, ...evidence(reading) });
      }
      this.save(t, done);
    })()
      .catch((e: unknown) => {
        // execute() reports failures in its outcome; reaching here is a bug or a full disk. The intent stays open and is reconciled at the next start.
        t.phase = { kind: 'idle' };
        this.log.error({ rule: t.rule.id, err: (e as Error).message }, 'heal action could not be recorded');
      })
      .finally(() => this.inflight.delete(run));
    this.inflight.add(run);
  }

  private async verify(t: Track, p: Extract<Phase, { kind: 'verifying' }>, reading: SymptomReading, now: number): Promise<void> {
    const g = t.rule.guards.verify;
    if (!reading.present) {
      p.clearSince ??= now;
      if (now - p.clearSince >= g.settleSec * 1000) {
        const target = await this.o.executor.targetState(p.action);
        if (target.healthy) {
          recordRecovery(t.state, now);
          t.state.clearSince = now;
          t.phase = { kind: 'idle' };
          this.record(now, t, { decision: 'verified', actionId: p.actionId, detail: `recovered: symptom clear for ${g.settleSec} s; ${target.detail}`, ...evidence(reading) });
          t.episode = null;
          this.save(t, now);
          return;
        }
        p.clearSince = null;
      }
    } else {
      p.clearSince = null;
    }
    if (now >= p.deadline) {
      t.phase = { kind: 'idle' };
      this.record(now, t, { decision: 'verify_failed', actionId: p.actionId, detail: `the symptom did not clear and stay clear for ${g.settleSec} s within ${g.windowSec} s of the action`, ...evidence(reading) });
      this.failed(t, now, 'verification failed');
    }
  }

  private failed(t: Track, now: number, why: string): void {
    const opened = recordFailure(t.state, t.rule.guards, now, this.rand);
    this.log.warn({ rule: t.rule.id, target: t.target, failures: t.state.failures, why }, 'recovery failed');
    if (opened) this.breakerOpened(t, now);
    this.save(t, now);
  }

  private breakerOpened(t: Track, now: number): void {
    this.record(now, t, { decision: 'breaker_open', detail: `circuit breaker open after ${t.state.failures} failed recoveries: no attempt for ${t.rule.guards.breaker.openSec} s, then one trial` });
  }

  private escalate(t: Track, reading: SymptomReading, now: number): void {
    t.state.escalatedAt = now;
    const story = this.o.auditOf(t.episode!.corr).map((r) => ({ ts: r.ts, decision: r.kind, detail: String((r.record as { detail?: unknown }).detail ?? '') }));
    const mins = Math.round((now - t.episode!.startedAt) / 1000);
    this.record(now, t, {
      decision: 'escalated',
      detail: `not recovered ${mins} s after the symptom appeared (${t.state.failures} failed recoveries): a human is needed; no more attempts on ${t.target} until reset`,
      story,
      ...evidence(reading),
    });
    this.save(t, now);
  }

  // -- reconciliation ---------------------------------------------------------------------------

  /**
   * Intents left open by a previous run: the agent died between acting and recording. It checks
   * the target and records what it finds; it never runs the action again (the cooldown, stamped
   * at intent time and persisted, holds the rule back as usual).
   */
  private async reconcile(): Promise<void> {
    for (const i of this.o.journal.openIntents()) {
      const now = this.now();
      const st = i.dryRun ? { healthy: true, detail: 'dry-run: nothing was changed' } : await this.o.executor.targetState(i.action);
      const outcome: ActionOutcome = { ok: st.healthy, detail: `the agent stopped during this action; at restart the target is ${st.healthy ? 'healthy' : 'not healthy'}: ${st.detail}`, data: { reconciled: true } };
      this.o.journal.finish(i.id, outcome, now, 'reconciled');
      const rule = this.policy.rules.find((r) => r.id === i.ruleId && actionTarget(r.action) === i.target);
      const t = rule ? this.track(rule) : null;
      if (t && !i.dryRun) {
        if (st.healthy) recordRecovery(t.state, now);
        else recordFailure(t.state, rule!.guards, now, this.rand);
        this.save(t, now);
      }
      const rec: Decision = { decision: 'reconciled', policyVersion: i.policyVersion, ruleId: i.ruleId, target: i.target, actionId: i.id, action: i.action, outcome, detail: outcome.detail };
      this.o.audit(now, rec.decision, i.corr, rec);
      this.emitDecision(rec, i.corr);
    }
  }

  // -- bookkeeping ------------------------------------------------------------------------------

  private track(rule: Rule): Track {
    const target = actionTarget(rule.action);
    const key = `${rule.id}|${target}`;
    let t = this.tracks.get(key);
    if (!t) {
      const state = this.o.journal.track(key);
      t = { key, rule, target, state, phase: { kind: 'idle' }, episode: null, lastGuard: null, saved: JSON.stringify(state) };
      this.tracks.set(key, t);
    }
    return t;
  }

  private allTracks(): Track[] {
    return this.policy.rules.map((r) => this.track(r));
  }

  private save(t: Track, now: number): void {
    const json = JSON.stringify(t.state);
    if (json === t.saved) return;
    try {
      this.o.journal.saveTrack(t.key, json, now);
      t.saved = json;
    } catch (e) {
      this.log.error({ rule: t.rule.id, err: (e as Error).message }, 'could not persist guard state; it is kept in memory');
    }
  }

  private record(now: number, t: Track | null, d: Omit<Decision, 'policyVersion'> & { policyVersion?: number }): void {
    const rec: Decision = { policyVersion: this.policy.version, ...(t ? { ruleId: t.rule.id, target: t.target } : {}), ...d };
    const corr = t?.episode?.corr ?? this.o.newId();
    this.o.counters?.inc(HEAL_METRICS.decisions, { rule: rec.ruleId ?? '', decision: rec.decision });
    this.log.info({ corr, ...rec, evidenceData: undefined, story: undefined }, `heal: ${rec.decision}`);
    try {
      this.o.audit(now, rec.decision, corr, rec);
    } catch (e) {
      this.log.error({ err: (e as Error).message, decision: rec.decision }, 'could not write the audit record');
    }
    this.emitDecision(rec, corr);
  }

  private emitDecision(rec: Decision, corr: string): void {
    try {
      this.o.emit({ type: EVENT_TYPE[rec.decision] ?? 'notice', severity: SEVERITY[rec.decision] ?? 'info', summary: summary(rec), data: rec }, corr);
    } catch (e) {
      this.log.error({ err: (e as Error).message, decision: rec.decision }, 'could not queue the heal event; it is in the audit log');
    }
  }
}

/**
 * Evaluation order within a tick: symptoms users feel (a failing probe, a service down) before
 * component metrics and anomalies, so when both point at one target the probe's rule acts and
 * the others wait (`target_busy`). Stable: rules of one rank keep their policy order.
 */
const RANK: Record<Rule['symptom']['kind'], number> = { probe_failing: 0, process_down: 1, metric: 2, anomaly: 3 };
function byRank(rules: readonly Rule[]): Rule[] {
  return [...rules].sort((a, b) => RANK[a.symptom.kind] - RANK[b.symptom.kind]);
}

function evidence(r: SymptomReading): Pick<Decision, 'evidence' | 'evidenceData'> {
  return { evidence: r.evidence, ...(r.data ? { evidenceData: r.data } : {}) };
}

function actionName(a: Action): string {
  return `${a.type} ${actionTarget(a)}`;
}

function summary(d: Decision): string {
  const who = d.ruleId ? `rule ${d.ruleId}: ` : '';
  return `${who}${d.decision.replace(/_/g, ' ')}: ${d.detail}`.slice(0, 1000);
}
