/**
 * Shape ops with PyTorch semantics: reshape/view, transpose, permute, unsqueeze, squeeze, flatten,
 * expand, repeat, select, narrow, concat/cat, stack (slices and Python indexing: indexing.ts). Tensors are always contiguous, so each
 * makes a new tensor (a copy); the backward moves the gradient back. Every data movement is one
 * kernel call per tensor: `lw_strided_copy` (a strided view into a strided window), with
 * `lw_transpose` (cache-blocked) where the copy is a swap of two adjacent blocks and `lw_copy`
 * where it is contiguous.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ShapeError, ValueError, formatShape } from '../errors';
import { assertTensor, normalizeDim, product } from './util';
import { sum } from './reduce';

// ---------------------------------------------------------------------------------------------
// the one data mover
// ---------------------------------------------------------------------------------------------

/** Row-major strides of `shape`, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/** The most dims the kernel takes (crate/layout.rs MAX_DIMS), after merging. */
const MAX_DIMS = 64;

/**
 * Copies x's elements read through (`shape`, `xStrides`) from element `xAt` into out's elements
 * written through (`shape`, `outStrides`) from element `outAt`. Size-1 dims are dropped and
 * neighbouring dims that both views walk contiguously are merged first, so most copies reach the
 * kernel with 1 to 3 dims.
 */
function copyView(out: Tensor, outAt: number, outStrides: readonly number[], x: Tensor, xAt: number, xStrides: readonly number[], shape: readonly number[]): void {
  if (shape.includes(0)) return;
  const dims: number[] = [];
  const os: number[] = [];
  const xs: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && os[last] === outStrides[i] * d && xs[last] === xStrides[i] * d) {
      dims[last] *= d;
      os[last] = outStrides[i];
      xs[last] = xStrides[i];
    } else {
      dims.push(d);
      os.push(outStrides[i]);
      xs.push(xStrides[i]);
    }
  });
  const k = backend().k;
  const n = dims.length;
  const outPtr = out.ptr + 4 * outAt;
  const xPtr = x.ptr + 4 * xAt;
  if (n === 0 || (n === 1 && os[0] === 1 && xs[0] === 1)) {
    k.lw_copy(outPtr, xPtr, n === 0 ? 1 : dims[0]);
    return;
  }
  const swap = asTranspose(dims, os, xs);
  if (swap !== null) {
    k.lw_transpose(outPtr, xPtr, swap[0], swap[1], swap[2], swap[3]);
    return;
  }
  if (n > MAX_DIMS) throw new ShapeError(`strided copy: ${n} dims after merging, at most ${MAX_DIMS}`);
  const table = new Tensor([3 * n], 'int32');
  try {
    table.heapView().set([...dims, ...os, ...xs]);
    k.lw_strided_copy(outPtr, xPtr, n, table.ptr, table.ptr + 4 * n, table.ptr + 8 * n);
  } finally {
    table.dispose();
  }
}

/**
 * [batch, rows, cols, inner] when the copy is lw_transpose's (a contiguous out of shape
 * (batch, cols, rows, inner) read from x as (batch, rows, cols, inner)), else null.
 */
function asTranspose(dims: number[], os: number[], xs: number[]): [number, number, number, number] | null {
  const n = dims.length;
  const contiguous = contiguousStrides(dims);
  if (n < 2 || n > 4 || !os.every((s, i) => s === contiguous[i])) return null;
  let [from, to, batch, inner] = [0, n, 1, 1];
  // A leading batch dim is read at out's own stride (whole planes in the same order).
  if (n === 4 || (n === 3 && xs[0] === contiguous[0])) {
    if (xs[0] !== contiguous[0]) return null;
    batch = dims[from++];
  }
  // A trailing inner block is read contiguously.
  if (to - from === 3) {
    if (xs[to - 1] !== 1) return null;
    inner = dims[--to];
  }
  if (to - from !== 2) return null;
  const [cols, rows] = [dims[from], dims[from + 1]];
  return xs[from] === inner && xs[from + 1] === cols * inner ? [batch, rows, cols, inner] : null;
}

/** A new tensor of `shape` holding x read through `strides` from element `at`. */
export function gather(x: Tensor, shape: readonly number[], strides: readonly number[], at = 0): Tensor {
  const out = new Tensor(shape, x.dtype);
  copyView(out, 0, contiguousStrides(shape), x, at, strides, shape);
  return out;
}

/** A zero tensor of `shape` with g written into the window (`strides`, from element `at`). */
function scatter(shape: readonly number[], g: Tensor, strides: readonly number[], at = 0): Tensor {
  const out = new Tensor(shape);
  copyView(out, at, strides, g, 0, contiguousStrides(g.shape), g.shape);
  return out;
}

