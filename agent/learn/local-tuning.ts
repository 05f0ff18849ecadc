import { z } from 'zod';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { buildOnnx } from '../../models/onnx/builder.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import type { EventBody } from '../../shared/protocol/messages.ts';
import type { AgentStore } from '../store/store.ts';
import { falsePositiveRate, saveModelInService, splitHoldout } from './false-positives.ts';
import { cpuPacer } from './pacer.ts';
import { DEFAULT_TRAIN, train } from './trainer.ts';

/** `detect.tuning` in the agent config: when and how the agent retrains its model on local data. */
export const LocalTuningConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often to retrain once enough data exists. */
  everyHours: z.number().positive().max(24 * 30).default(24),
  /** Normal samples needed before the first retrain (3,600 = one hour at 1 Hz). */
  minSamples: z.number().int().min(200).default(3600),
  /** The most recent normal samples used (86,400 = one day at 1 Hz). */
  maxSamples: z.number().int().min(200).max(2_000_000).default(86_400),
  epochs: z.number().int().min(1).max(100).default(5),
  /** Share of one core training may use, averaged; it yields every 10 ms whatever this says. */
  cpuShare: z.number().gt(0).max(1).default(0.25),
  /** The candidate's false-positive rate on held-out normal data may exceed the current model's by at most this. */
  maxFprIncrease: z.number().min(0).max(1).default(0.02),
});
export type LocalTuningConfig = z.infer<typeof LocalTuningConfigSchema>;

export type TuneResult =
  | { ok: true; version: string; fprCurrent: number; fprCandidate: number; samples: number; ms: number }
  | { ok: false; reason: 'not_enough_data' | 'no_model' | 'worse' | 'refused' | 'failed' | 'cancelled'; detail: string };

export interface ModelHost {
  currentModel(): { model: AutoencoderModel; version: string } | null;
  swapModel(bytes: Uint8Array, label: string): Promise<{ ok: true; version: string } | { ok: false; message: string }>;
}

export interface LocalTunerOptions {
  config: LocalTuningConfig;
  store: AgentStore;
  detector: ModelHost;
  featureVersion: number;
  /** Where the accepted model is kept, so a restart runs it rather than the base model. */
  modelDir: string;
  emit: (body: EventBody) => void;
  log: Logger;
  counters: Counters;
  now?: () => number;
}

/**
 * Local fine-tuning: the agent retrains its model on its own recent normal samples (those the
 * detector did not flag), with its own normalisation, in the background, and swaps the result in
 * only when it is no worse on data it did not train on.
 */
