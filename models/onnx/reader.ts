import { validateModel, type Activation, type AutoencoderModel, type DenseLayer } from '../autoencoder/spec.ts';
import { ACTIVATION_OPS, TENSOR_NAMES } from './builder.ts';
import { StoredMetaSchema, type StoredMeta } from './metadata.ts';
import * as P from './onnx-fields.ts';
import { fieldBytes, fieldFloats, fieldNumber, fieldString, fieldVarints, littleEndianFloats, ProtoDecodeError, readFields, type ProtoField } from './protobuf.ts';

export { ProtoDecodeError };

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Float tensors only (float_data or raw_data); null for other types. */
  floats: Float32Array | null;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** Numbers for fixed dimensions, strings for symbolic ones (`N`), null when unnamed and unsized. */
  dims: Array<number | string | null>;
}

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
}

/** The parts of a ModelProto that Homeostat checks: enough to refuse a wrong file with a reason. */
export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  opsets: Array<{ domain: string; version: number }>;
  metadata: Record<string, string>;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

const byField = (fields: ProtoField[], n: number) => fields.filter((f) => f.field === n);

function readTensor(b: Uint8Array): OnnxTensor {
  const t: OnnxTensor = { name: '', dataType: 0, dims: [], floats: null };
  const floats: Float32Array[] = [];
  let raw: Uint8Array | null = null;
  for (const f of readFields(b)) {
    if (f.field === P.TensorProto.dims) t.dims.push(...fieldVarints(f));
    else if (f.field === P.TensorProto.dataType) t.dataType = fieldNumber(f);
    else if (f.field === P.TensorProto.name) t.name = fieldString(f);
    else if (f.field === P.TensorProto.floatData) floats.push(fieldFloats(f));
    else if (f.field === P.TensorProto.rawData) raw = fieldBytes(f);
  }
  if (t.dataType === P.DataType.FLOAT) {
    if (raw) {
      if (raw.length % 4 !== 0) throw new ProtoDecodeError(`tensor ${t.name}: raw_data of ${raw.length} bytes is not float32`);
      t.floats = littleEndianFloats(raw);
    } else {
      const total = floats.reduce((s, a) => s + a.length, 0);
      t.floats = new Float32Array(total);
      let at = 0;
      for (const a of floats) {
        t.floats.set(a, at);
        at += a.length;
      }
    }
    const expected = t.dims.reduce((s, d) => s * d, 1);
    if (t.floats.length !== expected) throw new ProtoDecodeError(`tensor ${t.name}: ${t.floats.length} values for dims [${t.dims.join(', ')}]`);
  }
  return t;
}

function readValueInfo(b: Uint8Array): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  for (const f of readFields(b)) {
    if (f.field === P.ValueInfoProto.name) v.name = fieldString(f);
    else if (f.field === P.ValueInfoProto.type) {
      for (const tf of byField(readFields(fieldBytes(f)), P.TypeProto.tensorType)) {
        for (const tt of readFields(fieldBytes(tf))) {
          if (tt.field === P.TypeProtoTensor.elemType) v.elemType = fieldNumber(tt);
          else if (tt.field === P.TypeProtoTensor.shape) {
            for (const d of byField(readFields(fieldBytes(tt)), P.TensorShapeProto.dim)) {
              const df = readFields(fieldBytes(d));
              const value = df.find((x) => x.field === P.Dimension.dimValue);
              const param = df.find((x) => x.field === P.Dimension.dimParam);
              v.dims.push(value ? fieldNumber(value) : param ? fieldString(param) : null);
            }
          }
        }
      }
    }
  }
  return v;
}

function readNode(b: Uint8Array): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', inputs: [], outputs: [] };
  for (const f of readFields(b)) {
    if (f.field === P.NodeProto.input) n.inputs.push(fieldString(f));
    else if (f.field === P.NodeProto.output) n.outputs.push(fieldString(f));
    else if (f.field === P.NodeProto.name) n.name = fieldString(f);
    else if (f.field === P.NodeProto.opType) n.opType = fieldString(f);
  }
  return n;
}

/**
 * Parses the ModelProto fields Homeostat uses. Throws ProtoDecodeError for bytes that are not
 * a protobuf message or lack what every ONNX model has (ir_version, a graph, an opset).
 */
