/**
 * The ops behind Tensor's chained methods (`x.add(y)`, `x.backward()`), bound by ts/ops/index.ts
 * when it loads. Tensor calls them through here so that tensor.ts imports no op and the ops can
 * import Tensor without a cycle (tfjs attaches its chained ops from their own modules for the
 * same reason).
 */
import type * as Ops from './ops/index';
import { LstmWasmError } from './errors';

export type ChainedOps = Pick<typeof Ops,
  'toDType' |
  'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' |
  'pow' | 'clamp' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'maskedFill' | 'max' | 'min' |
  'argmax' | 'argmin' | 'topk' | 'sort' | 'gather' | 'clone' | 'matmul' | 'bmm' | 'sum' | 'mean' | 'reshape' |
  'transpose' | 'slice' | 'mT' | 'permute' | 'unsqueeze' | 'squeeze' | 'flatten' | 'expand' |
  'repeat' | 'select' | 'narrow' | 'at' | 'flip' |
  'tanh' | 'sigmoid' | 'relu' | 'softmax' | 'logSoftmax' | 'backward'>;

let bound: ChainedOps | null = null;

/** Called once, by ts/ops/index.ts. */
export function bindChainedOps(ops: ChainedOps): void {
  bound = ops;
}

export function chained(): ChainedOps {
  if (bound === null) throw new LstmWasmError('lstm-wasm: internal: the ops were not loaded (import the package root)');
  return bound;
}
