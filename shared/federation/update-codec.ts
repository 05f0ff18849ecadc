import { z } from 'zod';
import { crc32 } from './crc32.ts';
import { decodeFloat16, dequantizeInt8, encodeFloat16, quantizeInt8 } from './quantize.ts';
import { NamedTensorSchema, TENSOR_MAX_DIMS, TENSOR_NAME_MAX_BYTES, type NamedTensor } from './tensor.ts';

/**
 * The binary form of one federated update: an agent's weight delta plus what the coordinator needs
 * to weigh and audit it. Binary rather than JSON because a float written as decimal text costs
 * 10-20 bytes; at float16 a weight costs 2 (figures in docs/federation.md).
 *
 * Layout, little-endian, no padding:
 *
 *   0   4  magic "HSU1"
 *   4   1  codec version (UPDATE_CODEC_VERSION)
 *   5   4  total length in bytes, CRC included: truncation is reported as such, not as a bad checksum
 *   9   1  quantisation: 0 f32, 1 f16, 2 i8
 *  10   1+ round id: length byte, UTF-8 (≤ 64 bytes)
 *       1+ agent id: length byte, UTF-8 (≤ 128 bytes)
 *       4  base model version (uint32)
 *       4  local training samples (uint32)
 *       8  clip norm used (float64; 0 = not clipped)
 *       8  noise multiplier used (float64)
 *       2  tensor count (uint16)
 *       per tensor: name (length byte, ASCII), ndims (1 byte), dims (uint32 each),
 *                   scale (float32, i8 only), then the values (4, 2 or 1 bytes each)
 *  end-4 4 CRC-32 of every byte before it
 */

export const UPDATE_MAGIC = 'HSU1';
export const UPDATE_CODEC_VERSION = 1;
/** ~50× the float32 update of the base model (19 KB): room for bigger models, a bound on hostile ones. */
export const MAX_UPDATE_BYTES = 1024 * 1024;
export const MAX_UPDATE_TENSORS = 256;
export const ROUND_ID_MAX_BYTES = 64;
export const AGENT_ID_MAX_BYTES = 128;

export const QUANTIZATIONS = ['f32', 'f16', 'i8'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];
const BYTES_PER_VALUE: Record<Quantization, number> = { f32: 4, f16: 2, i8: 1 };

export const UPDATE_DECODE_REASONS = ['truncated', 'bad_magic', 'unsupported_version', 'checksum', 'malformed'] as const;
export type UpdateDecodeReason = (typeof UPDATE_DECODE_REASONS)[number];

export class UpdateDecodeError extends Error {
  override readonly name = 'UpdateDecodeError';
  constructor(
    readonly reason: UpdateDecodeReason,
    detail: string,
  ) {
    super(`cannot decode federated update (${reason}): ${detail}`);
  }
}

const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF, so every string round-trips.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const boundedText = (what: string, maxBytes: number) =>
  z
    .string()
    .min(1, `${what} is empty`)
    .regex(/^[^\u0000-\u001f\u007f]*$/, `${what} has control characters`)
    // A lone surrogate would be sent as U+FFFD and arrive as a different id.
    .refine((s) => strictUtf8.decode(utf8.encode(s)) === s, `${what} has unpaired surrogates`)
    .refine((s) => utf8.encode(s).length <= maxBytes, `${what} is longer than ${maxBytes} bytes of UTF-8`);
const uint32 = z.number().int().min(0).max(0xffffffff);

/** One update as the agent builds it and the coordinator receives it. Tensors hold the (dequantised) delta. */
export const UpdateSchema = z.object({
  roundId: boundedText('round id', ROUND_ID_MAX_BYTES),
  agentId: boundedText('agent id', AGENT_ID_MAX_BYTES),
  baseVersion: uint32,
  numSamples: uint32,
  quantization: z.enum(QUANTIZATIONS),
  /** The L2 bound the agent clipped its delta to; null when it did not clip. */
  clipNorm: z.number().positive().nullable(),
  noiseMultiplier: z.number().min(0),
  tensors: z
    .array(
      NamedTensorSchema.refine((t) => t.data.every(Number.isFinite), {
        message: 'tensor has non-finite values (NaN or Infinity)',
      }),
    )
    .min(1)
    .max(MAX_UPDATE_TENSORS)
    .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'tensor names are not unique'),
});
export type Update = z.infer<typeof UpdateSchema>;

const FIXED_HEADER_BYTES = 4 + 1 + 4 + 1 + 1 + 1 + 4 + 4 + 8 + 8 + 2;
const CRC_BYTES = 4;

