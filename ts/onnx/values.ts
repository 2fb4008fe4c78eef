/**
 * What flows along the edges of a running graph: float32 values as lstm-wasm tensors, integer
 * values (int64/int32: shapes, axes, token ids) as small JS arrays of numbers. ONNX computes shapes
 * in int64; here they stay exact as doubles, and an integer becomes an int32 (a dim, an index, an
 * int32 tensor) only through `int32At`, which checks its range.
 */
import { DTypeError, IndexError, Tensor, keep, tensor } from 'lstm-wasm';
import type { OnnxTensor } from './model';

export interface IntValue {
  /** Row-major shape; [] for a scalar. */
  readonly dims: readonly number[];
  /** Exact integers (int64 beyond 2^53, such as INT64_MAX meaning "to the end", rounded). */
  readonly data: readonly number[];
}

export type Value = Tensor | IntValue;

export const isTensor = (v: Value): v is Tensor => v instanceof Tensor;

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

const INT_TYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint32', 'uint16', 'uint8']);

/** A constant (initializer, Constant's value) as a Value; a float32 one becomes a tensor the caller owns, kept from any enclosing tidy. */
export function constantValue(t: OnnxTensor, where: string): Value {
  if (t.dataType === 'float32') return keep(tensor(t.data as Float32Array, t.dims));
  if (INT_TYPES.has(t.dataType)) return { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
  throw new DTypeError(`loadOnnx: ${where} is ${t.dataType}; this runtime computes with float32 and integer values`);
}

/** `v` as an int32, or an IndexError naming `what`. */
export function int32At(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new IndexError(`${what}: ${v} is not an int32`);
  return v;
}

/** The int value `v` (checked), for `what` in messages. */
export function ints(v: Value | null, what: string): IntValue {
  if (v === null) throw new DTypeError(`${what}: missing (an integer tensor was expected)`);
  if (isTensor(v)) throw new DTypeError(`${what}: expected an integer tensor, got float32 ${JSON.stringify(v.shape)}`);
  return v;
}

export function floats(v: Value | null, what: string): Tensor {
  if (v === null) throw new DTypeError(`${what}: missing (a float32 tensor was expected)`);
  if (!isTensor(v)) throw new DTypeError(`${what}: expected a float32 tensor, got an integer one of shape ${JSON.stringify(v.dims)}`);
  return v;
}

/** The shape of either kind of value. */
export const dimsOf = (v: Value): readonly number[] => (isTensor(v) ? v.shape : v.dims);

/**
 * The entries of int value `x` at `indices` along `axis` (already in range): Gather and Slice on
 * shape vectors. out dims = dims[:axis] + indexDims + dims[axis+1:].
 */
export function takeInts(x: IntValue, axis: number, indices: readonly number[], indexDims: readonly number[]): IntValue {
  const outer = product(x.dims.slice(0, axis));
  const n = x.dims[axis]!;
  const inner = product(x.dims.slice(axis + 1));
  const data: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of indices) for (let k = 0; k < inner; k++) data.push(x.data[(o * n + i) * inner + k]!);
  return { dims: [...x.dims.slice(0, axis), ...indexDims, ...x.dims.slice(axis + 1)], data };
}
