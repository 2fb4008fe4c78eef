/**
 * GRU (gate order r, z, n), PyTorch formulation (crate/rnn/gru.rs):
 *
 *   [xr xz xn] = x W_ih^T + b_ih,  [hr hz hn] = h_prev W_hh^T + b_hh     (B,3H) each
 *   r = sigmoid(xr + hr), z = sigmoid(xz + hz), n = tanh(xn + r * hn)
 *   h = (h_prev - n) * z + n
 *
 * The input projection folds in b_ih and the r, z parts of b_hh; b_hn is added per step.
 * Cache (gruCacheLen floats): gates (T,B,4H) rows [r z n hn] (0 on masked rows) | h (T+1,B,H).
 */
import type { JsHeap } from '../heap';
import type { Products } from './driver';
import { sigmoid } from '../activation';
import { type BackwardRow, type Cell, type ForwardRow, backward, cacheLen, forward } from './driver';

const f32 = Math.fround;

/**
 * The GRU cell of hidden size H; its hidden-side gates need their own product (`hiddenApart`): r
 * multiplies W_hn h_prev + b_hn, which the cache keeps as hn. `bHn` (H): zeros when there is no b_hh.
 */
function gruCell(H: number, bHn: Float32Array): Cell {
  return {
    gates: 3, gateLd: 4, foldedHh: 2, hasC: false, cachesGates: true, hiddenApart: true,
    // gates [xr xz xn] in, [r z n hn] out; out = h.
    forwardRow({ g: gA, gOff: g, hg, hgOff: hgRow, h: hA, hPrev: hp, out, outOff: hn }: ForwardRow): void {
      for (let j = 0; j < H; j++) {
        const r = f32(sigmoid(gA[g + j] + hg[hgRow + j]));
        const z = f32(sigmoid(gA[g + H + j] + hg[hgRow + H + j]));
        const nh = f32(hg[hgRow + 2 * H + j] + bHn[j]);
        const n = f32(Math.tanh(r * nh + gA[g + 2 * H + j]));
        out[hn + j] = (hA[hp + j] - n) * z + n;
        gA[g + j] = r;
        gA[g + H + j] = z;
        gA[g + 2 * H + j] = n;
        gA[g + 3 * H + j] = nh;
      }
    },
    // dout = dL/dh_t in, the direct part of dL/dh_prev (dh_t * z) out.
    backwardRow({ dxg, dxgOff: d, dhg, dout: dh, doutOff: dr, f, g, hPrev: hp }: BackwardRow): void {
      for (let j = 0; j < H; j++) {
        const r = f[g + j], z = f[g + H + j], n = f[g + 2 * H + j], nh = f[g + 3 * H + j];
        const dht = dh[dr + j];
        const dnPre = dht * (1 - z) * (1 - n * n);
        const dzPre = dht * (f[hp + j] - n) * z * (1 - z);
        const drPre = dnPre * nh * r * (1 - r);
        dxg[d + j] = drPre;
        dxg[d + H + j] = dzPre;
        dxg[d + 2 * H + j] = dnPre;
        dhg[d + j] = drPre;
        dhg[d + H + j] = dzPre;
        dhg[d + 2 * H + j] = dnPre * r;
        dh[dr + j] = dht * z;
      }
    },
  };
}

export function gruCacheLen(t: number, b: number, h: number): number {
  return cacheLen(gruCell(h, new Float32Array(0)), t, b, h, h, false);
}

/** One layer-direction over the whole sequence; as `lstmForward` without c and projection. */
export function gruForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, x: number, wIh: number, wHh: number, bIh: number,
  bHh: number, h0: number, lengths: number, reverse: number, y: number, ldy: number, hN: number, cache: number, products?: Products,
): void {
  const bHn = new Float32Array(H);
  if (bHh !== 0) bHn.set(heap.f32.subarray((bHh >>> 2) + 2 * H, (bHh >>> 2) + 3 * H));
  forward(gruCell(H, bHn), heap, t, b, i, H, H, x, { wIh, wHh, bIh, bHh, wHr: 0 }, h0, 0, lengths, reverse, y, ldy,
    hN, 0, cache, products);
}

/**
 * BPTT from the cache of `gruForward`. dy rows (H) at stride ldy, dhN (B,H): 0 = zero.
 * ACCUMULATES dx (T,B,I), dwIh (3H,I), dwHh (3H,H), dbIh, dbHh (3H), dh0 (B,H). (b_hh is not
 * needed: hn is cached.)
 */
export function gruBackward(
  heap: JsHeap, t: number, b: number, i: number, H: number, x: number, wIh: number, wHh: number, _bHh: number,
  lengths: number, reverse: number, cache: number, dy: number, ldy: number, dhN: number, dx: number,
  dwIh: number, dwHh: number, dbIh: number, dbHh: number, dh0: number,
): void {
  backward(gruCell(H, new Float32Array(0)), heap, t, b, i, H, H, x, { wIh, wHh, bIh: 0, bHh: 0, wHr: 0 }, lengths,
    reverse, cache, dy, ldy, dhN, 0, { dx, dwIh, dwHh, dbIh, dbHh, dwHr: 0, dh0, dc0: 0 });
}
