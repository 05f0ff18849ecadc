import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrate, fitGpdPwm, quantile, ThresholdCalibrator, ThresholdOptionsSchema } from '../../../agent/detect/threshold.ts';
import { gaussian, rng } from '../../models/onnx/fixtures/random-model.ts';

const defaults = ThresholdOptionsSchema.parse({});
const exponential = (r: () => number) => -Math.log(1 - r());
/** Squared gaussian noise: the shape of a reconstruction-error score (chi-square-like, skewed right). */
const chiSquare = (r: () => number) => {
  let s = 0;
  for (let i = 0; i < 4; i++) s += gaussian(r) ** 2;
  return s / 4;
};
const sample = (n: number, seed: number, draw: (r: () => number) => number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => draw(r));
};
const rate = (xs: number[], z: number) => xs.filter((x) => x > z).length / xs.length;

test('quantile interpolates between order statistics (type 7)', () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([10, 20], 0.9), 19);
  assert.equal(quantile([7], 0.99), 7);
  assert.throws(() => quantile([], 0.5), /empty/);
});

test('the PWM fit recovers known GPD parameters from 20,000 draws', () => {
  for (const [shape, scale] of [[0.2, 1], [0, 2], [-0.2, 0.5]] as const) {
    const r = rng(1000 + Math.round(shape * 10));
    // Inverse CDF: y = σ/ξ · ((1 − u)^(−ξ) − 1), or −σ·ln(1 − u) for ξ = 0.
    const ys = Array.from({ length: 20_000 }, () => {
      const u = r();
      return shape === 0 ? -scale * Math.log(1 - u) : (scale / shape) * (Math.pow(1 - u, -shape) - 1);
    });
    const fit = fitGpdPwm(ys)!;
    assert.ok(Math.abs(fit.shape - shape) < 0.05, `shape ${fit.shape} for true ${shape}`);
    assert.ok(Math.abs(fit.scale / scale - 1) < 0.05, `scale ${fit.scale} for true ${scale}`);
  }
});

test('the PWM fit refuses samples it cannot fit', () => {
  assert.equal(fitGpdPwm([1]), null);
  assert.equal(fitGpdPwm([0, 0, 0]), null);
});

for (const [name, draw, seed] of [['exponential', exponential, 1], ['chi-square(4)/4', chiSquare, 2], ['|gaussian|', (r: () => number) => Math.abs(gaussian(r)), 3]] as const) {
  test(`SPOT on ${name} noise: false-positive rate on fresh clean data is near the risk`, () => {
    const risk = 1e-3;
    const cal = calibrate(sample(3600, seed, draw), { ...defaults, risk });
    assert.equal(cal.method, 'spot');
    assert.equal(cal.peaks, 72);
    // 200,000 fresh draws: at q = 1e-3 about 200 exceedances expected. A fit from 72 peaks is
    // uncertain, so "near" is within a factor of 3 either way.
    const fresh = sample(200_000, seed + 100, draw);
    const fp = rate(fresh, cal.threshold);
    assert.ok(fp > risk / 3 && fp < risk * 3, `false-positive rate ${fp} for risk ${risk}, threshold ${cal.threshold}`);
  });
}

test('SPOT extrapolates past the data: at risk 1e-4 the threshold is above every calibration score yet not absurd', () => {
  const scores = sample(3600, 4, exponential);
  const cal = calibrate(scores, { ...defaults, risk: 1e-4 });
  // For Exp(1), P(X > z) = e^(−z): the exact z for 1e-4 is ln(1e4) ≈ 9.21.
  assert.ok(cal.threshold > Math.max(...scores), `threshold ${cal.threshold} not above the sample maximum`);
  assert.ok(Math.abs(cal.threshold - Math.log(1e4)) < 2, `threshold ${cal.threshold} far from ln(1e4)`);
});

