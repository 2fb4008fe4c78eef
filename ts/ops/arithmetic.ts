/**
 * add, sub, mul, div, pow, maximum, minimum with NumPy/PyTorch broadcasting (any dims of size 1,
 * or missing on the left, repeat) and with plain numbers; clone.
 *
 * Layouts the training loops use keep their dedicated kernels: same shape (`lw_add`, ...) and b
 * repeated over a's leading dims (a bias: `lw_add_bcast`, ...), and the reverse. Every other
 * broadcast (and every div, pow, maximum, minimum) runs `lw_binary_bcast`, whose backward sums
 * each gradient back to its input's shape in the same pass.
 */
import { Tensor, type DType } from '../tensor';
import { backend } from '../backend/backend';
import { DTypeError } from '../errors';
import { needsGrad, record, recordMulti } from '../autograd';
import { assertFloat, assertTensor, sameShape } from './util';
import { type BroadcastPlan, broadcastShapes, planBroadcast, planTable, scalarTensor } from './broadcast';

type FastOp = 'add' | 'sub' | 'mul';
export type BinaryOp = FastOp | 'div' | 'pow' | 'maximum' | 'minimum';

/** The op codes of `lw_binary_bcast` (crate/ops/broadcast.rs `BinOp`). */
const BINARY_CODE: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6 };

/** How `b` lines up with `a`: same shape, b repeated over a's leading dims, the reverse, or any other broadcast. */
type Layout = 'same' | 'b-repeats' | 'a-repeats' | 'general';

function stripLeadingOnes(shape: readonly number[]): readonly number[] {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
}

function isSuffix(small: readonly number[], big: readonly number[]): boolean {
  const s = stripLeadingOnes(small);
  if (s.length > big.length) return false;
  const off = big.length - s.length;
  return s.every((d, i) => d === big[off + i]);
}

function layoutOf(a: Tensor, b: Tensor): Layout {
  if (sameShape(a.shape, b.shape)) return 'same';
  if (isSuffix(b.shape, a.shape) && b.size <= a.size) return 'b-repeats';
  if (isSuffix(a.shape, b.shape)) return 'a-repeats';
  return 'general';
}

/** out = a (op) b, where b (n values) repeats over the rows of a (rows*n values). */
function kernelRepeat(op: FastOp, rows: number, n: number, a: Tensor, b: Tensor, out: Tensor): void {
  const k = backend().k;
  if (op === 'add') k.lw_add_bcast(out.ptr, a.ptr, b.ptr, rows, n);
  else if (op === 'sub') k.lw_sub_bcast(out.ptr, a.ptr, b.ptr, rows, n);
  else k.lw_mul_bcast(out.ptr, a.ptr, b.ptr, rows, n);
}

function kernelSame(op: FastOp, a: Tensor, b: Tensor, out: Tensor): void {
  const k = backend().k;
  if (op === 'add') k.lw_add(out.ptr, a.ptr, b.ptr, out.size);
  else if (op === 'sub') k.lw_sub(out.ptr, a.ptr, b.ptr, out.size);
  else k.lw_mul(out.ptr, a.ptr, b.ptr, out.size);
}

/** Sums a (rows, n) gradient over its rows into a tensor of `shape` (n values). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const out = new Tensor(shape);
  const n = out.size;
  backend().k.lw_sum_rows(out.ptr, g.ptr, g.size / n, n, 0);
  return out;
}

function copyAs(x: Tensor, shape: readonly number[]): Tensor {
  const out = new Tensor(shape);
  backend().k.lw_copy(out.ptr, x.ptr, x.size);
  return out;
}

/** x * s as a new tensor. */
export function scaled(x: Tensor, s: number): Tensor {
  const out = new Tensor(x.shape);
  backend().k.lw_scale(out.ptr, x.ptr, s, x.size);
  return out;
}

/** A number operand as the 0-d tensor the broadcast kernels read; anything else must be a float32 tensor. */
function operand(op: string, name: string, v: Tensor | number): Tensor | number {
  if (typeof v === 'number') return v;
  assertFloat(op, name, v);
  return v;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  assertFloat(op, 'a', a);
  const bv = operand(op, 'b', b);
  if (typeof bv === 'number') {
    if (op === 'add' || op === 'sub' || op === 'mul') return scalarOp(op, a, bv);
    return broadcastBinary(op, a, scalarTensor(bv), true);
  }
  if (op !== 'add' && op !== 'sub' && op !== 'mul') return broadcastBinary(op, a, bv, false);
  const layout = layoutOf(a, bv);
  if (layout === 'general') return broadcastBinary(op, a, bv, false);
  return fastBinary(op, layout, a, bv);
}

/**
 * out = a (op) b through `lw_binary_bcast`. `bOwned`: b is a 0-d tensor made here from a number,
 * freed after the forward, or kept by the graph node when backward needs it.
 */
function broadcastBinary(op: BinaryOp, a: Tensor, b: Tensor, bOwned: boolean): Tensor {
  const outShape = broadcastShapes(op, ['a', 'b'], [a.shape, b.shape]);
  const plan = planBroadcast(outShape, [a.shape, b.shape]);
  const out = new Tensor(outShape);
  runBinary(op, plan, (k, ndim, table) => k.lw_binary_bcast(BINARY_CODE[op], out.ptr, a.ptr, b.ptr, ndim, table));
  const backwardFn = (g: Tensor): [Tensor | null, Tensor | null] => {
    const ga = a.requiresGrad ? new Tensor(a.shape) : null;
    const gb = !bOwned && b.requiresGrad ? new Tensor(b.shape) : null;
    runBinary(op, plan, (k, ndim, table) =>
      k.lw_binary_bcast_backward(BINARY_CODE[op], ga?.ptr ?? 0, gb?.ptr ?? 0, g.ptr, a.ptr, b.ptr, ndim, table));
    return [ga, gb];
  };
  if (!needsGrad(a, bOwned ? null : b)) {
    if (bOwned) b.dispose();
    return out;
  }
  if (!bOwned) return record(out, op, [a, b], backwardFn);
  recordMulti([out], op, [a], (gs) => [gs[0] === null ? null : backwardFn(gs[0])[0]], [b]);
  return out;
}

