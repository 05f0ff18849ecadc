import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SampleHistory } from '../../../agent/detect/sample-history.ts';

const windowOf = (h: SampleHistory, end: number, w: number) => {
  const out = new Float32Array(w * h.features);
  return h.copyWindow(end, w, out, 0) ? [...out] : null;
};

test('keeps the last `capacity` samples; windows reaching past them are unavailable', () => {
  const h = new SampleHistory(2, 4);
  for (let i = 0; i < 6; i++) h.push([i, 10 * i]);
  assert.equal(h.lastSeq, 5);
  assert.equal(h.size, 4);
  assert.deepEqual(windowOf(h, 5, 3), [3, 30, 4, 40, 5, 50]);
  assert.deepEqual(windowOf(h, 5, 4), [2, 20, 3, 30, 4, 40, 5, 50]);
  assert.equal(windowOf(h, 5, 5), null);
  assert.equal(windowOf(h, 6, 1), null);
});

test('normal flags follow their sample and are cleared when the slot is reused', () => {
  const h = new SampleHistory(1, 3);
  for (let i = 0; i < 3; i++) h.push([i]);
  h.markNormal(1);
  assert.equal(h.isNormal(1), true);
  assert.equal(h.isNormal(2), false);
  h.push([3]);
  h.push([4]); // reuses seq 1's slot
  assert.equal(h.isNormal(1), false);
  assert.equal(h.isNormal(4), false);
});

test('grow keeps every sample and flag, wherever the ring had wrapped', () => {
  const h = new SampleHistory(1, 3);
  for (let i = 0; i < 5; i++) h.push([i]);
  h.markNormal(3);
  h.grow(5);
  assert.equal(h.capacity, 5);
  assert.deepEqual(windowOf(h, 4, 3), [2, 3, 4]);
  assert.equal(h.isNormal(3), true);
  for (let i = 5; i < 7; i++) h.push([i]);
  assert.deepEqual(windowOf(h, 6, 5), [2, 3, 4, 5, 6]);
});
