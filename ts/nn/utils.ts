/**
 * PyTorch's `torch.nn.utils`: gradient clipping (`clip_grad_norm_` / `clip_grad_value_`) here, and
 * `rnn` (`nn.utils.rnn.padSequence`, `sequenceLengths`).
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { DTypeError, ValueError } from '../errors';
import { assertTensor } from '../checks';
import { checkOptions, optionKeys } from '../options';
import { Module } from './module';

export * as rnn from './rnn-utils';

/** What the clip functions take: a module (its parameters), a tensor, or any iterable of tensors. */
export type ParamSource = Module | Tensor | Iterable<Tensor>;

export interface ClipGradNormOptions {
  /** The p of the p-norm: 2 (default), any p > 0, or Infinity (the largest absolute value). */
  normType?: number;
  /** Throw a ValueError when the total norm is NaN or infinite, instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}
const CLIP_NORM_KEYS = optionKeys<ClipGradNormOptions>({ normType: true, errorIfNonfinite: true });

/** The tensors of `params`, each checked alive; anything else is a typed error. */
function tensorsOf(op: string, params: ParamSource): Tensor[] {
  if (params instanceof Module) return params.parameters();
  if (params instanceof Tensor) {
    assertTensor(op, 'params', params);
    return [params];
  }
  if (params === null || params === undefined || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
    throw new ValueError(`${op}: params must be a Module, a Tensor or an iterable of tensors, got ${params === null ? 'null' : typeof params}`);
  }
  const list = Array.from(params);
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new DTypeError(`${op}: params[${i}] must be a Tensor, got ${p === null ? 'null' : typeof p}`);
    assertTensor(op, `params[${i}]`, p);
  });
  return list;
}

/**
 * Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping.
 * As PyTorch: the total is the p-norm of the per-tensor p-norms (float32), coef = maxNorm /
 * (norm + 1e-6), clamped to 1, rounded to float32. `clipGradNorm(params, maxNorm, 1)` or
 * `clipGradNorm(params, maxNorm, { normType: 1 })` picks another norm.
 */
export function clipGradNorm(params: ParamSource, maxNorm: number, normTypeOrOptions: number | ClipGradNormOptions = 2): number {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) throw new ValueError(`clipGradNorm: maxNorm must be > 0, got ${String(maxNorm)}`);
  const options: ClipGradNormOptions = typeof normTypeOrOptions === 'number' ? { normType: normTypeOrOptions } : normTypeOrOptions ?? {};
  if (typeof normTypeOrOptions !== 'number') checkOptions('clipGradNorm', normTypeOrOptions, CLIP_NORM_KEYS);
  const p = options.normType ?? 2;
  if (typeof p !== 'number' || !(p > 0)) throw new ValueError(`clipGradNorm: normType must be a number > 0 or Infinity, got ${String(p)}`);
  const k = backend().k;
  const grads = tensorsOf('clipGradNorm', params).map((t) => t.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  const norms = grads.map((g) => {
    if (p === 2) return Math.fround(Math.sqrt(k.lw_sum_sq(g.ptr, g.size)));
    const v = g.f32();
    let acc = 0;
    if (p === Infinity) for (let i = 0; i < v.length; i++) acc = Math.max(acc, Math.abs(v[i]));
    else for (let i = 0; i < v.length; i++) acc += Math.abs(v[i]) ** p;
    return Math.fround(p === Infinity ? acc : acc ** (1 / p));
  });
  let total: number;
  if (p === Infinity) total = Math.max(...norms);
  else if (p === 2) total = Math.fround(Math.sqrt(norms.reduce((a, n) => a + n * n, 0)));
  else total = Math.fround(norms.reduce((a, n) => a + n ** p, 0) ** (1 / p));
  if (options.errorIfNonfinite === true && !Number.isFinite(total)) {
    throw new ValueError(`clipGradNorm: the total norm of order ${p} of the gradients is ${total}`);
  }
  const coef = Math.min(Math.fround(maxNorm / Math.fround(total + 1e-6)), 1);
  if (coef < 1) for (const g of grads) k.lw_scale(g.ptr, g.ptr, coef, g.size);
  return total;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(params: ParamSource, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new ValueError(`clipGradValue: clipValue must be >= 0, got ${String(clipValue)}`);
  for (const p of tensorsOf('clipGradValue', params)) {
    if (p.grad === null) continue;
    const v = p.grad.f32();
    for (let i = 0; i < v.length; i++) v[i] = Math.min(clipValue, Math.max(-clipValue, v[i]));
  }
}
