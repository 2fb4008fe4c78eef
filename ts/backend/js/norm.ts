/**
 * Layer norm over the last dim of (R,N) (crate/ops/norm.rs): two-pass statistics (mean, then the
 * biased variance of the centered values), here in float64; backward ACCUMULATES into each
 * gradient it is given (pointer 0 = not wanted; weight 0 = ones, bias 0 = zeros).
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

type NormKernels = Pick<Kernels, 'lw_layer_norm_forward' | 'lw_layer_norm_backward'>;

export function normKernels(heap: JsHeap): NormKernels {
  return {
    lw_layer_norm_forward(out, mean, rstd, x, weight, bias, rows, n, eps) {
      if (n === 0) return;
      const h = heap.f32;
      const w = weight >>> 2, b = bias >>> 2;
      for (let r = 0; r < rows; r++) {
        const xr = (x >>> 2) + r * n, o = (out >>> 2) + r * n;
        let s = 0;
        for (let j = 0; j < n; j++) s += h[xr + j];
        const m = f32(s / n);
        let sq = 0;
        for (let j = 0; j < n; j++) sq += (h[xr + j] - m) ** 2;
        const rs = f32(1 / Math.sqrt(f32(sq / n) + f32(eps)));
        if (mean !== 0) h[(mean >>> 2) + r] = m;
        if (rstd !== 0) h[(rstd >>> 2) + r] = rs;
        for (let j = 0; j < n; j++) {
          const norm = f32((h[xr + j] - m) * rs);
          h[o + j] = norm * (weight !== 0 ? h[w + j] : 1) + (bias !== 0 ? h[b + j] : 0);
        }
      }
    },
    // g = dout * weight, norm = (x - mean) * rstd:
    // dx += (g - mean(g) - norm * mean(g * norm)) * rstd; dweight += dout * norm; dbias += dout.
    lw_layer_norm_backward(dx, dweight, dbias, dout, x, mean, rstd, weight, rows, n) {
      if (n === 0) return;
      const h = heap.f32;
      const w = weight >>> 2, dw = dweight >>> 2, db = dbias >>> 2;
      for (let r = 0; r < rows; r++) {
        const xr = (x >>> 2) + r * n, gr = (dout >>> 2) + r * n;
        const m = h[(mean >>> 2) + r], rs = h[(rstd >>> 2) + r];
        let gSum = 0, gnSum = 0;
        for (let j = 0; j < n; j++) {
          const norm = (h[xr + j] - m) * rs;
          const go = h[gr + j];
          const g = go * (weight !== 0 ? h[w + j] : 1);
          gSum += g;
          gnSum += g * norm;
          if (dweight !== 0) h[dw + j] += go * norm;
          if (dbias !== 0) h[db + j] += go;
        }
        if (dx === 0) continue;
        const gMean = gSum / n, gnMean = gnSum / n;
        const d = (dx >>> 2) + r * n;
        for (let j = 0; j < n; j++) {
          const norm = (h[xr + j] - m) * rs;
          const g = h[gr + j] * (weight !== 0 ? h[w + j] : 1);
          h[d + j] += (g - gMean - norm * gnMean) * rs;
        }
      }
    },
  };
}
