import { randomInt } from 'node:crypto';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { meanStd } from '../../models/autoencoder/standardize.ts';
import { weightDelta } from '../../models/autoencoder/weights.ts';
import { crc32 } from '../../shared/federation/crc32.ts';
import type { NamedTensor } from '../../shared/federation/tensor.ts';
import { l2Norm } from '../../shared/federation/tensor.ts';
import { encodeUpdate } from '../../shared/federation/update-codec.ts';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { encodeBinaryOutgoing } from '../../shared/protocol/codec.ts';
import type { RoundBody } from '../../shared/protocol/messages.ts';
import type { FleetModel, FleetModelKeeper } from './fleet-model.ts';
import type { LearnConfig } from './learn-config.ts';
import { cpuPacer, nextTurn } from './pacer.ts';
import { clipAndNoise } from './privatize.ts';
import { mulberry32 } from './rng.ts';
import { DEFAULT_TRAIN, train } from './trainer.ts';

export const PARTICIPANT_METRIC = 'homeostat_learn_rounds_total';
/** Wait between attempts to publish an update while the link is down (until the deadline). */
export const PUBLISH_RETRY_MS = 2_000;
/** Round ids remembered as handled, so a retained redelivery does not train twice. */
const REMEMBERED_ROUNDS = 16;

export type RoundResult =
  | { roundId: string; ok: true; bytes: number; numSamples: number; norm: number; clipped: boolean; ms: number }
  | { roundId: string; ok: false; reason: 'not_enough_data' | 'late' | 'failed' | 'not_sent' | 'cancelled'; detail: string };

export interface ParticipantOptions {
  agentId: string;
  config: Pick<LearnConfig, 'participate' | 'minSamples' | 'cpuShare'>;
  keeper: FleetModelKeeper;
  /** This node's most recent normal samples (at most `limit`), oldest first, row-major. Raw samples never leave the node. */
  samples: (limit: number) => Float32Array;
  publish: (out: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }) => Promise<void>;
  log: Logger;
  counters: Counters;
  now?: () => number;
  /** Uniform [0, 1) for the privacy noise. Default: freshly seeded from the OS for every update, so nobody can replay it. */
  noiseRand?: () => number;
  onResult?: (r: RoundResult) => void;
}

