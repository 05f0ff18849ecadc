import { existsSync } from 'node:fs';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { LinuxSource } from './linux-source.ts';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SampleSource {
  read(now: number): number[] | Promise<number[]>;
}

export interface SamplerOptions {
  intervalMs: number;
  log: Logger;
  counters: Counters;
  clock?: Clock;
  source?: SampleSource;
}

export interface SamplerStats {
  ticks: number;
  skipped: number;
  errors: number;
  tickMsLast: number;
  tickMsMax: number;
  tickMsMean: number;
}

/** Thrown at start on hosts the sampler cannot read (no /proc). */
export class UnsupportedPlatformError extends Error {
  readonly expected = true;
}

/**
 * Samples on a drift-free grid: tick k is due at start + k·interval, whatever earlier ticks
 * took, so a 1 s sampler stays on the second for days (setInterval drifts by each callback's
 * delay). Ticks never overlap: a slot that comes while a tick still runs is counted as skipped
 * and not queued, so a slow disk never turns into a burst of catch-up reads.
 */
export class Sampler {
  private readonly clock: Clock;
  private source: SampleSource | null = null;
  private readonly listeners: Array<(s: { ts: number; v: number[] }) => void> = [];
  private timer: unknown = null;
  private running = false;
  private busy = false;
  private startAt = 0;
  private slot = 0;
  private readonly errorsSeen = new Set<string>();
  private readonly st: SamplerStats = { ticks: 0, skipped: 0, errors: 0, tickMsLast: 0, tickMsMax: 0, tickMsMean: 0 };

  constructor(private readonly o: SamplerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  onSample(fn: (s: { ts: number; v: number[] }) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    const c = this.o.counters;
    c.define('homeostat_sampler_ticks_total', 'Sampler ticks that produced a sample');
    c.define('homeostat_sampler_ticks_skipped_total', 'Sampler slots skipped because the previous tick was still running');
    c.define('homeostat_sampler_errors_total', 'Sampler ticks whose source read failed');
    if (!this.o.source && !existsSync('/proc/stat')) {
      throw new UnsupportedPlatformError(`the sampler reads /proc, which ${process.platform} does not have: run the agent on Linux`);
    }
    this.source = this.o.source ?? new LinuxSource();
    this.running = true;
    this.startAt = this.clock.now();
    this.slot = 0;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  stats(): SamplerStats {
    return { ...this.st };
  }

  private schedule(): void {
    if (!this.running) return;
    const due = this.startAt + this.slot * this.o.intervalMs;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    if (!this.running) return;
    const now = this.clock.now();
    // Every slot whose time has passed is consumed now; all but one of them were missed.
    const due = Math.floor((now - this.startAt) / this.o.intervalMs);
    const missed = Math.max(0, due - this.slot);
    this.slot = due + 1;
    if (this.busy) {
      this.skip(missed + 1);
    } else {
      if (missed > 0) this.skip(missed);
      void this.tick(now);
    }
    this.schedule();
  }

  private skip(n: number): void {
    this.st.skipped += n;
    this.o.counters.inc('homeostat_sampler_ticks_skipped_total', {}, n);
  }

  private async tick(ts: number): Promise<void> {
    this.busy = true;
    const t0 = performance.now();
    try {
      const v = await this.source!.read(ts);
      this.st.ticks++;
      this.o.counters.inc('homeostat_sampler_ticks_total');
      for (const fn of this.listeners) fn({ ts, v });
    } catch (e) {
      this.st.errors++;
      this.o.counters.inc('homeostat_sampler_errors_total');
      const msg = (e as Error).message;
      // Log each distinct failure once: a broken source must not flood the log every second.
      if (!this.errorsSeen.has(msg)) {
        this.errorsSeen.add(msg);
        this.o.log.error({ err: msg }, 'sampling failed; will keep trying every tick');
      }
    } finally {
      const ms = performance.now() - t0;
      this.st.tickMsLast = ms;
      this.st.tickMsMax = Math.max(this.st.tickMsMax, ms);
      this.st.tickMsMean += (ms - this.st.tickMsMean) / Math.max(1, this.st.ticks + this.st.errors);
      this.busy = false;
    }
  }
}
