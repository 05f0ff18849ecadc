import { z } from 'zod';

/**
 * Anomaly threshold from the node's own recent scores: SPOT, the peaks-over-threshold method of
 * Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017. Scores above
 * a high empirical quantile t follow, by the Pickands–Balkema–de Haan theorem, a Generalized
 * Pareto Distribution; fitted to those peaks it extrapolates the threshold z_q that a normal
 * score exceeds with probability q, far beyond what the data could show directly.
 *
 * The GPD is fitted by probability-weighted moments (Hosking & Wallis, Technometrics 1987)
 * rather than SPOT's Grimshaw maximum likelihood: closed form, no root search, never fails to
 * converge, and as accurate for the small peak counts (tens) a node has; it needs shape < 0.5,
 * which score tails of a trained autoencoder meet (finite variance).
 */
export const ThresholdOptionsSchema = z
  .strictObject({
    /** Scores needed before any threshold: 300 = 5 min at 1 Hz. Until then: warming up. */
    warmup: z.number().int().min(10).default(300),
    /** Recent normal scores kept; the oldest is overwritten at the limit (counted). 3600 = 1 h at 1 Hz. */
    capacity: z.number().int().min(10).default(3600),
    /** SPOT's initial threshold t: this empirical quantile of the scores. */
    level: z.number().gt(0.5).lt(1).default(0.98),
    /**
     * SPOT's risk q: the chance that a normal score exceeds the threshold. 1e-2, not SPOT's usual
     * 1e-4: replaying the agent's loop on SMD (models/eval/sweep-threshold.ts, docs/detection.md
     * "The agent's threshold on SMD") gave mean F1 0.307 at 1e-2 against 0.074 at 1e-4, whose
     * heavy-tailed extrapolation ended the threshold at 73–106 on three machines whose best-F1
     * thresholds are 4–42. With level 0.98, q·n/N_t = 0.5, so the threshold stays inside the
     * observed tail (about the 99th percentile of recent normal scores); the k-of-n debounce, not
     * q, keeps single crossings from alarming.
     */
    risk: z.number().gt(0).lt(0.5).default(1e-2),
    /** Fewer peaks over t than this and the GPD fit is not trusted: fall back to a plain quantile. */
    minPeaks: z.number().int().min(3).default(10),
    /** The plain quantile used while too few peaks exist. */
    fallbackLevel: z.number().gt(0.5).lt(1).default(0.999),
    /** Recompute the threshold after this many new scores (60 = once a minute at 1 Hz). */
    recalibrateEvery: z.number().int().min(1).default(60),
    /**
     * Scores over this bound are not learned once a threshold exists (counted as `refused`):
     * `none` learns every score it is given; `initial` refuses those over SPOT's initial level t;
     * `threshold` those over the threshold itself. Guards against the threshold creeping up on
     * undetected anomalous scores, but on SMD (models/eval/sweep-threshold.ts) both lowered F1
     * @ SPOT: a tail cut at each recalibration ratchets the threshold down. Hence `none`.
     */
    learnCeiling: z.enum(['none', 'initial', 'threshold']).default('none'),
  })
  .refine((o) => o.warmup <= o.capacity, { message: 'warmup must not exceed capacity' });
export type ThresholdOptions = z.infer<typeof ThresholdOptionsSchema>;
export type ThresholdOptionsInput = z.input<typeof ThresholdOptionsSchema>;

/** Empirical quantile with linear interpolation between order statistics (Hyndman & Fan type 7). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile of an empty sample');
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface Gpd {
  /** ξ (SPOT's γ): 0 is an exponential tail, > 0 heavier, < 0 bounded. */
  shape: number;
  /** σ > 0. */
  scale: number;
}

/**
 * GPD fit by probability-weighted moments. `excesses` are peaks minus t (all > 0). With
 * a0 = mean and a1 = mean of (1 − p_i)·y_(i), p_i = (i − 0.35)/n over the ascending order
 * statistics: k = a0/(a0 − 2a1) − 2, σ = 2·a0·a1/(a0 − 2a1), and ξ = −k (Hosking & Wallis's k
 * has the opposite sign). Returns null when the sample cannot give a valid fit.
 */
