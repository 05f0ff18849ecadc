import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { AnomalyEventSchema, type AnomalyEvent, type Contributor } from '../../shared/protocol/anomaly.ts';
import { newMessageId } from '../../shared/protocol/ids.ts';
import { debounceStep, DebounceOptionsSchema, INITIAL_DEBOUNCE, type DebounceState } from './debounce.ts';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { ModelRefusedError, openModel, runModel, type LoadedModel, type ModelExpectation, type RefusalReason } from './model-file.ts';
import { SampleHistory } from './sample-history.ts';
import { ThresholdCalibrator, ThresholdOptionsSchema } from './threshold.ts';

/**
 * The shipped base model, resolved from this source file. A bundle (dist/) must pass
 * `baseModelPath` itself: import.meta.url then points into dist/.
 */
export const DEFAULT_BASE_MODEL_PATH = fileURLToPath(new URL('../../models/base/homeostat-base-v1.onnx', import.meta.url));

/** Windows scored per session run when a new model re-scores the recent history. */
const RESCORE_BATCH = 256;

/** The detector's tunables, for the agent config (`detect:`). */
export const DetectConfigSchema = z.strictObject({
  /** A model file to run instead of the shipped base model. */
  modelPath: z.string().min(1).optional(),
  threshold: ThresholdOptionsSchema.prefault({}),
  /**
   * k of n counts scored windows, not samples: one outlier sample sits in W consecutive windows,
   * so only k > W keeps a one-sample blip from opening an anomaly.
   */
  debounce: DebounceOptionsSchema.prefault({}),
  /** Contributors listed in an anomaly event. */
  topK: z.number().int().min(1).max(5).default(3),
  /** Normal range of a feature in events: model mean ± normalRangeK · std. */
  normalRangeK: z.number().positive().default(3),
  /** Samples waiting to be scored; at the limit the oldest is dropped (counted). 300 = 5 min at 1 Hz. */
  queueLimit: z.number().int().min(1).default(300),
  /** An open anomaly reports an `update` when its peak score reaches this multiple of the last reported score... */
  updateRatio: z.number().gt(1).default(1.5),
  /** ...and at least this many ticks have passed since the last event. */
  updateMinTicks: z.number().int().min(1).default(10),
});
export type DetectConfig = z.infer<typeof DetectConfigSchema>;
export type DetectConfigInput = z.input<typeof DetectConfigSchema>;

export interface ScoredTick {
  ts: number;
  score: number;
  /** null while warming up. */
  threshold: number | null;
  over: boolean;
  anomalyOpen: boolean;
  modelVersion: string;
}

export interface DetectorOptions {
  expect: ModelExpectation;
  config?: DetectConfigInput;
  baseModelPath?: string;
  /** The model this node retrained for itself (agent/learn/local-tuning.ts): preferred to the base model when present. */
  learnedModelPath?: string;
  log: Logger;
  counters: Counters;
  onAnomaly: (e: AnomalyEvent) => void;
  /** Every scored window, in order (telemetry score percentiles, tests). */
  onScore?: (t: ScoredTick) => void;
  /** Anomaly ids; defaults to UUIDv7-shaped ids at the sample's time. */
  newId?: (ts: number) => string;
}

export type ModelOrigin = 'configured' | 'learned' | 'base' | 'swapped';

export type SwapResult = { ok: true; version: string } | { ok: false; reason: RefusalReason | 'stopped'; message: string };

export interface DetectorStatus {
  state: 'stopped' | 'no-model' | 'warming-up' | 'ready';
  modelVersion: string | null;
  modelSource: string | null;
  modelOrigin: ModelOrigin | null;
  threshold: number | null;
  /** How the threshold was set: SPOT's tail fit or the plain-quantile fallback; null while warming up. */
  calibration: 'spot' | 'quantile' | null;
  calibrationScores: number;
  calibrationNeeded: number;
  lastScore: number | null;
  anomalyOpen: boolean;
  queued: number;
}

