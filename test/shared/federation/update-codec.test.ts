import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { flattenWeights } from '../../../models/autoencoder/weights.ts';
import { readAutoencoder } from '../../../models/onnx/reader.ts';
import { crc32 } from '../../../shared/federation/crc32.ts';
import type { NamedTensor } from '../../../shared/federation/tensor.ts';
import {
  decodeUpdate,
  encodeUpdate,
  MAX_UPDATE_BYTES,
  QUANTIZATIONS,
  UPDATE_DECODE_REASONS,
  UpdateDecodeError,
  type Update,
  type UpdateDecodeReason,
} from '../../../shared/federation/update-codec.ts';

const BASE_PATH = new URL('../../../models/base/homeostat-base-v1.onnx', import.meta.url);
const baseWeights = flattenWeights(readAutoencoder(new Uint8Array(readFileSync(BASE_PATH))).model);

function update(over: Partial<Update> = {}): Update {
  return {
    roundId: 'round-7',
    agentId: 'edge-01-a1b2c3d4',
    baseVersion: 3,
    numSamples: 2707,
    quantization: 'f32',
    clipNorm: 1.5,
    noiseMultiplier: 0.8,
    tensors: [
      { name: 'layer0.weight', dims: [2, 3], data: Float32Array.of(0.5, -1.25, 3e-5, 0, -0, 1e-3) },
      { name: 'layer0.bias', dims: [2], data: Float32Array.of(-7, 0.125) },
    ],
    ...over,
  };
}

/** Sets the length field and appends a valid CRC: lets fuzzing reach the parser behind the checksum. */
function frame(withoutCrc: Uint8Array): Uint8Array {
  const out = new Uint8Array(withoutCrc.length + 4);
  out.set(withoutCrc);
  const v = new DataView(out.buffer);
  if (out.length >= 9) v.setUint32(5, out.length, true);
  v.setUint32(withoutCrc.length, crc32(out.subarray(0, withoutCrc.length)), true);
  return out;
}

function decodeReason(bytes: Uint8Array): UpdateDecodeReason | 'ok' {
  try {
    decodeUpdate(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof UpdateDecodeError) {
      assert.ok(UPDATE_DECODE_REASONS.includes(e.reason));
      assert.match(e.message, new RegExp(`^cannot decode federated update \\(${e.reason}\\): .+`));
      return e.reason;
    }
    throw e; // any other exception fails the property
  }
}

const tensorArb: fc.Arbitrary<NamedTensor> = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }))
  .chain(([name, dims]) =>
    fc
      .array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -60000, max: 60000 }), { minLength: dims.reduce((a, b) => a * b, 1), maxLength: dims.reduce((a, b) => a * b, 1) })
      .map((xs) => ({ name, dims, data: Float32Array.from(xs) })),
  );

const textArb = (maxBytes: number) =>
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && new TextEncoder().encode(s).length <= maxBytes);

const updateArb: fc.Arbitrary<Update> = fc.record({
  roundId: textArb(64),
  agentId: textArb(128),
  baseVersion: fc.nat({ max: 0xffffffff }),
  numSamples: fc.nat({ max: 0xffffffff }),
  quantization: fc.constantFrom(...QUANTIZATIONS),
  clipNorm: fc.option(fc.double({ min: 1e-9, max: 1e9, noNaN: true })),
  noiseMultiplier: fc.double({ min: 0, max: 100, noNaN: true }),
  tensors: fc.uniqueArray(tensorArb, { minLength: 1, maxLength: 6, selector: (t) => t.name }),
});

