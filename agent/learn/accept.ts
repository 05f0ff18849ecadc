import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { buildOnnx } from '../../models/onnx/builder.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { globalModelLabel, type EventBody } from '../../shared/protocol/messages.ts';
import { falsePositiveRate, saveModelInService, splitHoldout } from './false-positives.ts';
import type { FleetModel } from './fleet-model.ts';
import type { LearnConfig } from './learn-config.ts';
import type { ModelHost } from './local-tuning.ts';
import { cpuPacer } from './pacer.ts';
import { DEFAULT_TRAIN } from './trainer.ts';

export const ACCEPT_METRIC = 'homeostat_learn_global_models_total';

export type AcceptResult =
  | { ok: true; version: string; fprCurrent: number | null; fprCandidate: number | null; samples: number }
  | { ok: false; reason: 'not_enough_data' | 'worse' | 'refused' | 'failed'; detail: string };

export interface AcceptanceOptions {
  config: Pick<LearnConfig, 'cpuShare'> & { accept: LearnConfig['accept'] };
  host: ModelHost;
  /** This node's most recent normal samples (at most `limit`), oldest first, row-major. */
  samples: (limit: number) => Float32Array;
  featureVersion: number;
  /** Where the accepted model is kept, so a restart runs it (the detector's learned model path). */
  modelDir: string;
  emit: (body: EventBody) => void;
  /** After a model went into service (the agent republishes its status, which names the model). */
  onSwapped?: () => void;
  log: Logger;
  counters: Counters;
  now?: () => number;
}

/**
 * Whether a new global model may go into service on this node. Its layer weights are the fleet's;
 * its normalisation is this node's own (mean/std of the node's recent normal samples, errScale of
 * the model in service). It is accepted when, on the node's held-out recent data, it flags no more
 * than `accept.maxFprIncrease` more windows than the current model, each at a threshold calibrated
 * the same way. Accepted → detector.swapModel (between two ticks) and saved; refused → the current
 * model stays, and the log, a counter and an event say why.
 */
export class GlobalModelAcceptance {
  private readonly now: () => number;

  constructor(private readonly o: AcceptanceOptions) {
    this.now = o.now ?? Date.now;
    o.counters.define(ACCEPT_METRIC, 'Global models considered for service, by result (accepted, worse, not_enough_data, refused, failed)');
  }

  async consider(g: FleetModel, signal?: AbortSignal): Promise<AcceptResult> {
    const r = await this.decide(g, signal).catch((e: unknown): AcceptResult => ({ ok: false, reason: 'failed', detail: (e as Error).message }));
    this.report(g, r);
    return r;
  }

  private async decide(g: FleetModel, signal?: AbortSignal): Promise<AcceptResult> {
    const c = this.o.config.accept;
    const current = this.o.host.currentModel();
    const f = g.model.features;
    const rows = this.o.samples(c.maxSamples);
    const n = rows.length / f;
    if (current && n < c.minSamples) {
      return { ok: false, reason: 'not_enough_data', detail: `${n} normal samples, learn.accept.minSamples is ${c.minSamples}: kept ${current.version}` };
    }
    const pause = cpuPacer(this.o.config.cpuShare, signal);
    const { calibration, holdout } = splitHoldout(rows, f, g.model.window);
    const local = n >= c.minSamples ? meanStd(calibration, f, DEFAULT_TRAIN.stdFloor) : null;
    const candidate: AutoencoderModel = {
      ...g.model,
      // With too little data of its own (and no model in service) the fleet's normalisation is the best there is.
      mean: local ? Float32Array.from(local.mean) : g.model.mean,
      std: local ? Float32Array.from(local.std) : g.model.std,
      errScale: current && current.model.features === f ? current.model.errScale.slice() : g.model.errScale,
    };
    let fprCurrent: number | null = null;
    let fprCandidate: number | null = null;
    if (current) {
      fprCurrent = await falsePositiveRate(current.model, calibration, holdout, pause);
      fprCandidate = await falsePositiveRate(candidate, calibration, holdout, pause);
      const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
      if (fprCandidate > fprCurrent + c.maxFprIncrease) {
        return { ok: false, reason: 'worse', detail: `it flags ${pct(fprCandidate)} of this node's held-out normal windows, ${current.version} ${pct(fprCurrent)} (allowed increase ${pct(c.maxFprIncrease)}): kept ${current.version}` };
      }
    }
    const version = globalModelLabel(g.version);
    const bytes = buildOnnx(candidate, {
      version,
      featureVersion: this.o.featureVersion,
      createdAt: new Date(this.now()).toISOString(),
      training: { fleetVersion: g.version, round: g.roundId, fleetSha256: g.sha256, normalisation: local ? `local, ${n} samples` : 'fleet', fprHoldout: fprCandidate },
      description: `fleet model v${g.version} with this node's own normalisation`,
    });
    const swap = await this.o.host.swapModel(bytes, version);
    if (!swap.ok) return { ok: false, reason: 'refused', detail: swap.message };
    this.persist(bytes);
    this.o.onSwapped?.();
    return { ok: true, version, fprCurrent, fprCandidate, samples: n };
  }

  private persist(bytes: Uint8Array): void {
    const err = saveModelInService(this.o.modelDir, bytes);
    if (err) this.o.log.error({ err }, 'the global model is in service but could not be saved; a restart falls back to the previous file');
  }

  private report(g: FleetModel, r: AcceptResult): void {
    this.o.counters.inc(ACCEPT_METRIC, { result: r.ok ? 'accepted' : r.reason });
    const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)} %`);
    if (r.ok) {
      this.o.log.info({ version: r.version, fprCurrent: r.fprCurrent, fprCandidate: r.fprCandidate }, 'global model accepted and swapped in');
      this.o.emit({ type: 'notice', severity: 'info', summary: `global model v${g.version} in service (held-out false positives ${pct(r.fprCandidate)} vs ${pct(r.fprCurrent)} before)`, data: { fleetVersion: g.version, ...r } });
    } else {
      this.o.log.warn({ fleetVersion: g.version, reason: r.reason, detail: r.detail }, 'global model not put in service; the current model stays');
      this.o.emit({ type: 'notice', severity: r.reason === 'failed' ? 'warning' : 'info', summary: `global model v${g.version} not put in service (${r.reason}): ${r.detail}`, data: { fleetVersion: g.version, ...r } });
    }
  }
}
