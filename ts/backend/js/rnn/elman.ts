/**
 * Elman RNN (PyTorch nn.RNN, crate/rnn/elman.rs): h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh),
 * act tanh or relu; the derivative is read off the output h. Cache (rnnCacheLen floats): h (T+1,B,H)
 * boundaries.
 */
import type { JsHeap } from '../heap';
import { sgemm } from '../gemm';
import {
  Seq, accumulate, addDy, biasGrad, carryMasked, fillRows, foldBias, initState, stateFrom, writeState, writeY,
} from './common';

export function rnnCacheLen(t: number, b: number, h: number): number {
  return (t + 1) * b * h;
}

/** One layer-direction over the whole sequence (`relu` != 0: relu, else tanh). */
export function rnnForward(
  heap: JsHeap, t: number, b: number, i: number, H: number, relu: number, x: number, wIh: number, wHh: number,
  bIh: number, bHh: number, h0: number, lengths: number, reverse: number, y: number, ldy: number, hN: number,
  cache: number,
): void {
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const hasCache = cache !== 0;
  const bias = foldBias(f, bIh, bHh, H, H);
  const pre = new Float32Array(b * H); // (B,H) pre-activations of one step
  const hA = hasCache ? f : new Float32Array(2 * b * H);
  const hBase = hasCache ? cache >>> 2 : 0;
  const first = hasCache ? seq.first() : 0;
  const last = hasCache ? seq.last() : t % 2;
  initState(f, hA, hBase + first * b * H, b * H, h0);

  for (let s = 0; s < t; s++) {
    const tt = seq.time(s);
    const prev = hasCache ? seq.prev(tt) : s % 2;
    const next = hasCache ? seq.next(tt) : (s + 1) % 2;
    const hPrev = hBase + prev * b * H, hNext = hBase + next * b * H;
    if (bias !== null) fillRows(pre, 0, b, H, bias);
    sgemm(false, true, b, H, i, 1, f, (x >>> 2) + tt * b * i, i, f, wIh >>> 2, i, bias !== null ? 1 : 0, pre, 0, H);
    if (seq.anyActive(tt)) sgemm(false, true, b, H, H, 1, hA, hPrev, H, f, wHh >>> 2, H, 1, pre, 0, H);
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      for (let j = 0; j < H; j++) {
        const v = pre[bb * H + j];
        hA[hNext + bb * H + j] = relu ? (v < 0 ? 0 : v) : Math.tanh(v);
      }
    }
    carryMasked(hA, hPrev, hNext, H, seq, tt);
    writeY(f, y, ldy, hA, hNext, H, seq, tt);
  }
  writeState(f, hN, hA, hBase + last * b * H, b * H);
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
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const rows = t * b;
  const hBase = cache >>> 2;
  const dpre = new Float32Array(rows * H); // (T,B,H); masked rows stay 0
  const dh = stateFrom(f, dhN, b * H); // (B,H)

  for (let s = t - 1; s >= 0; s--) {
    const tt = seq.time(s);
    if (!seq.anyActive(tt)) continue;
    const next = seq.next(tt);
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      const row = tt * b + bb;
      addDy(f, dy, ldy, row, dh, bb * H, H);
      const out = hBase + (next * b + bb) * H;
      for (let j = 0; j < H; j++) {
        const yj = f[out + j], d = dh[bb * H + j];
        dpre[row * H + j] = relu ? (yj > 0 ? d : 0) : d * (1 - yj * yj);
      }
      dh.fill(0, bb * H, bb * H + H);
    }
    // dh_prev += dpre_t @ w_hh, (B,H) x (H,H); masked rows add exact zeros.
    sgemm(false, false, b, H, H, 1, dpre, tt * b * H, H, f, wHh >>> 2, H, 1, dh, 0, H);
  }
  accumulate(f, dh0, dh);

  const hPrev = hBase + (seq.reverse ? b * H : 0);
  if (dwHh !== 0) sgemm(true, false, H, H, rows, 1, dpre, 0, H, f, hPrev, H, 1, f, dwHh >>> 2, H);
  if (dwIh !== 0) sgemm(true, false, H, i, rows, 1, dpre, 0, H, f, x >>> 2, i, 1, f, dwIh >>> 2, i);
  if (dx !== 0) sgemm(false, false, rows, i, H, 1, dpre, 0, H, f, wIh >>> 2, i, 1, f, dx >>> 2, i);
  biasGrad(f, dbIh, dpre, rows, H);
  biasGrad(f, dbHh, dpre, rows, H);
}
