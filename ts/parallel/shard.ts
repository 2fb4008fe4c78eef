/**
 * The arithmetic of a data-parallel step, the same in every replica (the trainer's thread is
 * replica 0). With B lanes split into shards, replica r computes the gradient of
 *
 *   loss_r = sum of cross-entropy over its T*Bs targets / (T*B)
 *
 * so that the losses and gradients of all shards add up to the batch's mean loss and its
 * gradient. Shards' gradients are summed in replica order, and every replica clips and steps its
 * own optimizer on that same sum (as PyTorch's DistributedDataParallel does): parameters and
 * optimizer states stay identical without ever being sent.
 */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { tensor } from '../creation';
import { crossEntropy } from '../ops/index';
import { clipGradNorm } from '../nn/utils';
import { ValueError } from '../errors';
import type { Adam } from '../optim/adam';
import type { LanguageModel, RecurrentState } from '../lm/language-model';

/**
 * Fills the parameters' gradients with this shard's (x, y are (T, Bs) time-major) and returns its
 * share of the batch loss and its final state (detached; the caller owns it).
 */
export function shardGradients(
  model: LanguageModel, optimizer: Adam, x: Int32Array, y: Int32Array, T: number, Bs: number, batchTargets: number, state: RecurrentState | null,
): { loss: number; state: RecurrentState } {
  const V = model.config.vocabSize;
  return tidy(() => {
    const out = model.forward(tensor(x, [T, Bs]), state);
    const l = crossEntropy(out.logits.reshape(T * Bs, V), tensor(y, [T * Bs]), { reduction: 'sum' }).mul(1 / batchTargets);
    optimizer.zeroGrad();
    l.backward();
    return { loss: l.item(), state: out.state.map((s) => s.detach()) };
  });
}

/** Clips the (summed) gradients and takes the optimizer step: identical inputs give identical results in every replica. */
export function applyGradients(optimizer: Adam, clip: number): void {
  if (clip > 0) clipGradNorm(optimizer.params, clip);
  optimizer.step();
}

/** Total number of values of `params` (the length of a flat gradient). */
export function flatSize(params: readonly Tensor[]): number {
  return params.reduce((a, p) => a + p.size, 0);
}

/** The gradients of `params`, one after another, into `out`. */
export function readGradients(params: readonly Tensor[], out: Float32Array): void {
  let at = 0;
  for (const p of params) {
    out.set(gradOf(p).f32(), at);
    at += p.size;
  }
}

/** Sets the gradients of `params` to `flat`'s values. */
export function writeGradients(params: readonly Tensor[], flat: Float32Array): void {
  let at = 0;
  for (const p of params) {
    gradOf(p).f32().set(flat.subarray(at, at + p.size));
    at += p.size;
  }
}

/** Adds `flat` into the gradients of `params` (float32 sums, in element order). */
export function addGradients(params: readonly Tensor[], flat: Float32Array): void {
  let at = 0;
  for (const p of params) {
    const g = gradOf(p).f32();
    for (let i = 0; i < g.length; i++) g[i] += flat[at + i];
    at += p.size;
  }
}

function gradOf(p: Tensor): Tensor {
  const g = p.grad;
  if (g === null) throw new ValueError('data-parallel step: a parameter has no gradient after backward (is every parameter used?)');
  return g;
}
