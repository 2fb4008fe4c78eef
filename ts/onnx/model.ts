/**
 * What `readOnnx` gives: an ONNX model as plain checked data, for the runtime to build on. Names,
 * shapes and data are as the file has them; nothing refers back to protobuf.
 */
import type { OnnxDataType } from './data-types';

/** A tensor's data, as the typed array its data type reads into (int64 exactly, as bigints). */
export type OnnxTensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A constant tensor: an initializer or a tensor attribute (e.g. Constant's `value`). */
export interface OnnxTensor {
  name: string;
  /** Its shape; [] for a scalar. */
  dims: number[];
  dataType: OnnxDataType;
  /** Row-major, `dims` product elements long; bool as 0/1 bytes. */
  data: OnnxTensorData;
}

/**
 * An attribute's value, by its ONNX type: FLOAT and INT as numbers (an int beyond 2^53, such as
 * opset 9's Slice `ends` = INT64_MAX, rounded to the nearest double), STRING as UTF-8 decoded text,
 * TENSOR, GRAPH and their lists as converted here.
 */
export type OnnxAttributeValue = number | string | number[] | string[] | OnnxTensor | OnnxTensor[] | OnnxGraph | OnnxGraph[];

export interface OnnxNode {
  /** As the file names it ('' if it does not). */
  name: string;
  opType: string;
  /** '' for the default domain (ai.onnx). */
  domain: string;
  /** Value names; '' for an optional input left out. */
  inputs: string[];
  outputs: string[];
  /** By name; the object has no prototype. */
  attributes: Record<string, OnnxAttributeValue>;
}

/** A graph input or output. */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataType;
  /** Per dimension: its size, its symbolic name (a dynamic axis: 'batch', 'T'), or null if neither; null if the rank is unknown. */
  shape: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  /** In an order that runs: every node after the nodes whose outputs it reads (the file's order when it already is one). */
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxOpsetImport {
  /** '' for the default domain (ai.onnx). */
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  /** The version of the default domain's operator set (9..22). */
  opset: number;
  producer: { name: string; version: string };
  graph: OnnxGraph;
}
