/**
 * Tensors: float32 or int32, row-major and contiguous, data in backend (WASM) memory.
 *
 * Ownership: a tensor owns its buffer until `dispose()`. Tensors created inside `tidy(fn)` are
 * disposed when `fn` returns, except those it returns or `keep()`s. Parameters, gradients and
 * optimizer state are created untracked and owned by their module or optimizer.
 */
import { backend } from './backend/backend';
import type { GradNode } from './autograd';
import { DTypeError, DisposedError, OutOfMemoryError, ShapeError, ValueError, formatShape } from './errors';
import { MAX_MEMORY_BYTES, MAX_TENSOR_BYTES, MAX_TENSOR_ELEMENTS, formatBytes } from './backend/memory';
import * as ops from './ops/index';

export type DType = 'float32' | 'int32';
export type TensorData = Float32Array | Int32Array | number[] | NestedNumbers;
export interface NestedNumbers extends Array<number | NestedNumbers> {}

export interface TensorOptions {
  requiresGrad?: boolean;
  /** Force a dtype for `number[]` data (default float32). */
  dtype?: DType;
}

let liveTensors = 0;
let liveBytes = 0;
let nextId = 1;

/** Scopes from `tidy`: the innermost one adopts every new tensor. */
const scopes: Set<Tensor>[] = [];
/** While > 0, new tensors are not adopted by any scope (parameters, grads, optimizer state). */
let untrackedDepth = 0;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to (or through) this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`; owned by this tensor. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, for autograd; null for leaves. */
  gradFn: GradNode | null = null;
  private ptr_: number;
  private readonly bytes: number;
  /** Tensors whose lifetime follows this one (e.g. buffers an op saved for backward). */
  private owned: Tensor[] | null = null;

  /**
   * Allocates a zeroed tensor. Prefer `tensor`, `zeros`, ... Throws `ShapeError` for a dimension
   * that is not a non-negative safe integer and `OutOfMemoryError` for more elements than one
   * tensor can hold (`MAX_TENSOR_ELEMENTS`) or than memory has room for, before allocating.
   */
  constructor(shape: readonly number[], dtype: DType = 'float32', requiresGrad = false) {
    const size = checkedSize(shape, dtype);
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = size;
    this.requiresGrad = requiresGrad;
    this.bytes = size * 4;
    try {
      this.ptr_ = backend().alloc(this.bytes);
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      throw new OutOfMemoryError(
        `${allocationSite()}out of memory: cannot allocate a ${dtype} tensor of shape ${formatShape(shape)} ` +
          `(${formatBytes(this.bytes)}): ${e.message}; ${liveTensors} live tensors hold ${formatBytes(liveBytes)}: ` +
          'dispose what you no longer need (or run the work inside tidy()), or ask for less',
      );
    }
    liveTensors++;
    liveBytes += this.bytes;
    if (untrackedDepth === 0 && scopes.length > 0) scopes[scopes.length - 1].add(this);
    if (opDepth > 0) createdInOps.push(this);
  }

  /** Byte offset of the data in backend memory. Throws once disposed. */
  get ptr(): number {
    if (this.ptr_ < 0) throw new DisposedError(`tensor #${this.id} ${formatShape(this.shape)} was disposed`);
    return this.ptr_;
  }

  get isDisposed(): boolean {
    return this.ptr_ < 0;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True for tensors not produced by a differentiable op (inputs, parameters). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * A typed array over the data where it lives, in backend memory (no copy). Valid only until the
   * next allocation (memory growth detaches it): read or write it at once, never keep it.
   */
  heapView(): Float32Array | Int32Array {
    const b = backend();
    const start = this.ptr / 4;
    return this.dtype === 'float32'
      ? b.f32().subarray(start, start + this.size)
      : b.i32().subarray(start, start + this.size);
  }

  /** A float32 `heapView`; throws for int32 tensors. */
  f32(): Float32Array {
    if (this.dtype !== 'float32') throw new DTypeError(`tensor #${this.id}: expected float32, got ${this.dtype}`);
    return this.heapView() as Float32Array;
  }

  /** A copy of the data, flat and row-major. */
  toArray(): Float32Array | Int32Array {
    return this.heapView().slice();
  }

  /** The data as nested JS arrays in the tensor's shape. */
  tolist(): number | NestedNumbers {
    const flat = Array.from(this.heapView());
    const build = (dim: number, offset: number): number | NestedNumbers => {
      if (dim === this.shape.length) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride)) as NestedNumbers;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: tensor has ${this.size} elements ${formatShape(this.shape)}, expected 1`);
    return this.heapView()[0];
  }

  /** Releases the data (and the gradient this tensor owns). Idempotent. */
  dispose(): void {
    if (this.ptr_ < 0) return;
    backend().free(this.ptr_, this.bytes);
    this.ptr_ = -1;
    liveTensors--;
    liveBytes -= this.bytes;
    for (const s of scopes) s.delete(this);
    if (this.grad !== null) {
      this.grad.dispose();
      this.grad = null;
    }
    const node = this.gradFn;
    this.gradFn = null;
    node?.releaseOutput();
    if (this.owned !== null) {
      for (const t of this.owned) t.dispose();
      this.owned = null;
    }
  }

  /** Makes `t` live exactly as long as this tensor: out of every scope, disposed with this one. */
  ownTensor(t: Tensor): void {
    keep(t);
    (this.owned ??= []).push(t);
  }

  /** A new leaf tensor with the same data, cut from the graph (PyTorch `detach`, but a copy). */
  detach(): Tensor {
    if (this.isDisposed) throw new DisposedError(`detach: tensor #${this.id} ${formatShape(this.shape)} was disposed`);
    const out = new Tensor(this.shape, this.dtype);
    out.heapView().set(this.heapView());
    return out;
  }

  /** A copy that stays in the graph (gradient flows back to this tensor). */
  clone(): Tensor {
    return ops.clone(this);
  }

  /** Sets `requiresGrad` on a leaf and returns it. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Runs reverse-mode autograd from this tensor (scalar, or with an explicit `gradient`). */
  backward(gradient?: Tensor): void {
    ops.backward(this, gradient);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  div(other: number): Tensor {
    return ops.mul(this, 1 / other);
  }
  neg(): Tensor {
    return ops.mul(this, -1);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  sum(dim?: number, keepdim = false): Tensor {
    return ops.sum(this, dim, keepdim);
  }
  mean(dim?: number, keepdim = false): Tensor {
    return ops.mean(this, dim, keepdim);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    const dims = Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
    return ops.reshape(this, dims);
  }
  /** PyTorch `view`: the same data in another shape (one dim may be -1). Tensors are always contiguous, so this is `reshape`. */
  view(...shape: number[] | [number[]]): Tensor {
    return this.reshape(...shape);
  }
  /** Swaps the last two dims (PyTorch `x.mT`, or `transpose(-2, -1)`). */
  transpose(): Tensor {
    return ops.transpose(this);
  }
  get T(): Tensor {
    return ops.transpose(this);
  }
  slice(dim: number, start: number, end?: number): Tensor {
    return ops.slice(this, dim, start, end);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  softmax(dim = -1): Tensor {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return ops.logSoftmax(this, dim);
  }
}

/**
 * The element count of `shape`, checked: every dimension a non-negative safe integer (ShapeError),
 * the total within what one tensor can hold (OutOfMemoryError). Nothing is allocated.
 */
function checkedSize(shape: readonly number[], dtype: DType): number {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${allocationSite()}shape must be an array of dimensions, got ${describe(shape)}`);
  }
  let size = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${allocationSite()}shape ${formatShapeLoose(shape)} has an invalid dimension ${describe(d)} (expected a non-negative integer)`);
    }
    size *= d;
  }
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new OutOfMemoryError(
      `${allocationSite()}a ${dtype} tensor of shape ${formatShape(shape)} needs ${formatBytes(size * 4)} ` +
        `(${size.toExponential(3)} elements); one tensor can hold at most ${formatBytes(MAX_TENSOR_BYTES)} ` +
        `(${MAX_TENSOR_ELEMENTS} elements) and all of them together 4 GiB (WebAssembly's 32-bit memory)`,
    );
  }
  return size;
}

