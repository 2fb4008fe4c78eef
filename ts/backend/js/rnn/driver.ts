/**
 * The one sequence driver every recurrent kind runs through (crate/rnn/driver.rs): the loops live
 * here once, the math of each kind behind `Cell` (lstm.ts, gru.ts, elman.ts).
 *
 * Forward: per step, gates = x_t @ w_ih^T + folded bias, then h_prev @ w_hh^T added into them (or
 * kept apart, `hiddenApart`: the GRU's r * (W_hn h + b_hn)); per active row the cell writes c and
 * its output (h itself, or r before the LSTM projection h = r @ w_hr^T); masked rows carry the
 * state; y[t] = h (0 where masked). Backward: per step in reverse processing order, dh_t = dh +
 * dy[t] (into dhAll[t], and dr = dh_t @ w_hr, with a projection), per active row the cell's
 * gradients, dh_prev += d(hidden-side gates) @ w_hh; then dW_hh, dW_ih, dx (dW_hr) over all T*B
 * rows and bias column sums.
 *
 * Every size a kind differs in is a multiple of H. The cache is one layout for every kind, the
 * regions a kind does not use being empty: gates (T,B,gateLd*H) if `cachesGates` | c (T+1,B,H)
 * if `hasC` | h (T+1,B,P) | r (T,B,H) with a projection.
 */
import type { JsHeap } from '../heap';
import { sgemm } from '../gemm';
import { Seq } from './common';

/** One active row of one step as the driver hands it to `Cell.forwardRow`: (array, offset) pairs. */
export interface ForwardRow {
  /** Gate row (gateLd*H): the input projection of the first gates*H columns in, what backward reads out. */
  g: Float32Array;
  gOff: number;
  /** h_prev @ w_hh^T (gates*H), `hiddenApart` cells only. */
  hg: Float32Array;
  hgOff: number;
  /** h_prev (P) at `hPrev` of `h`. */
  h: Float32Array;
  hPrev: number;
  /** c_prev (H) at `cPrev` and c (H, written) at `cNext` of `c`; `hasC` cells only. */
  c: Float32Array;
  cPrev: number;
  cNext: number;
  /** The cell's output (H, written): h itself, or r before the projection. */
  out: Float32Array;
  outOff: number;
}

/** One active row of one step as the driver hands it to `Cell.backwardRow`. */
export interface BackwardRow {
  /** dL/d(input-side gate pre-activations) (gates*H), OVERWRITTEN. */
  dxg: Float32Array;
  dxgOff: number;
  /** dL/d(hidden-side gate pre-activations) (gates*H), OVERWRITTEN; `hiddenApart` cells only. */
  dhg: Float32Array;
  dhgOff: number;
  /** dL/d(out) (H) in; out: the part of dL/dh_prev that does not pass through w_hh (0 but for the GRU). */
  dout: Float32Array;
  doutOff: number;
  /** dL/dc (H) in, dL/dc_prev out; `hasC` cells only. */
  dc: Float32Array;
  dcOff: number;
  /** What forward saved, all in the heap array `f`: the cached gate row (`cachesGates`), h before
   * and after the step (P), c before and after (H, `hasC`). */
  f: Float32Array;
  g: number;
  hPrev: number;
  h: number;
  cPrev: number;
  c: number;
}

/** The math of one kind of recurrent cell, one batch row at a time (crate `driver::Cell`). */
export interface Cell {
  /** Gate columns in units of H: of x @ w_ih^T, of h_prev @ w_hh^T and of their gradients. */
  readonly gates: number;
  /** Floats of one cached gate row in units of H (GRU: [r z n hn], 4). */
  readonly gateLd: number;
  /** Leading entries of b_hh, in units of H, that add straight into the input projection. */
  readonly foldedHh: number;
  /** A second state c (H) beside h (LSTM). */
  readonly hasC: boolean;
  /** The gate rows go to the cache (else backward recomputes from h, as the RNN). */
  readonly cachesGates: boolean;
  /** h_prev @ w_hh^T is kept apart from the input-side gates, and so is its gradient (GRU). */
  readonly hiddenApart: boolean;
  forwardRow(r: ForwardRow): void;
  backwardRow(r: BackwardRow): void;
}

