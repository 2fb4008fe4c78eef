/**
 * Selections along a dim (crate/ops/selection.rs): max/min with indices, top-k, gather and its
 * scatter-add backward. Tensors seen as (outer, d, inner); NaN is the largest value and ties go to
 * the lower index, as in the crate. Values are copied, never computed, so results are bit-exact.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

type SelectionKernels = Pick<Kernels, 'lw_max_dim' | 'lw_topk' | 'lw_gather' | 'lw_gather_backward'>;

/** Whether (a, ia) comes before (b, ib): larger first when `largest`; NaN largest; ties to the lower index. */
function before(a: number, ia: number, b: number, ib: number, largest: boolean): boolean {
  const an = Number.isNaN(a), bn = Number.isNaN(b);
  if (an || bn) return an && bn ? ia < ib : an === largest;
  if (a === b) return ia < ib;
  return (a > b) === largest;
}

export function selectionKernels(heap: JsHeap): SelectionKernels {
  return {
    lw_max_dim(values, indices, x, outer, d, inner, min) {
      const h = heap.f32, hi = heap.i32, v = values >>> 2, ix = indices >>> 2, xs = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = xs + o * d * inner + i;
          let best = h[base], at = 0;
          for (let j = 1; j < d && !Number.isNaN(best); j++) {
            const e = h[base + j * inner];
            if (Number.isNaN(e) || (min ? e < best : e > best)) {
              best = e;
              at = j;
            }
          }
          h[v + o * inner + i] = best;
          hi[ix + o * inner + i] = at;
        }
      }
    },
    lw_topk(values, indices, x, outer, d, inner, k, largest) {
      const h = heap.f32, hi = heap.i32, v = values >>> 2, ix = indices >>> 2, xs = x >>> 2, big = largest !== 0;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          // The crate selects k times to avoid scratch; a sort gives the same order.
          const line = Array.from({ length: d }, (_, j) => j);
          const val = (j: number) => h[xs + (o * d + j) * inner + i];
          line.sort((p, q) => (before(val(p), p, val(q), q, big) ? -1 : 1));
          for (let s = 0; s < k; s++) {
            h[v + (o * k + s) * inner + i] = val(line[s]);
            hi[ix + (o * k + s) * inner + i] = line[s];
          }
        }
      }
    },
    lw_gather(out, x, index, outer, d, k, inner) {
      // A bit copy through the int32 view: float32 and int32 alike, NaN payloads kept.
      const h = heap.i32, hi = heap.i32, os = out >>> 2, xs = x >>> 2, is = index >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < k; j++) {
          for (let i = 0; i < inner; i++) {
            const at = (o * k + j) * inner + i;
            h[os + at] = h[xs + (o * d + hi[is + at]) * inner + i];
          }
        }
      }
    },
    lw_gather_backward(dx, dout, index, outer, d, k, inner) {
      const h = heap.f32, hi = heap.i32, ds = dx >>> 2, gs = dout >>> 2, is = index >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < k; j++) {
          for (let i = 0; i < inner; i++) {
            const at = (o * k + j) * inner + i;
            h[ds + (o * d + hi[is + at]) * inner + i] += h[gs + at];
          }
        }
      }
    },
  };
}
