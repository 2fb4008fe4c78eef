/**
 * The types of the ONNX messages as ts/onnx/onnx-proto.generated.ts decodes and encodes them
 * (written by hand for the fields lstm-wasm uses: scripts/onnx/onnx.proto3 lists them all), and
 * the generated module under those types. Field names are pbjs's camelCase of ONNX's snake_case.
 *
 * As decoded: a field absent from the file reads as its default from the message's prototype
 * ('' / 0 / empty bytes / null for a message), a repeated field as an array. An int64 reads as a
 * number where it is a safe integer and as a bigint beyond (ts/onnx/decode.ts's reader), except an
 * absent one, whose prototype default is long.js's `Long` zero: `int64Value` takes all three.
 * To encode, give int64 fields as numbers (or `Long`s): protobufjs's writer reads a bigint as 0.
 */
import { Reader as GeneratedReader, Writer as GeneratedWriter, onnx as generated } from './onnx-proto.generated';

/** An int64 field as decoded: see the module comment. */
export type Int64 = number | bigint | { low: number; high: number; unsigned?: boolean };

/** Its value: a number when exact, else a bigint. */
export function int64Value(v: Int64): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  const wide = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  const exact = v.unsigned ? wide : BigInt.asIntN(64, wide);
  return exact >= BigInt(Number.MIN_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(exact) : exact;
}

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: Int64;
}

export interface TensorProto {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  docString: string;
  rawData: Uint8Array;
  externalData: StringStringEntryProto[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: Int64[];
}

export interface DimensionProto {
  dimValue: Int64 | null;
  dimParam: string | null;
  /** Which of the two the file set (a oneof), if either. */
  value?: 'dimValue' | 'dimParam';
  denotation: string;
}

export interface TensorShapeProto {
  dim: DimensionProto[];
}

export interface TypeProto {
  tensorType: { elemType: number; shape: TensorShapeProto | null } | null;
  denotation: string;
}

export interface ValueInfoProto {
  name: string;
  type: TypeProto | null;
  docString: string;
}

export interface AttributeProto {
  name: string;
  refAttrName: string;
  docString: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: TensorProto | null;
  g: GraphProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  overload: string;
  attribute: AttributeProto[];
  docString: string;
}

export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  docString: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: Int64;
  opsetImport: OperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: Int64;
  docString: string;
  graph: GraphProto | null;
}

/** A message to encode: any subset of its fields, nested messages likewise. */
export type Encodable<T> = T extends Uint8Array ? T : T extends (infer E)[] ? Encodable<E>[] : T extends object ? { [K in keyof T]?: Encodable<T[K]> } : T;

/** The parts of protobufjs's Writer the encoders use. */
export interface ProtoWriter {
  finish(): Uint8Array;
}

/** The parts of protobufjs's Reader a decoder subclass uses. */
export interface ProtoReader {
  buf: Uint8Array;
  pos: number;
  len: number;
  discardUnknown: boolean;
  tag(): number;
  int64(): Int64;
  uint64(): Int64;
}

interface MessageCodec<T> {
  decode(reader: ProtoReader | Uint8Array, length?: number): T;
  encode(message: Encodable<T>, writer?: ProtoWriter): ProtoWriter;
}

/** The generated codecs, typed. */
export const onnxProto = generated as unknown as {
  ModelProto: MessageCodec<ModelProto>;
  GraphProto: MessageCodec<GraphProto>;
  NodeProto: MessageCodec<NodeProto>;
  AttributeProto: MessageCodec<AttributeProto> & { AttributeType: Record<string, number> };
  TensorProto: MessageCodec<TensorProto> & { DataType: Record<string, number>; DataLocation: Record<string, number> };
  ValueInfoProto: MessageCodec<ValueInfoProto>;
  TypeProto: MessageCodec<TypeProto>;
  TensorShapeProto: MessageCodec<TensorShapeProto>;
  OperatorSetIdProto: MessageCodec<OperatorSetIdProto>;
  StringStringEntryProto: MessageCodec<StringStringEntryProto>;
};

/** protobufjs's Reader (the one the generated decoders check `instanceof` against). */
export const ProtoReaderClass = GeneratedReader as unknown as new (bytes: Uint8Array) => ProtoReader;
/** protobufjs's Writer. */
export const ProtoWriterClass = GeneratedWriter as unknown as { create(): ProtoWriter };
