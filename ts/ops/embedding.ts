/** Embedding lookup (gather of rows) and its backward (scatter-add), PyTorch `F.embedding`. */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ShapeError, formatShape } from '../errors';
import { assertFloat, assertInt } from './util';

/** Throws an IndexError naming the first id outside [0, count). */
export function checkIds(op: string, ids: Tensor, count: number): void {
  const v = ids.heapView();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= count) {
      throw new IndexError(`${op}: token id ${v[i]} at position ${i} is out of range for ${count} ${op === 'oneHot' ? 'classes' : 'embeddings'}`);
    }
  }
}

/** weight (V, C) gathered at int32 `ids` (any shape) -> (...ids.shape, C). paddingIdx rows get no gradient. */
export function embedding(ids: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  assertInt('embedding', 'ids', ids);
  assertFloat('embedding', 'weight', weight);
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be (numEmbeddings, dim), got ${formatShape(weight.shape)}`);
  const [count, dim] = weight.shape;
  let pad = paddingIdx;
  if (pad !== null) {
    if (!Number.isInteger(pad) || pad < -count || pad >= count) {
      throw new IndexError(`embedding: paddingIdx ${pad} is out of range for ${count} embeddings`);
    }
    if (pad < 0) pad += count; // PyTorch: -1 is the last row
  }
  checkIds('embedding', ids, count);
  const out = new Tensor([...ids.shape, dim]);
  const k = backend().k;
  k.lw_embedding_forward(out.ptr, weight.ptr, ids.ptr, ids.size, count, dim);
  if (!needsGrad(weight)) return out;
  return record(out, 'embedding', [ids, weight], (g) => {
    const gw = new Tensor(weight.shape); // zeroed: the scatter accumulates
    k.lw_embedding_backward(gw.ptr, g.ptr, ids.ptr, ids.size, count, dim, pad ?? -1);
    return [null, gw];
  });
}

/**
 * int32 `ids` (any shape) -> int32 (...ids.shape, numClasses) with a 1 at each id, PyTorch's
 * `F.one_hot` (int32 where PyTorch gives int64; `.float()` it for a float input). `numClasses`
 * -1 (the default) means the largest id + 1. Not differentiable, as in PyTorch.
 */
export function oneHot(ids: Tensor, numClasses = -1): Tensor {
  assertInt('oneHot', 'ids', ids);
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < -1) {
    throw new IndexError(`oneHot: numClasses must be a non-negative integer or -1 (the largest id + 1), got ${String(numClasses)}`);
  }
  const v = ids.heapView();
  let largest = -1;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0) throw new IndexError(`oneHot: id ${v[i]} at position ${i} is negative (class ids count from 0)`);
    if (v[i] > largest) largest = v[i];
  }
  const classes = numClasses === -1 ? largest + 1 : numClasses;
  if (numClasses === -1 && ids.size === 0) throw new IndexError('oneHot: cannot infer numClasses from an empty ids tensor; pass numClasses');
  checkIds('oneHot', ids, classes);
  const out = new Tensor([...ids.shape, classes], 'int32');
  const hot = out.heapView(); // read after the allocation, which may have grown (detached) memory
  const idsNow = ids.heapView();
  for (let i = 0; i < idsNow.length; i++) hot[i * classes + idsNow[i]] = 1;
  return out;
}
