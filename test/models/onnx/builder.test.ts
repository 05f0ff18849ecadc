import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { forward, type AutoencoderModel } from '../../../models/autoencoder/spec.ts';
import { buildOnnx, CONTRIB_OUTPUT, INPUT_NAME, SCORE_OUTPUT } from '../../../models/onnx/builder.ts';
import { readAutoencoder, readOnnx } from '../../../models/onnx/reader.ts';
import fc from 'fast-check';
import { randomInput, randomModel, type RandomModelShape } from './fixtures/random-model.ts';

/**
 * Parity tolerance: |ort − forward| ≤ 1e-5 · max(1, |forward|), i.e. absolute 1e-5 for values up
 * to 1 and relative 1e-5 above. Relative alone is wrong near 0 (a contribution of 1e-9 differs
 * by float32 rounding in relative terms); absolute alone is wrong for large scores.
 */
const TOL = 1e-5;
function closeness(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return worst;
}

async function runOrt(bytes: Uint8Array, m: AutoencoderModel, x: Float32Array) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const n = x.length / (m.window * m.features);
    const out = await s.run({ [INPUT_NAME]: new ort.Tensor('float32', x, [n, m.window, m.features]) });
    return { score: out[SCORE_OUTPUT]!, contrib: out[CONTRIB_OUTPUT]! };
  } finally {
    await s.release();
  }
}

const shapes: Array<[string, RandomModelShape]> = [
  ['W1 F1 linear, one hidden', { window: 1, features: 1, hidden: [1], activations: ['linear'] }],
  ['W5 F3 relu', { window: 5, features: 3, hidden: [8], activations: ['relu'] }],
  ['W10 F14 tanh, deep', { window: 10, features: 14, hidden: [64, 16, 64], activations: ['tanh'] }],
  ['W8 F14 relu/tanh mixed, raw scale 1e4', { window: 8, features: 14, hidden: [32, 8, 32], activations: ['relu', 'tanh'], scale: 1e4 }],
  ['W30 F38 (SMD width) relu', { window: 30, features: 38, hidden: [128, 32, 128], activations: ['relu'] }],
];

for (const [i, [label, shape]] of shapes.entries()) {
  test(`ORT output equals spec forward within ${TOL} (${label})`, async (t) => {
    const m = randomModel(100 + i, shape);
    const x = randomInput(200 + i, m, 64);
    const want = forward(m, x);
    const got = await runOrt(buildOnnx(m, { version: `parity-${i}` }), m, x);
    assert.deepEqual(got.score.dims, [64]);
    assert.deepEqual(got.contrib.dims, [64, m.features]);
    const es = closeness(got.score.data as Float32Array, want.score);
    const ec = closeness(got.contrib.data as Float32Array, want.contrib);
    t.diagnostic(`worst difference: score ${es.toExponential(2)}, contrib ${ec.toExponential(2)}`);
    assert.ok(es <= TOL, `score differs by ${es}`);
    assert.ok(ec <= TOL, `contrib differs by ${ec}`);
  });
}

test('parity holds over random shapes and activations (property, 25 models)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        window: fc.integer({ min: 1, max: 12 }),
        features: fc.integer({ min: 1, max: 16 }),
        hidden: fc.array(fc.integer({ min: 1, max: 48 }), { minLength: 0, maxLength: 3 }),
        activations: fc.array(fc.constantFrom('relu' as const, 'tanh' as const, 'linear' as const), { minLength: 1, maxLength: 3 }),
        batch: fc.integer({ min: 1, max: 16 }),
      }),
      async (s) => {
        const m = randomModel(s.seed, s);
        const x = randomInput(s.seed + 1, m, s.batch);
        const want = forward(m, x);
        const got = await runOrt(buildOnnx(m, { version: 'prop' }), m, x);
        assert.ok(closeness(got.score.data as Float32Array, want.score) <= TOL);
        assert.ok(closeness(got.contrib.data as Float32Array, want.contrib) <= TOL);
      },
    ),
    { numRuns: 25, seed: 7 },
  );
});

test('the graph really uses every weight: changing one weight after export breaks parity', async () => {
  const m = randomModel(5, { window: 4, features: 3, hidden: [6], activations: ['tanh'] });
  const bytes = buildOnnx(m, { version: 'v' });
  const x = randomInput(6, m, 8);
  m.layers[1]!.weight[3]! += 0.5;
  m.errScale[2]! *= 2;
  const got = await runOrt(bytes, m, x);
  assert.ok(closeness(got.score.data as Float32Array, forward(m, x).score) > TOL);
});

test('readAutoencoder recovers the weights bit for bit and the metadata', () => {
  const m = randomModel(9, { window: 6, features: 5, hidden: [10, 3], activations: ['relu', 'tanh'] });
  const meta = { version: 'global-r3', featureVersion: 1, createdAt: '2025-01-02T03:04:05Z', training: { seed: 42, epochs: 12, loss: 0.031 } };
  const back = readAutoencoder(buildOnnx(m, meta));
  assert.deepEqual(back.model, m);
  assert.deepEqual(back.meta, { version: 'global-r3', window: 6, features: 5, featureNames: m.featureNames, featureVersion: 1, createdAt: '2025-01-02T03:04:05Z', training: meta.training });
});

test('the same model and meta give the same bytes; a different version gives different bytes', () => {
  const m = randomModel(11, { window: 3, features: 2, hidden: [4], activations: ['relu'] });
  const a = buildOnnx(m, { version: 'a' });
  assert.deepEqual(buildOnnx(m, { version: 'a' }), a);
  assert.notDeepEqual(buildOnnx(m, { version: 'b' }), a);
});

test('the file declares IR 8, opset 17, input x [N, W, F] and outputs score [N], contrib [N, F]', () => {
  const m = randomModel(12, { window: 7, features: 4, hidden: [5], activations: ['relu'] });
  const info = readOnnx(buildOnnx(m, { version: 'v', producer: 'test-suite' }));
  assert.equal(info.irVersion, 8);
  assert.equal(info.producerName, 'test-suite');
  assert.deepEqual(info.opsets, [{ domain: '', version: 17 }]);
  assert.deepEqual(info.inputs.map((v) => [v.name, v.dims]), [['x', ['N', 7, 4]]]);
  assert.deepEqual(info.outputs.map((v) => [v.name, v.dims]), [['score', ['N']], ['contrib', ['N', 4]]]);
});

test('buildOnnx refuses an invalid model or meta, naming the problem', () => {
  const m = randomModel(13, { window: 2, features: 2, hidden: [3], activations: ['relu'] });
  const bad = { ...m, layers: [m.layers[0]!] };
  assert.throws(() => buildOnnx(bad, { version: 'v' }), /last layer outputs 3, expected window\*features = 4/);
  assert.throws(() => buildOnnx(m, { version: '' }), /version/);
  assert.throws(() => buildOnnx(m, { version: 'v', createdAt: 'yesterday' }), /createdAt/);
});