interface Tick {
  seq: number;
  ts: number;
  v: readonly number[];
}

interface OpenAnomaly {
  id: string;
  openedAt: number;
  /** The threshold it opened at: reported while a swapped-in model's calibrator is still warming up. */
  threshold: number;
  peak: number;
  peakTop: Contributor[];
  reported: number;
  ticksSinceReport: number;
}

/**
 * Scores the agent's samples with one ORT session: keeps the recent samples, scores one window
 * per tick (a batch when several samples queued up), calibrates its threshold from its own
 * normal scores, debounces, and reports anomalies with their top contributing features.
 * Session work (scoring, swapping) is serialised, so a swap lands between two ticks and the
 * samples that arrive meanwhile queue and are scored after it, none dropped.
 */
export class Detector {
  readonly config: DetectConfig;
  private loaded: LoadedModel | null = null;
  private origin: ModelOrigin | null = null;
  private calibrator: ThresholdCalibrator;
  private history: SampleHistory | null = null;
  private debounce: DebounceState = INITIAL_DEBOUNCE;
  /** Scores held back n ticks before calibration learns them, so the ticks that open an anomaly are never learned as normal. */
  private pending: Array<{ seq: number; score: number }> = [];
  private anomaly: OpenAnomaly | null = null;
  private queue: Array<{ ts: number; v: readonly number[] }> = [];
  private exclusiveTail: Promise<void> = Promise.resolve();
  private drainScheduled = false;
  private running = false;
  private lastScore: number | null = null;
  private readonly errorsSeen = new Set<string>();

  constructor(private readonly o: DetectorOptions) {
    this.config = DetectConfigSchema.parse(o.config ?? {});
    this.calibrator = new ThresholdCalibrator(this.config.threshold);
  }

  async start(): Promise<void> {
    const c = this.o.counters;
    c.define('homeostat_detect_windows_scored_total', 'Windows the detector scored');
    c.define('homeostat_detect_batches_total', 'Session runs of the detector (one per tick, fewer when catching up)');
    c.define('homeostat_detect_samples_dropped_total', 'Samples dropped unscored because the detector queue was full (oldest first)');
    c.define('homeostat_detect_samples_rejected_total', 'Samples refused by the detector: wrong width or non-finite values');
    c.define('homeostat_detect_score_errors_total', 'Session runs that failed; their windows went unscored');
    c.define('homeostat_detect_models_refused_total', 'Model files refused, by reason');
    c.define('homeostat_detect_model_swaps_total', 'Models swapped into service while running');
    c.define('homeostat_detect_anomaly_events_total', 'Anomaly events, by state');
    c.define('homeostat_detect_score', 'Latest anomaly score', 'gauge');
    c.define('homeostat_detect_threshold', 'Current anomaly threshold (0 while warming up)', 'gauge');
    this.running = true;
    const configured = this.config.modelPath;
    if (configured) {
      const m = await this.tryOpen(configured);
      if (!(m instanceof ModelRefusedError)) this.install(m, 'configured', null);
      else this.o.log.error({ model: configured }, 'configured model refused at startup; falling back to the shipped base model');
    }
    const learned = this.o.learnedModelPath;
    if (!this.loaded && learned && existsSync(learned)) {
      const m = await this.tryOpen(learned);
      if (!(m instanceof ModelRefusedError)) this.install(m, 'learned', null);
      else this.o.log.error({ model: learned }, 'locally retrained model refused at startup; falling back to the shipped base model');
    }
    if (!this.loaded) {
      const base = this.o.baseModelPath ?? DEFAULT_BASE_MODEL_PATH;
      const m = await this.tryOpen(base);
      if (!(m instanceof ModelRefusedError)) this.install(m, 'base', null);
      else this.o.log.error({ model: base }, 'base model refused: the detector runs without a model, samples are not scored');
    }
    if (!this.running) {
      // stop() came while a model was loading.
      await this.releaseModel();
      return;
    }
    if (this.loaded) this.o.log.info({ model: this.loaded.source, version: this.loaded.meta.version, origin: this.origin }, 'detector started');
    this.kick();
  }

