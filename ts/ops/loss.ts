/**
 * Losses, PyTorch semantics (1.13): cross-entropy (a fused softmax kernel for the plain (N, C) case
 * on the training hot path; other shapes and options compose differentiable ops), negative
 * log-likelihood, binary cross-entropy with logits (the numerically stable form), mean squared
 * error.
 *
 * Dimension names: N batch, C classes, d1.. extra dims (PyTorch's K-dimensional loss), M the
 * number of targets (N * d1 * ...; 1 unbatched).
 *
 * One deviation from PyTorch: a 'mean' over targets that are all ignored (or all of weight 0) is
 * 0 with a zero gradient here, NaN in PyTorch.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ShapeError, ValueError, formatShape } from '../errors';
import { assertFloat, assertInt, assertSameShape, assertTensor, sameShape } from './util';
import { add, sub, mul, div } from './arithmetic';
import { mean, sum } from './reduce';
import { gather } from './selection';
import { permute, reshape } from './shape';
import { logSoftmax } from './softmax';
import { clamp, exp, log, neg } from './pointwise';
import { broadcastShapes } from './broadcast';
import { checkOptions, optionKeys } from '../options';

/** PyTorch's `reduction`: the mean over counted elements, their sum, or the per-element losses. */
export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, no gradient) and not counted in the mean. */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** In [0, 1]: the target becomes (1 - s) one-hot + s / C uniform (PyTorch `label_smoothing`). */
  labelSmoothing?: number;
  /** (C) float32 rescaling of each class (PyTorch `weight`); the mean divides by the targets' weights. Not differentiated. */
  weight?: Tensor | null;
}
export const CROSS_ENTROPY_KEYS = optionKeys<CrossEntropyOptions>({ ignoreIndex: true, reduction: true, labelSmoothing: true, weight: true });

export interface NLLLossOptions {
  ignoreIndex?: number;
  reduction?: Reduction;
  /** (C) float32 rescaling of each class; the mean divides by the targets' weights. Not differentiated. */
  weight?: Tensor | null;
}
export const NLL_KEYS = optionKeys<NLLLossOptions>({ ignoreIndex: true, reduction: true, weight: true });

export interface BCEWithLogitsOptions {
  reduction?: Reduction;
  /** Broadcastable to input: rescales each element's loss. */
  weight?: Tensor | null;
  /** Broadcastable to input (usually (C), the last dim): the weight of positive targets. */
  posWeight?: Tensor | null;
}
export const BCE_KEYS = optionKeys<BCEWithLogitsOptions>({ reduction: true, weight: true, posWeight: true });

export interface MSELossOptions {
  reduction?: 'mean' | 'sum';
}
export const MSE_KEYS = optionKeys<MSELossOptions>({ reduction: true });

function checkReduction(op: string, reduction: unknown): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }
  return reduction;
}

/**
 * Runs `build`, which composes differentiable ops. Every tensor it hands to `made` is an
 * intermediate of the result: owned by the result when a gradient flows (the graph's backward
 * reads them), freed at once otherwise.
 */
function composed(build: (made: (t: Tensor) => Tensor) => Tensor): Tensor {
  const parts: Tensor[] = [];
  const out = build((t) => {
    parts.push(t);
    return t;
  });
  for (const t of parts) {
    if (t === out) continue;
    if (out.requiresGrad) out.ownTensor(t);
    else t.dispose();
  }
  return out;
}

/** `targets[1]`, `targets[0, 2, 1]`, or `targets` for a 0-d tensor: the position of flat index i. */
function position(name: string, shape: readonly number[], i: number): string {
  if (shape.length === 0) return name;
  const at: number[] = [];
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return `${name}[${at.join(', ')}]`;
}

interface ClassArgs {
  op: string;
  inName: string;
  tName: string;
  input: Tensor;
  target: Tensor;
  classes: number;
  ignoreIndex: number;
  reduction: Reduction;
  weight: Tensor | null;
  /** How many targets are not ignored. */
  counted: number;
}