function formatShapeLoose(shape: readonly unknown[]): string {
  return `[${shape.map(describe).join(', ')}]`;
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  return v === null ? 'null' : typeof v;
}

/** The op running now, named in allocation errors; null outside ops. */
let currentOp: string | null = null;
/**
 * Every tensor created while an op runs, so that an op that throws half-way (out of memory in its
 * third allocation, say) frees the first two instead of leaking them. Each `runOp` frame owns the
 * entries from its mark to the end.
 */
const createdInOps: Tensor[] = [];
let opDepth = 0;

function allocationSite(): string {
  return `${currentOp ?? 'tensor'}: `;
}

/**
 * Runs op `name` as one unit: allocation errors inside it name it, and if it throws, every tensor
 * it created is disposed (tracked or not, owned by another or not) before the error propagates.
 * On success nothing changes: its tensors belong to whoever they were handed to.
 */
export function runOp<T>(name: string, fn: () => T): T {
  const outerOp = currentOp;
  const mark = createdInOps.length;
  currentOp = name;
  opDepth++;
  try {
    return fn();
  } catch (e) {
    for (let i = createdInOps.length - 1; i >= mark; i--) createdInOps[i].dispose();
    createdInOps.length = mark;
    throw e;
  } finally {
    opDepth--;
    currentOp = outerOp;
    // A nested op's tensors stay listed until the outermost op ends: if that one fails, they go too.
    if (opDepth === 0) createdInOps.length = 0;
  }
}