/** Heap pointers of one layer-direction's parameters (0 = absent; wHr: LSTM projection). */
export interface WeightPtrs {
  wIh: number;
  wHh: number;
  bIh: number;
  bHh: number;
  wHr: number;
}

/**
 * `c (M,N) [+]= a (M,K) @ W^T` for one of a layer's matrices (w_ih, w_hh, w_hr): rows of a at
 * stride lda from aOff, of c at ldc from cOff; beta 0 overwrites, 1 adds. Forward uses these, so
 * that weights stored another way (quantized, js/quant.ts) run through the same loop.
 */
export type Product = (m: number, a: Float32Array, aOff: number, lda: number, beta: number, c: Float32Array, cOff: number, ldc: number) => void;

export interface Products {
  ih: Product;
  hh: Product;
  hr: Product | null;
}

/** The products of f32 weights at `w` (n rows of k each): sgemm with W transposed. */
function f32Products(heap: JsHeap, w: WeightPtrs, i: number, G: number, p: number, H: number): Products {
  const of = (ptr: number, n: number, k: number): Product => (m, a, aOff, lda, beta, c, cOff, ldc) =>
    sgemm(false, true, m, n, k, 1, a, aOff, lda, heap.f32, ptr >>> 2, k, beta, c, cOff, ldc);
  return { ih: of(w.wIh, G, i), hh: of(w.wHh, G, p), hr: w.wHr !== 0 ? of(w.wHr, p, H) : null };
}

/** Heap pointers of the gradients backward accumulates into (0 = not wanted). */
export interface GradPtrs {
  dx: number;
  dwIh: number;
  dwHh: number;
  dbIh: number;
  dbHh: number;
  dwHr: number;
  dh0: number;
  dc0: number;
}

/** Floats of the cache of `forward` with `cell` (the layout in the module doc). */
export function cacheLen(cell: Cell, t: number, b: number, h: number, p: number, hasProj: boolean): number {
  return (cell.cachesGates ? t * b * cell.gateLd * h : 0) + (cell.hasC ? (t + 1) * b * h : 0) + (t + 1) * b * p +
    (hasProj ? t * b * h : 0);
}

/**
 * One layer-direction over the whole sequence. x (T,B,I); writes y rows (P) at stride ldy, hN (B,P),
 * cN (B,H) and, when `cache` is given, the cache for `backward`. Without a cache only two state
 * boundaries and one step of gates are kept.
 */
