/**
 * reshape, transpose (last two dims), concat and slice along a dim. Tensors are always contiguous,
 * so each of these makes a new tensor (a copy); their backward moves the gradient back.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ShapeError, formatShape } from '../errors';
import { assertTensor, normalizeDim, product, splitAt } from './util';

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor('reshape', 'x', x);
  const inferAt = shape.indexOf(-1);
  if (inferAt !== shape.lastIndexOf(-1)) throw new ShapeError(`reshape: only one dim may be -1, got ${formatShape(shape)}`);
  let target = shape.slice();
  if (inferAt >= 0) {
    const known = product(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot infer -1 in ${formatShape(shape)} for ${x.size} elements`);
    }
    target[inferAt] = x.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0) || product(target) !== x.size) {
    throw new ShapeError(`reshape: shape ${formatShape(shape)} does not hold ${x.size} elements (input ${formatShape(x.shape)})`);
  }
  target = target.map(Number);
  const out = new Tensor(target, x.dtype);
  backend().k.lw_copy(out.ptr, x.ptr, x.size);
  if (!needsGrad(x)) return out;
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Copies x seen as (batch, rows, cols) into out as (batch, cols, rows). */
function transposeInto(x: Tensor, out: Tensor, batch: number, rows: number, cols: number): void {
  backend().k.lw_transpose(out.ptr, x.ptr, batch, rows, cols, 1);
}

/** Swaps the last two dims. */
export function transpose(x: Tensor): Tensor {
  assertTensor('transpose', 'x', x);
  if (x.ndim < 2) throw new ShapeError(`transpose: needs at least 2 dims, got ${formatShape(x.shape)}`);
  const rows = x.shape[x.ndim - 2];
  const cols = x.shape[x.ndim - 1];
  const batch = x.size / Math.max(rows * cols, 1);
  const out = new Tensor([...x.shape.slice(0, -2), cols, rows], x.dtype);
  transposeInto(x, out, batch, rows, cols);
  if (!needsGrad(x)) return out;
  return record(out, 'transpose', [x], (g) => [transpose(g)]);
}

/**
 * Copies blocks between two tensors seen as (outer, dSrc, inner) and (outer, dDst, inner):
 * for every outer index, `len*inner` values from dim offset `srcAt` to dim offset `dstAt`.
 */
function copyBlocks(src: Tensor, dSrc: number, srcAt: number, dst: Tensor, dDst: number, dstAt: number, outer: number, len: number, inner: number): void {
  const k = backend().k;
  const run = len * inner;
  for (let o = 0; o < outer; o++) {
    k.lw_copy(dst.ptr + 4 * (o * dDst + dstAt) * inner, src.ptr + 4 * (o * dSrc + srcAt) * inner, run);
  }
}

/** Elements [start, end) of dim `dim`. */
export function slice(x: Tensor, dim: number, start: number, end?: number): Tensor {
  assertTensor('slice', 'x', x);
  const d = normalizeDim('slice', dim, x.ndim);
  const size = x.shape[d];
  const stop = end ?? size;
  if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > size || start > stop) {
    throw new IndexError(`slice: range [${start}, ${stop}) is out of bounds for dim ${d} of size ${size}`);
  }
  const [outer, , inner] = splitAt(x.shape, d);
  const len = stop - start;
  const outShape = x.shape.map((s, i) => (i === d ? len : s));
  const out = new Tensor(outShape, x.dtype);
  copyBlocks(x, size, start, out, len, 0, outer, len, inner);
  if (!needsGrad(x)) return out;
  return record(out, 'slice', [x], (g) => {
    const gx = new Tensor(x.shape);
    copyBlocks(g, len, 0, gx, size, start, outer, len, inner);
    return [gx];
  });
}

/** Joins tensors along `dim`; all other dims must agree. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) throw new ShapeError('concat: expected a non-empty array of tensors');
  tensors.forEach((t, i) => assertTensor('concat', `tensors[${i}]`, t));
  const first = tensors[0];
  const d = normalizeDim('concat', dim, first.ndim);
  tensors.forEach((t, i) => {
    const ok = t.ndim === first.ndim && t.dtype === first.dtype && t.shape.every((s, j) => j === d || s === first.shape[j]);
    if (!ok) {
      throw new ShapeError(`concat: tensors[${i}] is ${formatShape(t.shape)} ${t.dtype}, expected ${first.dtype} matching ${formatShape(first.shape)} except in dim ${d}`);
    }
  });
  const total = tensors.reduce((acc, t) => acc + t.shape[d], 0);
  const outShape = first.shape.map((s, i) => (i === d ? total : s));
  const out = new Tensor(outShape, first.dtype);
  const [outer, , inner] = splitAt(outShape, d);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    copyBlocks(t, t.shape[d], 0, out, total, at, outer, t.shape[d], inner);
    at += t.shape[d];
  }
  if (!needsGrad(...tensors)) return out;
  return record(out, 'concat', tensors.slice(), (g) =>
    tensors.map((t, i) => {
      if (!t.requiresGrad) return null;
      const gt = new Tensor(t.shape);
      copyBlocks(g, total, offsets[i], gt, t.shape[d], 0, outer, t.shape[d], inner);
      return gt;
    }),
  );
}

/** Swaps dims 0 and 1 of a tensor with at least 2 dims, e.g. (B, T, F) <-> (T, B, F). */
export function swapLeadingDims(x: Tensor): Tensor {
  assertTensor('swapLeadingDims', 'x', x);
  if (x.ndim < 2) throw new ShapeError(`swapLeadingDims: needs at least 2 dims, got ${formatShape(x.shape)}`);
  const [rows, cols] = x.shape;
  const inner = product(x.shape.slice(2));
  const out = new Tensor([cols, rows, ...x.shape.slice(2)], x.dtype);
  backend().k.lw_transpose(out.ptr, x.ptr, 1, rows, cols, inner);
  if (!needsGrad(x)) return out;
  return record(out, 'swapLeadingDims', [x], (g) => [swapLeadingDims(g)]);
}