/** Why a run stopped early; it is the abort signal's reason, so the trainer's pause throws it. */
class Cancelled extends Error {
  constructor(
    readonly reason: 'late' | 'cancelled' | 'not_sent',
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * The agent's side of a federated round: when a round samples this node, fine-tune the announced
 * global model on the node's own recent normal samples with its own normalisation, send the
 * weight delta (clipped, noised, quantised, HSU1) on agents/{id}/updates. Training runs on the
 * event loop in ~10 ms slices paced to `cpuShare`, so the sampling tick is never held up by more
 * than one slice (bench/participant-jitter.ts measures it).
 */
export class Participant {
  private readonly handled: string[] = [];
  private pending: RoundBody | null = null;
  private running: { roundId: string; abort: AbortController; done: Promise<void> } | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ParticipantOptions) {
    this.now = o.now ?? Date.now;
    o.counters.define(PARTICIPANT_METRIC, 'Federated rounds this agent was sampled for, by result (sent, not_enough_data, late, failed, not_sent, cancelled)');
  }

  /** A round message (signature already verified). Never waits for training: it runs in the background. */
  onRound(r: RoundBody): void {
    if (r.state === 'closed') {
      if (this.pending?.roundId === r.roundId) this.pending = null;
      if (this.running?.roundId === r.roundId) this.running.abort.abort(new Cancelled('cancelled', `round ${r.roundId} closed`));
      return;
    }
    if (!this.o.config.participate || !r.sampled.includes(this.o.agentId) || this.handled.includes(r.roundId)) return;
    if (r.deadline <= this.now()) return;
    this.handled.push(r.roundId);
    if (this.handled.length > REMEMBERED_ROUNDS) this.handled.shift();
    // Rounds are sequential at the coordinator: a new one means the previous closed.
    this.running?.abort.abort(new Cancelled('cancelled', `round ${r.roundId} replaced it`));
    this.pending = r;
    this.tryStart();
  }

  /** Called when the keeper holds a new model: a round waiting for its base can start. */
  onModel(): void {
    this.tryStart();
  }

  /** Stops a training run in progress (at its next slice) and waits for it. */
  async stop(): Promise<void> {
    this.pending = null;
    const r = this.running;
    r?.abort.abort(new Cancelled('cancelled', 'agent stopping'));
    await r?.done;
  }

  /** The run in progress, for tests and benches. */
  idle(): Promise<void> {
    return this.running?.done ?? Promise.resolve();
  }

  private tryStart(): void {
    const r = this.pending;
    if (!r || this.running) return;
    if (r.deadline <= this.now()) {
      this.pending = null;
      return;
    }
    const base = this.o.keeper.get(r.baseVersion, r.baseSha256);
    if (!base) {
      this.o.log.info({ round: r.roundId, base: r.baseVersion }, 'sampled for a round; waiting for its base model to arrive');
      return;
    }
    this.pending = null;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Cancelled('late', 'the deadline passed during training')), r.deadline - this.now());
    timer.unref();
    const done = this.run(r, base, abort.signal)
      .catch((e: unknown): RoundResult => {
        if (e instanceof Cancelled) return { roundId: r.roundId, ok: false, reason: e.reason, detail: e.message };
        return { roundId: r.roundId, ok: false, reason: 'failed', detail: (e as Error).message };
      })
      .then((res) => this.report(res))
      .finally(() => {
        clearTimeout(timer);
        this.running = null;
        this.tryStart();
      });
    this.running = { roundId: r.roundId, abort, done };
  }

  private async run(r: RoundBody, base: FleetModel, signal: AbortSignal): Promise<RoundResult> {
    await nextTurn();
    const t0 = performance.now();
    const f = base.model.features;
    const rows = this.o.samples(r.training.maxSamples);
    const n = rows.length / f;
    if (n < this.o.config.minSamples) return { roundId: r.roundId, ok: false, reason: 'not_enough_data', detail: `${n} normal samples, learn.minSamples is ${this.o.config.minSamples}` };
    const pause = cpuPacer(this.o.config.cpuShare, signal);
    // Normalisation stays local: this node's own mean/std; only the layer weights are shared.
    const { mean, std } = meanStd(rows, f, DEFAULT_TRAIN.stdFloor);
    const start: AutoencoderModel = { ...base.model, mean: Float32Array.from(mean), std: Float32Array.from(std) };
    const tuned = await train(
      rows,
      f,
      {
        epochs: r.training.epochs,
        learningRate: r.training.learningRate,
        windowsPerEpoch: r.training.windowsPerEpoch,
        // Same node, same base model: the same shuffle, so a fleet's lineage can be replayed. The noise below is what must not be predictable.
        seed: crc32(new TextEncoder().encode(`${this.o.agentId}/${r.baseSha256}`)),
        yieldEveryMs: 10,
        pause,
      },
      start,
    );
    const raw = weightDelta(start, tuned);
    let tensors: NamedTensor[] = raw;
    let norm = l2Norm(raw);
    let clipped = false;
    if (r.clipNorm !== null) {
      const p = clipAndNoise(raw, { clipNorm: r.clipNorm, noiseMultiplier: r.noiseMultiplier, rand: this.o.noiseRand ?? mulberry32(randomInt(0, 2 ** 32)) });
      ({ delta: tensors, norm, clipped } = p);
    }
    const bytes = encodeUpdate({
      roundId: r.roundId,
      agentId: this.o.agentId,
      baseVersion: r.baseVersion,
      numSamples: n,
      quantization: r.quantization,
      clipNorm: r.clipNorm,
      noiseMultiplier: r.clipNorm === null ? 0 : r.noiseMultiplier,
      tensors,
    });
    await this.send(bytes, signal);
    return { roundId: r.roundId, ok: true, bytes: bytes.byteLength, numSamples: n, norm, clipped, ms: Math.round(performance.now() - t0) };
  }

  /** QoS 1, retried while the link is down, until the deadline aborts. */
  private async send(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    const out = encodeBinaryOutgoing('updates', this.o.agentId, bytes);
    for (;;) {
      try {
        await this.o.publish(out);
        return;
      } catch (e) {
        const why = new Cancelled('not_sent', `the update could not be sent before the deadline (${(e as Error).message})`);
        if (signal.aborted) throw why;
        this.o.log.warn({ err: (e as Error).message }, 'update not sent; retrying');
        await new Promise((r) => setTimeout(r, PUBLISH_RETRY_MS));
        if (signal.aborted) throw why;
      }
    }
  }

  private report(r: RoundResult): void {
    this.o.counters.inc(PARTICIPANT_METRIC, { result: r.ok ? 'sent' : r.reason });
    if (r.ok) this.o.log.info({ round: r.roundId, bytes: r.bytes, samples: r.numSamples, norm: +r.norm.toPrecision(4), clipped: r.clipped, ms: r.ms }, 'federated update sent');
    else this.o.log.warn({ round: r.roundId, reason: r.reason, detail: r.detail }, 'no update sent for the round');
    this.o.onResult?.(r);
  }
}
