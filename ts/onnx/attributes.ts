/**
 * A node's AttributeProtos to a record by name, each value by its declared type (see
 * OnnxAttributeValue). Subgraphs are converted by the caller's `subgraph` (ts/onnx/graph.ts), which
 * knows the enclosing scope; tensors by convertTensor.
 */
import { FormatError } from 'lstm-wasm';
import { MAX_ATTRIBUTES } from './limits';
import type { OnnxAttributeValue, OnnxGraph } from './model';
import { int64Value, type AttributeProto, type GraphProto, type Int64 } from './proto';
import { convertTensor } from './tensor';

/** AttributeProto.AttributeType, as onnx.proto3 numbers it. */
const TYPES = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const;
const UNREAD: Record<number, string> = { 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS' };

const utf8 = new TextDecoder();

/** `where` names the node ("node 'LSTM_4' (LSTM)"); `subgraph` converts a GRAPH attribute's graph. */
export function convertAttributes(attributes: AttributeProto[], where: string, subgraph: (g: GraphProto, where: string) => OnnxGraph): Record<string, OnnxAttributeValue> {
  if (attributes.length > MAX_ATTRIBUTES) throw new FormatError(`readOnnx: ${where} has ${attributes.length} attributes, at most ${MAX_ATTRIBUTES} are read`);
  const out = Object.create(null) as Record<string, OnnxAttributeValue>;
  for (const a of attributes) {
    const at = `${where} attribute '${a.name}'`;
    if (a.name === '') throw new FormatError(`readOnnx: ${where} has an attribute without a name`);
    if (a.name in out) throw new FormatError(`readOnnx: ${where} has attribute '${a.name}' twice`);
    if (a.refAttrName !== '') throw new FormatError(`readOnnx: ${at} refers to a function's attribute '${a.refAttrName}', which only a function body may do`);
    out[a.name] = attributeValue(a, at, subgraph);
  }
  return out;
}

function attributeValue(a: AttributeProto, at: string, subgraph: (g: GraphProto, where: string) => OnnxGraph): OnnxAttributeValue {
  switch (a.type) {
    case TYPES.FLOAT:
      return a.f;
    case TYPES.INT:
      return toNumber(a.i);
    case TYPES.STRING:
      return utf8.decode(a.s);
    case TYPES.TENSOR:
      if (a.t === null) throw new FormatError(`readOnnx: ${at} is of type TENSOR but holds no tensor`);
      return convertTensor(a.t, at);
    case TYPES.GRAPH:
      if (a.g === null) throw new FormatError(`readOnnx: ${at} is of type GRAPH but holds no graph`);
      return subgraph(a.g, at);
    case TYPES.FLOATS:
      return a.floats.slice();
    case TYPES.INTS:
      return a.ints.map(toNumber);
    case TYPES.STRINGS:
      return a.strings.map((s) => utf8.decode(s));
    case TYPES.TENSORS:
      return a.tensors.map((t, i) => convertTensor(t, `${at} tensor ${i}`));
    case TYPES.GRAPHS:
      return a.graphs.map((g, i) => subgraph(g, `${at} graph ${i}`));
    default:
      if (a.type in UNREAD) throw new FormatError(`readOnnx: ${at} is of type ${UNREAD[a.type]}, which lstm-wasm does not read`);
      throw new FormatError(`readOnnx: ${at} has type ${a.type}, not an ONNX attribute type${a.type === 0 ? ' (the file leaves it unset)' : ''}`);
  }
}

/** An int64 as a number: exact up to 2^53, rounded beyond (see OnnxAttributeValue). */
function toNumber(v: Int64): number {
  return Number(int64Value(v));
}
