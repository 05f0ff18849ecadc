import { clipToNorm } from '../../../shared/federation/tensor.ts';
import type { ClientFailure, ClientResult, Strategy } from '../strategies.ts';

/**
 * Clips each client's whole delta to L2 norm ≤ clipNorm, then hands the results to `inner`
 * (Flower's server-side fixed clipping, dp_fixed_clipping.py, without the noise). Bounds one
 * client's pull: in a weighted mean with weight share w it moves the result by at most w·clipNorm.
 */
export function withClipping(inner: Strategy, o: { clipNorm: number }): Strategy {
  const { clipNorm } = o;
  if (!(clipNorm > 0 && Number.isFinite(clipNorm))) throw new Error(`clipping: clipNorm must be a finite number > 0, got ${clipNorm}`);
  return {
    name: `clipped(${inner.name}, ${clipNorm})`,
    aggregate(results: readonly ClientResult[], failures: readonly ClientFailure[]) {
      let clipped = 0;
      const bounded = results.map((r) => {
        const c = clipToNorm(r.delta, clipNorm);
        // A non-finite norm means NaN or Infinity inside: pass it on untouched for the inner strategy to reject by name.
        if (!Number.isFinite(c.norm)) return r;
        if (c.clipped) clipped++;
        return { ...r, delta: c.tensors };
      });
      const out = inner.aggregate(bounded, failures);
      return { ...out, note: `clipped ${clipped} of ${results.length} deltas to L2 ≤ ${clipNorm}; ${out.note}` };
    },
  };
}