export function forward(
  cell: Cell, heap: JsHeap, t: number, b: number, i: number, H: number, p: number, x: number, w: WeightPtrs,
  h0: number, c0: number, lengths: number, reverse: number, y: number, ldy: number, hN: number, cN: number,
  cache: number, products?: Products,
): void {
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = cell.gates * H, ldg = cell.gateLd * H, C = cell.hasC ? H : 0;
  const mul = products ?? f32Products(heap, w, i, G, p, H);
  const hasProj = w.wHr !== 0;
  const hasCache = cache !== 0;
  const gatesInCache = hasCache && cell.cachesGates;
  const bias = foldBias(f, w.bIh, w.bHh, G, cell.foldedHh * H);
  const hg = new Float32Array(cell.hiddenApart ? b * G : 0); // (B,G) h_prev @ w_hh^T
  // (array, base) of gates (B,gateLd*H) per step, c boundaries (B,H), h boundaries (B,P), r rows (B,H).
  let gA: Float32Array, cA: Float32Array, hA: Float32Array, rA: Float32Array;
  let gBase = 0, cBase = 0, hBase = 0, rBase = 0;
  if (hasCache) {
    cA = hA = rA = f;
    gBase = cache >>> 2;
    cBase = gBase + (cell.cachesGates ? t * b * ldg : 0);
    hBase = cBase + (t + 1) * b * C;
    rBase = hBase + (t + 1) * b * p;
  } else {
    cA = new Float32Array(2 * b * C);
    hA = new Float32Array(2 * b * p);
    rA = new Float32Array(hasProj ? b * H : 0);
  }
  if (gatesInCache) {
    gA = f;
  } else {
    gA = new Float32Array(b * ldg);
    gBase = 0;
  }
  const first = hasCache ? seq.first() : 0;
  const last = hasCache ? seq.last() : t % 2;
  initState(f, hA, hBase + first * b * p, b * p, h0);
  initState(f, cA, cBase + first * b * C, b * C, c0);
  const row: ForwardRow = {
    g: gA, gOff: 0, hg, hgOff: 0, h: hA, hPrev: 0, c: cA, cPrev: 0, cNext: 0, out: hasProj ? rA : hA, outOff: 0,
  };

  for (let s = 0; s < t; s++) {
    const tt = seq.time(s);
    const prev = hasCache ? seq.prev(tt) : s % 2;
    const next = hasCache ? seq.next(tt) : (s + 1) % 2;
    const gOff = gatesInCache ? gBase + tt * b * ldg : 0;
    const hPrev = hBase + prev * b * p, hNext = hBase + next * b * p;
    const cPrev = cBase + prev * b * C, cNext = cBase + next * b * C;
    // gates = x_t @ w_ih^T + bias (+ h_prev @ w_hh^T when any row is active)
    if (bias !== null) fillRows(gA, gOff, b, ldg, bias);
    mul.ih(b, f, (x >>> 2) + tt * b * i, i, bias !== null ? 1 : 0, gA, gOff, ldg);
    if (seq.anyActive(tt)) {
      if (cell.hiddenApart) mul.hh(b, hA, hPrev, p, 0, hg, 0, G);
      else mul.hh(b, hA, hPrev, p, 1, gA, gOff, ldg);
    }
    // The cell's output goes to its own r rows with a projection, else straight into h_next.
    const outOff = hasProj ? rBase + (hasCache ? tt * b * H : 0) : hNext;
    for (let bb = 0; bb < b; bb++) {
      const g = gOff + bb * ldg;
      if (!seq.active(tt, bb)) {
        if (cell.cachesGates) gA.fill(0, g, g + ldg); // nothing of a masked step may reach backward
        if (hasProj) rA.fill(0, outOff + bb * H, outOff + bb * H + H);
        continue;
      }
      row.gOff = g;
      row.hgOff = bb * G;
      row.hPrev = hPrev + bb * p;
      row.cPrev = cPrev + bb * C;
      row.cNext = cNext + bb * C;
      row.outOff = outOff + bb * H;
      cell.forwardRow(row);
    }
    // h = r @ w_hr^T, (B,H) x (H,P)
    if (hasProj) mul.hr!(b, rA, outOff, H, 0, hA, hNext, p);
    carryMasked(hA, hPrev, hNext, p, seq, tt);
    carryMasked(cA, cPrev, cNext, C, seq, tt);
    writeY(f, y, ldy, hA, hNext, p, seq, tt);
  }
  writeState(f, hN, hA, hBase + last * b * p, b * p);
  writeState(f, cN, cA, cBase + last * b * C, b * C);
}

/**
 * BPTT from the cache of `forward` with the same cell, x, weights, lengths and direction. dy rows (P)
 * at stride ldy, dhN (B,P), dcN (B,H): 0 = zero. ACCUMULATES into each gradient that is given.
 */
