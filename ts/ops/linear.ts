/** linear: y = x W^T + b over the last dim of x (PyTorch `F.linear`), one GEMM each way. */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { ShapeError, formatShape } from '../errors';
import { assertFloat } from './util';
import { sgemm } from './matmul';

/** x (..., in), weight (out, in), bias (out) or null → (..., out). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  assertFloat('linear', 'x', x);
  assertFloat('linear', 'weight', weight);
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be (outFeatures, inFeatures), got ${formatShape(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(`linear: input has ${x.shape[x.ndim - 1] ?? 0} features ${formatShape(x.shape)}, expected inFeatures=${inF}`);
  }
  if (bias !== null) {
    assertFloat('linear', 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== outF) throw new ShapeError(`linear: bias has shape ${formatShape(bias.shape)}, expected [${outF}]`);
  }
  const rows = x.size / inF;
  const out = new Tensor([...x.shape.slice(0, -1), outF]);
  const k = backend().k;
  sgemm(false, true, rows, outF, inF, 1, x, 0, weight, 0, 0, out, 0);
  if (bias !== null) k.lw_add_bcast(out.ptr, out.ptr, bias.ptr, rows, outF);
  const inputs = bias !== null ? [x, weight, bias] : [x, weight];
  if (!needsGrad(...inputs)) return out;
  return record(out, 'linear', inputs, (g) => {
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (x.requiresGrad) {
      gx = new Tensor(x.shape); // dX (rows,in) = dY (rows,out) @ W (out,in)
      sgemm(false, false, rows, inF, outF, 1, g, 0, weight, 0, 0, gx, 0);
    }
    if (weight.requiresGrad) {
      gw = new Tensor(weight.shape); // dW (out,in) = dY^T @ X
      sgemm(true, false, outF, inF, rows, 1, g, 0, x, 0, 0, gw, 0);
    }
    if (bias !== null && bias.requiresGrad) {
      gb = new Tensor(bias.shape);
      k.lw_sum_rows(gb.ptr, g.ptr, rows, outF, 0);
    }
    return [gx, gw, gb];
  });
}
