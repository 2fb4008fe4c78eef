/** Gradient clipping (PyTorch `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ValueError } from '../errors';
import { assertTensor } from '../ops/util';

/**
 * Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before
 * clipping. As PyTorch: coef = maxNorm / (norm + 1e-6), clamped to 1, rounded to float32.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ValueError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const k = backend().k;
  const list = Array.from(params);
  list.forEach((p, i) => assertTensor('clipGradNorm', `params[${i}]`, p));
  const grads = list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  // PyTorch: the norm of the per-tensor float32 norms.
  let sq = 0;
  for (const g of grads) {
    const n = Math.fround(Math.sqrt(k.lw_sum_sq(g.ptr, g.size)));
    sq += n * n;
  }
  const total = Math.fround(Math.sqrt(sq));
  const coef = Math.min(Math.fround(maxNorm / Math.fround(total + 1e-6)), 1);
  if (coef < 1) for (const g of grads) k.lw_scale(g.ptr, g.ptr, coef, g.size);
  return total;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new ValueError(`clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  const list = Array.from(params);
  list.forEach((p, i) => assertTensor('clipGradValue', `params[${i}]`, p));
  for (const p of list) {
    if (p.grad === null) continue;
    const v = p.grad.f32();
    for (let i = 0; i < v.length; i++) v[i] = Math.min(clipValue, Math.max(-clipValue, v[i]));
  }
}
