/**
 * layerNorm (PyTorch `F.layer_norm`): normalizes over the trailing `normalizedShape` dims, seen as
 * (rows, n) rows, with one fused kernel each way (crate/ops/norm.rs). Biased variance;
 * `rstd = 1/sqrt(var + eps)`; the per-row mean and rstd are saved for backward.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, recordMulti } from '../autograd';
import { ShapeError, ValueError, formatShape } from '../errors';
import { assertFloat, product, sameShape } from './util';

/** `normalizedShape` as a list of non-negative integers (one number is one dim, as in PyTorch). */
export function checkNormalizedShape(op: string, normalizedShape: number | readonly number[]): number[] {
  const dims = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ValueError(`${op}: normalizedShape must be a non-negative integer or a non-empty list of them, got ${JSON.stringify(normalizedShape)}`);
  }
  return dims.slice();
}

/**
 * x (..., *normalizedShape) -> the same shape, each trailing block normalized to mean 0 and
 * variance 1, then scaled by weight and shifted by bias (both of shape normalizedShape, or null).
 */
export function layerNorm(
  x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  assertFloat('layerNorm', 'x', x);
  const dims = checkNormalizedShape('layerNorm', normalizedShape);
  if (x.ndim < dims.length || !sameShape(x.shape.slice(x.ndim - dims.length), dims)) {
    throw new ShapeError(`layerNorm: x has shape ${formatShape(x.shape)}, expected its trailing dims to be normalizedShape ${formatShape(dims)}`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null || t === undefined) continue;
    assertFloat('layerNorm', name, t);
    if (!sameShape(t.shape, dims)) {
      throw new ShapeError(`layerNorm: ${name} has shape ${formatShape(t.shape)}, expected normalizedShape ${formatShape(dims)}`);
    }
  }
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new ValueError(`layerNorm: eps must be a finite number >= 0, got ${String(eps)}`);
  }
  const w = weight ?? null, b = bias ?? null;
  const n = product(dims);
  const rows = product(x.shape.slice(0, x.ndim - dims.length));
  const k = backend().k;
  const out = new Tensor(x.shape);
  const inputs = [x, ...(w !== null ? [w] : []), ...(b !== null ? [b] : [])];
  if (!needsGrad(...inputs)) {
    k.lw_layer_norm_forward(out.ptr, 0, 0, x.ptr, w?.ptr ?? 0, b?.ptr ?? 0, rows, n, eps);
    return out;
  }
  const mean = new Tensor([rows]); // (rows): what backward reads besides x and weight
  const rstd = new Tensor([rows]);
  k.lw_layer_norm_forward(out.ptr, mean.ptr, rstd.ptr, x.ptr, w?.ptr ?? 0, b?.ptr ?? 0, rows, n, eps);
  recordMulti([out], 'layerNorm', inputs, ([g]) => {
    if (g === null) return inputs.map(() => null);
    // Zeroed: the backward kernel accumulates; a gradient nobody wants is not computed (pointer 0).
    const gx = x.requiresGrad ? new Tensor(x.shape) : null;
    const gw = w !== null && w.requiresGrad ? new Tensor(w.shape) : null;
    const gb = b !== null && b.requiresGrad ? new Tensor(b.shape) : null;
    k.lw_layer_norm_backward(gx?.ptr ?? 0, gw?.ptr ?? 0, gb?.ptr ?? 0, g.ptr, x.ptr, mean.ptr, rstd.ptr, w?.ptr ?? 0, rows, n);
    return [gx, ...(w !== null ? [gw] : []), ...(b !== null ? [gb] : [])];
  }, [mean, rstd]);
  return out;
}
