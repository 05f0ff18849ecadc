import type { Counters } from '../../../shared/observe/counters.ts';
import type { Logger } from '../../../shared/observe/log.ts';
import { systemClock, type Clock } from '../../sense/sampler.ts';
import { runProbe } from './run-probe.ts';
import type { Probe, ProbeResult } from './schema.ts';

/** Results kept per probe: enough for any "k of n" a rule may ask (n ≤ this). */
export const DEFAULT_PROBE_HISTORY = 20;

export interface TimedProbeResult extends ProbeResult {
  /** Clock time the run started. */
  ts: number;
}

export interface ProbeSchedulerOptions {
  probes: readonly Probe[];
  log: Logger;
  counters: Counters;
  clock?: Clock;
  /** Replaced in tests of the timing logic; the real runners are tested against real servers. */
  run?: (probe: Probe, signal: AbortSignal) => Promise<ProbeResult>;
  history?: number;
}

/** Fixed-size ring: the newest `size` results, oldest dropped first. */
class Ring {
  private readonly buf: TimedProbeResult[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  push(r: TimedProbeResult): void {
    if (this.buf.length < this.size) this.buf.push(r);
    else this.buf[this.next] = r;
    this.next = (this.next + 1) % this.size;
  }
  /** Oldest first. */
  items(): TimedProbeResult[] {
    return this.buf.length < this.size ? [...this.buf] : [...this.buf.slice(this.next), ...this.buf.slice(0, this.next)];
  }
}

interface Slot {
  probe: Probe;
  ring: Ring;
  timer: unknown;
  busy: boolean;
}

/**
 * Runs every probe on its own interval, never two runs of one probe at once: the next run is
 * scheduled only when the current one has finished, at (its start + interval), so a probe that
 * takes its whole timeout does not shift the grid (timeoutMs < interval is enforced by the schema).
 */
export class ProbeScheduler {
  private readonly clock: Clock;
  private readonly slots = new Map<string, Slot>();
  private readonly listeners: Array<(name: string, r: TimedProbeResult) => void> = [];
  private abort: AbortController | null = null;

  constructor(private readonly o: ProbeSchedulerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  onResult(fn: (name: string, r: TimedProbeResult) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    const c = this.o.counters;
    c.define('homeostat_probe_runs_total', 'Probe runs by probe and result');
    const size = this.o.history ?? DEFAULT_PROBE_HISTORY;
    const names = new Set<string>();
    for (const p of this.o.probes) {
      if (names.has(p.name)) throw new Error(`probe "${p.name}" is declared twice: probe names must be unique`);
      names.add(p.name);
    }
    this.abort = new AbortController();
    for (const p of this.o.probes) {
      const slot: Slot = { probe: p, ring: new Ring(size), timer: null, busy: false };
      this.slots.set(p.name, slot);
      slot.timer = this.clock.setTimeout(() => void this.fire(slot), 0);
    }
  }

  stop(): void {
    this.abort?.abort(new Error('probe scheduler stopped'));
    this.abort = null;
    for (const s of this.slots.values()) if (s.timer !== null) this.clock.clearTimeout(s.timer);
    this.slots.clear();
  }

  /** The last results of one probe, oldest first; unknown probe → []. */
  results(name: string): TimedProbeResult[] {
    return this.slots.get(name)?.ring.items() ?? [];
  }

  last(name: string): TimedProbeResult | undefined {
    return this.results(name).at(-1);
  }

  /**
   * Failures among the last `n` results: the "failing k of n" question. `seen` < n while the probe
   * is young, and the caller decides whether a partial window counts.
   */
  window(name: string, n: number): { failures: number; seen: number } {
    const size = this.o.history ?? DEFAULT_PROBE_HISTORY;
    if (n > size) throw new Error(`probe "${name}": a window of ${n} results was asked, but only ${size} are kept: raise the scheduler's history`);
    const last = this.results(name).slice(-n);
    return { failures: last.filter((r) => !r.ok).length, seen: last.length };
  }

  private async fire(slot: Slot): Promise<void> {
    slot.timer = null;
    const ctl = this.abort;
    if (!ctl || slot.busy) return;
    slot.busy = true;
    const ts = this.clock.now();
    let r: ProbeResult;
    try {
      r = await (this.o.run ?? runProbe)(slot.probe, ctl.signal);
    } catch (e) {
      // The real runners never throw; an injected one might. A throw is a failed probe, not a dead scheduler.
      r = { ok: false, latencyMs: 0, detail: `probe runner failed: ${(e as Error).message}` };
    }
    slot.busy = false;
    if (ctl.signal.aborted) return;
    const tr = { ...r, ts };
    slot.ring.push(tr);
    this.o.counters.inc('homeostat_probe_runs_total', { probe: slot.probe.name, result: r.ok ? 'ok' : 'failed' });
    for (const fn of this.listeners) {
      try {
        fn(slot.probe.name, tr);
      } catch (e) {
        this.o.log.error({ probe: slot.probe.name, err: (e as Error).message }, 'probe result listener failed');
      }
    }
    const due = ts + slot.probe.intervalSec * 1000;
    slot.timer = this.clock.setTimeout(() => void this.fire(slot), Math.max(0, due - this.clock.now()));
  }
}
