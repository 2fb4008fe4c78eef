/** Creating tensors: from data (`tensor`), or filled (`zeros`, `ones`, `full`). */
import { Tensor, type NestedNumbers, type TensorData, type TensorOptions, type DType } from './tensor';
import { runOp } from './memory';
import { DTypeError, OutOfMemoryError, ShapeError, ValueError, formatShape } from './errors';
import { MAX_TENSOR_ELEMENTS } from './backend/limits';
import { checkOptions, optionKeys } from './options';

const TENSOR_KEYS = optionKeys<TensorOptions>({ requiresGrad: true, dtype: true });

function inferShape(data: NestedNumbers | number[]): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/**
 * A tensor from data. Float32Array or number[] give float32 (unless `dtype: 'int32'`), Int32Array
 * gives int32. Nested arrays give their shape; flat data takes `shape` (default 1-D).
 */
export function tensor(data: TensorData, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  if (shape !== undefined && shape !== null && !Array.isArray(shape)) {
    throw new ValueError(`tensor: shape must be an array of sizes, got ${typeof shape}; options are the third argument: tensor(data, undefined, { requiresGrad: true })`);
  }
  checkOptions('tensor', options, TENSOR_KEYS);
  options ??= {};
  let flat: ArrayLike<number>;
  let dtype: DType;
  let inferred: number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    dtype = data instanceof Int32Array ? 'int32' : 'float32';
    if (options.dtype !== undefined && options.dtype !== dtype) {
      throw new DTypeError(`tensor: data is a ${data.constructor.name} but dtype '${options.dtype}' was asked for`);
    }
    inferred = [data.length];
  } else if (Array.isArray(data)) {
    inferred = inferShape(data);
    flat = (data as unknown[]).flat(Infinity) as number[];
    dtype = options.dtype ?? 'float32';
    if (flat.length !== inferred.reduce((a, b) => a * b, 1)) {
      throw new ShapeError(`tensor: nested data is ragged (first-element shape ${formatShape(inferred)}, ${flat.length} numbers)`);
    }
    for (let i = 0; i < flat.length; i++) {
      if (typeof flat[i] !== 'number') throw new DTypeError(`tensor: data[${i}] is ${typeof flat[i]}, expected a number`);
    }
  } else {
    throw new DTypeError(`tensor: data must be a Float32Array, Int32Array or number array, got ${Object.prototype.toString.call(data)}`);
  }
  const finalShape = shape ?? inferred;
  const size = finalShape.reduce((a, b) => a * b, 1);
  if (size !== flat.length) {
    throw new ShapeError(`tensor: shape ${formatShape(finalShape)} holds ${size} elements, data has ${flat.length}`);
  }
  if (dtype === 'int32') {
    for (let i = 0; i < flat.length; i++) {
      if (!Number.isInteger(flat[i]) || flat[i] < -2147483648 || flat[i] > 2147483647) {
        throw new DTypeError(`tensor: int32 data[${i}] = ${flat[i]} is not an integer in the int32 range`);
      }
    }
  }
  if (options.requiresGrad && dtype !== 'float32') {
    throw new DTypeError('tensor: only float32 tensors can require gradients');
  }
  return runOp('tensor', () => {
    const t = new Tensor(finalShape, dtype, options.requiresGrad ?? false);
    t.heapView().set(flat as ArrayLike<number>);
    return t;
  });
}

/** A shape, then options: `(shape, options?)` or sizes as separate numbers, `(2, 3, options?)`. */
export type SizesAndOptions<O> = [shape: readonly number[], options?: O] | [...sizes: number[], options: O] | number[];

/**
 * The shape and options of `zeros(2, 3)` or `zeros([2, 3], options)` (PyTorch takes both
 * `torch.zeros(2, 3)` and `torch.zeros((2, 3))`). Anything else is a `ShapeError` that says so.
 */
