import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward, forwardBatch, fromModel, loss, toModel, zeroGrads, type Layer } from '../../../agent/learn/network.ts';
import { gaussian, mulberry32 } from '../../../agent/learn/rng.ts';
import { train } from '../../../agent/learn/trainer.ts';
import { AutoencoderScorer, windows } from '../../../models/autoencoder/scorer.ts';
import { forward } from '../../../models/autoencoder/spec.ts';

function tinyNet(seed: number): Layer[] {
  const g = gaussian(mulberry32(seed));
  const mk = (inSize: number, outSize: number, activation: Layer['activation']): Layer => ({
    inSize,
    outSize,
    activation,
    w: Float64Array.from({ length: inSize * outSize }, () => g() * 0.7),
    b: Float64Array.from({ length: outSize }, () => g() * 0.1),
  });
  return [mk(6, 4, 'tanh'), mk(4, 3, 'relu'), mk(3, 4, 'tanh'), mk(4, 6, 'linear')];
}

function lossOf(layers: Layer[], x: Float64Array, batch: number): number {
  const outs = forwardBatch(layers, x, batch);
  const y = outs[outs.length - 1]!;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - x[i]!) ** 2;
  return s / y.length;
}

test('gradient check: backward matches central finite differences for every parameter tensor', () => {
  const layers = tinyNet(3);
  const g0 = gaussian(mulberry32(9));
  const batch = 5;
  const x = Float64Array.from({ length: batch * 6 }, () => g0());
  const grads = zeroGrads(layers);
  backward(layers, forwardBatch(layers, x, batch), x, batch, grads);
  const h = 1e-6;
  let worst = 0;
  layers.forEach((l, k) => {
    for (const [param, grad] of [[l.w, grads.w[k]!], [l.b, grads.b[k]!]] as const) {
      for (let i = 0; i < param.length; i++) {
        const keep = param[i]!;
        param[i] = keep + h;
        const up = lossOf(layers, x, batch);
        param[i] = keep - h;
        const down = lossOf(layers, x, batch);
        param[i] = keep;
        const numeric = (up - down) / (2 * h);
        const rel = Math.abs(numeric - grad[i]!) / Math.max(1e-8, Math.abs(numeric) + Math.abs(grad[i]!));
        // relu kinks make single entries unreliable only exactly at 0; random weights avoid them
        worst = Math.max(worst, rel);
      }
    }
  });
  assert.ok(worst < 1e-5, `worst relative error ${worst}`);
});

/** Rows of 3 features tied together (b ≈ 2a, c ≈ -a), the structure an autoencoder must learn. */
function correlated(n: number, seed: number, breakFrom = Infinity, breakTo = -1): Float32Array {
  const g = gaussian(mulberry32(seed));
  const rows = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = Math.sin(i / 7) + 0.05 * g();
    const broken = i >= breakFrom && i < breakTo;
    rows.set([a, broken ? -2 * a : 2 * a + 0.05 * g(), -a + 0.05 * g()], i * 3);
  }
  return rows;
}

test('training lowers the loss, is bit-for-bit reproducible from a seed, and differs across seeds', async () => {
  const rows = correlated(600, 1);
  const losses: number[] = [];
  const opts = { window: 3, hidden: [4, 2], epochs: 8, seed: 42, patience: 100, windowsPerEpoch: 400, onEpoch: (e: { val: number }) => losses.push(e.val) };
  const a = await train(rows, 3, opts);
  assert.ok(losses.at(-1)! < losses[0]! * 0.8, `validation loss ${losses[0]} → ${losses.at(-1)}`);
  const b = await train(rows, 3, { ...opts, onEpoch: undefined });
  const c = await train(rows, 3, { ...opts, seed: 43, onEpoch: undefined });
  assert.deepEqual(a.layers.map((l) => Array.from(l.weight)), b.layers.map((l) => Array.from(l.weight)));
  assert.notDeepEqual(a.layers[0]!.weight, c.layers[0]!.weight);
});

test('early stopping stops when validation stops improving', async () => {
  const epochs: number[] = [];
  await train(correlated(300, 2), 3, { window: 2, hidden: [4, 2], epochs: 200, patience: 2, learningRate: 0.05, windowsPerEpoch: 200, seed: 5, onEpoch: (e) => epochs.push(e.epoch) });
  assert.ok(epochs.length < 200, `stopped after ${epochs.length} epochs`);
});

