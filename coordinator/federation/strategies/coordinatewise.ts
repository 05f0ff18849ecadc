import type { NamedTensor } from '../../../shared/federation/tensor.ts';
import type { ClientResult } from '../strategies.ts';

/** Applies `combine` to the n values of every coordinate; results must share one shape (admit first). */
export function coordinatewise(results: readonly ClientResult[], combine: (values: Float64Array) => number): NamedTensor[] {
  const n = results.length;
  const values = new Float64Array(n);
  return results[0]!.delta.map((t, k) => {
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < out.length; i++) {
      for (let c = 0; c < n; c++) values[c] = results[c]!.delta[k]!.data[i]!;
      out[i] = combine(values);
    }
    return { name: t.name, dims: [...t.dims], data: out };
  });
}