  /** The weights in service (for fine-tuning from them), or null without a model. */
  currentModel(): { model: AutoencoderModel; version: string } | null {
    return this.loaded ? { model: this.loaded.model, version: this.loaded.meta.version } : null;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue = [];
    await this.exclusive(() => this.releaseModel());
  }

  /** Queues one sample (the sampler's `v`, in the agent's feature order); scoring is asynchronous. */
  push(sample: { ts: number; v: readonly number[] }): void {
    if (!this.running) return;
    const F = this.o.expect.featureNames.length;
    if (sample.v.length !== F || !sample.v.every(Number.isFinite)) {
      this.o.counters.inc('homeostat_detect_samples_rejected_total');
      this.logOnce(`sample of ${sample.v.length} values (expected ${F} finite) refused`);
      return;
    }
    if (this.queue.length >= this.config.queueLimit) {
      this.queue.shift();
      this.o.counters.inc('homeostat_detect_samples_dropped_total');
    }
    this.queue.push({ ts: sample.ts, v: [...sample.v] });
    this.kick();
  }

  /** Resolves once every sample queued so far has been scored (tests, orderly shutdown). */
  idle(): Promise<void> {
    return this.exclusive(async () => {});
  }

  /**
   * Validates a new model fully (parse, compatibility, ORT session, test inference, then scores
   * the recent normal history to calibrate its own threshold) and only then puts it in service,
   * between two ticks. If anything fails, the current model stays.
   */
  async swapModel(src: string | Uint8Array, label = 'update'): Promise<SwapResult> {
    if (!this.running) return { ok: false, reason: 'stopped', message: 'detector is not running' };
    const next = await this.tryOpen(typeof src === 'string' ? src : { bytes: src, label });
    if (next instanceof ModelRefusedError) return { ok: false, reason: next.reason, message: next.message };
    let result: SwapResult = { ok: true, version: next.meta.version };
    await this.exclusive(async () => {
      if (!this.running) {
        await next.session.release();
        result = { ok: false, reason: 'stopped', message: 'detector stopped during the swap' };
        return;
      }
      let calibrator: ThresholdCalibrator;
      try {
        calibrator = await this.calibrateOnHistory(next);
      } catch (e) {
        await next.session.release();
        const err = new ModelRefusedError(next.source, 'failed', `scoring the recent history failed (${(e as Error).message})`);
        this.refused(err);
        result = { ok: false, reason: err.reason, message: err.message };
        return;
      }
      const previous = this.loaded;
      this.install(next, 'swapped', calibrator);
      await previous?.session.release();
      this.o.counters.inc('homeostat_detect_model_swaps_total');
      this.o.log.info({ model: next.source, version: next.meta.version, previous: previous?.meta.version, calibration: calibrator.status().scores }, 'model swapped in');
    });
    this.kick();
    return result;
  }

  status(): DetectorStatus {
    const t = this.calibrator.status();
    return {
      state: !this.running ? 'stopped' : !this.loaded ? 'no-model' : t.state,
      modelVersion: this.loaded?.meta.version ?? null,
      modelSource: this.loaded?.source ?? null,
      modelOrigin: this.origin,
      threshold: t.threshold,
      calibration: t.last?.method ?? null,
      calibrationScores: t.scores,
      calibrationNeeded: t.needed,
      lastScore: this.lastScore,
      anomalyOpen: this.anomaly !== null,
      queued: this.queue.length,
    };
  }

  /** Opens a model; a refusal is logged, counted and returned, never thrown. */
  private async tryOpen(src: string | { bytes: Uint8Array; label: string }): Promise<LoadedModel | ModelRefusedError> {
    try {
      return await openModel(src, this.o.expect);
    } catch (e) {
      const err = e instanceof ModelRefusedError ? e : new ModelRefusedError(typeof src === 'string' ? src : src.label, 'failed', (e as Error).message);
      this.refused(err);
      return err;
    }
  }