export function fitGpdPwm(excesses: readonly number[]): Gpd | null {
  const n = excesses.length;
  if (n < 2) return null;
  const y = [...excesses].sort((a, b) => a - b);
  let a0 = 0;
  let a1 = 0;
  for (let i = 0; i < n; i++) {
    a0 += y[i]!;
    a1 += (1 - (i + 1 - 0.35) / n) * y[i]!;
  }
  a0 /= n;
  a1 /= n;
  const d = a0 - 2 * a1;
  if (!(a0 > 0) || !(d > 0)) return null;
  const scale = (2 * a0 * a1) / d;
  const shape = -(a0 / d - 2);
  return scale > 0 && Number.isFinite(shape) ? { shape, scale } : null;
}

export interface Calibration {
  threshold: number;
  /** `spot`: GPD extrapolation; `quantile`: the fallback (too few peaks or no valid fit). */
  method: 'spot' | 'quantile';
  /** SPOT's initial threshold t. */
  initial: number;
  peaks: number;
  n: number;
  gpd: Gpd | null;
}

/**
 * SPOT's initialisation step (Siffer et al. 2017, Algorithm 1) on a batch of scores:
 * z_q = t + (σ/γ)·((q·n/N_t)^(−γ) − 1), or t − σ·ln(q·n/N_t) as γ → 0.
 */
export function calibrate(scores: ArrayLike<number>, o: Pick<ThresholdOptions, 'level' | 'risk' | 'minPeaks' | 'fallbackLevel'>): Calibration {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const t = quantile(sorted, o.level);
  const excesses: number[] = [];
  for (let i = n - 1; i >= 0 && sorted[i]! > t; i--) excesses.push(sorted[i]! - t);
  const gpd = excesses.length >= o.minPeaks ? fitGpdPwm(excesses) : null;
  if (!gpd) return { threshold: quantile(sorted, o.fallbackLevel), method: 'quantile', initial: t, peaks: excesses.length, n, gpd: null };
  const r = (o.risk * n) / excesses.length;
  const z = Math.abs(gpd.shape) < 1e-9 ? t - gpd.scale * Math.log(r) : t + (gpd.scale / gpd.shape) * (Math.pow(r, -gpd.shape) - 1);
  // Below t the GPD says nothing (it models only the tail past t): a risk looser than the
  // initial level cannot put the threshold under t.
  return { threshold: Math.max(t, z), method: 'spot', initial: t, peaks: excesses.length, n, gpd };
}

export interface ThresholdStatus {
  state: 'warming-up' | 'ready';
  threshold: number | null;
  scores: number;
  needed: number;
  overwritten: number;
  /** Scores not learned because they were over `learnCeiling`. */
  refused: number;
  last: Calibration | null;
}

/**
 * Keeps a bounded ring of recent normal scores and recalibrates from it periodically. The
 * caller decides what is normal: the detector leaves out scores taken while an anomaly is open.
 */
export class ThresholdCalibrator {
  readonly options: ThresholdOptions;
  private readonly ring: Float64Array;
  private size = 0;
  private next = 0;
  private sinceCalibration = 0;
  private overwritten = 0;
  private refused = 0;
  private current: Calibration | null = null;

  constructor(options: ThresholdOptionsInput = {}) {
    this.options = ThresholdOptionsSchema.parse(options);
    this.ring = new Float64Array(this.options.capacity);
  }

  /** Adds one normal score; returns true when this add recalibrated the threshold. */
  add(score: number): boolean {
    if (!Number.isFinite(score)) return false;
    const ceiling = this.options.learnCeiling;
    if (this.current && ceiling !== 'none' && score > (ceiling === 'initial' ? this.current.initial : this.current.threshold)) {
      this.refused++;
      return false;
    }
    if (this.size === this.ring.length) this.overwritten++;
    else this.size++;
    this.ring[this.next] = score;
    this.next = (this.next + 1) % this.ring.length;
    this.sinceCalibration++;
    if (this.size < this.options.warmup) return false;
    if (this.current && this.sinceCalibration < this.options.recalibrateEvery) return false;
    this.current = calibrate(this.ring.subarray(0, this.size), this.options);
    this.sinceCalibration = 0;
    return true;
  }

  /** null while warming up. */
  get threshold(): number | null {
    return this.current?.threshold ?? null;
  }

  status(): ThresholdStatus {
    return {
      state: this.current ? 'ready' : 'warming-up',
      threshold: this.threshold,
      scores: this.size,
      needed: this.options.warmup,
      overwritten: this.overwritten,
      refused: this.refused,
      last: this.current,
    };
  }
}
