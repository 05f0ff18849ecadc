import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fieldFloats, fieldNumber, fieldString, fieldVarints, ProtoDecodeError, ProtoWriter, readFields } from '../../../models/onnx/protobuf.ts';

test('varint encoding matches the protobuf spec examples (1 → 01, 150 → 96 01, 300 → ac 02)', () => {
  assert.deepEqual([...new ProtoWriter().varint(1, 1).finish()], [0x08, 0x01]);
  assert.deepEqual([...new ProtoWriter().varint(1, 150).finish()], [0x08, 0x96, 0x01]);
  assert.deepEqual([...new ProtoWriter().varint(2, 300).finish()], [0x10, 0xac, 0x02]);
  assert.deepEqual([...new ProtoWriter().string(2, 'testing').finish()], [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
});

test('a 10-byte varint reads back as a negative int64 (two\'s complement)', () => {
  const minusOne = Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  assert.equal(fieldNumber(readFields(minusOne)[0]!), -1);
});

test('fields round-trip: varints, strings, packed floats and packed varints, nested messages (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 29 - 1 }),
      fc.maxSafeNat(),
      fc.string({ unit: 'grapheme' }),
      fc.float32Array({ noDefaultInfinity: false }),
      fc.array(fc.maxSafeNat()),
      (field, n, s, floats, ints) => {
        const bytes = new ProtoWriter()
          .varint(field, n)
          .string(field, s)
          .packedFloats(3, floats)
          .message(4, (w) => w.packedVarints(1, ints))
          .finish();
        const f = readFields(bytes);
        assert.equal(f.length, 4);
        assert.equal(f[0]!.field, field);
        assert.equal(fieldNumber(f[0]!), n);
        assert.equal(fieldString(f[1]!), s);
        assert.deepEqual(fieldFloats(f[2]!), floats);
        assert.deepEqual(fieldVarints(readFields(f[3]!.value as Uint8Array)[0]!), ints);
      },
    ),
    { numRuns: 300 },
  );
});

test('every strict prefix of a message that ends inside a field is refused as truncated', () => {
  const bytes = new ProtoWriter().varint(1, 300).string(2, 'hello').packedFloats(3, Float32Array.of(1, 2)).finish();
  // Field boundaries are at 3 (after the varint) and 10 (after the string): prefixes ending there are valid messages.
  const boundaries = new Set([0, 3, 10, bytes.length]);
  for (let cut = 1; cut < bytes.length; cut++) {
    if (boundaries.has(cut)) assert.doesNotThrow(() => readFields(bytes.subarray(0, cut)));
    else assert.throws(() => readFields(bytes.subarray(0, cut)), ProtoDecodeError, `cut at ${cut}`);
  }
});

test('unsupported wire types (groups) and field 0 are refused', () => {
  assert.throws(() => readFields(Uint8Array.of(0x0b)), /unsupported wire type 3/);
  assert.throws(() => readFields(Uint8Array.of(0x00, 0x01)), /field number 0/);
});

test('the writer refuses values it cannot encode rather than writing garbage', () => {
  assert.throws(() => new ProtoWriter().varint(1, -1), /non-negative safe integer/);
  assert.throws(() => new ProtoWriter().varint(1, 1.5), /non-negative safe integer/);
});

test('invalid UTF-8 in a string field is refused', () => {
  const f = readFields(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28))[0]!;
  assert.throws(() => fieldString(f), /not valid UTF-8/);
});