  private refused(err: ModelRefusedError): void {
    this.o.counters.inc('homeostat_detect_models_refused_total', { reason: err.reason });
    this.o.log.error({ model: err.source, reason: err.reason }, `${err.message}${this.loaded ? ` The current model (${this.loaded.meta.version}) stays in service.` : ''}`);
  }

  private install(m: LoadedModel, origin: ModelOrigin, calibrator: ThresholdCalibrator | null): void {
    const capacity = this.config.threshold.capacity + m.meta.window - 1;
    if (!this.history) this.history = new SampleHistory(m.meta.features, capacity);
    else this.history.grow(capacity);
    this.loaded = m;
    this.origin = origin;
    this.calibrator = calibrator ?? new ThresholdCalibrator(this.config.threshold);
    // Held-back scores came from the previous model: on a different scale, never learned.
    this.pending = [];
    this.o.counters.set('homeostat_detect_threshold', this.calibrator.threshold ?? 0);
  }

  private async releaseModel(): Promise<void> {
    const m = this.loaded;
    this.loaded = null;
    await m?.session.release();
  }

  /** A calibrator seeded with the new model's scores of the windows the current one judged normal. */
  private async calibrateOnHistory(next: LoadedModel): Promise<ThresholdCalibrator> {
    const calibrator = new ThresholdCalibrator(this.config.threshold);
    const h = this.history;
    if (!h) return calibrator;
    const { window: W, features: F } = next.meta;
    const ends: number[] = [];
    for (let seq = h.lastSeq - h.size + 1; seq <= h.lastSeq; seq++) if (h.isNormal(seq) && h.has(seq - W + 1)) ends.push(seq);
    for (let i = 0; i < ends.length; i += RESCORE_BATCH) {
      const chunk = ends.slice(i, i + RESCORE_BATCH);
      const x = new Float32Array(chunk.length * W * F);
      chunk.forEach((seq, j) => h.copyWindow(seq, W, x, j * W * F));
      const r = await runModel(next.session, next.meta, x, chunk.length);
      for (const s of r.score) calibrator.add(s);
    }
    return calibrator;
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.exclusiveTail.then(fn);
    this.exclusiveTail = run.catch(() => {});
    return run;
  }

  private kick(): void {
    if (this.drainScheduled || !this.loaded) return;
    this.drainScheduled = true;
    void this.exclusive(() => this.drain());
  }

  private async drain(): Promise<void> {
    this.drainScheduled = false;
    while (this.running && this.loaded && this.queue.length > 0) {
      const m = this.loaded;
      const h = this.history!;
      const { window: W, features: F } = m.meta;
      const ticks: Tick[] = [];
      for (const s of this.queue.splice(0)) {
        const seq = h.push(s.v);
        if (h.has(seq - W + 1)) ticks.push({ seq, ts: s.ts, v: s.v });
      }
      if (ticks.length === 0) continue;
      const x = new Float32Array(ticks.length * W * F);
      ticks.forEach((t, i) => h.copyWindow(t.seq, W, x, i * W * F));
      let r;
      try {
        r = await runModel(m.session, m.meta, x, ticks.length);
      } catch (e) {
        this.o.counters.inc('homeostat_detect_score_errors_total');
        this.logOnce(`scoring failed: ${(e as Error).message}`);
        continue;
      }
      this.o.counters.inc('homeostat_detect_batches_total');
      this.o.counters.inc('homeostat_detect_windows_scored_total', {}, ticks.length);
      ticks.forEach((t, i) => this.judge(m, t, r.score[i]!, r.contrib.subarray(i * F, (i + 1) * F)));
    }
  }

