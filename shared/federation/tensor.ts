import { z } from 'zod';

/** Tensor names: ASCII, short, so the codec can bound them and logs can print them. */
export const TENSOR_NAME_MAX_BYTES = 64;
/** Enough for dense layers (2-D) with room to spare; the codec refuses more. */
export const TENSOR_MAX_DIMS = 4;

/**
 * One named float32 tensor of a model's shared weights or of a weight delta. Row-major; `dims`
 * multiply to `data.length`. The only tensor type of federated learning: the weights view, the
 * update codec, the strategies and the privatiser all speak it.
 */
export const NamedTensorSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'tensor name: 1-64 chars of A-Z a-z 0-9 . _ -'),
    dims: z.array(z.number().int().min(1).max(0xffffffff)).min(1).max(TENSOR_MAX_DIMS),
    data: z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array'),
  })
  .refine((t) => t.data.length === elementCount(t.dims), { message: 'data length does not match the product of dims' });
export type NamedTensor = z.infer<typeof NamedTensorSchema>;

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

/** "name[d0,d1]" per tensor in order: two deltas can be combined exactly when their signatures are equal. */
export function shapeSignature(tensors: readonly NamedTensor[]): string {
  return tensors.map((t) => `${t.name}[${t.dims.join(',')}]`).join(';');
}

/**
 * Why `got` cannot be combined with `expected` (the first missing, extra, renamed or reshaped
 * tensor), or null when the shapes agree.
 */
export function shapeMismatch(expected: readonly NamedTensor[], got: readonly NamedTensor[]): string | null {
  if (shapeSignature(expected) === shapeSignature(got)) return null;
  const dims = (t: NamedTensor) => `[${t.dims.join(', ')}]`;
  for (let i = 0; ; i++) {
    const x = expected[i];
    const y = got[i];
    if (!x) return `unexpected extra tensor ${y!.name} ${dims(y!)}`;
    if (!y) return `tensor ${x.name} ${dims(x)} is missing`;
    if (x.name !== y.name) return `tensor ${i} is ${y.name}, expected ${x.name}`;
    if (dims(x) !== dims(y)) return `tensor ${x.name} has dims ${dims(y)}, expected ${dims(x)}`;
  }
}

/** L2 norm of all coordinates of all tensors together (the norm DP clipping bounds), in float64. */
export function l2Norm(tensors: readonly NamedTensor[]): number {
  let s = 0;
  for (const t of tensors) for (let i = 0; i < t.data.length; i++) s += t.data[i]! * t.data[i]!;
  return Math.sqrt(s);
}

export function scaleTensors(tensors: readonly NamedTensor[], k: number): NamedTensor[] {
  return tensors.map((t) => ({ name: t.name, dims: [...t.dims], data: t.data.map((v) => v * k) }));
}

export interface Clipped {
  tensors: NamedTensor[];
  /** The norm before clipping. */
  norm: number;
  /** True when the norm exceeded the bound and the tensors were scaled down. */
  clipped: boolean;
}

/**
 * Scales the whole delta by min(1, clipNorm / ||delta||): direction kept, L2 norm at most clipNorm
 * (up to float32 rounding). Returns copies either way, so callers never alias their input.
 */
export function clipToNorm(tensors: readonly NamedTensor[], clipNorm: number): Clipped {
  if (!(clipNorm > 0)) throw new Error(`clip norm must be > 0 (Infinity means no clipping), got ${clipNorm}`);
  const norm = l2Norm(tensors);
  if (!(norm > clipNorm)) return { tensors: scaleTensors(tensors, 1), norm, clipped: false };
  return { tensors: scaleTensors(tensors, clipNorm / norm), norm, clipped: true };
}
