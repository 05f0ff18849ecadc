import { shapeMismatch, type NamedTensor } from '../../shared/federation/tensor.ts';
import { validateModel, type AutoencoderModel } from './spec.ts';

/**
 * The shared-weights view of an autoencoder: what federated learning averages. Only the dense
 * layers' weights and biases are shared; mean/std/errScale describe one host's data and stay local
 * (a fleet-wide mean would mis-standardise every host that is not average).
 */

const weightName = (i: number) => `layer${i}.weight`;
const biasName = (i: number) => `layer${i}.bias`;

/** `layer{i}.weight` [out, in] then `layer{i}.bias` [out] per layer, in layer order; copies, never views. */
export function flattenWeights(model: AutoencoderModel): NamedTensor[] {
  return model.layers.flatMap((l, i) => [
    { name: weightName(i), dims: [l.outSize, l.inSize], data: new Float32Array(l.weight) },
    { name: biasName(i), dims: [l.outSize], data: new Float32Array(l.bias) },
  ]);
}

function assertSameShapes(a: readonly NamedTensor[], b: readonly NamedTensor[], what: string): void {
  const why = shapeMismatch(a, b);
  if (why) throw new Error(`${what}: ${why}`);
}

/** b − a per shared tensor (rounded to float32), so applyDelta(a, weightDelta(a, b)) ≈ b. */
export function weightDelta(a: AutoencoderModel, b: AutoencoderModel): NamedTensor[] {
  const ta = flattenWeights(a);
  const tb = flattenWeights(b);
  assertSameShapes(ta, tb, 'weightDelta: the two models differ in architecture');
  a.layers.forEach((l, i) => {
    if (l.activation !== b.layers[i]!.activation) {
      throw new Error(`weightDelta: layer${i} activation is ${l.activation} in one model and ${b.layers[i]!.activation} in the other`);
    }
  });
  return ta.map((t, k) => ({ name: t.name, dims: t.dims, data: tb[k]!.data.map((v, i) => v - t.data[i]!) }));
}

/** A new model: weights + delta (float32), with the same architecture and copies of mean/std/errScale. */
export function applyDelta(model: AutoencoderModel, delta: readonly NamedTensor[]): AutoencoderModel {
  assertSameShapes(flattenWeights(model), delta, 'applyDelta: the delta does not fit the model');
  for (const t of delta) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`applyDelta: ${t.name}[${bad}] is ${t.data[bad]}; refusing to build a model with non-finite weights`);
  }
  const out: AutoencoderModel = {
    window: model.window,
    features: model.features,
    featureNames: [...model.featureNames],
    mean: new Float32Array(model.mean),
    std: new Float32Array(model.std),
    errScale: new Float32Array(model.errScale),
    layers: model.layers.map((l, i) => ({
      inSize: l.inSize,
      outSize: l.outSize,
      activation: l.activation,
      weight: l.weight.map((v, j) => v + delta[2 * i]!.data[j]!),
      bias: l.bias.map((v, j) => v + delta[2 * i + 1]!.data[j]!),
    })),
  };
  validateModel(out);
  return out;
}