  private judge(m: LoadedModel, t: Tick, score: number, contrib: Float32Array): void {
    if (!Number.isFinite(score)) {
      this.o.counters.inc('homeostat_detect_score_errors_total');
      this.logOnce(`model ${m.meta.version} scored a window ${score}`);
      return;
    }
    this.lastScore = score;
    this.o.counters.set('homeostat_detect_score', score);
    // After a swap the new calibrator may still be warming up: an open anomaly keeps the
    // threshold it opened at, so it can still close.
    const threshold = this.calibrator.threshold ?? this.anomaly?.threshold ?? null;
    const over = threshold !== null && score > threshold;
    const step = debounceStep(this.debounce, over, this.config.debounce);
    this.debounce = step.state;
    if (step.transition === 'opened') {
      this.pending = [];
      const top = this.topContributors(m, t, contrib);
      this.anomaly = { id: (this.o.newId ?? newMessageId)(t.ts), openedAt: t.ts, threshold: threshold!, peak: score, peakTop: top, reported: score, ticksSinceReport: 0 };
      this.emit(m, 'open', score, top, threshold!);
    } else if (this.anomaly) {
      const a = this.anomaly;
      a.ticksSinceReport++;
      if (score > a.peak) {
        a.peak = score;
        a.peakTop = this.topContributors(m, t, contrib);
      }
      if (step.transition === 'closed') {
        this.emit(m, 'closed', a.peak, a.peakTop, threshold!, t.ts);
        this.anomaly = null;
      } else if (a.peak >= a.reported * this.config.updateRatio && a.ticksSinceReport >= this.config.updateMinTicks) {
        a.reported = a.peak;
        a.ticksSinceReport = 0;
        this.emit(m, 'update', a.peak, a.peakTop, threshold!);
      }
    } else {
      this.pending.push({ seq: t.seq, score });
      while (this.pending.length > this.config.debounce.n) {
        const p = this.pending.shift()!;
        this.calibrator.add(p.score);
        this.history!.markNormal(p.seq);
      }
      this.o.counters.set('homeostat_detect_threshold', this.calibrator.threshold ?? 0);
    }
    this.o.onScore?.({ ts: t.ts, score, threshold, over, anomalyOpen: this.anomaly !== null, modelVersion: m.meta.version });
  }

  private topContributors(m: LoadedModel, t: Tick, contrib: Float32Array): Contributor[] {
    const k = this.config.normalRangeK;
    const order = [...contrib.keys()].sort((a, b) => contrib[b]! - contrib[a]!);
    return order.slice(0, this.config.topK).map((f) => ({
      feature: m.meta.featureNames[f]!,
      contribution: contrib[f]!,
      value: t.v[f]!,
      normalLow: m.model.mean[f]! - k * m.model.std[f]!,
      normalHigh: m.model.mean[f]! + k * m.model.std[f]!,
    }));
  }

  private emit(m: LoadedModel, state: AnomalyEvent['state'], score: number, top: Contributor[], threshold: number, closedAt?: number): void {
    const a = this.anomaly!;
    const parsed = AnomalyEventSchema.safeParse({
      state,
      anomalyId: a.id,
      correlationId: a.id,
      score,
      threshold,
      modelVersion: m.meta.version,
      featureVersion: m.meta.featureVersion ?? this.o.expect.featureVersion,
      top,
      openedAt: a.openedAt,
      ...(closedAt !== undefined ? { closedAt } : {}),
    });
    if (!parsed.success) {
      this.logOnce(`anomaly event invalid, not sent: ${parsed.error.issues[0]?.message}`);
      return;
    }
    this.o.counters.inc('homeostat_detect_anomaly_events_total', { state });
    try {
      this.o.onAnomaly(parsed.data);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message, anomalyId: a.id, state }, 'anomaly handler failed; detection continues');
    }
  }

  /** A broken model or sampler must not flood the log once per second: each distinct failure once. */
  private logOnce(msg: string): void {
    if (this.errorsSeen.has(msg)) return;
    this.errorsSeen.add(msg);
    this.o.log.error(msg);
  }
}
