/**
 * LSTM (gate order i, f, g, o), optionally with a projection (crate/rnn/lstm.rs):
 *
 *   [i f g o] = x W_ih^T + b_ih + h_prev W_hh^T + b_hh      (B,4H)
 *   i, f, o = sigmoid(.), g = tanh(.)
 *   c = f * c_prev + i * g                                  (B,H)
 *   r = o * tanh(c)                                         (B,H)
 *   h = r W_hr^T (projection, (B,P))  or  h = r (P = H)
 *
 * Cache (lstmCacheLen floats): gates (T,B,4H) activated [i f g o] (0 on masked rows) | c (T+1,B,H)
 * boundaries | h (T+1,B,P) boundaries | r (T,B,H), projection only (0 on masked rows).
 */
import type { JsHeap } from '../heap';
import type { Products } from './driver';
import { sigmoid } from '../activation';
import { type BackwardRow, type Cell, type ForwardRow, backward, cacheLen, forward } from './driver';

const f32 = Math.fround;

/** The LSTM cell of hidden size H; the projection, when present, is the driver's (`out` is r). */
function lstmCell(H: number): Cell {
  return {
    gates: 4, gateLd: 4, foldedHh: 4, hasC: true, cachesGates: true, hiddenApart: false,
    forwardRow({ g: gA, gOff: g, c: cA, cPrev: cp, cNext: cn, out, outOff: r }: ForwardRow): void {
      for (let j = 0; j < H; j++) {
        const ig = f32(sigmoid(gA[g + j]));
        const fg = f32(sigmoid(gA[g + H + j]));
        const gg = f32(Math.tanh(gA[g + 2 * H + j]));
        const og = f32(sigmoid(gA[g + 3 * H + j]));
        const c = f32(fg * cA[cp + j] + ig * gg);
        gA[g + j] = ig;
        gA[g + H + j] = fg;
        gA[g + 2 * H + j] = gg;
        gA[g + 3 * H + j] = og;
        cA[cn + j] = c;
        out[r + j] = og * Math.tanh(c);
      }
    },
    // dout = dL/dr in, 0 out (all of dh_prev goes through w_hh).
    backwardRow({ dxg: dgates, dxgOff: dg, dout: drArr, doutOff: drOff, dc, dcOff, f, g, cPrev: cp, c: cn }: BackwardRow): void {
      for (let j = 0; j < H; j++) {
        const ig = f[g + j], fg = f[g + H + j], gg = f[g + 2 * H + j], og = f[g + 3 * H + j];
        const tc = Math.tanh(f[cn + j]);
        const drj = drArr[drOff + j];
        // dc_total = dc_next + dr * o * (1 - tanh(c)^2)
        const dct = dc[dcOff + j] + drj * og * (1 - tc * tc);
        dc[dcOff + j] = dct * fg;
        dgates[dg + j] = dct * gg * ig * (1 - ig);
        dgates[dg + H + j] = dct * f[cp + j] * fg * (1 - fg);
        dgates[dg + 2 * H + j] = dct * ig * (1 - gg * gg);
        dgates[dg + 3 * H + j] = drj * tc * og * (1 - og);
      }
      drArr.fill(0, drOff, drOff + H);
    },
  };
}

export function lstmCacheLen(t: number, b: number, h: number, p: number, hasProj: number): number {
  return cacheLen(lstmCell(h), t, b, h, p, hasProj !== 0);
}

/**
 * One layer-direction over the whole sequence. x (T,B,I); writes y rows (P) at stride ldy, hN (B,P),
 * cN (B,H) and, when `cache` is given, the cache for `lstmBackward`. Without a cache only two state
 * boundaries and one step of gates are kept.
 */
export function lstmForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, p: number, x: number, wIh: number, wHh: number,
  bIh: number, bHh: number, wHr: number, h0: number, c0: number, lengths: number, reverse: number,
  y: number, ldy: number, hN: number, cN: number, cache: number, products?: Products,
): void {
  forward(lstmCell(H), heap, t, b, i, H, p, x, { wIh, wHh, bIh, bHh, wHr }, h0, c0, lengths, reverse, y, ldy, hN, cN, cache, products);
}

/**
 * BPTT from the cache of `lstmForward` (same x, weights, lengths, direction). dy rows (P) at stride
 * ldy, dhN (B,P), dcN (B,H): 0 = zero. ACCUMULATES dx (T,B,I), dwIh (4H,I), dwHh (4H,P), dbIh,
 * dbHh (4H), dwHr (P,H), dh0 (B,P), dc0 (B,H); each 0 = not wanted.
 */
export function lstmBackward(
  heap: JsHeap, t: number, b: number, i: number, H: number, p: number, x: number, wIh: number, wHh: number,
  wHr: number, lengths: number, reverse: number, cache: number, dy: number, ldy: number, dhN: number, dcN: number,
  dx: number, dwIh: number, dwHh: number, dbIh: number, dbHh: number, dwHr: number, dh0: number, dc0: number,
): void {
  backward(lstmCell(H), heap, t, b, i, H, p, x, { wIh, wHh, bIh: 0, bHh: 0, wHr }, lengths, reverse, cache, dy, ldy,
    dhN, dcN, { dx, dwIh, dwHh, dbIh, dbHh, dwHr, dh0, dc0 });
}
