import { shapeMismatch, shapeSignature, type NamedTensor } from '../../../shared/federation/tensor.ts';
import type { ClientFailure, ClientResult, Rejection } from '../strategies.ts';

export interface AdmitOptions {
  /** FedAvg weighs by numSamples, so it needs a positive integer; robust strategies do not. */
  requireSamples: boolean;
  /** Fewer usable results than this and the strategy keeps the current model. */
  minResults: number;
}

export interface Admitted {
  results: ClientResult[];
  rejected: Rejection[];
  /** Null with the reason when fewer than minResults are usable. */
  shortfall: string | null;
}

export function validateMinResults(minResults: number): number {
  if (!(Number.isInteger(minResults) && minResults >= 1)) throw new Error(`minResults must be an integer >= 1, got ${minResults}`);
  return minResults;
}

function nonFinite(delta: readonly NamedTensor[]): string | null {
  for (const t of delta) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return `${t.name}[${i}] is ${t.data[i]}`;
  }
  return null;
}

/**
 * The results a strategy may combine. Refuses duplicates, non-finite values, bad sample counts and
 * shapes that differ from the most common one (ties: the first seen), so one malformed or hostile
 * client is dropped with a reason instead of failing the round.
 */
export function admit(results: readonly ClientResult[], o: AdmitOptions): Admitted {
  const rejected: Rejection[] = [];
  const seen = new Set<string>();
  const candidates: ClientResult[] = [];
  for (const r of results) {
    const bad = (reason: string) => rejected.push({ agentId: r.agentId, reason });
    if (seen.has(r.agentId)) {
      bad('a second result from this agent in the same round; only the first counts');
      continue;
    }
    seen.add(r.agentId);
    if (r.delta.length === 0) {
      bad('empty delta');
      continue;
    }
    const nan = nonFinite(r.delta);
    if (nan) {
      bad(`non-finite value: ${nan}`);
      continue;
    }
    if (o.requireSamples && !(Number.isSafeInteger(r.numSamples) && r.numSamples > 0)) {
      bad(`numSamples ${r.numSamples} is not a positive integer, so the result has no weight`);
      continue;
    }
    candidates.push(r);
  }

  const counts = new Map<string, number>();
  for (const r of candidates) {
    const s = shapeSignature(r.delta);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const best = Math.max(0, ...counts.values());
  const reference = candidates.find((r) => counts.get(shapeSignature(r.delta)) === best);
  const admitted: ClientResult[] = [];
  for (const r of candidates) {
    const why = shapeMismatch(reference!.delta, r.delta);
    if (why) rejected.push({ agentId: r.agentId, reason: `shape differs from the majority's (${best} of ${candidates.length}): ${why}` });
    else admitted.push(r);
  }
  const shortfall = admitted.length < o.minResults ? `${admitted.length} usable result(s), at least ${o.minResults} needed; keeping the current model` : null;
  return { results: admitted, rejected, shortfall };
}

/** "4 used, 1 rejected, 2 failed": the counts every note starts from. */
export function counts(used: number, rejected: number, failures: readonly ClientFailure[]): string {
  return `${used} used, ${rejected} rejected, ${failures.length} failed`;
}
