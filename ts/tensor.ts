/**
 * Tensors: float32 or int32, row-major and contiguous, data in backend (WASM) memory.
 *
 * This module is the class alone. Who owns a tensor and when it is freed (scopes, op frames, the
 * live counts) is ts/memory.ts; creating one from data is ts/creation.ts; the chained methods
 * (`x.add(y)`) call the ops bound in ts/chained.ts, so this file imports no op.
 */
import { backend } from './backend/backend';
import type { BackwardOptions, GradNode } from './autograd';
import { DTypeError, DisposedError, OutOfMemoryError, ShapeError, ValueError, formatShape } from './errors';
import { MAX_TENSOR_BYTES, MAX_TENSOR_ELEMENTS, formatBytes } from './backend/limits';
import { adopt, allocationSite, keep, memory, release } from './memory';
import { chained } from './chained';
import { formatTensor } from './format';
import type { ValuesIndices } from './ops/selection';
import type { Index } from './ops/indexing';

export type DType = 'float32' | 'int32';
export type TensorData = Float32Array | Int32Array | number[] | NestedNumbers;
export interface NestedNumbers extends Array<number | NestedNumbers> {}

export interface TensorOptions {
  requiresGrad?: boolean;
  /** Force a dtype for `number[]` data (default float32). */
  dtype?: DType;
}

let nextId = 1;

/** The id the next tensor will get: ids only grow, so every tensor made from now on has one at least this large. */
export function nextTensorId(): number {
  return nextId;
}

let nonLeafGradWarned = false;
function warnNonLeafGrad(): void {
  if (nonLeafGradWarned) return;
  nonLeafGradWarned = true;
  console.warn(
    'lstm-wasm: the .grad of a tensor that is not a leaf is being read; backward() does not fill it (it is null). ' +
      'Call .retainGrad() on it before backward() to keep it, or use grad(outputs, inputs).',
  );
}

