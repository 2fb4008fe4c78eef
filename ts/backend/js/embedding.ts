/** Embedding lookup (crate/ops/embedding.rs): table, dtable (V,C); ids (R) int32; out, dout (R,C). */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

export function embeddingKernels(heap: JsHeap): Pick<Kernels, 'lw_embedding_forward' | 'lw_embedding_backward'> {
  return {
    // out[r,:] = table[ids[r],:]; ids in [0, V) (checked by the caller).
    lw_embedding_forward(out, table, ids, rows, _v, c) {
      const h = heap.f32;
      const hi = heap.i32;
      const o = out >>> 2, t = table >>> 2, id = ids >>> 2;
      for (let r = 0; r < rows; r++) {
        const from = t + hi[id + r] * c;
        h.copyWithin(o + r * c, from, from + c);
      }
    },
    // dtable[ids[r],:] += dout[r,:] unless ids[r] == paddingIdx. Accumulates; repeated ids sum in row order.
    lw_embedding_backward(dtable, dout, ids, rows, _v, c, paddingIdx) {
      const h = heap.f32;
      const hi = heap.i32;
      const dt = dtable >>> 2, g = dout >>> 2, id = ids >>> 2;
      for (let r = 0; r < rows; r++) {
        const k = hi[id + r];
        if (k === paddingIdx) continue;
        const d = dt + k * c;
        for (let j = 0; j < c; j++) h[d + j] += h[g + r * c + j];
      }
    },
  };
}
