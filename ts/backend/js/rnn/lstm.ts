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
import { sgemm } from '../gemm';
import { sigmoid } from '../activation';
import {
  Seq, accumulate, addDy, biasGrad, carryMasked, fillRows, foldBias, initState, stateFrom, writeState, writeY,
} from './common';

const f32 = Math.fround;

export function lstmCacheLen(t: number, b: number, h: number, p: number, hasProj: number): number {
  return t * b * 4 * h + (t + 1) * b * h + (t + 1) * b * p + (hasProj ? t * b * h : 0);
}

/**
 * One layer-direction over the whole sequence. x (T,B,I); writes y rows (P) at stride ldy, hN (B,P),
 * cN (B,H) and, when `cache` is given, the cache for `lstmBackward`. Without a cache only two state
 * boundaries and one step of gates are kept.
 */
export function lstmForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, p: number, x: number, wIh: number, wHh: number,
  bIh: number, bHh: number, wHr: number, h0: number, c0: number, lengths: number, reverse: number,
  y: number, ldy: number, hN: number, cN: number, cache: number,
): void {
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = 4 * H;
  const hasProj = wHr !== 0;
  const hasCache = cache !== 0;
  const bias = foldBias(f, bIh, bHh, G, G);
  // (array, base) of gates (B,4H) per step, c boundaries (B,H), h boundaries (B,P), r rows (B,H).
  let gA: Float32Array, cA: Float32Array, hA: Float32Array, rA: Float32Array;
  let gBase = 0, cBase = 0, hBase = 0, rBase = 0;
  if (hasCache) {
    gA = cA = hA = rA = f;
    gBase = cache >>> 2;
    cBase = gBase + t * b * G;
    hBase = cBase + (t + 1) * b * H;
    rBase = hBase + (t + 1) * b * p;
  } else {
    gA = new Float32Array(b * G);
    cA = new Float32Array(2 * b * H);
    hA = new Float32Array(2 * b * p);
    rA = new Float32Array(hasProj ? b * H : 0);
  }
  const first = hasCache ? seq.first() : 0;
  const last = hasCache ? seq.last() : t % 2;
  initState(f, hA, hBase + first * b * p, b * p, h0);
  initState(f, cA, cBase + first * b * H, b * H, c0);

  for (let s = 0; s < t; s++) {
    const tt = seq.time(s);
    const prev = hasCache ? seq.prev(tt) : s % 2;
    const next = hasCache ? seq.next(tt) : (s + 1) % 2;
    const gOff = hasCache ? gBase + tt * b * G : 0;
    const hPrev = hBase + prev * b * p, hNext = hBase + next * b * p;
    const cPrev = cBase + prev * b * H, cNext = cBase + next * b * H;
    // gates = x_t @ w_ih^T + bias (+ h_prev @ w_hh^T when any row is active)
    if (bias !== null) fillRows(gA, gOff, b, G, bias);
    sgemm(false, true, b, G, i, 1, f, (x >>> 2) + tt * b * i, i, f, wIh >>> 2, i, bias !== null ? 1 : 0, gA, gOff, G);
    if (seq.anyActive(tt)) sgemm(false, true, b, G, p, 1, hA, hPrev, p, f, wHh >>> 2, p, 1, gA, gOff, G);
    // r = o * tanh(c) goes to its own rows with a projection, else straight into h_next.
    const rArr = hasProj ? rA : hA;
    const rOff = hasProj ? rBase + (hasCache ? tt * b * H : 0) : hNext;
    for (let bb = 0; bb < b; bb++) {
      const g = gOff + bb * G;
      if (!seq.active(tt, bb)) {
        gA.fill(0, g, g + G); // nothing of a masked step may reach backward
        if (hasProj) rA.fill(0, rOff + bb * H, rOff + bb * H + H);
        continue;
      }
      const cp = cPrev + bb * H, cn = cNext + bb * H, r = rOff + bb * H;
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
        rArr[r + j] = og * Math.tanh(c);
      }
    }
    // h = r @ w_hr^T, (B,H) x (H,P)
    if (hasProj) sgemm(false, true, b, p, H, 1, rA, rOff, H, f, wHr >>> 2, H, 0, hA, hNext, p);
    carryMasked(hA, hPrev, hNext, p, seq, tt);
    carryMasked(cA, cPrev, cNext, H, seq, tt);
    writeY(f, y, ldy, hA, hNext, p, seq, tt);
  }
  writeState(f, hN, hA, hBase + last * b * p, b * p);
  writeState(f, cN, cA, cBase + last * b * H, b * H);
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
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = 4 * H;
  const rows = t * b;
  const hasProj = wHr !== 0;
  const gBase = cache >>> 2;
  const cBase = gBase + rows * G;
  const hBase = cBase + (t + 1) * b * H;
  const rBase = hBase + (t + 1) * b * p;

  const dgates = new Float32Array(rows * G); // (T,B,4H) time-aligned; masked rows stay 0
  const dh = stateFrom(f, dhN, b * p); // (B,P)
  const dc = stateFrom(f, dcN, b * H); // (B,H)
  const dhAll = new Float32Array(hasProj ? rows * p : 0); // (T,B,P) every dh_t, for dW_hr
  const dr = new Float32Array(hasProj ? b * H : 0); // (B,H)

  for (let s = t - 1; s >= 0; s--) {
    const tt = seq.time(s);
    if (!seq.anyActive(tt)) continue; // dh, dc pass through; dgates rows stay 0
    const prev = seq.prev(tt), next = seq.next(tt);
    // dh_t = dh + dy[t] on active rows, in place in dh or into dhAll[t] with a projection.
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      const row = tt * b + bb;
      if (hasProj) {
        dhAll.set(dh.subarray(bb * p, bb * p + p), row * p);
        addDy(f, dy, ldy, row, dhAll, row * p, p);
      } else {
        addDy(f, dy, ldy, row, dh, bb * p, p);
      }
    }
    // dr = dh_t @ w_hr, (B,P) x (P,H)
    if (hasProj) sgemm(false, false, b, H, p, 1, dhAll, tt * b * p, p, f, wHr >>> 2, H, 0, dr, 0, H);
    const drArr = hasProj ? dr : dh;
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      const row = tt * b + bb;
      const g = gBase + row * G, dg = row * G;
      const cp = cBase + (prev * b + bb) * H, cn = cBase + (next * b + bb) * H;
      const drOff = bb * (hasProj ? H : p), dcOff = bb * H;
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
      dh.fill(0, bb * p, bb * p + p); // consumed; the GEMM below adds its dh_prev
    }
    // dh_prev += dgates_t @ w_hh, (B,4H) x (4H,P); masked rows add exact zeros (pass-through).
    sgemm(false, false, b, p, G, 1, dgates, tt * b * G, G, f, wHh >>> 2, p, 1, dh, 0, p);
  }
  accumulate(f, dh0, dh);
  accumulate(f, dc0, dc);

  // h_prev of every step is one time-aligned (T*B, P) slice of the boundaries.
  const hPrev = hBase + (seq.reverse ? b * p : 0);
  if (dwHh !== 0) sgemm(true, false, G, p, rows, 1, dgates, 0, G, f, hPrev, p, 1, f, dwHh >>> 2, p);
  if (dwIh !== 0) sgemm(true, false, G, i, rows, 1, dgates, 0, G, f, x >>> 2, i, 1, f, dwIh >>> 2, i);
  if (dx !== 0) sgemm(false, false, rows, i, G, 1, dgates, 0, G, f, wIh >>> 2, i, 1, f, dx >>> 2, i);
  // dW_hr += dh_all^T @ r, (P,T*B) x (T*B,H)
  if (dwHr !== 0 && hasProj) sgemm(true, false, p, H, rows, 1, dhAll, 0, p, f, rBase, H, 1, f, dwHr >>> 2, H);
  biasGrad(f, dbIh, dgates, rows, G);
  biasGrad(f, dbHh, dgates, rows, G);
}
