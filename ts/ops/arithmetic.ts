/**
 * add, sub, mul with broadcasting over leading dimensions (the smaller operand's shape, without
 * leading 1s, must be a suffix of the larger's) and with plain numbers; clone.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { ShapeError, formatShape } from '../errors';
import { assertFloat, assertTensor, sameShape } from './util';

type BinaryOp = 'add' | 'sub' | 'mul';

/** How `b` lines up with `a`: same shape, b repeated over a's leading dims, or the reverse. */
type Layout = 'same' | 'b-repeats' | 'a-repeats';

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

function layoutOf(op: string, a: Tensor, b: Tensor): Layout {
  if (sameShape(a.shape, b.shape)) return 'same';
  if (isSuffix(b.shape, a.shape) && b.size <= a.size) return 'b-repeats';
  if (isSuffix(a.shape, b.shape)) return 'a-repeats';
  throw new ShapeError(
    `${op}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not broadcast ` +
      '(the smaller shape must match the trailing dims of the larger)',
  );
}

/** out = a (op) b, where b (n values) repeats over the rows of a (rows*n values). */
function kernelRepeat(op: BinaryOp, rows: number, n: number, a: Tensor, b: Tensor, out: Tensor): void {
  const k = backend().k;
  if (op === 'add') k.lw_add_bcast(out.ptr, a.ptr, b.ptr, rows, n);
  else if (op === 'sub') k.lw_sub_bcast(out.ptr, a.ptr, b.ptr, rows, n);
  else k.lw_mul_bcast(out.ptr, a.ptr, b.ptr, rows, n);
}

function kernelSame(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): void {
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

/** The broadcast result shape (both shapes aligned at the right, 1s padded on the left). */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[i - (n - a.length)] ?? 1;
    const db = b[i - (n - b.length)] ?? 1;
    out.push(Math.max(da, db));
  }
  return out;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  assertFloat(op, 'a', a);
  if (typeof b === 'number') return scalarOp(op, a, b);
  assertFloat(op, 'b', b);
  const layout = layoutOf(op, a, b);
  const big = layout === 'a-repeats' ? b : a;
  const small = layout === 'a-repeats' ? a : b;
  const out = new Tensor(broadcastShape(a.shape, b.shape));
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

function scalarOp(op: BinaryOp, a: Tensor, s: number): Tensor {
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

/** A copy that stays in the graph. */
export function clone(x: Tensor): Tensor {
  assertTensor('clone', 'x', x);
  const out = new Tensor(x.shape, x.dtype);
  backend().k.lw_copy(out.ptr, x.ptr, x.size);
  if (!needsGrad(x)) return out;
  return record(out, 'clone', [x], (g) => [scaled(g, 1)]);
}
