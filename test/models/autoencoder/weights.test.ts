import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { gaussian, mulberry32 } from '../../../agent/learn/rng.ts';
import type { AutoencoderModel } from '../../../models/autoencoder/spec.ts';
import { applyDelta, flattenWeights, weightDelta } from '../../../models/autoencoder/weights.ts';
import { readAutoencoder } from '../../../models/onnx/reader.ts';

const BASE_PATH = new URL('../../../models/base/homeostat-base-v1.onnx', import.meta.url);
const base = readAutoencoder(new Uint8Array(readFileSync(BASE_PATH))).model;

function perturbed(m: AutoencoderModel, seed: number, size = 0.01): AutoencoderModel {
  const g = gaussian(mulberry32(seed));
  return { ...m, layers: m.layers.map((l) => ({ ...l, weight: l.weight.map((v) => v + size * g()), bias: l.bias.map((v) => v + size * g()) })) };
}

test('flattenWeights names every layer weight [out, in] and bias [out], in order, and copies them', () => {
  const t = flattenWeights(base);
  assert.deepEqual(
    t.map((x) => `${x.name}[${x.dims.join(',')}]`),
    ['layer0.weight[16,140]', 'layer0.bias[16]', 'layer1.weight[4,16]', 'layer1.bias[4]', 'layer2.weight[16,4]', 'layer2.bias[16]', 'layer3.weight[140,16]', 'layer3.bias[140]'],
  );
  assert.deepEqual(t[0]!.data, base.layers[0]!.weight);
  t[0]!.data[0] = 1e9;
  assert.notEqual(base.layers[0]!.weight[0], 1e9, 'mutating the view must not touch the model');
});

test('weightDelta of a model with itself is zero, and applying it gives the same weights', () => {
  const d = weightDelta(base, base);
  assert.ok(d.every((t) => t.data.every((v) => v === 0)));
  assert.deepEqual(flattenWeights(applyDelta(base, d)), flattenWeights(base));
});

test('applyDelta(a, weightDelta(a, b)) recovers b to within float32 rounding', () => {
  fc.assert(
    fc.property(fc.integer(), fc.double({ min: 1e-4, max: 10, noNaN: true }), (seed, size) => {
      const b = perturbed(base, seed, size);
      const back = applyDelta(base, weightDelta(base, b));
      back.layers.forEach((l, i) => {
        const want = b.layers[i]!;
        const from = base.layers[i]!;
        for (const [got, exp, was] of [[l.weight, want.weight, from.weight], [l.bias, want.bias, from.bias]] as const) {
          for (let j = 0; j < got.length; j++) {
            // Two float32 roundings (d = b − a, then a + d), each within half an ulp of its result.
            const tol = 2 ** -23 * (Math.abs(exp[j]!) + Math.abs(was[j]!));
            assert.ok(Math.abs(got[j]! - exp[j]!) <= tol, `layer${i}[${j}]: ${got[j]} vs ${exp[j]}`);
          }
        }
      });
    }),
    { numRuns: 20 },
  );
});

test('applyDelta returns a new model with equal but unaliased normalisation statistics', () => {
  const out = applyDelta(base, weightDelta(base, perturbed(base, 1)));
  for (const k of ['mean', 'std', 'errScale'] as const) {
    assert.deepEqual(out[k], base[k]);
    assert.notEqual(out[k], base[k]);
  }
  assert.deepEqual(out.featureNames, base.featureNames);
  assert.notDeepEqual(out.layers[0]!.weight, base.layers[0]!.weight);
});

test('shape mismatches throw an error naming the tensor', () => {
  const d = weightDelta(base, base);
  const wrongDims = d.map((t) => (t.name === 'layer2.bias' ? { ...t, dims: [15], data: new Float32Array(15) } : t));
  assert.throws(() => applyDelta(base, wrongDims), /tensor layer2\.bias has dims \[15\], expected \[16\]/);
  assert.throws(() => applyDelta(base, d.slice(0, -1)), /tensor layer3\.bias \[140\] is missing/);
  assert.throws(() => applyDelta(base, [...d, { name: 'layer4.bias', dims: [1], data: new Float32Array(1) }]), /unexpected extra tensor layer4\.bias/);
  const renamed = d.map((t, i) => (i === 1 ? { ...t, name: 'layer0.b' } : t));
  assert.throws(() => applyDelta(base, renamed), /tensor 1 is layer0\.b, expected layer0\.bias/);

  const narrower: AutoencoderModel = { ...base, layers: base.layers.map((l, i) => (i === 1 ? { ...l, outSize: 3, weight: l.weight.subarray(0, 48), bias: l.bias.subarray(0, 3) } : l)) };
  assert.throws(() => weightDelta(base, narrower), /layer1\.weight has dims \[3, 16\], expected \[4, 16\]/);
  const relu: AutoencoderModel = { ...base, layers: base.layers.map((l, i) => (i === 2 ? { ...l, activation: 'relu' as const } : l)) };
  assert.throws(() => weightDelta(base, relu), /layer2 activation is tanh in one model and relu/);
});

test('applyDelta refuses a delta with NaN or Infinity, naming where', () => {
  const d = weightDelta(base, base);
  d[3]!.data[2] = NaN;
  assert.throws(() => applyDelta(base, d), /layer1\.bias\[2\] is NaN/);
});