/** Checks shared by crossEntropy and nllLoss: dtypes, liveness, options, shapes, target range. */
function checkClassArgs(op: string, inName: string, tName: string, input: Tensor, target: Tensor, options: CrossEntropyOptions, keys: readonly string[]): ClassArgs {
  assertFloat(op, inName, input);
  assertInt(op, tName, target);
  checkOptions(op, options, keys);
  const weight = options?.weight ?? null;
  if (weight !== null) assertFloat(op, 'weight', weight);
  const ignoreIndex = options?.ignoreIndex ?? -100;
  const reduction = checkReduction(op, options?.reduction ?? 'mean');
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`${op}: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  if (input.ndim === 0) throw new ShapeError(`${op}: ${inName} must be (C), (N, C) or (N, C, d1, ...), got a 0-d tensor`);
  const classes = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const want = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(target.shape, want)) {
    throw new ShapeError(`${op}: ${tName} has shape ${formatShape(target.shape)}, expected ${formatShape(want)} (${inName} ${formatShape(input.shape)} without its class dim)`);
  }
  if (weight !== null && (weight.ndim !== 1 || weight.shape[0] !== classes)) {
    throw new ShapeError(`${op}: weight has shape ${formatShape(weight.shape)}, expected [${classes}] (one weight per class)`);
  }
  const t = target.heapView();
  let counted = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === ignoreIndex) continue;
    if (c < 0 || c >= classes) {
      throw new IndexError(`${op}: ${position(tName, target.shape, i)} = ${c} is out of range for ${classes} classes`);
    }
    counted++;
  }
  return { op, inName, tName, input, target, classes, ignoreIndex, reduction, weight, counted };
}

/**
 * The general class loss, composed: rows = -(1 - s) w[t] lp[t] - (s / C) sum_c w[c] lp[c] per
 * counted target (0 for ignored ones), lp the (M, C) log-probabilities; then PyTorch's reduction
 * ('mean' divides by the sum of the counted targets' weights, for both terms, as PyTorch 1.13).
 */
function classLoss(a: ClassArgs, applyLogSoftmax: boolean, smoothing: number): Tensor {
  const { input, target, classes, ignoreIndex, weight } = a;
  const rows = target.size;
  // The target pass: a safe gather index (ignored -> 0), each row's coefficient -(1 - s) w[t]
  // (0 when ignored), and total, the counted targets' summed weight (the 'mean' divisor).
  const index = new Tensor([rows, 1], 'int32');
  const rowWeight = new Tensor([rows, 1]);
  // Views after the allocations (growing memory detaches older views).
  const t = target.heapView();
  const w = weight === null ? null : weight.f32();
  const iv = index.heapView();
  const rw = rowWeight.f32();
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const ignored = t[i] === ignoreIndex;
    iv[i] = ignored ? 0 : t[i];
    const wi = ignored ? 0 : w === null ? 1 : w[t[i]];
    rw[i] = -(1 - smoothing) * wi;
    total += Math.fround(wi);
  }
  return composed((made) => {
    made(index);
    made(rowWeight);
    // x2 is (M, C): the class dim moved last, then every other dim flattened.
    let x2 = input;
    if (input.ndim === 1) x2 = made(reshape(input, [1, classes]));
    else if (input.ndim > 2) {
      const dims = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2), 1];
      x2 = made(reshape(made(permute(input, dims)), [rows, classes]));
    }
    const lp = applyLogSoftmax ? made(logSoftmax(x2, 1)) : x2;
    let perRow = made(mul(made(gather(lp, 1, index)), rowWeight)); // (M, 1)
    if (smoothing > 0) {
      const classWeight = made(new Tensor([1, classes])); // -(s / C) w[c]
      const counted = made(new Tensor([rows, 1])); // 1 for counted targets, 0 for ignored ones
      const [cw, wv, cv, tv] = [classWeight.f32(), weight === null ? null : weight.f32(), counted.f32(), target.heapView()];
      for (let c = 0; c < classes; c++) cw[c] = (-smoothing / classes) * (wv === null ? 1 : wv[c]);
      for (let i = 0; i < rows; i++) cv[i] = tv[i] === ignoreIndex ? 0 : 1;
      const smooth = made(mul(made(sum(made(mul(lp, classWeight)), 1, true)), counted));
      perRow = made(add(perRow, smooth));
    }
    if (a.reduction === 'none') return reshape(perRow, target.shape);
    const s = made(sum(perRow));
    if (a.reduction === 'sum') return s;
    return total === 0 ? mul(s, 0) : div(s, Math.fround(total));
  });
}

/**
 * Cross-entropy of logits against int32 class targets (PyTorch `F.cross_entropy` with class
 * indices): logits (N, C) with targets (N), (C) with a 0-d target, or (N, C, d1, ...) with
 * (N, d1, ...). The plain (N, C) 'mean'/'sum' case without weight or smoothing runs one fused
 * kernel; the rest composes logSoftmax, gather, mul and sum.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const a = checkClassArgs('crossEntropy', 'logits', 'targets', logits, targets, options, CROSS_ENTROPY_KEYS);
  const smoothing = options?.labelSmoothing ?? 0;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) {
    throw new ValueError(`crossEntropy: labelSmoothing must be a number in [0, 1], got ${String(smoothing)}`);
  }
  if (logits.ndim !== 2 || a.reduction === 'none' || a.weight !== null || smoothing > 0) return classLoss(a, true, smoothing);
  const [rows, classes] = logits.shape;
  const { ignoreIndex, reduction, counted } = a;
  const k = backend().k;
  const meanLoss = k.lw_cross_entropy_forward(logits.ptr, targets.ptr, rows, classes, ignoreIndex);
  const scale = reduction === 'sum' ? counted : 1;
  const out = new Tensor([]);
  out.f32()[0] = meanLoss * scale;
  if (!needsGrad(logits)) return out;
  return record(out, 'crossEntropy', [logits, targets], (g) => {
    const gl = new Tensor(logits.shape); // zeroed: the backward kernel accumulates
    k.lw_cross_entropy_backward(gl.ptr, logits.ptr, targets.ptr, rows, classes, ignoreIndex, g.item() * scale);
    return [gl, null];
  });
}

/**
 * Negative log-likelihood of log-probabilities against int32 class targets (PyTorch
 * `F.nll_loss`): the same shapes and options as crossEntropy, without label smoothing.
 */
export function nllLoss(logProbs: Tensor, targets: Tensor, options: NLLLossOptions = {}): Tensor {
  return classLoss(checkClassArgs('nllLoss', 'logProbs', 'targets', logProbs, targets, options, NLL_KEYS), false, 0);
}

/** Checks that an optional weight broadcasts to `shape` without growing it. */
function checkBroadcastWeight(op: string, name: string, w: Tensor | null, input: Tensor): void {
  if (w === null) return;
  assertFloat(op, name, w);
  const shape = broadcastShapes(op, ['input', name], [input.shape, w.shape]);
  if (!sameShape(shape, input.shape)) {
    throw new ShapeError(`${op}: ${name} has shape ${formatShape(w.shape)}, expected a shape that broadcasts to input ${formatShape(input.shape)}`);
  }
}

/**
 * Binary cross-entropy of logits x against probabilities t of the same shape (PyTorch
 * `F.binary_cross_entropy_with_logits`), in PyTorch's stable form with m = max(-x, 0):
 * loss = (1 - t) x + (1 + (posWeight - 1) t) (log(e^-m + e^(-x-m)) + m), times weight.
 * Differentiable in input and target.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  assertFloat(op, 'input', input);
  assertFloat(op, 'target', target);
  checkOptions(op, options, BCE_KEYS);
  const weight = options?.weight ?? null;
  const posWeight = options?.posWeight ?? null;
  if (weight !== null) assertTensor(op, 'weight', weight);
  if (posWeight !== null) assertTensor(op, 'posWeight', posWeight);
  const reduction = checkReduction(op, options?.reduction ?? 'mean');
  assertSameShape(op, input, target, 'input', 'target');
  checkBroadcastWeight(op, 'weight', weight, input);
  checkBroadcastWeight(op, 'posWeight', posWeight, input);
  return composed((made) => {
    const m = made(clamp(made(neg(input)), 0));
    const softplus = made(add(made(log(made(add(made(exp(made(neg(m)))), made(exp(made(sub(made(neg(input)), m)))))))), m));
    let loss = made(mul(made(add(made(neg(target)), 1)), input));
    if (posWeight === null) loss = made(add(loss, softplus));
    else {
      const logWeight = made(add(made(mul(made(sub(posWeight, 1)), target)), 1));
      loss = made(add(loss, made(mul(logWeight, softplus))));
    }
    if (weight !== null) loss = made(mul(loss, weight));
    if (reduction === 'none') return loss;
    return reduction === 'sum' ? sum(loss) : mean(loss);
  });
}

/** Mean (or sum) of squared differences, PyTorch `F.mse_loss`. */
export function mseLoss(input: Tensor, target: Tensor, options: MSELossOptions = {}): Tensor {
  assertFloat('mseLoss', 'input', input);
  assertFloat('mseLoss', 'target', target);
  checkOptions('mseLoss', options, MSE_KEYS);
  const reduction = options?.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new ValueError(`mseLoss: reduction must be 'mean' or 'sum', got '${String(reduction)}'`);
  assertSameShape('mseLoss', input, target, 'input', 'target');
  const diff = sub(input, target);
  const sq = mul(diff, diff);
  const out = reduction === 'sum' ? sum(sq) : mean(sq);
  // diff and sq stay alive (owned by out) for backward; released with it.
  out.ownTensor(diff);
  out.ownTensor(sq);
  return out;
}