export function readOnnx(bytes: Uint8Array): OnnxModelInfo {
  if (bytes.length === 0) throw new ProtoDecodeError('empty file');
  const info: OnnxModelInfo = { irVersion: 0, producerName: '', opsets: [], metadata: {}, nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  let graph: Uint8Array | null = null;
  for (const f of readFields(bytes)) {
    if (f.field === P.ModelProto.irVersion) info.irVersion = fieldNumber(f);
    else if (f.field === P.ModelProto.producerName) info.producerName = fieldString(f);
    else if (f.field === P.ModelProto.graph) graph = fieldBytes(f);
    else if (f.field === P.ModelProto.opsetImport) {
      const o = readFields(fieldBytes(f));
      const d = o.find((x) => x.field === P.OperatorSetIdProto.domain);
      const v = o.find((x) => x.field === P.OperatorSetIdProto.version);
      info.opsets.push({ domain: d ? fieldString(d) : '', version: v ? fieldNumber(v) : 0 });
    } else if (f.field === P.ModelProto.metadataProps) {
      const e = readFields(fieldBytes(f));
      const k = e.find((x) => x.field === P.StringStringEntryProto.key);
      const v = e.find((x) => x.field === P.StringStringEntryProto.value);
      if (k) info.metadata[fieldString(k)] = v ? fieldString(v) : '';
    }
  }
  if (info.irVersion < 1) throw new ProtoDecodeError('no ir_version: not an ONNX model');
  if (!graph) throw new ProtoDecodeError('no graph: not an ONNX model');
  if (info.opsets.length === 0) throw new ProtoDecodeError('no opset_import: not an ONNX model');
  for (const f of readFields(graph)) {
    if (f.field === P.GraphProto.node) info.nodes.push(readNode(fieldBytes(f)));
    else if (f.field === P.GraphProto.initializer) {
      const t = readTensor(fieldBytes(f));
      info.initializers.set(t.name, t);
    } else if (f.field === P.GraphProto.input) info.inputs.push(readValueInfo(fieldBytes(f)));
    else if (f.field === P.GraphProto.output) info.outputs.push(readValueInfo(fieldBytes(f)));
  }
  return info;
}

/** Thrown when a readable ONNX file is not a Homeostat autoencoder (missing metadata or weights). */
export class NotAutoencoderError extends Error {}

export function readMeta(info: OnnxModelInfo): StoredMeta {
  const r = StoredMetaSchema.safeParse(info.metadata);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new NotAutoencoderError(`metadata ${issue.path.join('.') || '(all)'}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Recovers the AutoencoderModel (weights bit for bit) and metadata from a file written by
 * buildOnnx, e.g. so the trainer can fine-tune the model the fleet runs.
 */
export function readAutoencoder(bytes: Uint8Array): { model: AutoencoderModel; meta: StoredMeta } {
  return autoencoderFrom(readOnnx(bytes));
}

/** readAutoencoder on an already parsed file. Throws NotAutoencoderError. */
export function autoencoderFrom(info: OnnxModelInfo): { model: AutoencoderModel; meta: StoredMeta } {
  const meta = readMeta(info);
  const floats = (name: string): Float32Array => {
    const t = info.initializers.get(name);
    if (!t?.floats) throw new NotAutoencoderError(`no float initializer "${name}"`);
    return t.floats;
  };
  const activationOf = (i: number): Activation => {
    const n = info.nodes.find((x) => x.name === TENSOR_NAMES.activationNode(i));
    if (!n) return 'linear';
    const a = (Object.keys(ACTIVATION_OPS) as Array<keyof typeof ACTIVATION_OPS>).find((k) => ACTIVATION_OPS[k] === n.opType);
    if (!a) throw new NotAutoencoderError(`layer ${i} activation op ${n.opType} is not one of ${Object.values(ACTIVATION_OPS).join(', ')}`);
    return a;
  };
  const layers: DenseLayer[] = [];
  for (let i = 0; info.initializers.has(TENSOR_NAMES.weight(i)); i++) {
    const t = info.initializers.get(TENSOR_NAMES.weight(i))!;
    if (t.dims.length !== 2) throw new NotAutoencoderError(`layer ${i} weight has dims [${t.dims.join(', ')}], expected [out, in]`);
    layers.push({ outSize: t.dims[0]!, inSize: t.dims[1]!, activation: activationOf(i), weight: floats(TENSOR_NAMES.weight(i)), bias: floats(TENSOR_NAMES.bias(i)) });
  }
  const model: AutoencoderModel = {
    window: meta.window,
    features: meta.features,
    featureNames: meta.featureNames,
    mean: floats(TENSOR_NAMES.mean),
    std: floats(TENSOR_NAMES.std),
    errScale: floats(TENSOR_NAMES.errScale),
    layers,
  };
  try {
    validateModel(model);
  } catch (e) {
    throw new NotAutoencoderError((e as Error).message);
  }
  return { model, meta };
}
