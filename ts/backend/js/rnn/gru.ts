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
import { sgemm } from '../gemm';
import { sigmoid } from '../activation';
import {
  Seq, accumulate, addDy, biasGrad, carryMasked, fillRows, foldBias, initState, stateFrom, writeState, writeY,
} from './common';

const f32 = Math.fround;

export function gruCacheLen(t: number, b: number, h: number): number {
  return t * b * 4 * h + (t + 1) * b * h;
}

/** One layer-direction over the whole sequence; as `lstmForward` without c and projection. */
export function gruForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, x: number, wIh: number, wHh: number, bIh: number,
  bHh: number, h0: number, lengths: number, reverse: number, y: number, ldy: number, hN: number, cache: number,
): void {
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = 3 * H, ldg = 4 * H;
  const hasCache = cache !== 0;
  const bias = foldBias(f, bIh, bHh, G, 2 * H);
  const bHn = new Float32Array(H);
  if (bHh !== 0) bHn.set(f.subarray((bHh >>> 2) + 2 * H, (bHh >>> 2) + 3 * H));
  const hg = new Float32Array(b * G); // (B,3H) h_prev @ w_hh^T
  let gA: Float32Array, hA: Float32Array;
  let gBase = 0, hBase = 0;
  if (hasCache) {
    gA = hA = f;
    gBase = cache >>> 2;
    hBase = gBase + t * b * ldg;
  } else {
    gA = new Float32Array(b * ldg);
    hA = new Float32Array(2 * b * H);
  }
  const first = hasCache ? seq.first() : 0;
  const last = hasCache ? seq.last() : t % 2;
  initState(f, hA, hBase + first * b * H, b * H, h0);

  for (let s = 0; s < t; s++) {
    const tt = seq.time(s);
    const prev = hasCache ? seq.prev(tt) : s % 2;
    const next = hasCache ? seq.next(tt) : (s + 1) % 2;
    const gOff = hasCache ? gBase + tt * b * ldg : 0;
    const hPrev = hBase + prev * b * H, hNext = hBase + next * b * H;
    if (bias !== null) fillRows(gA, gOff, b, ldg, bias);
    sgemm(false, true, b, G, i, 1, f, (x >>> 2) + tt * b * i, i, f, wIh >>> 2, i, bias !== null ? 1 : 0, gA, gOff, ldg);
    if (seq.anyActive(tt)) sgemm(false, true, b, G, H, 1, hA, hPrev, H, f, wHh >>> 2, H, 0, hg, 0, G);
    for (let bb = 0; bb < b; bb++) {
      const g = gOff + bb * ldg;
      if (!seq.active(tt, bb)) {
        gA.fill(0, g, g + ldg);
        continue;
      }
      const hgRow = bb * G, hp = hPrev + bb * H, hn = hNext + bb * H;
      for (let j = 0; j < H; j++) {
        const r = f32(sigmoid(gA[g + j] + hg[hgRow + j]));
        const z = f32(sigmoid(gA[g + H + j] + hg[hgRow + H + j]));
        const nh = f32(hg[hgRow + 2 * H + j] + bHn[j]);
        const n = f32(Math.tanh(r * nh + gA[g + 2 * H + j]));
        hA[hn + j] = (hA[hp + j] - n) * z + n;
        gA[g + j] = r;
        gA[g + H + j] = z;
        gA[g + 2 * H + j] = n;
        gA[g + 3 * H + j] = nh;
      }
    }
    carryMasked(hA, hPrev, hNext, H, seq, tt);
    writeY(f, y, ldy, hA, hNext, H, seq, tt);
  }
  writeState(f, hN, hA, hBase + last * b * H, b * H);
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
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = 3 * H, ldg = 4 * H;
  const rows = t * b;
  const gBase = cache >>> 2;
  const hBase = gBase + rows * ldg;

  const dxg = new Float32Array(rows * G); // (T,B,3H) dL/d(input-side pre-activations)
  const dhg = new Float32Array(rows * G); // (T,B,3H) dL/d(hidden-side pre-activations)
  const dh = stateFrom(f, dhN, b * H); // (B,H)

  for (let s = t - 1; s >= 0; s--) {
    const tt = seq.time(s);
    if (!seq.anyActive(tt)) continue;
    const prev = seq.prev(tt);
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      const row = tt * b + bb;
      addDy(f, dy, ldy, row, dh, bb * H, H);
      const g = gBase + row * ldg, d = row * G, hp = hBase + (prev * b + bb) * H, dr = bb * H;
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
        dh[dr + j] = dht * z; // the direct part of dh_prev
      }
    }
    // dh_prev += dhg_t @ w_hh, (B,3H) x (3H,H); masked rows add exact zeros.
    sgemm(false, false, b, H, G, 1, dhg, tt * b * G, G, f, wHh >>> 2, H, 1, dh, 0, H);
  }
  accumulate(f, dh0, dh);

  const hPrev = hBase + (seq.reverse ? b * H : 0);
  if (dwHh !== 0) sgemm(true, false, G, H, rows, 1, dhg, 0, G, f, hPrev, H, 1, f, dwHh >>> 2, H);
  if (dwIh !== 0) sgemm(true, false, G, i, rows, 1, dxg, 0, G, f, x >>> 2, i, 1, f, dwIh >>> 2, i);
  if (dx !== 0) sgemm(false, false, rows, i, G, 1, dxg, 0, G, f, wIh >>> 2, i, 1, f, dx >>> 2, i);
  biasGrad(f, dbIh, dxg, rows, G);
  biasGrad(f, dbHh, dhg, rows, G);
}
