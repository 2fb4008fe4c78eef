/** softmax and logSoftmax over the last dim (numerically stable kernels in the crate). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { ValueError } from '../errors';
import { assertFloat, normalizeDim } from './util';

function softmaxOp(name: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  assertFloat(name, 'x', x);
  if (x.ndim === 0) throw new ValueError(`${name}: x must have at least 1 dim`);
  const d = normalizeDim(name, dim, x.ndim);
  if (d !== x.ndim - 1) {
    throw new ValueError(`${name}: only the last dim is supported (dim=${dim} of a ${x.ndim}-D tensor); transpose first`);
  }
  const n = x.shape[d];
  const rows = x.size / Math.max(n, 1);
  const k = backend().k;
  const y = new Tensor(x.shape);
  if (name === 'softmax') k.lw_softmax_forward(y.ptr, x.ptr, rows, n);
  else k.lw_log_softmax_forward(y.ptr, x.ptr, rows, n);
  if (!needsGrad(x)) return y;
  return record(y, name, [x], (g) => {
    const gx = new Tensor(x.shape); // zeroed: the backward kernels accumulate
    if (name === 'softmax') k.lw_softmax_backward(gx.ptr, g.ptr, y.ptr, rows, n);
    else k.lw_log_softmax_backward(gx.ptr, g.ptr, y.ptr, rows, n);
    return [gx];
  });
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('softmax', x, dim);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('logSoftmax', x, dim);
}
