/**
 * One decoding step of a stack (crate/decode.rs): the JS backend's own kernels composed exactly
 * as the crate composes its own, reading the same plan. Layer buffers are allocated on the JS heap
 * for the call and freed after it (this backend is the reference, not the fast path).
 */
import { DECODE_PLAN as P, type Kernels } from '../kernels';
import type { JsHeap } from './heap';

export function decodeKernels(heap: JsHeap, k: Omit<Kernels, 'lw_decode_step'>): Pick<Kernels, 'lw_decode_step'> {
  return {
    lw_decode_step(plan, input, hIn, cIn, hOut, cOut, out) {
      const w = (i: number): number => heap.i32[(plan >>> 2) + i] >>> 0;
      const kind = w(P.kind);
      const dtype = w(P.dtype);
      const [L, B, I, H, Pw, V] = [w(P.layers), w(P.batch), w(P.input), w(P.hidden), w(P.proj), w(P.vocab)];
      const table = w(P.table);
      const headW = w(P.headWeight);
      const x0 = table !== 0 ? heap.alloc(4 * Math.max(1, B * I)) : 0;
      const ys = [heap.alloc(4 * Math.max(1, B * Pw)), heap.alloc(4 * Math.max(1, B * Pw))];
      try {
        if (table !== 0 && dtype === 0) k.lw_embedding_forward(x0, table, input, B, w(P.tableRows), I);
        else if (table !== 0) k.lw_qembedding(dtype, x0, table, w(P.tableScales), input, B, w(P.tableRows), I);
        let x = table !== 0 ? x0 : input;
        for (let l = 0; l < L; l++) {
          const at = P.header + l * P.layerWords;
          const [wIh, wHh, bIh, bHh, wHr] = [w(at), w(at + 1), w(at + 2), w(at + 3), w(at + 4)];
          const inSize = l === 0 ? I : Pw;
          const y = l === L - 1 && headW === 0 ? out : ys[l % 2];
          const h0 = hIn === 0 ? 0 : hIn + 4 * l * B * Pw;
          const hN = hOut + 4 * l * B * Pw;
          let status: number;
          if (dtype !== 0) {
            const [sIh, sHh, sHr] = [w(at + 5), w(at + 6), w(at + 7)];
            const h0q = h0, c0q = kind === P.kinds.LSTM && cIn !== 0 ? cIn + 4 * l * B * H : 0;
            status = k.lw_qrnn_forward(kind, dtype, 1, B, inSize, H, Pw, x, wIh, sIh, wHh, sHh, bIh, bHh, wHr, sHr, h0q, c0q, 0, 0,
              y, kind === P.kinds.LSTM ? Pw : H, hN, kind === P.kinds.LSTM ? cOut + 4 * l * B * H : 0);
          } else if (kind === P.kinds.LSTM) {
            const c0 = cIn === 0 ? 0 : cIn + 4 * l * B * H;
            status = k.lw_lstm_forward(1, B, inSize, H, Pw, x, wIh, wHh, bIh, bHh, wHr, h0, c0, 0, 0, y, Pw, hN, cOut + 4 * l * B * H, 0);
          } else if (kind === P.kinds.GRU) {
            status = k.lw_gru_forward(1, B, inSize, H, x, wIh, wHh, bIh, bHh, h0, 0, 0, y, H, hN, 0);
          } else {
            status = k.lw_rnn_forward(1, B, inSize, H, kind === P.kinds.RNN_RELU ? 1 : 0, x, wIh, wHh, bIh, bHh, h0, 0, 0, y, H, hN, 0);
          }
          if (status !== 0) return status;
          x = y;
        }
        if (headW !== 0) {
          if (dtype === 0) k.lw_sgemm(0, 1, B, V, Pw, 1, x, Pw, headW, Pw, 0, out, V);
          else k.lw_qmatmul(dtype, out, x, headW, w(P.headScales), B, V, Pw, 0);
          const bias = w(P.headBias);
          if (bias !== 0) k.lw_add_bcast(out, out, bias, B, V);
        }
        return 0;
      } finally {
        ys.forEach((y) => heap.free(y, 4 * Math.max(1, B * Pw)));
        if (x0 !== 0) heap.free(x0, 4 * Math.max(1, B * I));
      }
    },
  };
}
