/** sum and mean, over everything or along one dim (keepdim as in PyTorch). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { assertFloat, normalizeDim, splitAt } from './util';
import { sgemm } from './matmul';
import { scaled } from './arithmetic';

/** A (len) vector of ones, used to turn axis sums and their backward into GEMMs. */
function onesVector(len: number): Tensor {
  const t = new Tensor([len]);
  backend().k.lw_fill(t.ptr, 1, len);
  return t;
}

/**
 * Sums x seen as (outer, d, inner) over d into (outer, inner), as GEMMs with a ones vector:
 * per outer entry, ones(1,d) @ X(d,inner); with inner = 1 the whole thing is X(outer,d) @ ones(d,1).
 */
function sumAxis(x: Tensor, outer: number, d: number, inner: number, out: Tensor, scale: number): void {
  const ones = onesVector(d);
  if (inner === 1) {
    sgemm(false, false, outer, 1, d, scale, x, 0, ones, 0, 0, out, 0);
  } else {
    for (let o = 0; o < outer; o++) sgemm(false, false, 1, inner, d, scale, ones, 0, x, o * d * inner, 0, out, o * inner);
  }
  ones.dispose();
}

/** The backward of sumAxis: spreads g (outer, inner) over d, times scale. */
function spreadAxis(g: Tensor, outer: number, d: number, inner: number, shape: readonly number[], scale: number): Tensor {
  const out = new Tensor(shape);
  const ones = onesVector(d);
  if (inner === 1) {
    sgemm(false, false, outer, d, 1, scale, g, 0, ones, 0, 0, out, 0);
  } else {
    for (let o = 0; o < outer; o++) sgemm(false, false, d, inner, 1, scale, ones, 0, g, o * inner, 0, out, o * d * inner);
  }
  ones.dispose();
  return out;
}

function reduceOp(name: 'sum' | 'mean', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  assertFloat(name, 'x', x);
  if (dim === undefined) {
    const total = backend().k.lw_sum(x.ptr, x.size);
    const scale = name === 'mean' ? 1 / x.size : 1;
    const out = new Tensor(keepdim ? x.shape.map(() => 1) : []);
    out.f32()[0] = total * scale;
    if (!needsGrad(x)) return out;
    return record(out, name, [x], (g) => {
      const gx = new Tensor(x.shape);
      backend().k.lw_fill(gx.ptr, g.item() * scale, x.size);
      return [gx];
    });
  }
  const d0 = normalizeDim(name, dim, x.ndim);
  const [outer, d, inner] = splitAt(x.shape, d0);
  const scale = name === 'mean' ? 1 / d : 1;
  const outShape = keepdim ? x.shape.map((s, i) => (i === d0 ? 1 : s)) : x.shape.filter((_, i) => i !== d0);
  const out = new Tensor(outShape);
  sumAxis(x, outer, d, inner, out, scale);
  if (!needsGrad(x)) return out;
  return record(out, name, [x], (g) => [spreadAxis(g, outer, d, inner, x.shape, scale)]);
}

export function sum(x: Tensor, dim?: number, keepdim = false): Tensor {
  return reduceOp('sum', x, dim, keepdim);
}

export function mean(x: Tensor, dim?: number, keepdim = false): Tensor {
  return reduceOp('mean', x, dim, keepdim);
}