export class LocalTuner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<TuneResult> | null = null;
  /** Aborted by stop(): a retrain in progress ends at its next slice instead of holding the agent's shutdown. */
  private readonly abort = new AbortController();
  private lastRun = 0;
  private readonly now: () => number;

  constructor(private readonly o: LocalTunerOptions) {
    this.now = o.now ?? Date.now;
    o.counters.define('homeostat_learn_local_runs_total', 'Local fine-tuning runs by result (accepted, not_enough_data, worse, refused, failed, cancelled)');
  }

  /** Checks hourly (or sooner for short periods) whether a retrain is due. */
  start(): void {
    const everyMs = this.o.config.everyHours * 3_600_000;
    const check = Math.min(everyMs, 3_600_000);
    this.lastRun = this.now();
    this.timer = setInterval(() => {
      if (this.now() - this.lastRun >= everyMs) void this.runOnce();
    }, check);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort(new Error('agent stopping'));
    await this.running;
  }

  /** One retrain; concurrent calls share the run in progress. */
  runOnce(): Promise<TuneResult> {
    this.running ??= this.tune()
      .catch((e: unknown): TuneResult => (this.abort.signal.aborted ? { ok: false, reason: 'cancelled', detail: 'the agent is stopping' } : { ok: false, reason: 'failed', detail: (e as Error).message }))
      .then((r) => {
        this.lastRun = this.now();
        this.report(r);
        return r;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async tune(): Promise<TuneResult> {
    const c = this.o.config;
    const t0 = performance.now();
    const current = this.o.detector.currentModel();
    if (!current) return { ok: false, reason: 'no_model', detail: 'no model in service to fine-tune from' };
    const f = current.model.features;
    // Training wants the recent past: the newest samples, in time order.
    const all = this.o.store.recentRows(c.maxSamples, { excludeAnomalous: true, featureVersion: this.o.featureVersion, features: f });
    const n = all.length / f;
    if (n < c.minSamples) return { ok: false, reason: 'not_enough_data', detail: `${n} normal samples, ${c.minSamples} needed` };
    const { calibration: trainRows, holdout } = splitHoldout(all, f, current.model.window);
    const pause = cpuPacer(c.cpuShare, this.abort.signal);
    // Normalisation stays local: this node's own mean/std, the fleet's (or base) weights as the start.
    const { mean, std } = meanStd(trainRows, f, DEFAULT_TRAIN.stdFloor);
    const start: AutoencoderModel = { ...current.model, mean: Float32Array.from(mean), std: Float32Array.from(std) };
    const candidate = await train(trainRows, f, { epochs: c.epochs, patience: 2, yieldEveryMs: 10, pause }, start);

    const fprCurrent = await falsePositiveRate(current.model, trainRows, holdout, pause);
    const fprCandidate = await falsePositiveRate(candidate, trainRows, holdout, pause);
    const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
    if (fprCandidate > fprCurrent + c.maxFprIncrease) {
      return { ok: false, reason: 'worse', detail: `candidate flags ${pct(fprCandidate)} of held-out normal windows, the current model ${pct(fprCurrent)} (allowed increase ${pct(c.maxFprIncrease)}): kept the current model` };
    }
    const version = `local-${new Date(this.now()).toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
    const bytes = buildOnnx(candidate, {
      version,
      featureVersion: this.o.featureVersion,
      createdAt: new Date(this.now()).toISOString(),
      training: { from: current.version, samples: n, epochs: c.epochs, fprHoldout: fprCandidate },
      description: `fine-tuned on this node's own ${n} normal samples from ${current.version}`,
    });
    const swap = await this.o.detector.swapModel(bytes, version);
    if (!swap.ok) return { ok: false, reason: 'refused', detail: swap.message };
    this.persist(bytes);
    return { ok: true, version, fprCurrent, fprCandidate, samples: n, ms: Math.round(performance.now() - t0) };
  }

  private persist(bytes: Uint8Array): void {
    const err = saveModelInService(this.o.modelDir, bytes);
    if (err) this.o.log.error({ err }, 'the retrained model is in service but could not be saved; a restart falls back to the previous file');
  }

  private report(r: TuneResult): void {
    this.o.counters.inc('homeostat_learn_local_runs_total', { result: r.ok ? 'accepted' : r.reason });
    if (r.ok) {
      this.o.log.info(r, 'model retrained on local data and swapped in');
      this.o.emit({ type: 'notice', severity: 'info', summary: `model retrained on ${r.samples} local normal samples: ${r.version} in service (held-out false positives ${(100 * r.fprCandidate).toFixed(2)} % vs ${(100 * r.fprCurrent).toFixed(2)} % before)`, data: { ...r } });
    } else if (r.reason === 'not_enough_data' || r.reason === 'cancelled') {
      this.o.log.info({ reason: r.reason, detail: r.detail }, 'local retrain skipped');
    } else {
      this.o.log.warn({ reason: r.reason, detail: r.detail }, 'local retrain not applied; the current model stays');
      this.o.emit({ type: 'notice', severity: r.reason === 'failed' ? 'warning' : 'info', summary: `local retrain not applied (${r.reason}): ${r.detail}`, data: { ...r } });
    }
  }
}
