/**
 * The slice of the protobuf wire format (developers.google.com/protocol-buffers/docs/encoding)
 * that an ONNX file needs: varints, length-delimited fields (strings, bytes, nested messages,
 * packed repeated scalars) and fixed32 floats inside packed fields. Written here rather than
 * pulled in as a dependency: the agent ships small, and ONNX uses nothing more.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Appends fields to a growing buffer; nested messages are written by a child writer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(v: number): void {
    // ONNX's int64 fields we write (ir_version, opset, dims, attribute ints) are never negative;
    // a negative int64 needs the 10-byte two's-complement form, which nothing here emits.
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`protobuf writer: varint ${v} is not a non-negative safe integer`);
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  varint(field: number, v: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    write(child);
    return this.bytes(field, child.finish());
  }

  /** Packed repeated float: one length-delimited run of little-endian fixed32 values. */
  packedFloats(field: number, values: Float32Array): this {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, out);
  }

  /** Packed repeated int64 (non-negative values only, see rawVarint). */
  packedVarints(field: number, values: readonly number[]): this {
    const child = new ProtoWriter();
    for (const v of values) child.rawVarint(v);
    return this.bytes(field, child.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint and fixed values as numbers (int64 beyond 2^53 loses precision); length-delimited as bytes. */
  value: number | Uint8Array;
}

/** Thrown for bytes that are not a well-formed protobuf message (truncated, bad wire type). */
export class ProtoDecodeError extends Error {}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let result = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new ProtoDecodeError(`truncated varint at byte ${pos}`);
    const byte = b[pos++]!;
    result |= BigInt(byte & 0x7f) << BigInt(7 * i);
    // int64 is two's complement on the wire (a negative value takes 10 bytes): asIntN maps it back.
    if ((byte & 0x80) === 0) return [Number(BigInt.asIntN(64, result)), pos];
  }
  throw new ProtoDecodeError(`varint longer than 10 bytes at byte ${pos}`);
}

/** Splits one message into its fields, in order. Throws ProtoDecodeError on malformed input. */
export function readFields(b: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [key, p1] = readVarint(b, pos);
    pos = p1;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1) throw new ProtoDecodeError(`field number ${field} at byte ${pos}`);
    if (wire === WIRE_VARINT) {
      const [v, p2] = readVarint(b, pos);
      out.push({ field, wire, value: v });
      pos = p2;
    } else if (wire === WIRE_LEN) {
      const [n, p2] = readVarint(b, pos);
      if (n < 0 || p2 + n > b.length) throw new ProtoDecodeError(`field ${field}: length ${n} runs past the end (byte ${p2} of ${b.length})`);
      out.push({ field, wire, value: b.subarray(p2, p2 + n) });
      pos = p2 + n;
    } else if (wire === WIRE_I32 || wire === WIRE_I64) {
      const n = wire === WIRE_I32 ? 4 : 8;
      if (pos + n > b.length) throw new ProtoDecodeError(`field ${field}: fixed${n * 8} runs past the end`);
      const view = new DataView(b.buffer, b.byteOffset + pos, n);
      out.push({ field, wire, value: wire === WIRE_I32 ? view.getFloat32(0, true) : view.getFloat64(0, true) });
      pos += n;
    } else {
      throw new ProtoDecodeError(`field ${field}: unsupported wire type ${wire} at byte ${pos}`);
    }
  }
  return out;
}

export function fieldBytes(f: ProtoField): Uint8Array {
  if (!(f.value instanceof Uint8Array)) throw new ProtoDecodeError(`field ${f.field}: expected length-delimited, got wire type ${f.wire}`);
  return f.value;
}

export function fieldNumber(f: ProtoField): number {
  if (typeof f.value !== 'number') throw new ProtoDecodeError(`field ${f.field}: expected a number, got length-delimited`);
  return f.value;
}

export function fieldString(f: ProtoField): string {
  try {
    return utf8Strict.decode(fieldBytes(f));
  } catch (e) {
    if (e instanceof ProtoDecodeError) throw e;
    throw new ProtoDecodeError(`field ${f.field}: not valid UTF-8`);
  }
}

/** A packed repeated varint field (or, tolerated by protobuf, a single unpacked one). */
export function fieldVarints(f: ProtoField): number[] {
  if (typeof f.value === 'number') return [f.value];
  const out: number[] = [];
  let pos = 0;
  while (pos < f.value.length) {
    const [v, p] = readVarint(f.value, pos);
    out.push(v);
    pos = p;
  }
  return out;
}

/** A packed repeated float field, or a single unpacked fixed32. */
export function fieldFloats(f: ProtoField): Float32Array {
  if (typeof f.value === 'number') return Float32Array.of(f.value);
  if (f.value.length % 4 !== 0) throw new ProtoDecodeError(`field ${f.field}: packed floats of ${f.value.length} bytes, not a multiple of 4`);
  return littleEndianFloats(f.value);
}

export function littleEndianFloats(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.length / 4);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
