/**
 * Comparisons (eq, ne, lt, le, gt, ge), `where` and `maskedFill`, all broadcasting.
 *
 * Masks are float32 0/1 tensors (PyTorch returns bool; this library has only float32 and int32):
 * a float mask multiplies, sums and averages directly (`pred.eq(target).mean()` is an accuracy),
 * and `where`/`maskedFill` take a mask of either dtype, non-zero meaning true. Comparisons take
 * two float32 or two int32 operands (int32 compares exactly, also past 2^24), or a tensor and a
 * number; they record no gradient (as PyTorch's bool results).
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, recordMulti } from '../autograd';
import { DTypeError, ShapeError, formatShape } from '../errors';
import { assertFloat, assertTensor, sameShape } from './util';
import { broadcastShapes, planBroadcast, planTable, scalarTensor } from './broadcast';

/** The op codes of `lw_compare_bcast` (crate/ops/broadcast.rs `CmpOp`). */
const COMPARE_CODE = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;
export type CompareOp = keyof typeof COMPARE_CODE;

/** An int32 or float32 0-d tensor of `value`, matching `like`'s dtype. */
function scalarLike(op: string, like: Tensor, value: number): Tensor {
  if (like.dtype === 'float32') return scalarTensor(value);
  if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647) {
    throw new DTypeError(`${op}: b must be an int32 value to compare with an int32 tensor, got ${value}`);
  }
  const t = new Tensor([], 'int32');
  backend().i32()[t.ptr >>> 2] = value;
  return t;
}

function compare(op: CompareOp, a: Tensor, b: Tensor | number): Tensor {
  assertTensor(op, 'a', a);
  if (typeof b !== 'number') {
    assertTensor(op, 'b', b);
    if (a.dtype !== b.dtype) throw new DTypeError(`${op}: b is ${b.dtype}, expected ${a.dtype} (the dtype of a)`);
  } else if (a.dtype === 'int32' && !Number.isInteger(b)) {
    throw new DTypeError(`${op}: b must be an int32 value to compare with an int32 tensor, got ${b}`);
  }
  const bShape = typeof b === 'number' ? [] : b.shape;
  const outShape = broadcastShapes(op, ['a', 'b'], [a.shape, bShape]);
  const plan = planBroadcast(outShape, [a.shape, bShape]);
  const bt = typeof b === 'number' ? scalarLike(op, a, b) : b;
  const table = planTable(op, plan);
  const out = new Tensor(outShape);
  backend().k.lw_compare_bcast(COMPARE_CODE[op], out.ptr, a.ptr, bt.ptr, a.dtype === 'int32' ? 1 : 0, plan.dims.length, table.ptr);
  table.dispose();
  if (bt !== b) bt.dispose();
  return out;
}

export const eq = (a: Tensor, b: Tensor | number): Tensor => compare('eq', a, b);
export const ne = (a: Tensor, b: Tensor | number): Tensor => compare('ne', a, b);
export const lt = (a: Tensor, b: Tensor | number): Tensor => compare('lt', a, b);
export const le = (a: Tensor, b: Tensor | number): Tensor => compare('le', a, b);
export const gt = (a: Tensor, b: Tensor | number): Tensor => compare('gt', a, b);
export const ge = (a: Tensor, b: Tensor | number): Tensor => compare('ge', a, b);

/**
 * `cond ? a : b` element-wise (PyTorch `torch.where`), all three broadcast; cond float32 or
 * int32 (non-zero is true), a and b float32 tensors or numbers. Differentiable in a and b.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return select('where', cond, a, b, null);
}

/**
 * `x` with `value` where `mask` is non-zero (PyTorch `masked_fill`); mask broadcasts to x's shape
 * (the result has x's shape). Differentiable in x (0 gradient where filled).
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertFloat('maskedFill', 'x', x);
  assertTensor('maskedFill', 'mask', mask);
  if (typeof value !== 'number') throw new DTypeError(`maskedFill: value must be a number, got ${value === null ? 'null' : typeof value}`);
  const shape = broadcastShapes('maskedFill', ['x', 'mask'], [x.shape, mask.shape]);
  if (!sameShape(shape, x.shape)) {
    throw new ShapeError(`maskedFill: mask ${formatShape(mask.shape)} must broadcast to the shape of x ${formatShape(x.shape)}, it would make ${formatShape(shape)}`);
  }
  return select('maskedFill', mask, value, x, x.shape);
}

function select(op: string, cond: Tensor, a: Tensor | number, b: Tensor | number, outShapeWanted: readonly number[] | null): Tensor {
  assertTensor(op, op === 'maskedFill' ? 'mask' : 'cond', cond);
  if (typeof a !== 'number') assertFloat(op, op === 'maskedFill' ? 'x' : 'a', a);
  if (typeof b !== 'number') assertFloat(op, op === 'maskedFill' ? 'x' : 'b', b);
  const shapes = [cond.shape, typeof a === 'number' ? [] : a.shape, typeof b === 'number' ? [] : b.shape];
  const outShape = outShapeWanted?.slice() ?? broadcastShapes(op, ['cond', 'a', 'b'], shapes);
  const plan = planBroadcast(outShape, shapes);
  const table = planTable(op, plan);
  const at = typeof a === 'number' ? scalarTensor(a) : a;
  const bt = typeof b === 'number' ? scalarTensor(b) : b;
  const condInt = cond.dtype === 'int32' ? 1 : 0;
  const out = new Tensor(outShape);
  backend().k.lw_where_bcast(out.ptr, cond.ptr, at.ptr, bt.ptr, condInt, plan.dims.length, table.ptr);
  table.dispose();
  const owned = [at, bt].filter((t, i) => t !== [a, b][i]);
  const tensors = [at, bt].filter((t, i) => t === [a, b][i]);
  if (!needsGrad(...tensors)) {
    for (const t of owned) t.dispose();
    return out;
  }
  // cond is an input (it must outlive backward) that never receives a gradient.
  const inputs = [cond, ...tensors];
  recordMulti([out], op, inputs, ([g]) => {
    if (g === null) return inputs.map(() => null);
    const ga = at === a && at.requiresGrad ? new Tensor(at.shape) : null;
    const gb = bt === b && bt.requiresGrad ? new Tensor(bt.shape) : null;
    const t = planTable(op, plan);
    backend().k.lw_where_bcast_backward(ga?.ptr ?? 0, gb?.ptr ?? 0, g.ptr, cond.ptr, condInt, plan.dims.length, t.ptr);
    t.dispose();
    const grads: (Tensor | null)[] = [null];
    if (at === a) grads.push(ga);
    if (bt === b) grads.push(gb);
    return grads;
  }, owned);
  return out;
}