export class Tensor {
  /** `t[i]`: entry `i` (negative from the end) of dim 0, as PyTorch's `x[i]` (see `at`). */
  readonly [index: number]: Tensor;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to (or through) this tensor. */
  requiresGrad: boolean;
  /** Whether `backward()` also keeps this non-leaf's gradient in `.grad` (see `retainGrad`). */
  retainsGrad = false;
  private grad_: Tensor | null = null;
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
    if (dtype !== 'float32' && dtype !== 'int32') {
      throw new DTypeError(`${allocationSite()}dtype must be 'float32' or 'int32', got ${JSON.stringify(dtype)} (PyTorch's float64 and int64 are stored as these two)`);
    }
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
      const live = memory();
      throw new OutOfMemoryError(
        `${allocationSite()}out of memory: cannot allocate a ${dtype} tensor of shape ${formatShape(shape)} ` +
          `(${formatBytes(this.bytes)}): ${e.message}; ${live.liveTensors} live tensors hold ${formatBytes(live.tensorBytes)}: ` +
          'dispose what you no longer need (or run the work inside tidy()), or ask for less',
      );
    }
    adopt(this, this.bytes);
  }

  /**
   * The gradient `backward()` accumulated into this tensor, owned by it: a leaf's (parameters,
   * inputs that require grad), or a non-leaf's when `retainGrad()` asked for it. Reading it on a
   * non-leaf that does not retain it gives null and, once, a warning (as PyTorch does).
   */
  get grad(): Tensor | null {
    if (this.grad_ === null && this.gradFn !== null && !this.retainsGrad) warnNonLeafGrad();
    return this.grad_;
  }

  set grad(g: Tensor | null) {
    this.grad_ = g;
  }

  /** Keeps this non-leaf's gradient in `.grad` at the next `backward()` (PyTorch `retain_grad`); a no-op on a leaf. */
  retainGrad(): this {
    if (this.isDisposed) throw new DisposedError(`retainGrad: tensor #${this.id} ${formatShape(this.shape)} was disposed`);
    if (!this.requiresGrad) throw new ValueError('retainGrad: this tensor does not require grad, so it gets no gradient');
    if (this.gradFn !== null) this.retainsGrad = true;
    return this;
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

  /** PyTorch's `x.dim()`: the number of dims, as `ndim`. */
  dim(): number {
    return this.shape.length;
  }

  /** PyTorch's `x.numel()`: the number of elements, as `size` (which is a number here, not PyTorch's `x.size()`: use `shape`). */
  numel(): number {
    return this.size;
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
    release(this, this.bytes);
    if (this.grad_ !== null) {
      this.grad_.dispose();
      this.grad_ = null;
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
    if (this.isDisposed) throw new DisposedError(`ownTensor: tensor #${this.id} ${formatShape(this.shape)} was disposed`);
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

  /** A copy in `dtype` (PyTorch `to(dtype)`): see `float()` and `int()`. Always a new tensor. */
  to(dtype: DType): Tensor {
    return chained().toDType(this, dtype);
  }
  /** A float32 copy (int32 values round past 2^24); on a float32 tensor, a clone in the graph. */
  float(): Tensor {
    return chained().toDType(this, 'float32');
  }
  /** An int32 copy, truncated toward zero (saturating; NaN gives 0). */
  int(): Tensor {
    return chained().toDType(this, 'int32');
  }
  /** PyTorch's `long()`: int64 tensors are int32 here, so this is `int()`. */
  long(): Tensor {
    return chained().toDType(this, 'int32');
  }

  /** A copy that stays in the graph (gradient flows back to this tensor). */
  clone(): Tensor {
    return chained().clone(this);
  }

  /** Sets `requiresGrad` on a leaf and returns it. */
  requiresGrad_(value = true): this {
    if (this.isDisposed) throw new DisposedError(`requiresGrad_: tensor #${this.id} ${formatShape(this.shape)} was disposed`);
    if (value && this.dtype !== 'float32') throw new DTypeError(`requiresGrad_: only float32 tensors can require gradients, this one is ${this.dtype}`);
    if (!this.isLeaf) throw new ValueError('requiresGrad_: only a leaf can change requiresGrad (this tensor was made by an op; use detach() for a leaf copy)');
    this.requiresGrad = value;
    return this;
  }

  /**
   * Runs reverse-mode autograd from this tensor (scalar, or with an explicit `gradient`), into the
   * leaves' `.grad`. `{ retainGraph: true }` (last) keeps the graph for another backward; without
   * it a second backward through the same graph throws, as in PyTorch.
   */
  backward(gradient?: Tensor | BackwardOptions | null, options?: BackwardOptions): void {
    chained().backward(this, gradient, options);
  }

  /**
   * PyTorch's repr with the shape, dtype and origin: `tensor([[1.5000, 2.0000]], shape=[1, 2],
   * dtype=float32, gradFn=<MulBackward>)`, summarized past 1000 elements (see ts/format.ts).
   */
  toString(): string {
    return formatTensor(this);
  }

  /** What Node's `util.inspect` (and so `console.log`) prints: `toString()`, not the fields. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return formatTensor(this);
  }

  add(other: Tensor | number): Tensor {
    return chained().add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return chained().sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return chained().mul(this, other);
  }
  /** True division by a tensor (broadcast) or a number. */
  div(other: Tensor | number): Tensor {
    return chained().div(this, other);
  }
  neg(): Tensor {
    return chained().neg(this);
  }
  exp(): Tensor {
    return chained().exp(this);
  }
  log(): Tensor {
    return chained().log(this);
  }
  sqrt(): Tensor {
    return chained().sqrt(this);
  }
  abs(): Tensor {
    return chained().abs(this);
  }
  pow(exponent: Tensor | number): Tensor {
    return chained().pow(this, exponent);
  }
  /** PyTorch `clamp(min, max)`; pass `null`/`undefined` for a missing bound. */
  clamp(min?: number | null, max?: number | null): Tensor {
    return chained().clamp(this, min, max);
  }
  maximum(other: Tensor | number): Tensor {
    return chained().maximum(this, other);
  }
  minimum(other: Tensor | number): Tensor {
    return chained().minimum(this, other);
  }
  // Comparisons return float32 0/1 masks (PyTorch: bool); see ts/ops/compare.ts.
  eq(other: Tensor | number): Tensor {
    return chained().eq(this, other);
  }
  ne(other: Tensor | number): Tensor {
    return chained().ne(this, other);
  }
  lt(other: Tensor | number): Tensor {
    return chained().lt(this, other);
  }
  le(other: Tensor | number): Tensor {
    return chained().le(this, other);
  }
  gt(other: Tensor | number): Tensor {
    return chained().gt(this, other);
  }
  ge(other: Tensor | number): Tensor {
    return chained().ge(this, other);
  }
  /** The largest element (0-d), or with `dim` the values and int32 indices along it. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? chained().max(this) : chained().max(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? chained().min(this) : chained().min(this, dim, keepdim);
  }
  /** int32 index of the largest element (of the flattened tensor when `dim` is undefined). */
  argmax(dim?: number, keepdim = false): Tensor {
    return chained().argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return chained().argmin(this, dim, keepdim);
  }
  /** The k largest (smallest) along `dim`, sorted: `[values, indices]`, also by name. */
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    return chained().topk(this, k, dim, largest, sorted);
  }
  /** Sorted along `dim` (ascending, or `descending`), stable: `[values, indices]`, also by name. */
  sort(dim = -1, descending = false): ValuesIndices {
    return chained().sort(this, dim, descending);
  }
  /** PyTorch `gather` along `dim` with an int32 `index`. */
  gather(dim: number, index: Tensor): Tensor {
    return chained().gather(this, dim, index);
  }
  /** `value` where `mask` is non-zero (PyTorch `masked_fill`); mask broadcasts to this shape. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return chained().maskedFill(this, mask, value);
  }
  /** PyTorch `bmm`: (B, n, m) @ (B, m, p), both 3-D. */
  bmm(other: Tensor): Tensor {
    return chained().bmm(this, other);
  }
  matmul(other: Tensor): Tensor {
    return chained().matmul(this, other);
  }
  sum(dim?: number, keepdim = false): Tensor {
    return chained().sum(this, dim, keepdim);
  }
  mean(dim?: number, keepdim = false): Tensor {
    return chained().mean(this, dim, keepdim);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return chained().reshape(this, sizesArg(shape));
  }
  /** PyTorch `view`: the same data in another shape (one dim may be -1). Tensors are always contiguous, so this is `reshape`. */
  view(...shape: number[] | [number[]]): Tensor {
    return this.reshape(...shape);
  }
  /**
   * Swaps dims `dim0` and `dim1` (negative dims count from the end), as PyTorch. Both are required
   * unless the tensor is 2-D (then `x.transpose()` is its transpose); for the last two dims of
   * any tensor use `x.mT`.
   */
  transpose(dim0?: number, dim1?: number): Tensor {
    return chained().transpose(this, dim0, dim1);
  }
  /** The last two dims swapped (PyTorch `x.mT`, `transpose(-2, -1)`); needs at least 2 dims. */
  get mT(): Tensor {
    return chained().mT(this);
  }
  /**
   * PyTorch's `x.T` for up to 2 dims: a matrix's transpose, a copy of a vector or scalar. Refused
   * for more dims, where PyTorch reverses every dim (deprecated there): use `mT` or `permute`.
   */
  get T(): Tensor {
    if (this.ndim === 2 || this.isDisposed) return chained().transpose(this);
    if (this.ndim < 2) return chained().permute(this, this.ndim === 1 ? [0] : []);
    const reversed = this.shape.map((_, i) => this.ndim - 1 - i).join(', ');
    throw new ShapeError(
      `T: refused for a ${this.ndim}-D tensor ${formatShape(this.shape)} (PyTorch reverses all dims there, deprecated): ` +
        `use x.mT to swap the last two dims, or x.permute(${reversed}) to reverse them`,
    );
  }
  /** PyTorch's `x.t()`: `x.T` (up to 2 dims). */
  t(): Tensor {
    return this.T;
  }
  /** Dims reordered: `out.shape[i] = x.shape[dims[i]]`; `x.permute(2, 0, 1)` or `x.permute([2, 0, 1])`. */
  permute(...dims: number[] | [number[]]): Tensor {
    return chained().permute(this, sizesArg(dims));
  }
  /** A new dim of size 1 at `dim` (in -ndim-1..ndim). */
  unsqueeze(dim: number): Tensor {
    return chained().unsqueeze(this, dim);
  }
  /** Drops `dim` if its size is 1, or every size-1 dim without `dim`. */
  squeeze(dim?: number): Tensor {
    return chained().squeeze(this, dim);
  }
  /** Merges dims startDim..endDim (inclusive) into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return chained().flatten(this, startDim, endDim);
  }
  /** Size-1 dims (and new leading dims) repeated to `sizes`; -1 keeps a dim. A copy here; gradients sum back. */
  expand(...sizes: number[] | [number[]]): Tensor {
    return chained().expand(this, sizesArg(sizes));
  }
  /** Tiled `sizes[i]` times along each dim (PyTorch `repeat`). */
  repeat(...sizes: number[] | [number[]]): Tensor {
    return chained().repeat(this, sizesArg(sizes));
  }
  /** Entry `index` (negative from the end) of dim `dim`, which is removed (PyTorch `select`, `x[:, i]`). */
  select(dim: number, index: number): Tensor {
    return chained().select(this, dim, index);
  }
  /** `length` entries of dim `dim` from `start` (negative from the end). */
  narrow(dim: number, start: number, length: number): Tensor {
    return chained().narrow(this, dim, start, length);
  }
  /**
   * Entries `start:stop:step` of dim `dim`, as Python slices: negative bounds count from the end,
   * bounds past the ends are clamped, `stop` defaults to the size (null too) and `step` to 1.
   */
  slice(dim: number, start: number | null = 0, stop: number | null = null, step = 1): Tensor {
    return chained().slice(this, dim, start, stop, step);
  }
  /**
   * PyTorch's `x[...]`: `x.at(':, -1')` is `x[:, -1]`, `x.at(0)` is `x[0]`, `x.at('1:5:2', null)`
   * is `x[1:5:2, None]`. Each index is an integer (negative from the end; the dim is removed), a
   * string of comma-separated Python indices (`':'`, `'a:b:s'`, `'...'`, `'None'`), a
   * `{ start, stop, step }` range, or `null` for a new dim of size 1. A new tensor, with gradient.
   */
  at(...indices: Index[]): Tensor {
    return chained().at(this, ...indices);
  }
  /** The order of each of `dims` reversed (PyTorch `flip`): `x.flip(1)`, `x.flip(0, 1)` or `x.flip([0, 1])`. */
  flip(...dims: number[] | [number[]]): Tensor {
    return chained().flip(this, sizesArg(dims));
  }
  tanh(): Tensor {
    return chained().tanh(this);
  }
  sigmoid(): Tensor {
    return chained().sigmoid(this);
  }
  relu(): Tensor {
    return chained().relu(this);
  }
  softmax(dim = -1): Tensor {
    return chained().softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return chained().logSoftmax(this, dim);
  }
}

/**
 * `t[0]`, `t[-1]`: a read of an integer-named property a tensor does not have reaches this proxy at
 * the end of Tensor's prototype chain and becomes `t.at(i)` (PyTorch's `x[i]`), instead of a silent
 * `undefined`. Writing `t[0] = v` is refused: tensors are not assigned in place by index. Every
 * other property goes on to Object.prototype as before.
 */
const INTEGER_KEY = /^-?\d+$/;
Object.setPrototypeOf(
  Tensor.prototype,
  new Proxy(Object.prototype, {
    get(target, key, receiver) {
      if (typeof key === 'string' && INTEGER_KEY.test(key)) return (receiver as Tensor).at(Number(key));
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (typeof key === 'string' && INTEGER_KEY.test(key)) {
        throw new ValueError(
          `Tensor: t[${key}] = ... is not supported (tensors are not assigned in place by index): build the new values with where(mask, a, b), maskedFill or concat, or set the data before making the tensor`,
        );
      }
      return Reflect.set(target, key, value, receiver);
    },
  }),
);

/** Sizes as PyTorch takes them: `f(2, 3)` or `f([2, 3])`. */
function sizesArg(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
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
