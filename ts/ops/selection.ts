/**
 * Selections along a dim: max/min (whole tensor, or values and indices along a dim), argmax/argmin,
 * topk, sort, gather. Indices are int32 (PyTorch: int64). Orders follow PyTorch: NaN is larger than
 * every number (so max, min and argmax of a line holding NaN pick the NaN), and among equal values
 * the first index wins (PyTorch's CPU max/argmax do the same; its topk order among ties is
 * unspecified, here lower index first). Gradients: along a dim, the gradient goes to the selected
 * index only; the whole-tensor max/min splits it evenly among tied maxima (PyTorch 1.13).
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record, recordMulti } from '../autograd';
import { IndexError, ShapeError, ValueError, formatShape } from '../errors';
import { assertFloat, assertInt, assertTensor, normalizeDim, splitAt } from './util';
import { scalarTensor } from './broadcast';

/**
 * Values and their int32 positions along the dim, by name or by position, as PyTorch's named
 * tuples: `const { values, indices } = x.topk(3)` and `const [values, indices] = x.topk(3)` (for
 * `values, indices = x.topk(3)`) are the same.
 */
export type ValuesIndices = [values: Tensor, indices: Tensor] & { values: Tensor; indices: Tensor };

/** `[values, indices]`, with the two also by name. */
function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/** Records the gradient of values picked from x along a dim: g scattered back to the saved indices. */
function recordPicked(op: string, values: Tensor, indices: Tensor, x: Tensor, outer: number, d: number, k: number, inner: number): void {
  if (!needsGrad(x)) return;
  const saved = copyInt(indices);
  recordMulti([values], op, [x], ([g]) => {
    if (g === null) return [null];
    const gx = new Tensor(x.shape);
    backend().k.lw_gather_backward(gx.ptr, g.ptr, saved.ptr, outer, d, k, inner);
    return [gx];
  }, [saved]);
}

function reducedShape(shape: readonly number[], dim: number, keepdim: boolean): number[] {
  return keepdim ? shape.map((s, i) => (i === dim ? 1 : s)) : shape.filter((_, i) => i !== dim);
}

function assertNonEmptyDim(op: string, x: Tensor, dim: number): void {
  if (x.shape[dim] === 0) throw new ShapeError(`${op}: dim ${dim} of x ${formatShape(x.shape)} is empty, expected at least one element to select from`);
}

/** A copy of an int32 tensor, for a backward that must not depend on the caller keeping `t`. */
function copyInt(t: Tensor): Tensor {
  const c = new Tensor(t.shape, 'int32');
  backend().k.lw_copy(c.ptr, t.ptr, t.size);
  return c;
}

/**
 * The kernel's max (min) of x along dim `d0`, or over all elements when `d0` is null, as values and
 * int32 indices both shaped `shape`; nothing is recorded.
 */
function extremes(x: Tensor, d0: number | null, shape: readonly number[], min: boolean) {
  const [outer, d, inner] = d0 === null ? [1, x.size, 1] : splitAt(x.shape, d0);
  const values = new Tensor(shape);
  const indices = new Tensor(shape, 'int32');
  backend().k.lw_max_dim(values.ptr, indices.ptr, x.ptr, outer, d, inner, min ? 1 : 0);
  return { values, indices, outer, d, inner };
}

function assertNotEmpty(op: string, x: Tensor): void {
  if (x.size === 0) throw new ShapeError(`${op}: x ${formatShape(x.shape)} is empty, expected at least one element`);
}

/** Values and indices along `dim`; the values are differentiable (gradient to the selected index). */
function selectAlong(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d0 = normalizeDim(op, dim, x.ndim);
  assertNonEmptyDim(op, x, d0);
  const { values, indices, outer, d, inner } = extremes(x, d0, reducedShape(x.shape, d0, keepdim), op === 'min');
  recordPicked(op, values, indices, x, outer, d, 1, inner);
  return valuesIndices(values, indices);
}

/** The whole tensor's max (min): a 0-d tensor; the gradient is split evenly among the tied extremes. */
function selectAll(op: 'max' | 'min', x: Tensor): Tensor {
  assertNotEmpty(op, x);
  const { values: out, indices } = extremes(x, null, [], op === 'min');
  indices.dispose();
  if (!needsGrad(x)) return out;
  const extreme = out.item();
  return record(out, op, [x], (g) => {
    const k = backend().k;
    // mask = x == extreme (x != x when the extreme is NaN), as float 0/1.
    const nan = Number.isNaN(extreme);
    const gx = new Tensor(x.shape);
    const s = scalarTensor(extreme);
    // A 1-D walk: x at stride 1 against the scalar (stride 0), or against itself for x != x.
    const dims = new Tensor([3], 'int32');
    backend().i32().set([x.size, 1, nan ? 1 : 0], dims.ptr >>> 2);
    k.lw_compare_bcast(nan ? 1 : 0, gx.ptr, x.ptr, nan ? x.ptr : s.ptr, 0, 1, dims.ptr);
    dims.dispose();
    s.dispose();
    const count = k.lw_sum(gx.ptr, gx.size);
    k.lw_scale(gx.ptr, gx.ptr, g.item() / count, gx.size);
    return [gx];
  });
}

