/**
 * Activations (crate/ops/activation.rs). Backward reads the forward OUTPUT y and ACCUMULATES:
 * `dinp += dout * f'(y)`, rounded step by step as the crate's unfused float32 arithmetic.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

/** exp(-x) is a float32 as in the crate, so sigmoid(x) is exactly 0 once exp(-x) overflows (x < -88.7). */
export const sigmoid = (x: number): number => 1 / (1 + Math.fround(Math.exp(-x)));

type ActivationKernels = Pick<Kernels,
  'lw_sigmoid_forward' | 'lw_sigmoid_backward' | 'lw_tanh_forward' | 'lw_tanh_backward' |
  'lw_relu_forward' | 'lw_relu_backward'>;

export function activationKernels(heap: JsHeap): ActivationKernels {
  return {
    // out, inp (n); in place ok.
    lw_sigmoid_forward(out, inp, n) {
      const h = heap.f32;
      const o = out >>> 2, x = inp >>> 2;
      for (let i = 0; i < n; i++) h[o + i] = sigmoid(h[x + i]);
    },
    lw_sigmoid_backward(dinp, dout, out, n) {
      const h = heap.f32;
      const d = dinp >>> 2, g = dout >>> 2, y = out >>> 2;
      for (let i = 0; i < n; i++) {
        const yi = h[y + i];
        h[d + i] = f32(h[g + i] * f32(yi * f32(1 - yi))) + h[d + i];
      }
    },
    lw_tanh_forward(out, inp, n) {
      const h = heap.f32;
      const o = out >>> 2, x = inp >>> 2;
      for (let i = 0; i < n; i++) h[o + i] = Math.tanh(h[x + i]);
    },
    lw_tanh_backward(dinp, dout, out, n) {
      const h = heap.f32;
      const d = dinp >>> 2, g = dout >>> 2, y = out >>> 2;
      for (let i = 0; i < n; i++) {
        const yi = h[y + i];
        h[d + i] = f32(h[g + i] * f32(1 - f32(yi * yi))) + h[d + i];
      }
    },
    // max(x, 0); NaN stays NaN.
    lw_relu_forward(out, inp, n) {
      const h = heap.f32;
      const o = out >>> 2, x = inp >>> 2;
      for (let i = 0; i < n; i++) {
        const v = h[x + i];
        h[o + i] = v < 0 ? 0 : v;
      }
    },
    lw_relu_backward(dinp, dout, out, n) {
      const h = heap.f32;
      const d = dinp >>> 2, g = dout >>> 2, y = out >>> 2;
      for (let i = 0; i < n; i++) if (h[y + i] > 0) h[d + i] += h[g + i];
    },
  };
}
