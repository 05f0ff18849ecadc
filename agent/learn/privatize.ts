import { clipToNorm, type NamedTensor } from '../../shared/federation/tensor.ts';
import { gaussian } from './rng.ts';

export interface PrivatizeOptions {
  /** C: the bound on the whole delta's L2 norm. */
  clipNorm: number;
  /** z: Gaussian noise of standard deviation z·C is added to every coordinate; 0 adds none. */
  noiseMultiplier: number;
  /** Uniform [0, 1) source, e.g. mulberry32(seed): seeded, so a test or a replay draws the same noise. */
  rand: () => number;
}

export interface Privatized {
  delta: NamedTensor[];
  /** L2 norm of the delta before clipping: how often it exceeds C is what tells an operator C is too small. */
  norm: number;
  clipped: boolean;
}

/**
 * Clips the whole delta to L2 norm ≤ clipNorm, then adds N(0, (noiseMultiplier·clipNorm)²) to every
 * coordinate: the client-side step of DP-FedAvg (McMahan et al. 2018, "Learning Differentially
 * Private Recurrent Language Models"), the same as Flower's dp_fixed_clipping on the client.
 *
 * What this gives, plainly: it bounds how far one node's update can pull the global model (by the
 * clip) and blurs each individual update (by the noise), so a reader of one update learns less
 * about that node's data. What it does NOT give: a formal (ε, δ) guarantee for the fleet. That
 * needs secure aggregation (the coordinator here sees every noised update in the clear), a privacy
 * accountant summing the loss over all rounds a node takes part in, and noise sized for it; none of
 * which exists yet. Treat the multiplier as a dial on influence and blur, not as a privacy budget.
 */
export function clipAndNoise(delta: readonly NamedTensor[], o: PrivatizeOptions): Privatized {
  if (!(o.clipNorm > 0 && Number.isFinite(o.clipNorm))) throw new Error(`privatize: clipNorm must be a finite number > 0, got ${o.clipNorm}`);
  if (!(o.noiseMultiplier >= 0 && Number.isFinite(o.noiseMultiplier))) throw new Error(`privatize: noiseMultiplier must be a finite number >= 0, got ${o.noiseMultiplier}`);
  const c = clipToNorm(delta, o.clipNorm);
  if (!Number.isFinite(c.norm)) throw new Error(`privatize: the delta has NaN or Infinity (L2 norm ${c.norm}); local training diverged, do not send it`);
  const sigma = o.noiseMultiplier * o.clipNorm;
  if (sigma > 0) {
    const g = gaussian(o.rand);
    for (const t of c.tensors) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! + sigma * g();
  }
  return { delta: c.tensors, norm: c.norm, clipped: c.clipped };
}
