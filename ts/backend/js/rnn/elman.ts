/**
 * Elman RNN (PyTorch nn.RNN, crate/rnn/elman.rs): h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh),
 * act tanh or relu; the derivative is read off the output h. Cache (rnnCacheLen floats): h (T+1,B,H)
 * boundaries.
 */
import type { JsHeap } from '../heap';
import type { Products } from './driver';
import { type BackwardRow, type Cell, type ForwardRow, backward, cacheLen, forward } from './driver';

/** The Elman cell of hidden size H (`relu` != 0: relu, else tanh): the gate row is the pre-activation. */
function elmanCell(H: number, relu: number): Cell {
  return {
    gates: 1, gateLd: 1, foldedHh: 1, hasC: false, cachesGates: false, hiddenApart: false,
    forwardRow({ g: pre, gOff: g, out, outOff: hn }: ForwardRow): void {
      for (let j = 0; j < H; j++) {
        const v = pre[g + j];
        out[hn + j] = relu ? (v < 0 ? 0 : v) : Math.tanh(v);
      }
    },
    // dout = dL/dh in, 0 out.
    backwardRow({ dxg: dpre, dxgOff: d, dout: dh, doutOff: dr, f, h: out }: BackwardRow): void {
      for (let j = 0; j < H; j++) {
        const yj = f[out + j], dj = dh[dr + j];
        dpre[d + j] = relu ? (yj > 0 ? dj : 0) : dj * (1 - yj * yj);
      }
      dh.fill(0, dr, dr + H);
    },
  };
}

export function rnnCacheLen(t: number, b: number, h: number): number {
  return cacheLen(elmanCell(h, 0), t, b, h, h, false);
}

/** One layer-direction over the whole sequence (`relu` != 0: relu, else tanh). */
export function rnnForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, relu: number, x: number, wIh: number, wHh: number,
  bIh: number, bHh: number, h0: number, lengths: number, reverse: number, y: number, ldy: number, hN: number,
  cache: number, products?: Products,
): void {
  forward(elmanCell(H, relu), heap, t, b, i, H, H, x, { wIh, wHh, bIh, bHh, wHr: 0 }, h0, 0, lengths, reverse, y,
    ldy, hN, 0, cache, products);
}

/**
 * BPTT from the cache of `rnnForward` (same relu). ACCUMULATES dx (T,B,I), dwIh (H,I),
 * dwHh (H,H), dbIh, dbHh (H), dh0 (B,H).
 */
export function rnnBackward(
  heap: JsHeap, t: number, b: number, i: number, H: number, relu: number, x: number, wIh: number, wHh: number,
  lengths: number, reverse: number, cache: number, dy: number, ldy: number, dhN: number, dx: number,
  dwIh: number, dwHh: number, dbIh: number, dbHh: number, dh0: number,
): void {
  backward(elmanCell(H, relu), heap, t, b, i, H, H, x, { wIh, wHh, bIh: 0, bHh: 0, wHr: 0 }, lengths, reverse, cache,
    dy, ldy, dhN, 0, { dx, dwIh, dwHh, dbIh, dbHh, dwHr: 0, dh0, dc0: 0 });
}
