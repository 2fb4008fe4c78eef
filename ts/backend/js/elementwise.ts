/**
 * Element-wise maps, broadcasts over rows, reductions and copies (crate/ops/elementwise.rs and
 * reduce.rs). A Float32Array store rounds the float64 result once, which for one +, -, * of two
 * float32 values is the exactly rounded float32 result, as in the crate. Scalars are float32 at
 * the ABI, so they are rounded on entry. `>>> 2` turns a byte offset into an element index.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

type ElementwiseKernels = Pick<Kernels,
  'lw_add' | 'lw_sub' | 'lw_mul' | 'lw_add_bcast' | 'lw_sub_bcast' | 'lw_mul_bcast' | 'lw_sum_rows' |
  'lw_add_scalar' | 'lw_scale' | 'lw_axpy' | 'lw_fill' | 'lw_copy' | 'lw_sum' | 'lw_sum_sq' |
  'lw_cast_i32_to_f32' | 'lw_cast_f32_to_i32'>;

/** float32 -> int32 as the crate's `as i32`: toward zero, saturating, NaN to 0. */
function truncToI32(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v >= 2147483647) return 2147483647;
  if (v <= -2147483648) return -2147483648;
  return Math.trunc(v);
}

export function elementwiseKernels(heap: JsHeap): ElementwiseKernels {
  return {
    lw_cast_i32_to_f32(out, x, n) {
      const o = out >>> 2, xs = x >>> 2, h = heap.f32, hi = heap.i32;
      for (let i = 0; i < n; i++) h[o + i] = hi[xs + i];
    },
    lw_cast_f32_to_i32(out, x, n) {
      const o = out >>> 2, xs = x >>> 2, h = heap.f32, hi = heap.i32;
      for (let i = 0; i < n; i++) hi[o + i] = truncToI32(h[xs + i]);
    },
    // out, a, b (n); in place ok (out may equal a or b).
    lw_add(out, a, b, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let i = 0; i < n; i++) h[o + i] = h[x + i] + h[y + i];
    },
    lw_sub(out, a, b, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let i = 0; i < n; i++) h[o + i] = h[x + i] - h[y + i];
    },
    lw_mul(out, a, b, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let i = 0; i < n; i++) h[o + i] = h[x + i] * h[y + i];
    },
    // out, a (rows, n), b (n).
    lw_add_bcast(out, a, b, rows, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) h[o + r * n + j] = h[x + r * n + j] + h[y + j];
    },
    lw_sub_bcast(out, a, b, rows, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) h[o + r * n + j] = h[x + r * n + j] - h[y + j];
    },
    lw_mul_bcast(out, a, b, rows, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, y = b >>> 2;
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) h[o + r * n + j] = h[x + r * n + j] * h[y + j];
    },
    // out (n) (=|+=) column sums of a (rows, n), summed in float64.
    lw_sum_rows(out, a, rows, n, accumulate) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2;
      for (let j = 0; j < n; j++) {
        let s = accumulate ? h[o + j] : 0;
        for (let r = 0; r < rows; r++) s += h[x + r * n + j];
        h[o + j] = s;
      }
    },
    lw_add_scalar(out, a, scalar, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, s = f32(scalar);
      for (let i = 0; i < n; i++) h[o + i] = h[x + i] + s;
    },
    lw_scale(out, a, scalar, n) {
      const h = heap.f32;
      const o = out >>> 2, x = a >>> 2, s = f32(scalar);
      for (let i = 0; i < n; i++) h[o + i] = h[x + i] * s;
    },
    // y += alpha * x, rounded after the product as the crate's unfused multiply-add.
    lw_axpy(y, alpha, x, n) {
      const h = heap.f32;
      const yo = y >>> 2, xo = x >>> 2, al = f32(alpha);
      for (let i = 0; i < n; i++) h[yo + i] = f32(al * h[xo + i]) + h[yo + i];
    },
    lw_fill(out, value, n) {
      heap.f32.fill(value, out >>> 2, (out >>> 2) + n);
    },
    // Any 4-byte dtype, bit for bit (an int32 may have a NaN's bit pattern); overlap allowed.
    lw_copy(dst, src, n) {
      heap.i32.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + n);
    },
    lw_sum(a, n) {
      const h = heap.f32;
      const x = a >>> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += h[x + i];
      return s;
    },
    lw_sum_sq(a, n) {
      const h = heap.f32;
      const x = a >>> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += h[x + i] * h[x + i];
      return s;
    },
  };
}
