/** Per-feature mean and std of row-major rows; std is floored so a constant feature cannot divide by ~0. */
export const STD_FLOOR = 1e-3;

export function meanStd(rows: Float32Array, f: number, floor = STD_FLOOR): { mean: Float64Array; std: Float64Array } {
  const n = rows.length / f;
  const mean = new Float64Array(f);
  const std = new Float64Array(f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mean[j]! += rows[i * f + j]!;
  for (let j = 0; j < f; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < f; j++) {
      const d = rows[i * f + j]! - mean[j]!;
      std[j]! += d * d;
    }
  for (let j = 0; j < f; j++) std[j] = Math.max(floor, Math.sqrt(std[j]! / Math.max(1, n - 1)));
  return { mean, std };
}
