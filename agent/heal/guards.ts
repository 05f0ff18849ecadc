import type { Guards } from '../../shared/policy/policy.ts';

export const HOUR_MS = 3_600_000;

/** Why a due action was not taken. Each is an audit record and a counter label. */
export type GuardName = 'paused' | 'escalated' | 'target_busy' | 'breaker_open' | 'cooldown' | 'backoff' | 'rate_limit';

/**
 * Guard state of one rule on one target. Plain data: persisted as JSON after every change, so a
 * restarted agent keeps its breakers, backoff and escalations (a restart must not be a way round
 * a guard).
 */
export interface TrackState {
  /** Recoveries in the current unstable period that did not hold (failed verification, or the symptom came back before `stableSec`). */
  failures: number;
  /** When the breaker last opened; null = closed. Half-open is "open and openSec has passed". */
  breakerOpenedAt: number | null;
  lastActionAt: number | null;
  /** No attempt before this (exponential backoff after a failure). */
  notBefore: number;
  /** When the last verified recovery happened, until the stable period confirms it. */
  recoveredAt: number | null;
  /** Symptom clear since (null while present): drives the stable-period reset. */
  clearSince: number | null;
  escalatedAt: number | null;
}

export function newTrack(): TrackState {
  return { failures: 0, breakerOpenedAt: null, lastActionAt: null, notBefore: 0, recoveredAt: null, clearSince: null, escalatedAt: null };
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export function breakerState(t: TrackState, g: Guards, now: number): BreakerState {
  if (t.breakerOpenedAt === null) return 'closed';
  return now - t.breakerOpenedAt >= g.breaker.openSec * 1000 ? 'half_open' : 'open';
}

/** Actions taken on this node in the last hour, oldest first. */
export class RateWindow {
  private readonly stamps: number[] = [];
  constructor(initial: readonly number[] = []) {
    this.stamps.push(...[...initial].sort((a, b) => a - b));
  }
  count(now: number): number {
    while (this.stamps.length && this.stamps[0]! <= now - HOUR_MS) this.stamps.shift();
    return this.stamps.length;
  }
  /** When the next action will be allowed under `max` per hour. */
  nextFree(now: number, max: number): number {
    const n = this.count(now);
    if (n < max) return now;
    // max 0 means "never": there is no stamp whose expiry frees a slot.
    return max <= 0 ? Number.POSITIVE_INFINITY : this.stamps[n - max]! + HOUR_MS;
  }
  record(now: number): void {
    this.stamps.push(now);
  }
}

export type Gate = { go: true; halfOpen: boolean } | { go: false; guard: GuardName; until: number | null; detail: string };

/**
 * May this rule act on this target now? The order is the order of authority: a fleet pause and
 * a human's escalation outrank everything; then the breaker; then the timing guards; the
 * node-wide rate limit last (so it is only spent on actions that are otherwise due).
 */
export function gate(t: TrackState, g: Guards, now: number, node: { paused: boolean; rate: RateWindow; maxPerHour: number }): Gate {
  const s = (n: number) => `${Math.ceil(n / 1000)} s`;
  if (node.paused) return { go: false, guard: 'paused', until: null, detail: 'the coordinator paused remediation fleet-wide' };
  if (t.escalatedAt !== null) return { go: false, guard: 'escalated', until: null, detail: 'escalated to a human; no more attempts on this target until reset' };
  const b = breakerState(t, g, now);
  if (b === 'open') {
    const until = t.breakerOpenedAt! + g.breaker.openSec * 1000;
    return { go: false, guard: 'breaker_open', until, detail: `circuit breaker open after ${t.failures} failed recoveries; half-open in ${s(until - now)}` };
  }
  if (t.lastActionAt !== null && now - t.lastActionAt < g.cooldownSec * 1000) {
    const until = t.lastActionAt + g.cooldownSec * 1000;
    return { go: false, guard: 'cooldown', until, detail: `cooldown: last action ${s(now - t.lastActionAt)} ago, ${g.cooldownSec} s required` };
  }
  if (now < t.notBefore) return { go: false, guard: 'backoff', until: t.notBefore, detail: `backoff after ${t.failures} failed recoveries: next attempt in ${s(t.notBefore - now)}` };
  const free = node.rate.nextFree(now, node.maxPerHour);
  if (free > now) return { go: false, guard: 'rate_limit', until: Number.isFinite(free) ? free : null, detail: `rate limit: ${node.rate.count(now)} actions in the last hour (max ${node.maxPerHour})` };
  return { go: true, halfOpen: b === 'half_open' };
}

/** A recovery did not hold: count it, back off (jittered to 50–100 %), open the breaker at the limit. Returns whether the breaker (re)opened. */
export function recordFailure(t: TrackState, g: Guards, now: number, rand: () => number): boolean {
  t.failures += 1;
  t.recoveredAt = null;
  const base = Math.min(g.backoff.maxSec * 1000, g.backoff.initialSec * 1000 * 2 ** (t.failures - 1));
  t.notBefore = now + Math.round(base * (0.5 + 0.5 * rand()));
  const halfOpen = t.breakerOpenedAt !== null;
  if (halfOpen || t.failures >= g.breaker.failures) {
    t.breakerOpenedAt = now;
    return true;
  }
  return false;
}

/** Verified recovery: a half-open breaker closes; the failure count waits for the stable period. */
export function recordRecovery(t: TrackState, now: number): void {
  t.breakerOpenedAt = null;
  t.recoveredAt = now;
}

/**
 * Called every evaluation with whether the symptom is present. A symptom returning within the
 * stable period after a "recovery" means the recovery did not hold; a symptom absent for the
 * stable period resets counters, backoff and breaker. Returns 'relapse' when it counted a failure.
 */
export function observe(t: TrackState, g: Guards, now: number, present: boolean, rand: () => number): 'relapse' | 'reset' | null {
  if (present) {
    t.clearSince = null;
    if (t.recoveredAt !== null && now - t.recoveredAt < g.stableSec * 1000) {
      recordFailure(t, g, now, rand);
      return 'relapse';
    }
    return null;
  }
  t.clearSince ??= now;
  if (now - t.clearSince >= g.stableSec * 1000 && (t.failures > 0 || t.breakerOpenedAt !== null || t.recoveredAt !== null || t.notBefore > 0)) {
    t.failures = 0;
    t.breakerOpenedAt = null;
    t.recoveredAt = null;
    t.notBefore = 0;
    return 'reset';
  }
  return null;
}
