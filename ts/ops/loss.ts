/** Losses: fused softmax cross-entropy (PyTorch `F.cross_entropy`), and mean squared error. */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ShapeError, ValueError, formatShape } from '../errors';
import { assertFloat, assertInt, assertSameShape } from './util';
import { sub, mul } from './arithmetic';
import { mean, sum } from './reduce';
import { checkOptions, optionKeys } from '../options';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, no gradient) and not counted in the mean. */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum';
}

const CROSS_ENTROPY_KEYS = optionKeys<CrossEntropyOptions>({ ignoreIndex: true, reduction: true });

export interface MSELossOptions {
  reduction?: 'mean' | 'sum';
}
const MSE_KEYS = optionKeys<MSELossOptions>({ reduction: true });

/**
 * Cross-entropy of logits (N, C) against int32 class targets (N), mean over non-ignored rows
 * (PyTorch semantics; with every row ignored the mean is NaN in PyTorch, here 0 with zero gradient).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  assertFloat('crossEntropy', 'logits', logits);
  assertInt('crossEntropy', 'targets', targets);
  checkOptions('crossEntropy', options, CROSS_ENTROPY_KEYS);
  const ignoreIndex = options?.ignoreIndex ?? -100;
  const reduction = options?.reduction ?? 'mean';
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`crossEntropy: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  if (reduction !== 'mean' && reduction !== 'sum') throw new ValueError(`crossEntropy: reduction must be 'mean' or 'sum', got '${reduction}'`);
  if (logits.ndim !== 2) {
    throw new ShapeError(`crossEntropy: logits must be (N, C), got ${formatShape(logits.shape)}; reshape (T, B, C) to (T*B, C)`);
  }
  const [rows, classes] = logits.shape;
  if (targets.ndim !== 1 || targets.shape[0] !== rows) {
    throw new ShapeError(`crossEntropy: targets has shape ${formatShape(targets.shape)}, expected [${rows}] (one class per row of logits)`);
  }
  const t = targets.heapView();
  let counted = 0;
  for (let i = 0; i < rows; i++) {
    const c = t[i];
    if (c === ignoreIndex) continue;
    if (c < 0 || c >= classes) {
      throw new IndexError(`crossEntropy: targets[${i}] = ${c} is out of range for ${classes} classes`);
    }
    counted++;
  }
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
