/** Data movement without arithmetic (crate/layout.rs): batched transpose carrying an inner block. */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

/** Block edge of the cache-blocked transpose (32 x 32 x 4 bytes = 4 KiB each way). */
const BLOCK = 32;

export function layoutKernels(heap: JsHeap): Pick<Kernels, 'lw_transpose'> {
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
  };
}
