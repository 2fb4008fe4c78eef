/**
 * Quantized weights (crate/quant.rs): int8 symmetric per row with f32 scales, and float16
 * conversions; the int8 products and embedding lookups as the crate computes them (each row of x
 * quantized to int16 with the same f32 arithmetic and rounding; integer sums exact here, so results
 * agree with the crate to float32 rounding), and the recurrent layers on such weights through the
 * one JS driver. dtype 0 (float32) runs the float32 kernels.
 */
import { QUANT_DTYPES, type Kernels } from '../kernels';
import type { JsHeap } from './heap';
import type { Product, Products } from './rnn/driver';
import { sgemm } from './gemm';
import { f16ToF32, f32ToF16 } from '../../float16';
import { lstmForward } from './rnn/lstm';
import { gruForward } from './rnn/gru';
import { rnnForward } from './rnn/elman';

const fround = Math.fround;
const Q8 = 127;
const Q16 = 32767;

/** Rust's f32::round: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** y (M,N) [= beta y +] x (M,K) @ W^T for int8 W (N,K) at byte `w` with `scales` (N), rows at strides ldx/ldy. */
function matmulI8(
  heap: JsHeap, y: Float32Array, yOff: number, ldy: number, x: Float32Array, xOff: number, ldx: number,
  w: number, scales: number, m: number, n: number, k: number, beta: number,
): void {
  const q = new Int8Array(heap.buffer, w, n * k);
  const s = heap.f32;
  const xq = new Int32Array(k);
  for (let i = 0; i < m; i++) {
    let max = 0;
    for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(x[xOff + i * ldx + c]));
    const xs = fround(max / Q16);
    const inv = xs > 0 ? fround(1 / xs) : 0;
    for (let c = 0; c < k; c++) xq[c] = Math.min(Q16, Math.max(-Q16, roundHalfAway(fround(x[xOff + i * ldx + c] * inv))));
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let c = 0; c < k; c++) dot += q[r * k + c] * xq[c];
      const v = fround(fround(fround(dot) * s[(scales >>> 2) + r]) * xs);
      const at = yOff + i * ldy + r;
      y[at] = beta === 0 ? v : fround(fround(beta * y[at]) + v);
    }
  }
}

/** The product of a matrix (N,K) at `w`, int8 (with `scales`) or float32, for the recurrent driver. */
function product(heap: JsHeap, dtype: number, w: number, scales: number, n: number, k: number): Product {
  return (m, a, aOff, lda, beta, c, cOff, ldc) => {
    if (dtype === QUANT_DTYPES.int8) matmulI8(heap, c, cOff, ldc, a, aOff, lda, w, scales, m, n, k, beta);
    else sgemm(false, true, m, n, k, 1, a, aOff, lda, heap.f32, w >>> 2, k, beta, c, cOff, ldc);
  };
}

type QuantKernels = Pick<Kernels,
  'lw_quantize_i8' | 'lw_dequantize_i8' | 'lw_to_f16' | 'lw_from_f16' | 'lw_qmatmul' | 'lw_qembedding' | 'lw_qrnn_forward'>;

export function quantKernels(heap: JsHeap): QuantKernels {
  return {
    lw_quantize_i8(q, scales, w, rows, cols) {
      const f = heap.f32;
      const out = new Int8Array(heap.buffer, q, rows * cols);
      for (let r = 0; r < rows; r++) {
        let max = 0;
        for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(f[(w >>> 2) + r * cols + c]));
        const scale = fround(max / Q8);
        f[(scales >>> 2) + r] = scale;
        for (let c = 0; c < cols; c++) {
          out[r * cols + c] = scale > 0 ? Math.min(Q8, Math.max(-Q8, roundHalfAway(fround(f[(w >>> 2) + r * cols + c] / scale)))) : 0;
        }
      }
    },
    lw_dequantize_i8(w, q, scales, rows, cols) {
      const f = heap.f32;
      const qv = new Int8Array(heap.buffer, q, rows * cols);
      for (let r = 0; r < rows; r++) {
        const s = f[(scales >>> 2) + r];
        for (let c = 0; c < cols; c++) f[(w >>> 2) + r * cols + c] = qv[r * cols + c] * s;
      }
    },
    lw_to_f16(out, w, n) {
      const f = heap.f32;
      const h = new Uint16Array(heap.buffer, out, n);
      for (let j = 0; j < n; j++) h[j] = f32ToF16(f[(w >>> 2) + j]);
    },
    lw_from_f16(out, h, n) {
      const f = heap.f32;
      const hv = new Uint16Array(heap.buffer, h, n);
      for (let j = 0; j < n; j++) f[(out >>> 2) + j] = f16ToF32(hv[j]);
    },
    lw_qmatmul(dtype, y, x, w, scales, m, n, k, beta) {
      const f = heap.f32;
      product(heap, dtype, w, scales, n, k)(m, f, x >>> 2, k, beta, f, y >>> 2, n);
      return 0;
    },
    lw_qembedding(dtype, out, table, scales, ids, rows, v, c) {
      const f = heap.f32;
      const idv = heap.i32;
      const q = dtype === QUANT_DTYPES.int8 ? new Int8Array(heap.buffer, table, v * c) : null;
      for (let r = 0; r < rows; r++) {
        const id = idv[(ids >>> 2) + r];
        for (let j = 0; j < c; j++) {
          f[(out >>> 2) + r * c + j] = q !== null ? q[id * c + j] * f[(scales >>> 2) + id] : f[(table >>> 2) + id * c + j];
        }
      }
    },
    lw_qrnn_forward(kind, dtype, t, b, i, h, p, x, wIh, sIh, wHh, sHh, bIh, bHh, wHr, sHr, h0, c0, lengths, reverse, y, ldy, hN, cN) {
      const G = (kind === 0 ? 4 : kind === 1 ? 3 : 1) * h;
      const products: Products = {
        ih: product(heap, dtype, wIh, sIh, G, i), hh: product(heap, dtype, wHh, sHh, G, p),
        hr: wHr !== 0 ? product(heap, dtype, wHr, sHr, p, h) : null,
      };
      if (kind === 0) lstmForward(heap, t, b, i, h, p, x, wIh, wHh, bIh, bHh, wHr, h0, c0, lengths, reverse, y, ldy, hN, cN, 0, products);
      else if (kind === 1) gruForward(heap, t, b, i, h, x, wIh, wHh, bIh, bHh, h0, lengths, reverse, y, ldy, hN, 0, products);
      else rnnForward(heap, t, b, i, h, kind === 3 ? 1 : 0, x, wIh, wHh, bIh, bHh, h0, lengths, reverse, y, ldy, hN, 0, products);
      return 0;
    },
  };
}