test('injected spikes at known positions are all flagged; clean points almost never', () => {
  const r = rng(5);
  const calibration = Array.from({ length: 3600 }, () => chiSquare(r));
  const { threshold } = calibrate(calibration, { ...defaults, risk: 1e-4 });
  const spikeAt = new Set([100, 1234, 2500, 2501, 2502, 4000, 7777]);
  const stream = Array.from({ length: 10_000 }, (_, i) => (spikeAt.has(i) ? 10 + chiSquare(r) * 2 : chiSquare(r)));
  const flagged = stream.flatMap((s, i) => (s > threshold ? [i] : []));
  for (const i of spikeAt) assert.ok(flagged.includes(i), `spike at ${i} (score ${stream[i]}) not flagged by threshold ${threshold}`);
  const falsePositives = flagged.filter((i) => !spikeAt.has(i)).length;
  assert.ok(falsePositives <= 3, `${falsePositives} false positives over ${stream.length - spikeAt.size} clean points at risk 1e-4`);
});

test('too few peaks: falls back to the plain high quantile', () => {
  const scores = sample(300, 6, exponential);
  const cal = calibrate(scores, defaults);
  assert.equal(cal.peaks, 6);
  assert.equal(cal.method, 'quantile');
  assert.equal(cal.threshold, quantile(Float64Array.from(scores).sort(), 0.999));
});

test('calibrator: warming up until `warmup` scores, then a threshold; the buffer is bounded and counts overwrites', () => {
  const c = new ThresholdCalibrator({ warmup: 50, capacity: 100, recalibrateEvery: 10 });
  const r = rng(7);
  for (let i = 0; i < 49; i++) c.add(exponential(r));
  assert.equal(c.status().state, 'warming-up');
  assert.equal(c.threshold, null);
  assert.equal(c.add(exponential(r)), true);
  assert.equal(c.status().state, 'ready');
  assert.ok(c.threshold! > 0);
  for (let i = 0; i < 150; i++) c.add(exponential(r));
  assert.equal(c.status().scores, 100);
  assert.equal(c.status().overwritten, 100);
});

test('calibrator recalibrates every `recalibrateEvery` scores and follows a change in the score distribution', () => {
  const c = new ThresholdCalibrator({ warmup: 300, capacity: 1000, recalibrateEvery: 100 });
  const r = rng(8);
  for (let i = 0; i < 1000; i++) c.add(exponential(r));
  const before = c.threshold!;
  let recalibrations = 0;
  for (let i = 0; i < 1000; i++) if (c.add(3 * exponential(r))) recalibrations++;
  assert.equal(recalibrations, 10);
  assert.ok(c.threshold! > 2 * before, `threshold ${c.threshold} did not follow scores scaled ×3 (was ${before})`);
});

test('calibrator ignores non-finite scores and options are validated', () => {
  const c = new ThresholdCalibrator({ warmup: 10, capacity: 10 });
  assert.equal(c.add(Number.NaN), false);
  assert.equal(c.status().scores, 0);
  assert.throws(() => new ThresholdCalibrator({ warmup: 500, capacity: 100 }), /warmup must not exceed capacity/);
  assert.throws(() => new ThresholdCalibrator({ risk: 0 }), /risk/);
});

test('learnCeiling: once a threshold exists, scores over the chosen bound are refused and counted', () => {
  const r = rng(9);
  for (const ceiling of ['initial', 'threshold'] as const) {
    const c = new ThresholdCalibrator({ warmup: 100, capacity: 1000, recalibrateEvery: 10, learnCeiling: ceiling });
    for (let i = 0; i < 100; i++) c.add(exponential(r));
    const last = c.status().last!;
    const bound = ceiling === 'initial' ? last.initial : last.threshold;
    assert.equal(c.add(bound * 2), false);
    assert.equal(c.status().refused, 1);
    assert.equal(c.status().scores, 100);
    c.add(bound / 2);
    assert.equal(c.status().scores, 101);
  }
  const none = new ThresholdCalibrator({ warmup: 10, capacity: 100 });
  for (let i = 0; i < 10; i++) none.add(exponential(r));
  none.add(1e9);
  assert.equal(none.status().refused, 0);
  assert.equal(none.status().scores, 11);
});
