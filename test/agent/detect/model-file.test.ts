import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkModelBytes, ModelRefusedError, openModel, type ModelExpectation } from '../../../agent/detect/model-file.ts';
import { buildOnnx } from '../../../models/onnx/builder.ts';
import { ProtoWriter } from '../../../models/onnx/protobuf.ts';
import { randomModel } from '../../models/onnx/fixtures/random-model.ts';
import { TempDir } from './fixtures/detect-fixtures.ts';

const dir = new TempDir();
after(() => dir.remove());

const model = randomModel(21, { window: 5, features: 4, hidden: [6], activations: ['relu'] });
const expect: ModelExpectation = { featureNames: model.featureNames, featureVersion: 1 };
const good = buildOnnx(model, { version: 'mf-1', featureVersion: 1 });

async function refusal(src: Parameters<typeof openModel>[0], exp = expect): Promise<ModelRefusedError> {
  try {
    const m = await openModel(src, exp);
    await m.session.release();
  } catch (e) {
    assert.ok(e instanceof ModelRefusedError, `not a ModelRefusedError: ${e}`);
    return e;
  }
  assert.fail('the model was accepted');
}

test('a good model file opens, with its metadata and a session that scores', async () => {
  const m = await openModel(dir.file('good.onnx', good), expect);
  try {
    assert.equal(m.meta.version, 'mf-1');
    assert.deepEqual(m.meta.featureNames, model.featureNames);
    assert.deepEqual(m.session.inputNames, ['x']);
  } finally {
    await m.session.release();
  }
});

test('unreadable: a missing file and a directory are refused, naming the file and what to do', async () => {
  const missing = join(dir.path, 'nope.onnx');
  const e = await refusal(missing);
  assert.equal(e.reason, 'unreadable');
  assert.match(e.message, new RegExp(`model ${missing} refused \\(unreadable\\): .*ENOENT.*remove the model setting to run the shipped base model`));
  const sub = join(dir.path, 'a-dir.onnx');
  mkdirSync(sub);
  assert.equal((await refusal(sub)).reason, 'unreadable');
});

test('corrupt: empty, random bytes, JSON and a truncated model are refused as corrupt or incompatible, never accepted', async () => {
  let seed = 1;
  const random = Uint8Array.from({ length: 2000 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  for (const [name, bytes] of [['empty', new Uint8Array()], ['random', random], ['json', new TextEncoder().encode('{"model": true}')]] as const) {
    const e = await refusal(dir.file(`${name}.onnx`, bytes));
    assert.equal(e.reason, 'corrupt', `${name}: ${e.message}`);
    assert.match(e.message, /not an ONNX model/);
    assert.match(e.message, /npm run model:train/);
  }
  // Every cut of a good file is refused; most are corrupt, cuts at a field boundary lack the tail.
  for (const cut of [1, 10, 100, Math.floor(good.length / 2), good.length - 1]) {
    const e = await refusal({ bytes: good.subarray(0, cut), label: `cut-${cut}` });
    assert.ok(e.reason === 'corrupt' || e.reason === 'incompatible', `cut at ${cut}: ${e.message}`);
  }
});

test('incompatible: a model for another feature width or order is refused with both sides named', async () => {
  const wide = randomModel(22, { window: 5, features: 6, hidden: [6], activations: ['relu'] });
  const e1 = await refusal({ bytes: buildOnnx(wide, { version: 'wide' }), label: 'wide.onnx' });
  assert.equal(e1.reason, 'incompatible');
  assert.match(e1.message, /input width 5×6 = 30 does not fit this agent's 4 features \(it would need 5×4 = 20\)/);

  const e2 = await refusal({ bytes: good, label: 'good.onnx' }, { featureNames: ['f0', 'f2', 'f1', 'f3'], featureVersion: 1 });
  assert.equal(e2.reason, 'incompatible');
  assert.match(e2.message, /feature 1 is "f1" in the model but "f2" in this agent/);

  const e3 = await refusal({ bytes: good, label: 'good.onnx' }, { ...expect, featureVersion: 2 });
  assert.match(e3.message, /feature version 1, this agent samples version 2/);
});

test('incompatible: an ONNX file that is not a Homeostat autoencoder (no metadata) is refused', async () => {
  const bare = new ProtoWriter().varint(1, 8).message(7, (g) => g.string(2, 'g')).message(8, (o) => o.varint(2, 17)).finish();
  const e = await refusal({ bytes: bare, label: 'foreign.onnx' });
  assert.equal(e.reason, 'incompatible');
  assert.match(e.message, /not a Homeostat autoencoder/);
});

test('failed: a model whose test inference gives non-finite scores is refused', async () => {
  const broken = randomModel(23, { window: 5, features: 4, hidden: [6], activations: ['relu'] });
  broken.layers[0]!.weight[0] = Number.NaN;
  const e = await refusal({ bytes: buildOnnx(broken, { version: 'nan' }), label: 'nan.onnx' });
  assert.equal(e.reason, 'failed');
  assert.match(e.message, /test inference failed \(a test window scored NaN\)/);
});

test('checkModelBytes needs no runtime and reports the same refusals', () => {
  assert.equal(checkModelBytes(good, 'good', expect).meta.window, 5);
  assert.throws(() => checkModelBytes(new Uint8Array([0xff]), 'x.onnx', expect), /model x.onnx refused \(corrupt\)/);
});
