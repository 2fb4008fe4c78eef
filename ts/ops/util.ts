/**
 * Argument checks shared by the ops: each error names the op, the argument and both values.
 * Every op runs them on all its tensor inputs before it allocates anything: an output allocated
 * before a failed check would leak when the call is outside `tidy`.
 */
import { Tensor } from '../tensor';
import { ShapeError, IndexError, formatShape } from '../errors';
// The checks of a tensor argument live below ops and autograd alike (checks.ts); ops import them from here.
export { assertTensor, assertFloat, assertInt } from '../checks';

export function assertSameShape(op: string, a: Tensor, b: Tensor, aName = 'a', bName = 'b'): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: ${bName} has shape ${formatShape(b.shape)}, expected ${formatShape(a.shape)} (the shape of ${aName})`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalizes a possibly negative dim into [0, ndim). */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  if (!Number.isInteger(dim) || dim < -ndim || dim >= ndim) {
    throw new IndexError(`${op}: dim ${dim} is out of range for a ${ndim}-D tensor (expected ${-ndim}..${ndim - 1})`);
  }
  return dim < 0 ? dim + ndim : dim;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Sizes before, at and after `dim`: a tensor seen as (outer, shape[dim], inner). */
export function splitAt(shape: readonly number[], dim: number): [number, number, number] {
  return [product(shape.slice(0, dim)), shape[dim], product(shape.slice(dim + 1))];
}
