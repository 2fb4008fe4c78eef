/**
 * Data movement without arithmetic (crate/layout.rs): batched transpose carrying an inner block,
 * and the N-d strided copy.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

/** Block edge of the cache-blocked transpose (32 x 32 x 4 bytes = 4 KiB each way). */
const BLOCK = 32;

export function layoutKernels(heap: JsHeap): Pick<Kernels, 'lw_transpose' | 'lw_strided_copy'> {
  return {
    // out (batch, cols, rows, inner) = x (batch, rows, cols, inner); any 4-byte dtype, bit for bit.
    lw_transpose(out, x, batch, rows, cols, inner) {
      const h = heap.i32;
      const plane = rows * cols * inner;
      for (let b = 0; b < batch; b++) {
        const src = (x >>> 2) + b * plane;
        const dst = (out >>> 2) + b * plane;
        if (inner === 1) {
          for (let r0 = 0; r0 < rows; r0 += BLOCK) {
            const r1 = Math.min(r0 + BLOCK, rows);
            for (let c0 = 0; c0 < cols; c0 += BLOCK) {
              const c1 = Math.min(c0 + BLOCK, cols);
              for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) h[dst + c * rows + r] = h[src + r * cols + c];
            }
          }
        } else {
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              const from = src + (r * cols + c) * inner;
              h.copyWithin(dst + (c * rows + r) * inner, from, from + inner);
            }
          }
        }
      }
    },
    // out[sum i_d * outStrides[d]] = x[sum i_d * xStrides[d]]; the odometer of crate/layout.rs.
    lw_strided_copy(out, x, ndim, shapePtr, outStridesPtr, xStridesPtr) {
      const h = heap.i32;
      const table = (p: number) => Array.from(h.subarray(p >>> 2, (p >>> 2) + ndim));
      const [shape, os, xs] = [table(shapePtr), table(outStridesPtr), table(xStridesPtr)];
      if (shape.includes(0)) return;
      let [to, from] = [out >>> 2, x >>> 2];
      if (ndim === 0) {
        h[to] = h[from];
        return;
      }
      const outer = ndim - 1;
      const [len, o1, x1] = [shape[outer], os[outer], xs[outer]];
      const index = new Array<number>(outer).fill(0);
      const rows = shape.slice(0, outer).reduce((a, b) => a * b, 1);
      for (let row = 0; row < rows; row++) {
        if (o1 === 1 && x1 === 1) h.copyWithin(to, from, from + len);
        else if (o1 === 1 && x1 === 0) h.fill(h[from], to, to + len);
        else for (let j = 0; j < len; j++) h[to + j * o1] = h[from + j * x1];
        for (let d = outer - 1; d >= 0; d--) {
          to += os[d];
          from += xs[d];
          if (++index[d] < shape[d]) break;
          index[d] = 0;
          to -= shape[d] * os[d];
          from -= shape[d] * xs[d];
        }
      }
    },
  };
}
