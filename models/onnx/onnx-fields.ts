/**
 * Field numbers from onnx/onnx `onnx/onnx.proto` (proto2; stable across IR versions), for the
 * messages Homeostat writes and reads back. Only what is used is listed.
 */
export const ModelProto = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
export const OperatorSetIdProto = { domain: 1, version: 2 } as const;
export const StringStringEntryProto = { key: 1, value: 2 } as const;
export const GraphProto = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
export const NodeProto = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
export const AttributeProto = { name: 1, i: 3, ints: 8, type: 20 } as const;
export const AttributeType = { INT: 2, INTS: 7 } as const;
export const TensorProto = { dims: 1, dataType: 2, floatData: 4, int64Data: 7, name: 8, rawData: 9 } as const;
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export const ValueInfoProto = { name: 1, type: 2 } as const;
export const TypeProto = { tensorType: 1 } as const;
export const TypeProtoTensor = { elemType: 1, shape: 2 } as const;
export const TensorShapeProto = { dim: 1 } as const;
export const Dimension = { dimValue: 1, dimParam: 2 } as const;

/**
 * IR 8 with opset 17 (ONNX 1.12): every op used here exists there, and ReduceMean still takes
 * `axes` as an attribute (opset 18 moved it to an input). onnxruntime 1.30 loads both.
 */
export const IR_VERSION = 8;
export const OPSET_VERSION = 17;
