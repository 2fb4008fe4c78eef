/**
 * Softmax and log-softmax over the last dim of (R,N), and softmax cross-entropy over logits (R,V)
 * with an ignore index (crate/ops/softmax.rs). Everything is max-subtracted; row sums are float64.
 * Forward kernels may run in place (out == inp); backward kernels ACCUMULATE unless noted.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

function rowMax(h: Float32Array, x: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = h[x + j];
    if (v > m || v !== v) m = v; // a NaN makes the row NaN
  }
  return m;
}

/** sum_j exp(x[j] - m). */
function rowSumExp(h: Float32Array, x: number, n: number, m: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(h[x + j] - m);
  return s;
}

function countedRows(hi: Int32Array, t: number, rows: number, ignoreIndex: number): number {
  let count = 0;
  for (let r = 0; r < rows; r++) if (hi[t + r] !== ignoreIndex) count++;
  return count;
}

type SoftmaxKernels = Pick<Kernels,
  'lw_softmax_forward' | 'lw_softmax_backward' | 'lw_log_softmax_forward' | 'lw_log_softmax_backward' |
  'lw_cross_entropy_forward' | 'lw_cross_entropy_backward'>;

export function softmaxKernels(heap: JsHeap): SoftmaxKernels {
  return {
    lw_softmax_forward(out, inp, rows, n) {
      const h = heap.f32;
      for (let r = 0; r < rows; r++) {
        const x = (inp >>> 2) + r * n, o = (out >>> 2) + r * n;
        const m = rowMax(h, x, n);
        let s = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.exp(h[x + j] - m);
          h[o + j] = e;
          s += e;
        }
        for (let j = 0; j < n; j++) h[o + j] /= s;
      }
    },
    // dinp += y * (dout - sum_k dout[k] y[k])
    lw_softmax_backward(dinp, dout, out, rows, n) {
      const h = heap.f32;
      for (let r = 0; r < rows; r++) {
        const d = (dinp >>> 2) + r * n, g = (dout >>> 2) + r * n, y = (out >>> 2) + r * n;
        let gy = 0;
        for (let j = 0; j < n; j++) gy += h[g + j] * h[y + j];
        for (let j = 0; j < n; j++) h[d + j] += h[y + j] * (h[g + j] - gy);
      }
    },
    lw_log_softmax_forward(out, inp, rows, n) {
      const h = heap.f32;
      for (let r = 0; r < rows; r++) {
        const x = (inp >>> 2) + r * n, o = (out >>> 2) + r * n;
        const m = rowMax(h, x, n);
        const ls = Math.log(rowSumExp(h, x, n, m));
        for (let j = 0; j < n; j++) h[o + j] = (h[x + j] - m) - ls;
      }
    },
    // dinp += dout - exp(y) * sum_k dout[k]
    lw_log_softmax_backward(dinp, dout, out, rows, n) {
      const h = heap.f32;
      for (let r = 0; r < rows; r++) {
        const d = (dinp >>> 2) + r * n, g = (dout >>> 2) + r * n, y = (out >>> 2) + r * n;
        let gs = 0;
        for (let j = 0; j < n; j++) gs += h[g + j];
        for (let j = 0; j < n; j++) h[d + j] += h[g + j] - Math.exp(h[y + j]) * gs;
      }
    },
    // Mean over counted rows of logsumexp(x) - x[target]; 0 when every row is ignored.
    lw_cross_entropy_forward(logits, targets, rows, v, ignoreIndex) {
      const h = heap.f32, hi = heap.i32;
      const tg = targets >>> 2;
      let total = 0;
      let count = 0;
      for (let r = 0; r < rows; r++) {
        const t = hi[tg + r];
        if (t === ignoreIndex) continue;
        const x = (logits >>> 2) + r * v;
        const m = rowMax(h, x, v);
        total += Math.log(rowSumExp(h, x, v, m)) - (h[x + t] - m);
        count++;
      }
      return count === 0 ? 0 : f32(total / count);
    },
    // dlogits += (softmax - onehot) * dloss / count on counted rows; the rest untouched.
    lw_cross_entropy_backward(dlogits, logits, targets, rows, v, ignoreIndex, dloss) {
      const h = heap.f32, hi = heap.i32;
      const tg = targets >>> 2;
      const count = countedRows(hi, tg, rows, ignoreIndex);
      if (count === 0) return;
      const scale = f32(f32(dloss) / count);
      for (let r = 0; r < rows; r++) {
        const t = hi[tg + r];
        if (t === ignoreIndex) continue;
        const x = (logits >>> 2) + r * v, d = (dlogits >>> 2) + r * v;
        const m = rowMax(h, x, v);
        const k = scale / rowSumExp(h, x, v, m);
        for (let j = 0; j < v; j++) h[d + j] += Math.exp(h[x + j] - m) * k;
        h[d + t] -= scale;
      }
    },
  };
}