export function backward(
  cell: Cell, heap: JsHeap, t: number, b: number, i: number, H: number, p: number, x: number, w: WeightPtrs,
  lengths: number, reverse: number, cache: number, dy: number, ldy: number, dhN: number, dcN: number, d: GradPtrs,
): void {
  const f = heap.f32;
  const seq = new Seq(heap.i32, t, b, lengths, reverse !== 0);
  const G = cell.gates * H, ldg = cell.gateLd * H, C = cell.hasC ? H : 0;
  const rows = t * b;
  const hasProj = w.wHr !== 0;
  const gBase = cache >>> 2;
  const cBase = gBase + (cell.cachesGates ? rows * ldg : 0);
  const hBase = cBase + (t + 1) * b * C;
  const rBase = hBase + (t + 1) * b * p;

  const dxg = new Float32Array(rows * G); // (T,B,G) dL/d(input-side gates), time-aligned; masked rows stay 0
  const dhg = cell.hiddenApart ? new Float32Array(rows * G) : dxg; // (T,B,G) the hidden side
  const dh = stateFrom(f, dhN, b * p); // (B,P)
  const dc = stateFrom(f, dcN, b * C); // (B,H) or empty
  const dhAll = new Float32Array(hasProj ? rows * p : 0); // (T,B,P) every dh_t, for dW_hr
  const dr = new Float32Array(hasProj ? b * H : 0); // (B,H)
  const row: BackwardRow = {
    dxg, dxgOff: 0, dhg, dhgOff: 0, dout: hasProj ? dr : dh, doutOff: 0, dc, dcOff: 0,
    f, g: 0, hPrev: 0, h: 0, cPrev: 0, c: 0,
  };

  for (let s = t - 1; s >= 0; s--) {
    const tt = seq.time(s);
    if (!seq.anyActive(tt)) continue; // dh, dc pass through; gate gradient rows stay 0
    const prev = seq.prev(tt), next = seq.next(tt);
    // dh_t = dh + dy[t] on active rows: in place in dh, or into dhAll[t] with a projection (dW_hr
    // needs every dh_t), then dr = dh_t @ w_hr, (B,P) x (P,H).
    if (hasProj) {
      for (let bb = 0; bb < b; bb++) {
        if (!seq.active(tt, bb)) continue;
        const r = tt * b + bb;
        dhAll.set(dh.subarray(bb * p, bb * p + p), r * p);
        addDy(f, dy, ldy, r, dhAll, r * p, p);
        dh.fill(0, bb * p, bb * p + p); // consumed; the GEMM below adds its dh_prev
      }
      sgemm(false, false, b, H, p, 1, dhAll, tt * b * p, p, f, w.wHr >>> 2, H, 0, dr, 0, H);
    }
    for (let bb = 0; bb < b; bb++) {
      if (!seq.active(tt, bb)) continue;
      const r = tt * b + bb;
      if (!hasProj) addDy(f, dy, ldy, r, dh, bb * p, p);
      row.dxgOff = row.dhgOff = r * G;
      row.doutOff = bb * (hasProj ? H : p);
      row.dcOff = bb * C;
      row.g = gBase + r * ldg;
      row.hPrev = hBase + (prev * b + bb) * p;
      row.h = hBase + (next * b + bb) * p;
      row.cPrev = cBase + (prev * b + bb) * C;
      row.c = cBase + (next * b + bb) * C;
      cell.backwardRow(row);
    }
    // dh_prev += dhg_t @ w_hh, (B,G) x (G,P); masked rows add exact zeros (pass-through).
    sgemm(false, false, b, p, G, 1, dhg, tt * b * G, G, f, w.wHh >>> 2, p, 1, dh, 0, p);
  }
  accumulate(f, d.dh0, dh);
  accumulate(f, d.dc0, dc);

  // h_prev of every step is one time-aligned (T*B, P) slice of the boundaries.
  const hPrev = hBase + (seq.reverse ? b * p : 0);
  if (d.dwHh !== 0) sgemm(true, false, G, p, rows, 1, dhg, 0, G, f, hPrev, p, 1, f, d.dwHh >>> 2, p);
  if (d.dwIh !== 0) sgemm(true, false, G, i, rows, 1, dxg, 0, G, f, x >>> 2, i, 1, f, d.dwIh >>> 2, i);
  if (d.dx !== 0) sgemm(false, false, rows, i, G, 1, dxg, 0, G, f, w.wIh >>> 2, i, 1, f, d.dx >>> 2, i);
  // dW_hr += dh_all^T @ r, (P,T*B) x (T*B,H)
  if (d.dwHr !== 0 && hasProj) sgemm(true, false, p, H, rows, 1, dhAll, 0, p, f, rBase, H, 1, f, d.dwHr >>> 2, H);
  biasGrad(f, d.dbIh, dxg, rows, G);
  biasGrad(f, d.dbHh, dhg, rows, G);
}

