import type { TelemetryBody } from '../../shared/protocol/messages.ts';

/**
 * Running stats per feature over one telemetry interval: O(features) memory whatever the
 * sampling rate, so the coordinator gets a summary, never the raw samples.
 */
export class TelemetryWindow {
  private from = 0;
  private to = 0;
  private n = 0;
  private min: Float64Array;
  private max: Float64Array;
  private sum: Float64Array;
  private last: Float64Array;

  constructor(private readonly names: readonly string[]) {
    const f = names.length;
    this.min = new Float64Array(f);
    this.max = new Float64Array(f);
    this.sum = new Float64Array(f);
    this.last = new Float64Array(f);
  }

  add(ts: number, v: ArrayLike<number>): void {
    if (this.n === 0) {
      this.from = ts;
      this.min.fill(Infinity);
      this.max.fill(-Infinity);
      this.sum.fill(0);
    }
    for (let i = 0; i < this.names.length; i++) {
      const x = v[i]!;
      if (x < this.min[i]!) this.min[i] = x;
      if (x > this.max[i]!) this.max[i] = x;
      this.sum[i]! += x;
      this.last[i] = x;
    }
    this.to = ts;
    this.n++;
  }

  get samples(): number {
    return this.n;
  }

  /** The summary of what was added since the last take, and a fresh window; null when empty. */
  take(): Pick<TelemetryBody, 'from' | 'to' | 'samples' | 'metrics'> | null {
    if (this.n === 0) return null;
    const metrics: TelemetryBody['metrics'] = {};
    this.names.forEach((name, i) => {
      metrics[name] = { min: this.min[i]!, max: this.max[i]!, mean: this.sum[i]! / this.n, last: this.last[i]! };
    });
    const out = { from: this.from, to: this.to, samples: this.n, metrics };
    this.n = 0;
    return out;
  }
}