// ---------------------------------------------------------------------------------------------
// argument checks
// ---------------------------------------------------------------------------------------------

/** A dim argument in [-ndim, ndim), normalized; the error names the argument. */
export function dimArg(op: string, name: string, dim: unknown, x: { shape: readonly number[] }, ndim = x.shape.length): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -ndim || dim >= ndim) {
    throw new IndexError(
      `${op}: ${name}=${String(dim)} is out of range for a ${x.shape.length}-D tensor ${formatShape(x.shape)} ` +
        (ndim === 0 ? '(it has no dims)' : `(expected an integer in ${-ndim}..${ndim - 1})`),
    );
  }
  return dim < 0 ? dim + ndim : dim;
}

function assertSizes(op: string, name: string, sizes: readonly number[], allowMinusOne: boolean): void {
  if (!Array.isArray(sizes)) throw new ShapeError(`${op}: ${name} must be an array of sizes, got ${typeof sizes}`);
  sizes.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < (allowMinusOne ? -1 : 0)) {
      throw new ShapeError(`${op}: ${name}[${i}] is ${String(s)}, expected a non-negative integer${allowMinusOne ? ' or -1 (keep)' : ''} (got ${name} ${formatShape(sizes)})`);
    }
  });
}

/** The same data in another shape, recorded as `op` (its backward is a reshape back). */
function viewAs(op: string, x: Tensor, shape: readonly number[]): Tensor {
  const out = new Tensor(shape, x.dtype);
  backend().k.lw_copy(out.ptr, x.ptr, x.size);
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (g) => [viewAs(op, g, x.shape)]);
}

/** Sums g, seen as `view` (same size), over `dims`, into a tensor of `shape`. */
function sumOver(g: Tensor, view: readonly number[], dims: readonly number[], shape: readonly number[]): Tensor {
  let r = viewAs('sum', g, view);
  for (const d of dims) {
    const next = sum(r, d, true);
    r.dispose();
    r = next;
  }
  const out = viewAs('sum', r, shape);
  r.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------
// the ops
// ---------------------------------------------------------------------------------------------

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
  return viewAs('reshape', x, target);
}

/** x with its dims reordered: out.shape[i] = x.shape[dims[i]] (PyTorch `permute`). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  assertTensor('permute', 'x', x);
  if (!Array.isArray(dims) || dims.length !== x.ndim) {
    throw new ShapeError(`permute: dims ${Array.isArray(dims) ? formatShape(dims) : String(dims)} must list each of the ${x.ndim} dims of x ${formatShape(x.shape)} once`);
  }
  const perm = dims.map((d, i) => dimArg('permute', `dims[${i}]`, d, x));
  if (new Set(perm).size !== perm.length) {
    throw new ShapeError(`permute: dims ${formatShape(dims)} repeat a dim (expected a permutation of 0..${x.ndim - 1})`);
  }
  return permuteChecked('permute', x, perm);
}

function permuteChecked(op: string, x: Tensor, perm: readonly number[]): Tensor {
  const strides = contiguousStrides(x.shape);
  const out = gather(x, perm.map((p) => x.shape[p]), perm.map((p) => strides[p]));
  if (!needsGrad(x)) return out;
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(out, op, [x], (g) => [permuteChecked(op, g, inverse)]);
}

/**
 * Swaps dims `dim0` and `dim1` (negative dims count from the end), as PyTorch's `transpose`.
 * Both are required, except for a 2-D tensor, where `transpose(x)` is its transpose (torch.t).
 */
export function transpose(x: Tensor, dim0?: number, dim1?: number): Tensor {
  assertTensor('transpose', 'x', x);
  if (dim0 === undefined && dim1 === undefined) {
    if (x.ndim !== 2) {
      throw new ValueError(
        `transpose: dim0 and dim1 are required for a ${x.ndim}-D tensor ${formatShape(x.shape)} (only a 2-D tensor has one transpose): ` +
          'use x.mT or transpose(-2, -1) to swap the last two dims',
      );
    }
    return permuteChecked('transpose', x, [1, 0]);
  }
  if (dim0 === undefined || dim1 === undefined) {
    throw new ValueError(`transpose: expected both dim0 and dim1, got dim0=${String(dim0)}, dim1=${String(dim1)}`);
  }
  // As PyTorch, a 0-D tensor takes dim 0 or -1 (and is returned as a copy).
  const a = dimArg('transpose', 'dim0', dim0, x, Math.max(x.ndim, 1));
  const b = dimArg('transpose', 'dim1', dim1, x, Math.max(x.ndim, 1));
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permuteChecked('transpose', x, perm);
}

