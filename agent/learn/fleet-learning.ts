import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import type { EventBody, ModelBody, RoundBody, RoundDecline } from '../../shared/protocol/messages.ts';
import type { ModelExpectation } from '../detect/model-file.ts';
import type { AgentStore } from '../store/store.ts';
import { GlobalModelAcceptance } from './accept.ts';
import { FleetModelKeeper, type FleetModel } from './fleet-model.ts';
import type { LearnConfig } from './learn-config.ts';
import type { ModelHost } from './local-tuning.ts';
import { nextTurn } from './pacer.ts';
import { Participant, type ParticipantOptions } from './participant.ts';

export const FLEET_MODELS_METRIC = 'homeostat_learn_fleet_models_received_total';

export interface FleetLearningOptions {
  agentId: string;
  config: LearnConfig;
  expect: ModelExpectation;
  store: AgentStore;
  /** The detector; null runs without it (models are still kept to train from). */
  host: ModelHost | null;
  /** Where the held global model and the accepted model in service are saved. */
  modelDir: string;
  publish: ParticipantOptions['publish'];
  emit: (body: EventBody) => void;
  /** A global model went into service. */
  onSwapped?: () => void;
  log: Logger;
  counters: Counters;
}

/**
 * The agent's federated learning: the global model it holds (fleet-model.ts), its part in rounds
 * (participant.ts) and whether a new global model goes into service (accept.ts). Message handlers
 * call onRound/onModel, which return at once: training and the acceptance test run in the
 * background, so the connection is never held up (docs/ARCHITECTURE.md, delivery rule 6).
 */
export class FleetLearning {
  readonly keeper: FleetModelKeeper;
  readonly participant: Participant;
  private readonly acceptance: GlobalModelAcceptance | null;
  /** The newest model waiting for the acceptance test; an older one still waiting is skipped. */
  private toConsider: FleetModel | null = null;
  private considering: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly o: FleetLearningOptions) {
    o.counters.define(FLEET_MODELS_METRIC, 'Global model messages received, by result (new, same, stale, checksum, incompatible)');
    const samples = (limit: number): Float32Array => o.store.recentRows(limit, { excludeAnomalous: true, featureVersion: o.expect.featureVersion, features: o.expect.featureNames.length });
    this.keeper = new FleetModelKeeper({ expect: o.expect, dir: o.modelDir, onLoadError: (why) => o.log.warn({ why }, 'saved global model unreadable; waiting for the coordinator to send it again') });
    this.participant = new Participant({
      agentId: o.agentId,
      config: o.config,
      keeper: this.keeper,
      samples,
      publish: o.publish,
      log: o.log,
      counters: o.counters,
      // Telling the coordinator lets the round close without waiting for its deadline. A run cut short by a stop or by the round closing has nothing to say.
      onResult: (r) => {
        if (r.ok || r.reason === 'cancelled') return;
        const roundDecline: RoundDecline = { roundId: r.roundId, reason: r.reason, detail: r.detail };
        o.emit({ type: 'notice', severity: 'info', summary: `sat out federated round ${r.roundId}: ${r.detail}`, data: { roundDecline } });
      },
    });
    this.acceptance =
      o.host && o.config.accept.enabled
        ? new GlobalModelAcceptance({ config: o.config, host: o.host, samples, featureVersion: o.expect.featureVersion, modelDir: o.modelDir, emit: o.emit, log: o.log, counters: o.counters, ...(o.onSwapped ? { onSwapped: o.onSwapped } : {}) })
        : null;
  }

  start(): void {
    this.keeper.load();
  }

  async stop(): Promise<void> {
    this.toConsider = null;
    this.abort.abort(new Error('agent stopping'));
    await this.participant.stop();
    await this.considering;
  }

  onRound(body: RoundBody): void {
    this.participant.onRound(body);
  }

  onModel(body: ModelBody): void {
    const r = this.keeper.offer(body);
    this.o.counters.inc(FLEET_MODELS_METRIC, { result: r.status === 'refused' ? r.reason : r.status });
    if (r.status === 'same') return;
    if (r.status === 'refused') {
      this.o.log.warn({ version: body.version, reason: r.reason, detail: r.detail }, 'global model refused');
      return;
    }
    this.o.log.info({ version: r.model.version, round: r.model.roundId }, 'global model received');
    this.participant.onModel();
    // Version 0 is the base the fleet started from, which this node already runs (or improved on).
    if (this.acceptance && r.model.roundId !== null) {
      this.toConsider = r.model;
      this.considering ??= this.drain();
    }
  }

  private async drain(): Promise<void> {
    try {
      await nextTurn();
      for (let next = this.toConsider; next; next = this.toConsider) {
        this.toConsider = null;
        await this.acceptance!.consider(next, this.abort.signal);
      }
    } finally {
      this.considering = null;
    }
  }
}