/** Serialises an update; throws if it breaks the schema or cannot be represented (a bug at the sender, not input). */
export function encodeUpdate(u: Update): Uint8Array {
  const parsed = UpdateSchema.safeParse(u);
  if (!parsed.success) throw new Error(`refusing to encode an invalid federated update: ${z.prettifyError(parsed.error)}`);
  const round = utf8.encode(u.roundId);
  const agent = utf8.encode(u.agentId);
  const bytesPer = BYTES_PER_VALUE[u.quantization];
  const payloads = u.tensors.map((t) => quantized(t, u.quantization));
  let size = FIXED_HEADER_BYTES + round.length + agent.length + CRC_BYTES;
  for (const t of u.tensors) size += 1 + t.name.length + 1 + 4 * t.dims.length + (u.quantization === 'i8' ? 4 : 0) + bytesPer * t.data.length;
  if (size > MAX_UPDATE_BYTES) throw new Error(`federated update of ${size} bytes exceeds MAX_UPDATE_BYTES (${MAX_UPDATE_BYTES}); use f16 or i8, or raise the limit on both sides`);

  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  const u8 = (n: number) => v.setUint8(at++, n);
  bytes(utf8.encode(UPDATE_MAGIC));
  u8(UPDATE_CODEC_VERSION);
  v.setUint32(at, size, true);
  at += 4;
  u8(QUANTIZATIONS.indexOf(u.quantization));
  u8(round.length);
  bytes(round);
  u8(agent.length);
  bytes(agent);
  v.setUint32(at, u.baseVersion, true);
  v.setUint32(at + 4, u.numSamples, true);
  v.setFloat64(at + 8, u.clipNorm ?? 0, true);
  v.setFloat64(at + 16, u.noiseMultiplier, true);
  v.setUint16(at + 24, u.tensors.length, true);
  at += 26;
  u.tensors.forEach((t, k) => {
    u8(t.name.length);
    bytes(utf8.encode(t.name));
    u8(t.dims.length);
    for (const d of t.dims) {
      v.setUint32(at, d, true);
      at += 4;
    }
    const p = payloads[k]!;
    if (p.kind === 'f32') {
      for (const x of p.values) {
        v.setFloat32(at, x, true);
        at += 4;
      }
    } else if (p.kind === 'f16') {
      for (const h of p.values) {
        v.setUint16(at, h, true);
        at += 2;
      }
    } else {
      v.setFloat32(at, p.scale, true);
      at += 4;
      for (const q of p.values) v.setInt8(at++, q);
    }
  });
  v.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

type Quantized = { kind: 'f32'; values: Float32Array } | { kind: 'f16'; values: Uint16Array } | { kind: 'i8'; scale: number; values: Int8Array };

function quantized(t: NamedTensor, kind: Quantization): Quantized {
  if (kind === 'f32') return { kind, values: t.data };
  if (kind === 'i8') {
    const { scale, q } = quantizeInt8(t.data);
    return { kind, scale, values: q };
  }
  const values = encodeFloat16(t.data);
  const over = values.findIndex((h) => (h & 0x7fff) === 0x7c00);
  if (over >= 0) throw new Error(`tensor ${t.name} value ${over} (${t.data[over]}) is beyond float16's range (±65504); send this update as f32`);
  return { kind, values };
}

/** Bounds-checked little-endian reads; running out means the sender wrote a bad structure (the CRC matched). */
class Reader {
  at = 0;
  private readonly v: DataView;
  constructor(
    private readonly b: Uint8Array,
    private readonly end: number,
  ) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  left(): number {
    return this.end - this.at;
  }
  need(n: number, what: string): void {
    if (n > this.left()) throw new UpdateDecodeError('malformed', `${what} needs ${n} bytes at offset ${this.at}, only ${this.end - this.at} before the checksum`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.v.getUint8(this.at++);
  }
  u16(what: string): number {
    this.need(2, what);
    const x = this.v.getUint16(this.at, true);
    this.at += 2;
    return x;
  }
  u32(what: string): number {
    this.need(4, what);
    const x = this.v.getUint32(this.at, true);
    this.at += 4;
    return x;
  }
  f32(what: string): number {
    this.need(4, what);
    const x = this.v.getFloat32(this.at, true);
    this.at += 4;
    return x;
  }
  f64(what: string): number {
    this.need(8, what);
    const x = this.v.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }
  text(what: string, maxBytes: number): string {
    const n = this.u8(`${what} length`);
    if (n > maxBytes) throw new UpdateDecodeError('malformed', `${what} is ${n} bytes, the limit is ${maxBytes}`);
    this.need(n, what);
    const s = this.b.subarray(this.at, this.at + n);
    this.at += n;
    try {
      return strictUtf8.decode(s);
    } catch {
      throw new UpdateDecodeError('malformed', `${what} is not valid UTF-8`);
    }
  }
  /** Copies n×width bytes into a fresh aligned buffer (the source offset may be odd). */
  block(n: number, width: number, what: string): ArrayBuffer {
    this.need(n * width, what);
    // Not b.slice: on a Node Buffer that is a view into the shared pool, not a copy.
    const copy = new Uint8Array(n * width);
    copy.set(this.b.subarray(this.at, this.at + n * width));
    this.at += n * width;
    return copy.buffer;
  }
}

/**
 * Parses and checks one update. Throws UpdateDecodeError (and nothing else) on any bad input, and
 * never reads outside `bytes` or allocates more than a small multiple of its length.
 */
export function decodeUpdate(bytes: Uint8Array): Update {
  const magic = utf8.encode(UPDATE_MAGIC);
  for (let i = 0; i < Math.min(bytes.length, magic.length); i++) {
    if (bytes[i] !== magic[i]) throw new UpdateDecodeError('bad_magic', `starts with 0x${hex(bytes.subarray(0, 4))}, expected "${UPDATE_MAGIC}"`);
  }
  if (bytes.length < 9) throw new UpdateDecodeError('truncated', `${bytes.length} bytes, too short for the magic, version and length`);
  const version = bytes[4]!;
  if (version !== UPDATE_CODEC_VERSION) throw new UpdateDecodeError('unsupported_version', `codec version ${version}; this build reads version ${UPDATE_CODEC_VERSION}`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, true);
  if (declared < FIXED_HEADER_BYTES + CRC_BYTES || declared > MAX_UPDATE_BYTES) {
    throw new UpdateDecodeError('malformed', `declared length ${declared} is outside [${FIXED_HEADER_BYTES + CRC_BYTES}, ${MAX_UPDATE_BYTES}]`);
  }
  if (bytes.length < declared) throw new UpdateDecodeError('truncated', `${bytes.length} of the ${declared} declared bytes`);
  if (bytes.length > declared) throw new UpdateDecodeError('malformed', `${bytes.length - declared} bytes after the declared end (${declared})`);
  const body = declared - CRC_BYTES;
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(body, true);
  const actual = crc32(bytes.subarray(0, body));
  if (stored !== actual) throw new UpdateDecodeError('checksum', `CRC-32 is 0x${actual.toString(16).padStart(8, '0')}, the update says 0x${stored.toString(16).padStart(8, '0')}: corrupted in transit`);

  const r = new Reader(bytes, body);
  r.at = 9;
  const qi = r.u8('quantisation');
  const quantization = QUANTIZATIONS[qi];
  if (!quantization) throw new UpdateDecodeError('malformed', `quantisation code ${qi} is not one of 0 (f32), 1 (f16), 2 (i8)`);
  const roundId = r.text('round id', ROUND_ID_MAX_BYTES);
  const agentId = r.text('agent id', AGENT_ID_MAX_BYTES);
  const baseVersion = r.u32('base model version');
  const numSamples = r.u32('sample count');
  const clip = r.f64('clip norm');
  const noiseMultiplier = r.f64('noise multiplier');
  const count = r.u16('tensor count');
  if (count > MAX_UPDATE_TENSORS) throw new UpdateDecodeError('malformed', `${count} tensors, the limit is ${MAX_UPDATE_TENSORS}`);
  const tensors: NamedTensor[] = [];
  for (let k = 0; k < count; k++) tensors.push(readTensor(r, k, quantization));
  if (r.at !== body) throw new UpdateDecodeError('malformed', `${body - r.at} unexplained bytes before the checksum`);

  const u = { roundId, agentId, baseVersion, numSamples, quantization, clipNorm: clip === 0 ? null : clip, noiseMultiplier, tensors };
  const parsed = UpdateSchema.safeParse(u);
  if (!parsed.success) throw new UpdateDecodeError('malformed', z.prettifyError(parsed.error));
  return parsed.data;
}

function readTensor(r: Reader, k: number, quantization: Quantization): NamedTensor {
  const name = r.text(`tensor ${k} name`, TENSOR_NAME_MAX_BYTES);
  const ndims = r.u8(`tensor ${name} rank`);
  if (ndims < 1 || ndims > TENSOR_MAX_DIMS) throw new UpdateDecodeError('malformed', `tensor ${name} has ${ndims} dims, expected 1 to ${TENSOR_MAX_DIMS}`);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(r.u32(`tensor ${name} dim ${i}`));
  const bytesPer = BYTES_PER_VALUE[quantization];
  // Check the element count against the bytes left before allocating anything for it.
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (d === 0 || n * bytesPer > r.left()) {
      throw new UpdateDecodeError('malformed', `tensor ${name} dims [${dims.join(', ')}] do not fit the ${r.left()} bytes left`);
    }
  }
  let data: Float32Array;
  if (quantization === 'f32') {
    const dv = new DataView(r.block(n, 4, `tensor ${name} values`));
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true);
  } else if (quantization === 'f16') {
    const dv = new DataView(r.block(n, 2, `tensor ${name} values`));
    const h = new Uint16Array(n);
    for (let i = 0; i < n; i++) h[i] = dv.getUint16(2 * i, true);
    data = decodeFloat16(h);
  } else {
    const scale = r.f32(`tensor ${name} scale`);
    if (!(Number.isFinite(scale) && scale >= 0)) throw new UpdateDecodeError('malformed', `tensor ${name} int8 scale is ${scale}, expected a finite value >= 0`);
    const q = new Int8Array(r.block(n, 1, `tensor ${name} values`));
    const bad = q.indexOf(-128);
    if (bad >= 0) throw new UpdateDecodeError('malformed', `tensor ${name} value ${bad} is -128; symmetric int8 uses [-127, 127]`);
    data = dequantizeInt8({ scale, q });
  }
  const nonFinite = data.findIndex((x) => !Number.isFinite(x));
  if (nonFinite >= 0) throw new UpdateDecodeError('malformed', `tensor ${name} value ${nonFinite} is ${data[nonFinite]}`);
  return { name, dims, data };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
