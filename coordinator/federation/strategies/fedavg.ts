import type { ClientFailure, ClientResult, Strategy } from '../strategies.ts';
import { admit, counts, validateMinResults } from './admit.ts';

/**
 * FedAvg (McMahan et al. 2017): the mean of the deltas weighted by each client's sample count.
 * Not robust: one client can move it arbitrarily far, and it trusts the reported counts. Wrap it
 * with withClipping, or use coordinateMedian / trimmedMean where clients may be hostile.
 */
export function fedAvg(o: { minResults?: number } = {}): Strategy {
  const minResults = validateMinResults(o.minResults ?? 1);
  return {
    name: 'fedavg',
    aggregate(results: readonly ClientResult[], failures: readonly ClientFailure[]) {
      const a = admit(results, { requireSamples: true, minResults });
      const used = a.results.map((r) => r.agentId);
      const tally = counts(used.length, a.rejected.length, failures);
      if (a.shortfall) return { delta: null, used: [], rejected: a.rejected, note: `fedavg: ${tally}; ${a.shortfall}` };
      const total = a.results.reduce((s, r) => s + r.numSamples, 0);
      const delta = a.results[0]!.delta.map((t, k) => {
        // float64 accumulation: float32 sums drift once weights differ by orders of magnitude.
        const acc = new Float64Array(t.data.length);
        for (const r of a.results) {
          const x = r.delta[k]!.data;
          for (let i = 0; i < acc.length; i++) acc[i]! += r.numSamples * x[i]!;
        }
        return { name: t.name, dims: [...t.dims], data: Float32Array.from(acc, (v) => v / total) };
      });
      return { delta, used, rejected: a.rejected, note: `fedavg: ${tally}; weighted by ${total} samples` };
    },
  };
}