/** PyTorch `max`: `max(x)` is the largest element; `max(x, dim, keepdim)` gives values and indices. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  assertFloat('max', 'x', x);
  return dim === undefined ? selectAll('max', x) : selectAlong('max', x, dim, keepdim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  assertFloat('min', 'x', x);
  return dim === undefined ? selectAll('min', x) : selectAlong('min', x, dim, keepdim);
}

function argSelect(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  assertFloat(op, 'x', x);
  const min = op === 'argmin';
  // Over the flattened tensor: a 0-d index (all 1s with keepdim); else along `dim`.
  let found;
  if (dim === undefined) {
    assertNotEmpty(op, x);
    found = extremes(x, null, keepdim ? x.shape.map(() => 1) : [], min);
  } else {
    const d0 = normalizeDim(op, dim, x.ndim);
    assertNonEmptyDim(op, x, d0);
    found = extremes(x, d0, reducedShape(x.shape, d0, keepdim), min);
  }
  found.values.dispose();
  return found.indices;
}

/** int32 index of the largest element (flattened when `dim` is undefined); the first of ties. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argSelect('argmax', x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argSelect('argmin', x, dim, keepdim);
}

/**
 * PyTorch `topk`: the k largest (or smallest) along `dim`, always sorted (`sorted = false` is
 * accepted: PyTorch leaves that order unspecified). Values are differentiable. O(k * size(dim))
 * per line.
 */
export function topk(x: Tensor, k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
  assertFloat('topk', 'x', x);
  void sorted;
  const d0 = normalizeDim('topk', dim, Math.max(x.ndim, 1));
  const size = x.ndim === 0 ? 1 : x.shape[d0];
  if (!Number.isInteger(k) || k < 0 || k > size) {
    throw new ValueError(`topk: k must be an integer in 0..${size} (the size of dim ${dim}), got ${k}`);
  }
  const [outer, d, inner] = x.ndim === 0 ? [1, 1, 1] : splitAt(x.shape, d0);
  const shape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d0 ? k : s));
  const values = new Tensor(shape);
  const indices = new Tensor(shape, 'int32');
  backend().k.lw_topk(values.ptr, indices.ptr, x.ptr, outer, d, inner, k, largest ? 1 : 0);
  recordPicked('topk', values, indices, x, outer, d, k, inner);
  return valuesIndices(values, indices);
}

/**
 * PyTorch `sort`: the values along `dim` in ascending order (`descending`: descending), with their
 * int32 positions; NaN sorts as larger than every number, and equal values keep their order (as
 * PyTorch's `stable=True`). Values are differentiable. The order is found in JavaScript, O(n log n)
 * per line: sorting is not a training hot loop.
 */
export function sort(x: Tensor, dim = -1, descending = false): ValuesIndices {
  assertFloat('sort', 'x', x);
  if (typeof descending !== 'boolean') throw new ValueError(`sort: descending must be a boolean, got ${String(descending)} (PyTorch: sort(dim=-1, descending=False))`);
  const d0 = normalizeDim('sort', dim, Math.max(x.ndim, 1));
  const [outer, d, inner] = x.ndim === 0 ? [1, 1, 1] : splitAt(x.shape, d0);
  const values = new Tensor(x.shape);
  const indices = new Tensor(x.shape, 'int32');
  const src = x.f32().slice();
  const out = values.f32();
  const idx = indices.heapView() as Int32Array;
  const sign = descending ? -1 : 1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * d * inner + i;
      const at = (j: number) => src[base + j * inner]!;
      // Array.prototype.sort is stable: equal values keep their positions. NaN is the largest.
      const order = Array.from({ length: d }, (_, j) => j).sort((a, b) => {
        const va = at(a), vb = at(b);
        const nanA = Number.isNaN(va), nanB = Number.isNaN(vb);
        if (nanA || nanB) return nanA === nanB ? 0 : (nanA ? 1 : -1) * sign;
        return va === vb ? 0 : (va < vb ? -1 : 1) * sign;
      });
      for (let j = 0; j < d; j++) {
        out[base + j * inner] = at(order[j]!);
        idx[base + j * inner] = order[j]!;
      }
    }
  }
  recordPicked('sort', values, indices, x, outer, d, d, inner);
  return valuesIndices(values, indices);
}

/**
 * PyTorch `gather(x, dim, index)`: `out[..., j, ...] = x[..., index[..., j, ...], ...]` along `dim`.
 * index is int32 with x's number of dims and x's sizes outside `dim` (PyTorch also allows smaller
 * ones; not supported here); every index in [0, x.shape[dim]). x may be float32 or int32 (token
 * ids); the output has its dtype. Differentiable in a float32 x (repeated indices sum their gradients).
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor('gather', 'x', x);
  assertInt('gather', 'index', index);
  const d0 = normalizeDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d0 && s !== x.shape[i])) {
    throw new ShapeError(
      `gather: index has shape ${formatShape(index.shape)}, expected x's shape ${formatShape(x.shape)} ` +
        `in every dim but dim ${dim}`,
    );
  }
  const [outer, d, inner] = splitAt(x.shape, d0);
  const k = index.shape[d0];
  const ids = index.heapView();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= d) {
      throw new IndexError(`gather: index element ${i} is ${ids[i]}, expected 0..${d - 1} (the size of dim ${dim} of x ${formatShape(x.shape)})`);
    }
  }
  const out = new Tensor(index.shape, x.dtype);
  backend().k.lw_gather(out.ptr, x.ptr, index.ptr, outer, d, k, inner);
  if (!needsGrad(x)) return out;
  return record(out, 'gather', [x, index], (g) => {
    const gx = new Tensor(x.shape);
    backend().k.lw_gather_backward(gx.ptr, g.ptr, index.ptr, outer, d, k, inner);
    return [gx, null];
  });
}