function maxAbsError(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

test('an f32 update decodes to exactly what was encoded', () => {
  const u = update({ clipNorm: null });
  assert.deepEqual(decodeUpdate(encodeUpdate(u)), u);
  // MQTT hands over Buffers that are odd-offset views into a shared pool.
  const pooled = Buffer.concat([Buffer.from([1, 2, 3]), encodeUpdate(u)]).subarray(3);
  assert.deepEqual(decodeUpdate(pooled), u);
});

test('any valid update round-trips: header exactly, values within the quantisation bound', () => {
  fc.assert(
    fc.property(updateArb, (u) => {
      const back = decodeUpdate(encodeUpdate(u));
      const { tensors, ...header } = back;
      const { tensors: sent, ...sentHeader } = u;
      assert.deepEqual(header, sentHeader);
      assert.deepEqual(
        tensors.map((t) => [t.name, t.dims]),
        sent.map((t) => [t.name, t.dims]),
      );
      tensors.forEach((t, k) => {
        const x = sent[k]!.data;
        if (u.quantization === 'f32') assert.deepEqual(t.data, x);
        else if (u.quantization === 'f16') x.forEach((v, i) => assert.ok(Math.abs(t.data[i]! - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25)));
        else {
          const max = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(maxAbsError(t.data, x) <= (max / 127) * 0.5 * (1 + 1e-6) + 2 ** -140);
        }
      });
    }),
    { numRuns: 300 },
  );
});

test('each kind of bad input gets its reason', () => {
  const good = encodeUpdate(update());
  const withByte = (at: number, value: number) => {
    const b = good.slice();
    b[at] = value;
    return b;
  };
  const cases: Array<[string, Uint8Array, UpdateDecodeReason, RegExp]> = [
    ['empty', new Uint8Array(0), 'truncated', /0 bytes/],
    ['half a magic', good.subarray(0, 2), 'truncated', /2 bytes/],
    ['JSON instead', new TextEncoder().encode('{"v":1}'), 'bad_magic', /expected "HSU1"/],
    ['wrong magic', withByte(3, 0x32), 'bad_magic', /0x48535532/],
    ['version 2', withByte(4, 2), 'unsupported_version', /codec version 2; this build reads version 1/],
    ['cut short', good.subarray(0, good.length - 1), 'truncated', new RegExp(`${good.length - 1} of the ${good.length} declared bytes`)],
    ['trailing garbage', Uint8Array.from([...good, 0]), 'malformed', /1 bytes after the declared end/],
    ['flipped value bit', withByte(good.length - 10, good[good.length - 10]! ^ 4), 'checksum', /corrupted in transit/],
    ['huge declared length', Uint8Array.from([...good.subarray(0, 5), 0xff, 0xff, 0xff, 0x7f]), 'malformed', /declared length 2147483647 is outside/],
    ['quantisation 7', frame(withByte(9, 7).subarray(0, good.length - 4)), 'malformed', /quantisation code 7/],
    ['round id of 200 bytes', frame(withByte(10, 200).subarray(0, good.length - 4)), 'malformed', /round id is 200 bytes, the limit is 64/],
  ];
  for (const [what, bytes, reason, message] of cases) {
    assert.throws(
      () => decodeUpdate(bytes),
      (e: unknown) => e instanceof UpdateDecodeError && e.reason === reason && message.test(e.message),
      `${what}: expected ${reason} matching ${message}`,
    );
  }
});

test('a well-framed update with a bad structure is malformed, and the message says what', () => {
  const body = (u: Update) => encodeUpdate(u).slice(0, -4);
  const good = body(update({ quantization: 'i8' }));
  const minus128 = good.slice();
  minus128[minus128.length - 1] = 0x80; // the last value of the last tensor
  const invalidUtf8 = good.slice();
  invalidUtf8[11] = 0xff; // first byte of the round id
  const nanF32 = body(update());
  new DataView(nanF32.buffer).setFloat32(nanF32.length - 4, NaN, true); // the last value
  const clipNeg = body(update());
  const clipAt = 11 + 'round-7'.length + 1 + 'edge-01-a1b2c3d4'.length + 8;
  new DataView(clipNeg.buffer).setFloat64(clipAt, -1, true);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['int8 -128', minus128, /layer0\.bias value 1 is -128; symmetric int8 uses \[-127, 127\]/],
    ['invalid UTF-8', invalidUtf8, /round id is not valid UTF-8/],
    ['NaN value', nanF32, /tensor layer0\.bias value 1 is NaN/],
    ['negative clip norm', clipNeg, /clipNorm/],
    ['one byte short of the last value', body(update()).subarray(0, -1), /tensor layer0\.bias dims \[2\] do not fit the 7 bytes left/],
    ['int8 values cut short', good.subarray(0, -1), /tensor layer0\.bias values needs 2 bytes/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => decodeUpdate(frame(bytes)),
      (e: unknown) => e instanceof UpdateDecodeError && e.reason === 'malformed' && message.test(e.message),
      what,
    );
  }
});

test('fuzz: random bytes only ever decode or throw UpdateDecodeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
      decodeReason(b);
    }),
    { numRuns: 5_000 },
  );
});

