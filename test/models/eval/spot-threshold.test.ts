import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, mulberry32 } from '../../../agent/learn/rng.ts';
import { spotF1 } from '../../../models/eval/spot-threshold.ts';

const small = { threshold: { warmup: 50, capacity: 100, recalibrateEvery: 1 } };

function normalScores(n: number, seed: number): number[] {
  const g = gaussian(mulberry32(seed));
  return Array.from({ length: n }, () => Math.abs(g()));
}

test('a raised stretch is flagged from the debounce on, and its scores are never learned as normal', () => {
  const train = normalScores(500, 1);
  const test = normalScores(1000, 2);
  const labels = test.map((_, i) => (i >= 400 && i < 700 ? 1 : 0));
  for (let i = 400; i < 700; i++) test[i] = 20 + test[i]!;
  const r = spotF1(train, test, labels, small);
  // Opens on the 12th over tick (k = 12) and closes 15 clean ticks after the stretch (m = 15).
  assert.ok(Math.abs(r.r - 289 / 300) < 1e-12, `recall ${r.r}`);
  assert.ok(Math.abs(r.p - 289 / (289 + 14)) < 1e-12, `precision ${r.p}`);
  // 300 raised scores against a ring of 100: had they been learned the threshold would have
  // climbed to their level.
  assert.ok(r.threshold < 10, `threshold ${r.threshold} stayed at the normal scale`);
  assert.deepEqual([r.episodes, r.falseEpisodes], [1, 0], 'one anomaly, over labelled rows');
});

test('an anomaly opened over unlabelled rows is a false alarm', () => {
  const train = normalScores(500, 5);
  const test = normalScores(600, 6);
  const labels = test.map((_, i) => (i >= 400 && i < 450 ? 1 : 0));
  for (let i = 100; i < 150; i++) test[i] = 20 + test[i]!;
  for (let i = 400; i < 450; i++) test[i] = 20 + test[i]!;
  const r = spotF1(train, test, labels, small);
  assert.deepEqual([r.episodes, r.falseEpisodes], [2, 1]);
});

test('a one-tick spike is not an anomaly for the agent, and is learned as normal', () => {
  const train = normalScores(500, 3);
  const test = normalScores(260, 4);
  const labels = test.map((_, i) => (i === 200 ? 1 : 0));
  test[200] = 50;
  const r = spotF1(train, test, labels, small);
  assert.equal(r.r, 0);
  // The spike entered the ring (n ticks later) and is still in it: the threshold sits at its level.
  assert.ok(r.threshold > 10, `threshold ${r.threshold}`);
});
