import fc from 'fast-check';
import type { ClientResult } from '../../../coordinator/federation/strategies.ts';
import type { NamedTensor } from '../../../shared/federation/tensor.ts';

/** A small two-tensor shape, like one dense layer: enough coordinates to catch per-coordinate slips. */
export const SHAPE: Array<{ name: string; dims: number[] }> = [
  { name: 'layer0.weight', dims: [2, 3] },
  { name: 'layer0.bias', dims: [2] },
];
const SIZES = SHAPE.map((s) => s.dims.reduce((a, b) => a * b, 1));
export const COORDS = SIZES.reduce((a, b) => a + b, 0);

export function tensorsFrom(values: readonly number[]): NamedTensor[] {
  let at = 0;
  return SHAPE.map((s, k) => {
    const data = Float32Array.from(values.slice(at, at + SIZES[k]!));
    at += SIZES[k]!;
    return { name: s.name, dims: [...s.dims], data };
  });
}

export function result(agentId: string, values: readonly number[], numSamples = 100): ClientResult {
  return { agentId, numSamples, delta: tensorsFrom(values) };
}

export function flat(tensors: readonly NamedTensor[]): number[] {
  return tensors.flatMap((t) => Array.from(t.data));
}

export const valuesArb = (max = 10) => fc.array(fc.float({ min: -max, max, noNaN: true }), { minLength: COORDS, maxLength: COORDS });
/** Arbitrary finite float32 coordinates, up to ±3.4e38: what a hostile client may send. */
export const hostileValuesArb = fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: COORDS, maxLength: COORDS });

/** n honest clients and f < n/2 hostile ones, shuffled together (f may be 0). */
export const fleetArb = fc
  .integer({ min: 1, max: 11 })
  .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: Math.ceil(n / 2) - 1 })))
  .chain(([n, f]) =>
    fc.record({
      honest: fc.array(valuesArb(), { minLength: n - f, maxLength: n - f }),
      hostile: fc.array(hostileValuesArb, { minLength: f, maxLength: f }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    }),
  );

/** Per coordinate, the smallest and largest honest value. */
export function honestRange(honest: readonly number[][]): Array<[number, number]> {
  return Array.from({ length: COORDS }, (_, i) => {
    const xs = honest.map((h) => Math.fround(h[i]!));
    return [Math.min(...xs), Math.max(...xs)];
  });
}

export function mixed(honest: readonly number[][], hostile: readonly number[][], order: readonly number[]): ClientResult[] {
  const all = [...honest.map((v, i) => result(`honest-${i}`, v)), ...hostile.map((v, i) => result(`hostile-${i}`, v, 1e6))];
  return order.map((i) => all[i]!);
}