/** Swaps the last two dims (PyTorch `x.mT`); x needs at least 2 dims. */
export function mT(x: Tensor): Tensor {
  assertTensor('mT', 'x', x);
  if (x.ndim < 2) throw new ShapeError(`mT: x must have at least 2 dims, got a ${x.ndim}-D tensor ${formatShape(x.shape)}`);
  return permuteChecked('transpose', x, x.shape.map((_, i) => (i === x.ndim - 2 ? x.ndim - 1 : i === x.ndim - 1 ? x.ndim - 2 : i)));
}

/** Inserts a dim of size 1 at `dim` (in [-ndim-1, ndim]). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  assertTensor('unsqueeze', 'x', x);
  const d = dimArg('unsqueeze', 'dim', dim, x, x.ndim + 1);
  return viewAs('unsqueeze', x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Removes `dim` if its size is 1 (else returns a copy of x), or every size-1 dim when `dim` is omitted. */
export function squeeze(x: Tensor, dim?: number): Tensor {
  assertTensor('squeeze', 'x', x);
  if (dim === undefined) return viewAs('squeeze', x, x.shape.filter((s) => s !== 1));
  const d = dimArg('squeeze', 'dim', dim, x, Math.max(x.ndim, 1));
  return viewAs('squeeze', x, x.shape.filter((s, i) => i !== d || s !== 1));
}

/** Merges dims startDim..endDim (inclusive) into one; a 0-D x becomes 1-D. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  assertTensor('flatten', 'x', x);
  if (x.ndim === 0) {
    dimArg('flatten', 'startDim', startDim, x, 1);
    dimArg('flatten', 'endDim', endDim, x, 1);
    return viewAs('flatten', x, [1]);
  }
  const s = dimArg('flatten', 'startDim', startDim, x);
  const e = dimArg('flatten', 'endDim', endDim, x);
  if (s > e) throw new IndexError(`flatten: startDim=${startDim} (dim ${s}) comes after endDim=${endDim} (dim ${e}) in ${formatShape(x.shape)}`);
  return viewAs('flatten', x, [...x.shape.slice(0, s), product(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/**
 * x repeated along dims of size 1 (and new leading dims) to `sizes`; -1 keeps a dim. The data is
 * copied (tensors are contiguous); the backward sums the gradient over the expanded dims.
 */
export function expand(x: Tensor, sizes: readonly number[]): Tensor {
  assertTensor('expand', 'x', x);
  assertSizes('expand', 'sizes', sizes, true);
  const lead = sizes.length - x.ndim;
  if (lead < 0) {
    throw new ShapeError(`expand: sizes ${formatShape(sizes)} has ${sizes.length} dims, expected at least ${x.ndim} (the dims of x ${formatShape(x.shape)})`);
  }
  const xStrides = contiguousStrides(x.shape);
  const shape: number[] = [];
  const strides: number[] = [];
  const summed: number[] = [];
  sizes.forEach((s, i) => {
    if (i < lead) {
      if (s === -1) throw new ShapeError(`expand: sizes[${i}] is -1, but dim ${i} is new (not in x ${formatShape(x.shape)}): give its size`);
      shape.push(s);
      strides.push(0);
      summed.push(i);
      return;
    }
    const have = x.shape[i - lead];
    const want = s === -1 ? have : s;
    if (want !== have && have !== 1) {
      throw new ShapeError(`expand: sizes[${i}] is ${s}, but x ${formatShape(x.shape)} has ${have} there (only a dim of size 1 can grow)`);
    }
    shape.push(want);
    strides.push(want !== have ? 0 : xStrides[i - lead]);
    if (want !== have) summed.push(i);
  });
  const out = gather(x, shape, strides);
  if (!needsGrad(x)) return out;
  return record(out, 'expand', [x], (g) => [sumOver(g, shape, summed, x.shape)]);
}

/** x tiled `sizes[i]` times along each dim (PyTorch `repeat`); extra leading sizes add dims. */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  assertTensor('repeat', 'x', x);
  assertSizes('repeat', 'sizes', sizes, false);
  const lead = sizes.length - x.ndim;
  if (lead < 0) {
    throw new ShapeError(`repeat: sizes ${formatShape(sizes)} has ${sizes.length} dims, expected at least ${x.ndim} (the dims of x ${formatShape(x.shape)})`);
  }
  const padded = [...new Array<number>(lead).fill(1), ...x.shape];
  const strides = contiguousStrides(padded);
  // out seen as (r0, s0, r1, s1, ...): the repeat index r_i reads stride 0.
  const view = sizes.flatMap((r, i) => [r, padded[i]]);
  const viewStrides = sizes.flatMap((_, i) => [0, strides[i]]);
  const out = new Tensor(sizes.map((r, i) => r * padded[i]), x.dtype);
  copyView(out, 0, contiguousStrides(view), x, 0, viewStrides, view);
  if (!needsGrad(x)) return out;
  return record(out, 'repeat', [x], (g) => [sumOver(g, view, sizes.map((_, i) => 2 * i), x.shape)]);
}

