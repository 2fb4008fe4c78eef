/**
 * ONNX's tensor data types (TensorProto.DataType), one table: the name lstm-wasm gives each, and
 * for those whose data it reads, the typed array, the bytes of one element in raw_data and the
 * typed field that holds the values otherwise (onnx.proto3's comments on each field).
 */
import type { OnnxTensorData } from './model';

/** A data type's name, by TensorProto.DataType; 'undefined' is its UNDEFINED (0), unset. */
export type OnnxDataType =
  | 'undefined' | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string' | 'bool' | 'float16' | 'float64'
  | 'uint32' | 'uint64' | 'complex64' | 'complex128' | 'bfloat16' | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz'
  | 'uint4' | 'int4' | 'float4e2m1' | 'float8e8m0' | 'uint2' | 'int2';

type TypedField = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data';

interface Readable {
  bytes: number;
  field: TypedField;
  make: (length: number) => OnnxTensorData;
}

const ALL = {
  1: ['float32', { bytes: 4, field: 'floatData', make: (n) => new Float32Array(n) }],
  2: ['uint8', { bytes: 1, field: 'int32Data', make: (n) => new Uint8Array(n) }],
  3: ['int8', { bytes: 1, field: 'int32Data', make: (n) => new Int8Array(n) }],
  4: ['uint16', { bytes: 2, field: 'int32Data', make: (n) => new Uint16Array(n) }],
  5: ['int16', { bytes: 2, field: 'int32Data', make: (n) => new Int16Array(n) }],
  6: ['int32', { bytes: 4, field: 'int32Data', make: (n) => new Int32Array(n) }],
  7: ['int64', { bytes: 8, field: 'int64Data', make: (n) => new BigInt64Array(n) }],
  8: ['string', null],
  9: ['bool', { bytes: 1, field: 'int32Data', make: (n) => new Uint8Array(n) }],
  10: ['float16', null],
  11: ['float64', { bytes: 8, field: 'doubleData', make: (n) => new Float64Array(n) }],
  12: ['uint32', { bytes: 4, field: 'uint64Data', make: (n) => new Uint32Array(n) }],
  13: ['uint64', { bytes: 8, field: 'uint64Data', make: (n) => new BigUint64Array(n) }],
  14: ['complex64', null],
  15: ['complex128', null],
  16: ['bfloat16', null],
  17: ['float8e4m3fn', null],
  18: ['float8e4m3fnuz', null],
  19: ['float8e5m2', null],
  20: ['float8e5m2fnuz', null],
  21: ['uint4', null],
  22: ['int4', null],
  23: ['float4e2m1', null],
  24: ['float8e8m0', null],
  25: ['uint2', null],
  26: ['int2', null],
} as const satisfies Record<number, readonly [OnnxDataType, Readable | null]>;

/** The name of a data type code; a code ONNX does not define is a FormatError's business (`where` names the place). */
export function dataTypeName(code: number): OnnxDataType | null {
  if (code === 0) return 'undefined';
  return Object.hasOwn(ALL, code) ? ALL[code as keyof typeof ALL][0] : null;
}

/** How to read a data type's values, or null if lstm-wasm does not read it. */
export function readableType(code: number): Readable | null {
  return Object.hasOwn(ALL, code) ? ALL[code as keyof typeof ALL][1] : null;
}

/** The names of the data types lstm-wasm reads, for messages. */
export const READABLE_TYPES = Object.values(ALL).filter(([, r]) => r !== null).map(([name]) => name).join(', ');