export function sizesAndOptions<O>(op: string, args: readonly unknown[]): [readonly number[], O | undefined] {
  if (Array.isArray(args[0])) {
    if (args.length > 2) throw new ShapeError(`${op}: give the shape as one array or as separate numbers, not both (got ${args.length} arguments)`);
    return [args[0] as number[], args[1] as O | undefined];
  }
  const last = args[args.length - 1];
  const hasOptions = args.length > 0 && typeof last === 'object' && last !== null && !Array.isArray(last);
  const sizes = hasOptions ? args.slice(0, -1) : args;
  const bad = sizes.findIndex((s) => typeof s !== 'number');
  if (sizes.length === 0 || bad >= 0) {
    const got = sizes.length === 0 ? 'no shape' : `${typeof sizes[bad]} ${String(sizes[bad])} as size ${bad}`;
    throw new ShapeError(`${op}: expected a shape, as an array ([2, 3]) or as numbers (2, 3), got ${got}`);
  }
  return [sizes as number[], (hasOptions ? last : undefined) as O | undefined];
}

/** Zeros: `zeros([2, 3])` or `zeros(2, 3)`, then options (`dtype`, `requiresGrad`). */
export function zeros(shape: readonly number[], options?: TensorOptions): Tensor;
export function zeros(...sizes: [...number[], TensorOptions] | number[]): Tensor;
export function zeros(...args: unknown[]): Tensor {
  const [shape, given] = sizesAndOptions<TensorOptions>('zeros', args);
  checkOptions('zeros', given, TENSOR_KEYS);
  const options = given ?? {};
  return runOp('zeros', () => new Tensor(shape, options.dtype ?? 'float32', options.requiresGrad ?? false));
}

/** `value` everywhere. The shape is one array (PyTorch's `full((2, 3), value)`). */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  if (!Array.isArray(shape)) throw new ShapeError(`full: the shape must be an array, as PyTorch's full((2, 3), value): full([2, 3], value), got ${typeof shape} ${String(shape)}`);
  checkOptions('full', options, TENSOR_KEYS);
  options ??= {};
  return runOp('full', () => {
    const t = new Tensor(shape, options.dtype ?? 'float32', options.requiresGrad ?? false);
    t.heapView().fill(value);
    return t;
  });
}

/** Ones: `ones([2, 3])` or `ones(2, 3)`, then options. */
export function ones(shape: readonly number[], options?: TensorOptions): Tensor;
export function ones(...sizes: [...number[], TensorOptions] | number[]): Tensor;
export function ones(...args: unknown[]): Tensor {
  const [shape, options] = sizesAndOptions<TensorOptions>('ones', args);
  checkOptions('ones', options, TENSOR_KEYS);
  return full(shape, 1, options ?? {});
}

export interface ArangeOptions {
  /** Default: int32 when start, end and step are all integers (PyTorch: int64), else float32. */
  dtype?: DType;
  requiresGrad?: boolean;
}

/**
 * PyTorch `torch.arange`: `arange(end)`, `arange(start, end)`, `arange(start, end, step)`, the
 * values start + i * step for i in 0..ceil((end - start) / step), 1-D. An options object may come last.
 */
export function arange(...args: (number | ArangeOptions)[]): Tensor {
  const last = args[args.length - 1];
  const options: ArangeOptions = typeof last === 'object' && last !== null ? (args.pop() as ArangeOptions) : {};
  checkOptions('arange', options, ['dtype', 'requiresGrad']);
  if (args.length < 1 || args.length > 3 || args.some((a) => typeof a !== 'number' || !Number.isFinite(a))) {
    throw new ValueError(`arange: expected (end), (start, end) or (start, end, step) as finite numbers, got (${args.map(String).join(', ')})`);
  }
  const nums = args as number[];
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (step === 0) throw new ValueError('arange: step must not be 0');
  if ((end - start) / step < 0) throw new ValueError(`arange: step ${step} moves away from end ${end} (start ${start})`);
  const dtype = options.dtype ?? (nums.every(Number.isInteger) ? 'int32' : 'float32');
  const length = Math.max(0, Math.ceil((end - start) / step));
  if (length > MAX_TENSOR_ELEMENTS) {
    throw new OutOfMemoryError(`arange: ${length} values are more than one tensor can hold (${MAX_TENSOR_ELEMENTS})`);
  }
  const values = dtype === 'int32' ? new Int32Array(length) : new Float32Array(length);
  if (dtype === 'int32' && !(Number.isInteger(start) && Number.isInteger(step))) {
    throw new DTypeError(`arange: dtype int32 needs an integer start and step, got start ${start}, step ${step}`);
  }
  for (let i = 0; i < length; i++) values[i] = start + i * step;
  return tensor(values, [length], { requiresGrad: options.requiresGrad ?? false });
}
