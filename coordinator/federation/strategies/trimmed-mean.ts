import type { ClientFailure, ClientResult, Strategy } from '../strategies.ts';
import { admit, counts, validateMinResults } from './admit.ts';
import { coordinatewise } from './coordinatewise.ts';

/**
 * The largest k with k/n ≤ beta. Not just floor(beta·n): for beta = f/n that product can land a hair
 * below f (3/47·47 is 2.9999999999999996) and trim one hostile client too few. beta < 0.5 keeps n − 2k ≥ 1.
 */
function trimCount(beta: number, n: number): number {
  let k = Math.floor(beta * n);
  if ((k + 1) / n <= beta) k++;
  if (k / n > beta) k--;
  return k;
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the floor(beta·n) smallest
 * and largest values and average the rest. With f arbitrary clients and beta ≥ f/n the result stays
 * within the honest clients' range. Unweighted, for the same reason as the median.
 */
export function trimmedMean(o: { beta: number; minResults?: number }): Strategy {
  const { beta } = o;
  if (!(beta >= 0 && beta < 0.5)) throw new Error(`trimmed mean: beta (the fraction trimmed from each side) must be in [0, 0.5), got ${beta}`);
  const minResults = validateMinResults(o.minResults ?? 1);
  return {
    name: `trimmed-mean(${beta})`,
    aggregate(results: readonly ClientResult[], failures: readonly ClientFailure[]) {
      const a = admit(results, { requireSamples: false, minResults });
      const used = a.results.map((r) => r.agentId);
      const tally = counts(used.length, a.rejected.length, failures);
      if (a.shortfall) return { delta: null, used: [], rejected: a.rejected, note: `trimmed mean: ${tally}; ${a.shortfall}` };
      const n = a.results.length;
      const k = trimCount(beta, n);
      const delta = coordinatewise(a.results, (v) => {
        v.sort();
        let s = 0;
        for (let i = k; i < n - k; i++) s += v[i]!;
        return s / (n - 2 * k);
      });
      return { delta, used, rejected: a.rejected, note: `trimmed mean: ${tally}; ${k} trimmed from each end of ${n} per coordinate` };
    },
  };
}