test('fuzz: random bodies behind a valid magic, version, length and CRC are parsed safely', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(0, 1, 2, 3, 255), (tail, q) => {
      const reason = decodeReason(frame(Uint8Array.from([0x48, 0x53, 0x55, 0x31, 1, 0, 0, 0, 0, q, ...tail])));
      assert.ok(reason === 'ok' || reason === 'malformed', reason);
    }),
    { numRuns: 5_000 },
  );
});

test('fuzz: every truncation of a valid update is reported as truncated', () => {
  fc.assert(
    fc.property(updateArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u, cut) => {
      const b = encodeUpdate(u);
      const reason = decodeReason(b.subarray(0, Math.floor(cut * b.length)));
      assert.equal(reason, 'truncated');
    }),
    { numRuns: 500 },
  );
});

test('fuzz: any single bit flip of a valid update is refused (CRC-32 catches all of them)', () => {
  fc.assert(
    fc.property(updateArb, fc.nat(), fc.nat(7), (u, at, bit) => {
      const b = encodeUpdate(u).slice();
      b[at % b.length]! ^= 1 << bit;
      assert.notEqual(decodeReason(b), 'ok');
    }),
    { numRuns: 2_000 },
  );
});

test('fuzz: several bit flips, with or without a recomputed CRC, never escape as another exception', () => {
  fc.assert(
    fc.property(updateArb, fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 8 }), fc.boolean(), (u, flips, reframe) => {
      let b = encodeUpdate(u).slice();
      for (const [at, bit] of flips) b[at % b.length]! ^= 1 << bit;
      if (reframe) b = frame(b.subarray(0, b.length - 4)).map((x, i) => (i < 5 ? b[i]! : x));
      decodeReason(b);
    }),
    { numRuns: 2_000 },
  );
});

test('encode refuses what it cannot send, saying why', () => {
  assert.throws(() => encodeUpdate(update({ roundId: 'r'.repeat(65) })), /round id is longer than 64 bytes/);
  assert.throws(() => encodeUpdate(update({ agentId: 'é'.repeat(65) })), /agent id is longer than 128 bytes/);
  assert.throws(() => encodeUpdate(update({ agentId: 'a\ud800' })), /agent id has unpaired surrogates/);
  assert.throws(() => encodeUpdate(update({ numSamples: -1 })), /numSamples/);
  assert.throws(() => encodeUpdate(update({ tensors: [] })), /tensors/);
  assert.throws(() => encodeUpdate(update({ tensors: [update().tensors[0]!, update().tensors[0]!] })), /tensor names are not unique/);
  assert.throws(() => encodeUpdate(update({ tensors: [{ name: 'x', dims: [2], data: new Float32Array(3) }] })), /data length does not match/);
  assert.throws(() => encodeUpdate(update({ tensors: [{ name: 'x', dims: [1], data: Float32Array.of(Infinity) }] })), /non-finite/);
  assert.throws(() => encodeUpdate(update({ quantization: 'f16', tensors: [{ name: 'x', dims: [2], data: Float32Array.of(1, 70000) }] })), /x value 1 \(70000\) is beyond float16's range.*send this update as f32/);
  const big = { name: 'big', dims: [MAX_UPDATE_BYTES / 4], data: new Float32Array(MAX_UPDATE_BYTES / 4) };
  assert.throws(() => encodeUpdate(update({ tensors: [big] })), /exceeds MAX_UPDATE_BYTES/);
  assert.equal(decodeUpdate(encodeUpdate(update({ quantization: 'f16', tensors: [big] }))).tensors[0]!.data.length, big.data.length);
});

test('size: the base model update at f16 is ≤ 25% of JSON float32 number arrays; i8 is smaller still', (t) => {
  const json = new TextEncoder().encode(JSON.stringify(baseWeights.map((w) => Array.from(w.data)))).length;
  const sizes = Object.fromEntries(QUANTIZATIONS.map((q) => [q, encodeUpdate(update({ quantization: q, tensors: baseWeights })).length]));
  const params = baseWeights.reduce((s, w) => s + w.data.length, 0);
  t.diagnostic(`base model: ${params} parameters; JSON ${json} B; f32 ${sizes.f32} B; f16 ${sizes.f16} B (${((100 * sizes.f16!) / json).toFixed(1)}%); i8 ${sizes.i8} B (${((100 * sizes.i8!) / json).toFixed(1)}%)`);
  assert.ok(sizes.f16! <= 0.25 * json, `f16 ${sizes.f16} B vs JSON ${json} B`);
  assert.ok(sizes.i8! < sizes.f16!);
  assert.ok(sizes.f32! < json);
});
