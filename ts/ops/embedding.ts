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
      throw new IndexError(`${op}: token id ${v[i]} at position ${i} is out of range for ${count} embeddings`);
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