/** Runs `fn` with tensor tracking off: what it creates is owned by the caller, not by a scope. */
export function untracked<T>(fn: () => T): T {
  untrackedDepth++;
  try {
    return fn();
  } finally {
    untrackedDepth--;
  }
}

/**
 * Runs `fn` in a scope: every tensor created inside is disposed when it returns, except the ones
 * it returns (a tensor, or tensors inside a returned array or plain object) and the ones `keep()`s.
 * Returned tensors move to the enclosing scope, if any.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) {
    if (!kept.has(t)) t.dispose();
  }
  if (scopes.length > 0) {
    const parent = scopes[scopes.length - 1];
    for (const t of kept) if (scope.has(t)) parent.add(t);
  }
  return result;
}

/** Removes `t` from every scope, so no `tidy` disposes it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, depth + 1);
  }
}

export interface MemoryInfo {
  /** Tensors allocated and not yet disposed. */
  liveTensors: number;
  /** Bytes held by those tensors. */
  tensorBytes: number;
  /** Size of the backend heap (WASM linear memory), which only grows. */
  heapBytes: number;
  /**
   * Bytes the backend holds in live blocks, what `setMemoryLimit` caps: tensors (rounded to
   * blocks) plus, in the wasm backend, the kernels' kept scratch (4.1 MiB and up).
   */
  usedBytes: number;
  /** The cap set by `setMemoryLimit`, or null for none (then 4 GiB of WASM memory is the limit). */
  memoryLimit: number | null;
}

let memoryLimit: number | null = null;

export function memory(): MemoryInfo {
  const b = backend();
  return { liveTensors, tensorBytes: liveBytes, heapBytes: b.heapBytes(), usedBytes: b.usedBytes(), memoryLimit };
}

/**
 * Caps the memory lstm-wasm may hold at once, in bytes (`null`: no cap beyond WebAssembly's 4 GiB):
 * tensors, and in the wasm backend also the kernels' scratch. Past it, allocations and kernels
 * throw `OutOfMemoryError` before computing anything, and the library keeps working. Useful in a
 * page that must stay small; memory already live is not touched (the heap never shrinks).
 */
export function setMemoryLimit(bytes: number | null): void {
  if (bytes !== null && !(Number.isInteger(bytes) && bytes > 0 && bytes <= MAX_MEMORY_BYTES)) {
    throw new ValueError(`setMemoryLimit: bytes must be a positive integer up to ${MAX_MEMORY_BYTES} (4 GiB) or null, got ${bytes}`);
  }
  // The crate's cap is a u32 of bytes: 4 GiB itself is the same as none.
  backend().setMemoryLimit(bytes === null || bytes === MAX_MEMORY_BYTES ? 0 : bytes);
  memoryLimit = bytes;
}

// ---------------------------------------------------------------------------------------------
// creation
// ---------------------------------------------------------------------------------------------

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

export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return runOp('zeros', () => new Tensor(shape, options.dtype ?? 'float32', options.requiresGrad ?? false));
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return runOp('full', () => {
    const t = new Tensor(shape, options.dtype ?? 'float32', options.requiresGrad ?? false);
    t.heapView().fill(value);
    return t;
  });
}

export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}
