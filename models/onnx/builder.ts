import { validateModel, type Activation, type AutoencoderModel } from '../autoencoder/spec.ts';
import { ModelMetaSchema, toMetadataProps, type ModelMetaInput } from './metadata.ts';
import * as P from './onnx-fields.ts';
import { ProtoWriter } from './protobuf.ts';

/** Graph input and output names: the detector feeds `x` and reads `score` and `contrib`. */
export const INPUT_NAME = 'x';
export const SCORE_OUTPUT = 'score';
export const CONTRIB_OUTPUT = 'contrib';
/** The symbolic batch dimension of `x`, `score` and `contrib`. */
export const BATCH_DIM = 'N';

/** Initializer and node names the reader relies on to recover the weights from a file. */
export const TENSOR_NAMES = {
  mean: 'mean',
  std: 'std',
  errScale: 'err_scale',
  weight: (i: number) => `layer${i}.weight`,
  bias: (i: number) => `layer${i}.bias`,
  activationNode: (i: number) => `layer${i}.act`,
} as const;

export const ACTIVATION_OPS: Record<Exclude<Activation, 'linear'>, string> = { relu: 'Relu', tanh: 'Tanh' };

type Dim = number | string;

function floatTensor(w: ProtoWriter, name: string, dims: readonly number[], data: Float32Array): void {
  w.packedVarints(P.TensorProto.dims, dims).varint(P.TensorProto.dataType, P.DataType.FLOAT).packedFloats(P.TensorProto.floatData, data).string(P.TensorProto.name, name);
}

function int64Tensor(w: ProtoWriter, name: string, data: readonly number[]): void {
  w.packedVarints(P.TensorProto.dims, [data.length]).varint(P.TensorProto.dataType, P.DataType.INT64).packedVarints(P.TensorProto.int64Data, data).string(P.TensorProto.name, name);
}

function valueInfo(w: ProtoWriter, name: string, dims: readonly Dim[]): void {
  w.string(P.ValueInfoProto.name, name).message(P.ValueInfoProto.type, (t) =>
    t.message(P.TypeProto.tensorType, (tt) =>
      tt.varint(P.TypeProtoTensor.elemType, P.DataType.FLOAT).message(P.TypeProtoTensor.shape, (s) => {
        for (const d of dims) {
          s.message(P.TensorShapeProto.dim, (dw) => (typeof d === 'number' ? dw.varint(P.Dimension.dimValue, d) : dw.string(P.Dimension.dimParam, d)));
        }
      }),
    ),
  );
}

interface NodeSpec {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
  intLists?: Record<string, number[]>;
}

function node(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.string(P.NodeProto.input, i);
  for (const o of n.outputs) w.string(P.NodeProto.output, o);
  w.string(P.NodeProto.name, n.name).string(P.NodeProto.opType, n.op);
  for (const [k, v] of Object.entries(n.ints ?? {})) {
    w.message(P.NodeProto.attribute, (a) => a.string(P.AttributeProto.name, k).varint(P.AttributeProto.i, v).varint(P.AttributeProto.type, P.AttributeType.INT));
  }
  for (const [k, v] of Object.entries(n.intLists ?? {})) {
    w.message(P.NodeProto.attribute, (a) => a.string(P.AttributeProto.name, k).packedVarints(P.AttributeProto.ints, v).varint(P.AttributeProto.type, P.AttributeType.INTS));
  }
}