/** The slice at `index` (negative counts from the end) of dim `dim`, which is removed. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  assertTensor('select', 'x', x);
  const d = dimArg('select', 'dim', dim, x);
  const size = x.shape[d];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -size || index >= size) {
    throw new IndexError(`select: index=${String(index)} is out of range for dim ${d} of size ${size} in ${formatShape(x.shape)} (expected ${-size}..${size - 1})`);
  }
  const i = index < 0 ? index + size : index;
  const strides = contiguousStrides(x.shape);
  return stridedWindow('select', x, x.shape.filter((_, j) => j !== d), strides.filter((_, j) => j !== d), i * strides[d]);
}

/**
 * x read through (`shape`, `strides`) from element `offset`, recorded as `op`: the gradient is
 * written back through the same window into zeros. Every view-like op (select, narrow, slice,
 * Python indexing) is one of these windows.
 */
export function stridedWindow(op: string, x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  const out = gather(x, shape, strides, offset);
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (g) => [scatter(x.shape, g, strides, offset)]);
}

/** `length` elements of dim `dim` from `start` (negative counts from the end), as PyTorch's `narrow`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  assertTensor('narrow', 'x', x);
  const d = dimArg('narrow', 'dim', dim, x);
  const size = x.shape[d];
  if (typeof start !== 'number' || !Number.isInteger(start) || start < -size || start > size) {
    throw new IndexError(`narrow: start=${String(start)} is out of range for dim ${d} of size ${size} in ${formatShape(x.shape)} (expected ${-size}..${size})`);
  }
  const from = start < 0 ? start + size : start;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || from + length > size) {
    throw new IndexError(`narrow: length=${String(length)} from start ${from} runs past dim ${d} of size ${size} in ${formatShape(x.shape)} (expected 0..${size - from})`);
  }
  const strides = contiguousStrides(x.shape);
  return stridedWindow('narrow', x, x.shape.map((s, i) => (i === d ? length : s)), strides, from * strides[d]);
}

/** Joins tensors along `dim` (negative counts from the end); all other dims must agree (PyTorch `cat`). */
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
  const strides = contiguousStrides(outShape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at * strides[d]);
    copyView(out, at * strides[d], strides, t, 0, contiguousStrides(t.shape), t.shape);
    at += t.shape[d];
  }
  if (!needsGrad(...tensors)) return out;
  return record(out, 'concat', tensors.slice(), (g) =>
    tensors.map((t, i) => (t.requiresGrad ? gather(g, t.shape, strides, offsets[i]) : null)),
  );
}

/** Joins same-shape tensors along a new dim `dim` (in [-ndim-1, ndim]), as PyTorch's `stack`. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) throw new ShapeError('stack: expected a non-empty array of tensors');
  tensors.forEach((t, i) => assertTensor('stack', `tensors[${i}]`, t));
  const first = tensors[0];
  const d = dimArg('stack', 'dim', dim, first, first.ndim + 1);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype || t.ndim !== first.ndim || t.shape.some((s, j) => s !== first.shape[j])) {
      throw new ShapeError(`stack: tensors[${i}] is ${formatShape(t.shape)} ${t.dtype}, expected ${formatShape(first.shape)} ${first.dtype} (the shape of tensors[0])`);
    }
  });
  const outShape = [...first.shape.slice(0, d), tensors.length, ...first.shape.slice(d)];
  const out = new Tensor(outShape, first.dtype);
  const strides = contiguousStrides(outShape);
  const kept = strides.filter((_, j) => j !== d);
  const inner = contiguousStrides(first.shape);
  tensors.forEach((t, i) => copyView(out, i * strides[d], kept, t, 0, inner, t.shape));
  if (!needsGrad(...tensors)) return out;
  return record(out, 'stack', tensors.slice(), (g) =>
    tensors.map((t, i) => (t.requiresGrad ? gather(g, t.shape, kept, i * strides[d]) : null)),
  );
}

/** Swaps dims 0 and 1 of a tensor with at least 2 dims, e.g. (B, T, F) <-> (T, B, F). */
export function swapLeadingDims(x: Tensor): Tensor {
  assertTensor('swapLeadingDims', 'x', x);
  if (x.ndim < 2) throw new ShapeError(`swapLeadingDims: needs at least 2 dims, got ${formatShape(x.shape)}`);
  return permuteChecked('swapLeadingDims', x, x.shape.map((_, i) => (i < 2 ? 1 - i : i)));
}