/** Runs `call` with the plan's kernel table, then frees the table. */
function runBinary(op: string, plan: BroadcastPlan, call: (k: ReturnType<typeof backend>['k'], ndim: number, table: number) => void): void {
  const table = planTable(op, plan);
  call(backend().k, plan.dims.length, table.ptr);
  table.dispose();
}

function fastBinary(op: FastOp, layout: Exclude<Layout, 'general'>, a: Tensor, b: Tensor): Tensor {
  const big = layout === 'a-repeats' ? b : a;
  const small = layout === 'a-repeats' ? a : b;
  const out = new Tensor(broadcastShapes(op, ['a', 'b'], [a.shape, b.shape]));
  const rows = big.size / Math.max(small.size, 1);
  if (layout === 'same') {
    kernelSame(op, a, b, out);
  } else if (layout === 'b-repeats') {
    kernelRepeat(op, rows, small.size, a, b, out);
  } else if (op === 'sub') {
    // a - b with a repeating: -(b - a)
    kernelRepeat('sub', rows, small.size, b, a, out);
    backend().k.lw_scale(out.ptr, out.ptr, -1, out.size);
  } else {
    kernelRepeat(op, rows, small.size, b, a, out);
  }
  if (!needsGrad(a, b)) return out;
  return record(out, op, [a, b], (g) => {
    // Gradient w.r.t. each input at the output's shape, then summed down to the input's shape.
    const reduce = (full: Tensor, like: Tensor): Tensor => {
      if (sameShape(full.shape, like.shape)) return full;
      // Same size but another rank (e.g. [1, 4] vs [4]) is a plain copy; otherwise sum the rows.
      const r = full.size === like.size ? copyAs(full, like.shape) : sumToShape(full, like.shape);
      full.dispose();
      return r;
    };
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (op === 'add' || op === 'sub') {
      if (a.requiresGrad) ga = reduce(scaled(g, 1), a);
      if (b.requiresGrad) gb = reduce(scaled(g, op === 'sub' ? -1 : 1), b);
    } else {
      // d(a*b)/da = b (broadcast to the output shape), and the other way round.
      const times = (x: Tensor): Tensor => {
        const r = new Tensor(g.shape);
        if (x.size === g.size) backend().k.lw_mul(r.ptr, g.ptr, x.ptr, g.size);
        else backend().k.lw_mul_bcast(r.ptr, g.ptr, x.ptr, g.size / x.size, x.size);
        return r;
      };
      if (a.requiresGrad) ga = reduce(times(b), a);
      if (b.requiresGrad) gb = reduce(times(a), b);
    }
    return [ga, gb];
  });
}

function scalarOp(op: FastOp, a: Tensor, s: number): Tensor {
  const out = new Tensor(a.shape);
  const k = backend().k;
  if (op === 'mul') k.lw_scale(out.ptr, a.ptr, s, a.size);
  else k.lw_add_scalar(out.ptr, a.ptr, op === 'add' ? s : -s, a.size);
  if (!needsGrad(a)) return out;
  return record(out, op, [a], (g) => [scaled(g, op === 'mul' ? s : 1)]);
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary('add', a, b);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary('sub', a, b);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary('mul', a, b);
}

/** True division (PyTorch `torch.div`, rounding mode None), by a tensor (broadcast) or a number. */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return binary('div', a, b);
}

/** Element-wise maximum (PyTorch `torch.maximum`): NaN if either is NaN; a tie sends half the gradient to each. */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  return binary('maximum', a, b);
}

/** Element-wise minimum (PyTorch `torch.minimum`), as `maximum`. */
export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return binary('minimum', a, b);
}

/** `a ** b` for a tensor exponent (broadcast); a number exponent is `pow` in ops/pointwise.ts. */
export function powTensor(a: Tensor, b: Tensor): Tensor {
  return binary('pow', a, b);
}

/** A copy that stays in the graph. */
export function clone(x: Tensor): Tensor {
  assertTensor('clone', 'x', x);
  const out = new Tensor(x.shape, x.dtype);
  backend().k.lw_copy(out.ptr, x.ptr, x.size);
  if (!needsGrad(x)) return out;
  return record(out, 'clone', [x], (g) => [scaled(g, 1)]);
}

/**
 * A copy in another dtype (PyTorch `x.to(dtype)`, `.float()`, `.int()`, `.long()`): int32 ->
 * float32 rounds past 2^24; float32 -> int32 truncates toward zero, saturating past the int32
 * range (NaN gives 0). Always a new tensor, also for the same dtype (then a `clone`, in the graph).
 */
export function toDType(x: Tensor, dtype: DType): Tensor {
  assertTensor('to', 'x', x);
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new DTypeError(`to: dtype must be 'float32' or 'int32', got ${String(dtype)} (int64 tensors are int32 here)`);
  }
  if (dtype === x.dtype) return clone(x);
  const out = new Tensor(x.shape, dtype);
  const k = backend().k;
  if (dtype === 'float32') k.lw_cast_i32_to_f32(out.ptr, x.ptr, x.size);
  else k.lw_cast_f32_to_i32(out.ptr, x.ptr, x.size);
  return out; // crossing dtypes cuts the graph, as in PyTorch (an int32 tensor has no gradient)
}