/** The node list of models/autoencoder/spec.ts's graph, in topological order. */
function graphNodes(m: AutoencoderModel): NodeSpec[] {
  const nodes: NodeSpec[] = [
    { op: 'Sub', name: 'center', inputs: [INPUT_NAME, TENSOR_NAMES.mean], outputs: ['x_centered'] },
    { op: 'Div', name: 'standardise', inputs: ['x_centered', TENSOR_NAMES.std], outputs: ['z'] },
    // Reshape's 0 copies the batch dimension from the input, so N stays symbolic.
    { op: 'Reshape', name: 'flatten', inputs: ['z', 'shape_flat'], outputs: ['h0'] },
  ];
  m.layers.forEach((l, i) => {
    const pre = l.activation === 'linear' ? `h${i + 1}` : `layer${i}.pre`;
    // transB=1: the weight stays in the spec's row-major [out][in] layout, bit for bit.
    nodes.push({ op: 'Gemm', name: `layer${i}.gemm`, inputs: [`h${i}`, TENSOR_NAMES.weight(i), TENSOR_NAMES.bias(i)], outputs: [pre], ints: { transB: 1 } });
    if (l.activation !== 'linear') nodes.push({ op: ACTIVATION_OPS[l.activation], name: TENSOR_NAMES.activationNode(i), inputs: [pre], outputs: [`h${i + 1}`] });
  });
  nodes.push(
    { op: 'Reshape', name: 'unflatten', inputs: [`h${m.layers.length}`, 'shape_window'], outputs: ['recon'] },
    { op: 'Sub', name: 'residual', inputs: ['recon', 'z'], outputs: ['diff'] },
    { op: 'Mul', name: 'square', inputs: ['diff', 'diff'], outputs: ['sq'] },
    { op: 'Mul', name: 'weigh', inputs: ['sq', TENSOR_NAMES.errScale], outputs: ['err'] },
    { op: 'ReduceMean', name: 'mean_over_window', inputs: ['err'], outputs: [CONTRIB_OUTPUT], intLists: { axes: [1] }, ints: { keepdims: 0 } },
    { op: 'ReduceMean', name: 'mean_over_features', inputs: [CONTRIB_OUTPUT], outputs: [SCORE_OUTPUT], intLists: { axes: [1] }, ints: { keepdims: 0 } },
  );
  return nodes;
}

/**
 * Serialises an autoencoder (models/autoencoder/spec.ts) as an ONNX ModelProto: input `x`
 * float32 [N, W, F] of raw features, outputs `score` [N] and `contrib` [N, F]. Deterministic:
 * the same model and meta give the same bytes (no clock, no map iteration order).
 */
export function buildOnnx(model: AutoencoderModel, metaInput: ModelMetaInput): Uint8Array {
  validateModel(model);
  const meta = ModelMetaSchema.parse(metaInput);
  const { window: W, features: F } = model;
  const w = new ProtoWriter();
  w.varint(P.ModelProto.irVersion, P.IR_VERSION);
  w.string(P.ModelProto.producerName, meta.producer);
  if (meta.description !== undefined) w.string(P.ModelProto.docString, meta.description);
  w.message(P.ModelProto.graph, (g) => {
    for (const n of graphNodes(model)) g.message(P.GraphProto.node, (nw) => node(nw, n));
    g.string(P.GraphProto.name, 'homeostat_autoencoder');
    g.message(P.GraphProto.initializer, (t) => floatTensor(t, TENSOR_NAMES.mean, [F], model.mean));
    g.message(P.GraphProto.initializer, (t) => floatTensor(t, TENSOR_NAMES.std, [F], model.std));
    g.message(P.GraphProto.initializer, (t) => floatTensor(t, TENSOR_NAMES.errScale, [F], model.errScale));
    g.message(P.GraphProto.initializer, (t) => int64Tensor(t, 'shape_flat', [0, W * F]));
    g.message(P.GraphProto.initializer, (t) => int64Tensor(t, 'shape_window', [0, W, F]));
    model.layers.forEach((l, i) => {
      g.message(P.GraphProto.initializer, (t) => floatTensor(t, TENSOR_NAMES.weight(i), [l.outSize, l.inSize], l.weight));
      g.message(P.GraphProto.initializer, (t) => floatTensor(t, TENSOR_NAMES.bias(i), [l.outSize], l.bias));
    });
    g.message(P.GraphProto.input, (v) => valueInfo(v, INPUT_NAME, [BATCH_DIM, W, F]));
    g.message(P.GraphProto.output, (v) => valueInfo(v, SCORE_OUTPUT, [BATCH_DIM]));
    g.message(P.GraphProto.output, (v) => valueInfo(v, CONTRIB_OUTPUT, [BATCH_DIM, F]));
  });
  w.message(P.ModelProto.opsetImport, (o) => o.string(P.OperatorSetIdProto.domain, '').varint(P.OperatorSetIdProto.version, P.OPSET_VERSION));
  for (const [key, value] of toMetadataProps(model, meta)) {
    w.message(P.ModelProto.metadataProps, (e) => e.string(P.StringStringEntryProto.key, key).string(P.StringStringEntryProto.value, value));
  }
  return w.finish();
}