/**
 * The bias added by the input projection: `b_ih + b_hh` over the first `nHh` of G entries, `b_ih`
 * alone after them (the GRU keeps b_hn inside r * (...)); null when both biases are absent.
 */
function foldBias(h: Float32Array, bIh: number, bHh: number, g: number, nHh: number): Float32Array | null {
  if (bIh === 0 && bHh === 0) return null;
  const bias = new Float32Array(g);
  if (bIh !== 0) bias.set(h.subarray(bIh >>> 2, (bIh >>> 2) + g));
  if (bHh !== 0) for (let j = 0; j < nHh; j++) bias[j] += h[(bHh >>> 2) + j];
  return bias;
}

/** `B` rows of width `ld` starting at `off` all set to `bias` (G). */
function fillRows(dst: Float32Array, off: number, rows: number, ld: number, bias: Float32Array): void {
  for (let r = 0; r < rows; r++) dst.set(bias, off + r * ld);
}

/** Initial state (B*w) at `off`: a copy of heap buffer `init` or zeros. */
function initState(h: Float32Array, dst: Float32Array, off: number, n: number, init: number): void {
  if (init === 0) dst.fill(0, off, off + n);
  else dst.set(h.subarray(init >>> 2, (init >>> 2) + n), off);
}

/** Masked rows of `next` (B rows of width w) carry `prev` unchanged. */
function carryMasked(a: Float32Array, prev: number, next: number, w: number, seq: Seq, t: number): void {
  if (!seq.hasLengths || w === 0) return;
  for (let bb = 0; bb < seq.b; bb++) {
    if (!seq.active(t, bb)) a.copyWithin(next + bb * w, prev + bb * w, prev + bb * w + w);
  }
}

/** y rows of time t (row (t,b) at element (t*B + b) * ldy): the new state where active, 0 where masked. */
function writeY(h: Float32Array, y: number, ldy: number, src: Float32Array, off: number, w: number, seq: Seq, t: number): void {
  if (y === 0) return;
  for (let bb = 0; bb < seq.b; bb++) {
    const row = (y >>> 2) + (t * seq.b + bb) * ldy;
    if (seq.active(t, bb)) h.set(src.subarray(off + bb * w, off + bb * w + w), row);
    else h.fill(0, row, row + w);
  }
}

/** Final state (B*w) from `src` at `off` into heap buffer `dst` (skipped when 0). */
function writeState(h: Float32Array, dst: number, src: Float32Array, off: number, n: number): void {
  if (dst !== 0) h.set(src.subarray(off, off + n), dst >>> 2);
}

/** Heap gradient `dst` (n) += `src` (n), when wanted. */
function accumulate(h: Float32Array, dst: number, src: Float32Array): void {
  if (dst === 0) return;
  const d = dst >>> 2;
  for (let j = 0; j < src.length; j++) h[d + j] += src[j];
}

/** Column sums of `dg` (rows, g) added to the heap bias gradient `db` (g), when wanted. */
function biasGrad(h: Float32Array, db: number, dg: Float32Array, rows: number, g: number): void {
  if (db === 0) return;
  const d = db >>> 2;
  for (let j = 0; j < g; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dg[r * g + j];
    h[d + j] += s;
  }
}

/** dy row (t,b) added into `dst` at `off` (w), when dy is given. */
function addDy(h: Float32Array, dy: number, ldy: number, row: number, dst: Float32Array, off: number, w: number): void {
  if (dy === 0) return;
  const src = (dy >>> 2) + row * ldy;
  for (let j = 0; j < w; j++) dst[off + j] += h[src + j];
}

/** A (B*w) array holding heap buffer `init` (B*w), or zeros when it is 0. */
function stateFrom(h: Float32Array, init: number, n: number): Float32Array {
  return init === 0 ? new Float32Array(n) : h.slice(init >>> 2, (init >>> 2) + n);
}