test('fine-tuning starts from a model and leaves it untouched', async () => {
  const base = await train(correlated(400, 3), 3, { window: 3, hidden: [4, 2], epochs: 3, seed: 1 });
  const before = base.layers.map((l) => Float32Array.from(l.weight));
  const tuned = await train(correlated(400, 4), 3, { epochs: 3, seed: 2 }, base);
  assert.deepEqual(base.layers.map((l) => l.weight), before);
  assert.notDeepEqual(tuned.layers[0]!.weight, before[0]);
  assert.deepEqual(tuned.mean, base.mean, 'normalisation comes with the model being tuned');
});

/** Six features that all follow one signal; breaking one leaves five witnesses against it. */
function sixTied(n: number, seed: number, breakFrom = Infinity, breakTo = -1): Float32Array {
  const g = gaussian(mulberry32(seed));
  const k = [1, 2, -1, 0.5, -1.5, 1];
  const rows = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const a = Math.sin(i / 7);
    k.forEach((c, j) => (rows[i * 6 + j] = (j === 1 && i >= breakFrom && i < breakTo ? -c : c) * a + 0.05 * g()));
  }
  return rows;
}

test('the scorer ranks planted anomalies above normal rows, and names the broken feature', async () => {
  const s = new AutoencoderScorer({ window: 3, hidden: [6, 2], epochs: 20, seed: 7 });
  await s.fit(sixTied(1500, 5), 6);
  const { scores, contributions } = await s.score(sixTied(400, 6, 200, 220), 6);
  let normalMax = 0;
  for (let i = 10; i < 400; i++) if (i < 198 || i >= 224) normalMax = Math.max(normalMax, scores[i]!);
  let flagged = 0;
  for (let i = 202; i < 220; i++) if (scores[i]! > normalMax) flagged++;
  assert.ok(flagged >= 15, `${flagged} of 18 anomalous rows above every normal row`);
  const c = Array.from(contributions!.subarray(210 * 6, 211 * 6));
  assert.equal(c.indexOf(Math.max(...c)), 1, `contributions ${c.map((x) => x.toFixed(2))}`);
});

test('the exported float32 model scores like the float64 network it came from', () => {
  const layers = tinyNet(11).map((l, i, all) => (i === 0 ? { ...l, inSize: 6 } : i === all.length - 1 ? { ...l, outSize: 6 } : l));
  const model = toModel(layers, { window: 2, features: 3, featureNames: ['a', 'b', 'c'], mean: new Float32Array(3), std: new Float32Array(3).fill(1), errScale: new Float32Array(3).fill(1) });
  const g = gaussian(mulberry32(4));
  const x = Float64Array.from({ length: 6 }, () => g());
  const ref = lossOf(layers, x, 1);
  const got = forward(model, Float32Array.from(x)).score[0]!;
  assert.ok(Math.abs(got - ref) < 1e-5 * Math.max(1, ref), `${got} vs ${ref}`);
});

test('input noise: reproducible from the seed, different from plain training, and the net learns to remove it', async () => {
  const rows = sixTied(1500, 8);
  const opts = { window: 3, hidden: [6, 2], epochs: 15, seed: 3, patience: 100 };
  const noisy = await train(rows, 6, { ...opts, inputNoise: 0.5 });
  const again = await train(rows, 6, { ...opts, inputNoise: 0.5 });
  const plain = await train(rows, 6, { ...opts, inputNoise: 0 });
  assert.deepEqual(noisy.layers.map((l) => Array.from(l.weight)), again.layers.map((l) => Array.from(l.weight)));
  assert.notDeepEqual(noisy.layers[0]!.weight, plain.layers[0]!.weight);
  // Corrupt held-out windows and score the reconstruction against the clean window: the
  // denoising net must come closer to the clean data than the plain one.
  const clean = sixTied(300, 9);
  const g = gaussian(mulberry32(10));
  const x = windows(clean, 6, 3);
  const corrupted = x.map((v, i) => v + 0.5 * noisy.std[i % 6]! * g());
  const cleanError = (m: typeof noisy) => {
    const layers = fromModel(m);
    const z = Float64Array.from(corrupted, (v, i) => (v - m.mean[i % 6]!) / m.std[i % 6]!);
    const target = Float64Array.from(x, (v, i) => (v - m.mean[i % 6]!) / m.std[i % 6]!);
    return loss(forwardBatch(layers, z, x.length / 18).at(-1)!, target);
  };
  assert.ok(cleanError(noisy) < cleanError(plain), `denoising ${cleanError(noisy)} vs plain ${cleanError(plain)}`);
});
