import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from '../../../shared/federation/crc32.ts';

test('crc32 check values: "123456789" is 0xCBF43926 (the standard check), empty is 0', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog')), 0x414fa339);
});

// zlib.crc32 arrived in Node 20.15; where it exists it is an independent reference.
const zlibCrc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
test('crc32 agrees with zlib.crc32 on random bytes', { skip: zlibCrc ? false : 'zlib.crc32 needs Node ≥ 20.15' }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
      assert.equal(crc32(b), zlibCrc!(b));
    }),
  );
});

test('crc32 changes on every single-bit flip', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), fc.nat(7), (b, at, bit) => {
      const c = b.slice();
      c[at % c.length]! ^= 1 << bit;
      assert.notEqual(crc32(c), crc32(b));
    }),
  );
});
