import type { NamedTensor } from '../../shared/federation/tensor.ts';

/**
 * Aggregation strategies for federated rounds, shaped like Flower's `Strategy.aggregate_fit`
 * (flower src/py/flwr/server/strategy/strategy.py): a strategy gets the round's results *and*
 * failures as plain data and returns the aggregated delta, or null for "keep the current model".
 * Strategies never touch transport or the model; clipping is a wrapper around any strategy.
 */

export interface ClientResult {
  agentId: string;
  /** Local training samples behind the delta: FedAvg's weight. The agent reports it, so robust strategies ignore it. */
  numSamples: number;
  /** Fine-tuned minus announced weights, one tensor per shared weight (models/autoencoder/weights.ts). */
  delta: NamedTensor[];
}

/** An agent that was asked to train this round and did not deliver (timeout, error, undecodable update). */
export interface ClientFailure {
  agentId: string;
  reason: string;
}

export interface Rejection {
  agentId: string;
  reason: string;
}

export interface Aggregation {
  /** Null when too few results were usable: keep the current model. */
  delta: NamedTensor[] | null;
  /** Agent ids whose deltas went into the aggregate. */
  used: string[];
  /** Results refused before aggregating, each with why. */
  rejected: Rejection[];
  /** One line for logs and the round record: what was done, with counts. */
  note: string;
}

export interface Strategy {
  readonly name: string;
  aggregate(results: readonly ClientResult[], failures: readonly ClientFailure[]): Aggregation;
}

export { fedAvg } from './strategies/fedavg.ts';
export { coordinateMedian } from './strategies/median.ts';
export { trimmedMean } from './strategies/trimmed-mean.ts';
export { withClipping } from './strategies/clipping.ts';
