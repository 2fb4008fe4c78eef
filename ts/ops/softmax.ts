/**
 * softmax and logSoftmax along any dim (numerically stable kernels in the crate, which run over
 * the last dim: another dim is moved there and back with the blocked transpose, both ways).
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { ValueError } from '../errors';
import { assertFloat, normalizeDim, splitAt } from './util';

/** `x` (outer, a, b) as (outer, b, a) in a new tensor of `shape`. */
function swapped(x: Tensor, outer: number, a: number, b: number, shape: readonly number[]): Tensor {
  const out = new Tensor(shape);
  backend().k.lw_transpose(out.ptr, x.ptr, outer, a, b, 1);
  return out;
}

function softmaxOp(name: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  assertFloat(name, 'x', x);
  if (x.ndim === 0) throw new ValueError(`${name}: x must have at least 1 dim`);
  const d = normalizeDim(name, dim, x.ndim);
  const [outer, n, inner] = splitAt(x.shape, d);
  const rows = x.size / Math.max(n, 1);
  const k = backend().k;
  // Along the last dim the kernel reads x in place; along another, a copy of x with that dim last.
  const last = inner === 1;
  const lastShape = [outer, inner, n];
  const xl = last ? x : swapped(x, outer, n, inner, lastShape);
  const yl = new Tensor(last ? x.shape : lastShape);
  if (name === 'softmax') k.lw_softmax_forward(yl.ptr, xl.ptr, rows, n);
  else k.lw_log_softmax_forward(yl.ptr, xl.ptr, rows, n);
  if (!last) xl.dispose();
  const y = last ? yl : swapped(yl, outer, inner, n, x.shape);
  if (!last) yl.dispose();
  if (!needsGrad(x)) return y;
  return record(y, name, [x], (g) => {
    const gl = last ? g : swapped(g, outer, n, inner, lastShape);
    const ylast = last ? y : swapped(y, outer, n, inner, lastShape);
    const gxl = new Tensor(gl.shape); // zeroed: the backward kernels accumulate
    if (name === 'softmax') k.lw_softmax_backward(gxl.ptr, gl.ptr, ylast.ptr, rows, n);
    else k.lw_log_softmax_backward(gxl.ptr, gl.ptr, ylast.ptr, rows, n);
    if (last) return [gxl];
    const gx = swapped(gxl, outer, inner, n, x.shape);
    [gl, ylast, gxl].forEach((t) => t.dispose());
    return [gx];
  });
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('softmax', x, dim);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('logSoftmax', x, dim);
}
