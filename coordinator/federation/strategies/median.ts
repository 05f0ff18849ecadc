import type { ClientFailure, ClientResult, Strategy } from '../strategies.ts';
import { admit, counts, validateMinResults } from './admit.ts';
import { coordinatewise } from './coordinatewise.ts';

/** Median of sorted values; the mean of the two middle ones for an even count. */
function median(sorted: Float64Array): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/**
 * Coordinate-wise median (Yin et al. 2018). With f < n/2 arbitrary clients every coordinate stays
 * within the range of the honest clients' values. Unweighted: sample counts are self-reported, and
 * weighting by them would let one client claim the majority.
 */
export function coordinateMedian(o: { minResults?: number } = {}): Strategy {
  const minResults = validateMinResults(o.minResults ?? 1);
  return {
    name: 'median',
    aggregate(results: readonly ClientResult[], failures: readonly ClientFailure[]) {
      const a = admit(results, { requireSamples: false, minResults });
      const used = a.results.map((r) => r.agentId);
      const tally = counts(used.length, a.rejected.length, failures);
      if (a.shortfall) return { delta: null, used: [], rejected: a.rejected, note: `median: ${tally}; ${a.shortfall}` };
      const delta = coordinatewise(a.results, (v) => median(v.sort()));
      return { delta, used, rejected: a.rejected, note: `median: ${tally}` };
    },
  };
}
