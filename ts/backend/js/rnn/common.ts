/**
 * What the three recurrent kinds share (crate/rnn/mod.rs): the sequence (sizes, lengths,
 * direction), cache boundaries, bias folding, masking and strided y rows.
 *
 * Dimensions: T time, B batch, I input, H hidden, P LSTM projection (P = H otherwise), G gates.
 * Heap buffers are addressed by element index (`ptr >>> 2`); 0 pointers mean absent. Cache state
 * is kept at the T+1 step boundaries indexed by time: forward boundary t is the state before step
 * t, reverse boundary t+1 is the state before step t, so the T*B rows h_prev of the dW_hh GEMM are
 * one contiguous, time-aligned slice either way.
 */

export class Seq {
  /** Element index of lengths (B) int32 in the heap, or -1 without lengths. */
  private readonly len: number;

  constructor(
    private readonly hi: Int32Array, readonly t: number, readonly b: number, lengths: number, readonly reverse: boolean,
  ) {
    this.len = lengths === 0 ? -1 : lengths >>> 2;
  }

  get hasLengths(): boolean {
    return this.len >= 0;
  }

  /** Time index of processing step `s`. */
  time(s: number): number {
    return this.reverse ? this.t - 1 - s : s;
  }

  /** Whether batch row `bb` takes part in the step at time `t` (t < len[bb]). */
  active(t: number, bb: number): boolean {
    return this.len < 0 || t < this.hi[this.len + bb];
  }

  anyActive(t: number): boolean {
    if (this.len < 0) return true;
    for (let bb = 0; bb < this.b; bb++) if (t < this.hi[this.len + bb]) return true;
    return false;
  }

  /** Cache boundary before step t. */
  prev(t: number): number {
    return this.reverse ? t + 1 : t;
  }

  /** Cache boundary after step t. */
  next(t: number): number {
    return this.reverse ? t : t + 1;
  }

  /** Boundary of the initial state in a (T+1)-boundary cache. */
  first(): number {
    return this.reverse ? this.t : 0;
  }

  /** Boundary of the final state in a (T+1)-boundary cache. */
  last(): number {
    return this.reverse ? 0 : this.t;
  }
}

/**
 * The bias added by the input projection: `b_ih + b_hh` over the first `nHh` of G entries, `b_ih`
 * alone after them (the GRU keeps b_hn inside r * (...)); null when both biases are absent.
 */
export function foldBias(h: Float32Array, bIh: number, bHh: number, g: number, nHh: number): Float32Array | null {
  if (bIh === 0 && bHh === 0) return null;
  const bias = new Float32Array(g);
  if (bIh !== 0) bias.set(h.subarray(bIh >>> 2, (bIh >>> 2) + g));
  if (bHh !== 0) for (let j = 0; j < nHh; j++) bias[j] += h[(bHh >>> 2) + j];
  return bias;
}

/** `B` rows of width `ld` starting at `off` all set to `bias` (G). */
export function fillRows(dst: Float32Array, off: number, rows: number, ld: number, bias: Float32Array): void {
  for (let r = 0; r < rows; r++) dst.set(bias, off + r * ld);
}

/** Initial state (B*w) at `off`: a copy of heap buffer `init` or zeros. */
export function initState(h: Float32Array, dst: Float32Array, off: number, n: number, init: number): void {
  if (init === 0) dst.fill(0, off, off + n);
  else dst.set(h.subarray(init >>> 2, (init >>> 2) + n), off);
}

/** Masked rows of `next` (B rows of width w) carry `prev` unchanged. */
export function carryMasked(a: Float32Array, prev: number, next: number, w: number, seq: Seq, t: number): void {
  if (!seq.hasLengths) return;
  for (let bb = 0; bb < seq.b; bb++) {
    if (!seq.active(t, bb)) a.copyWithin(next + bb * w, prev + bb * w, prev + bb * w + w);
  }
}

/** y rows of time t (row (t,b) at element (t*B + b) * ldy): the new state where active, 0 where masked. */
export function writeY(h: Float32Array, y: number, ldy: number, src: Float32Array, off: number, w: number, seq: Seq, t: number): void {
  if (y === 0) return;
  for (let bb = 0; bb < seq.b; bb++) {
    const row = (y >>> 2) + (t * seq.b + bb) * ldy;
    if (seq.active(t, bb)) h.set(src.subarray(off + bb * w, off + bb * w + w), row);
    else h.fill(0, row, row + w);
  }
}

/** Final state (B*w) from `src` at `off` into heap buffer `dst` (skipped when 0). */
export function writeState(h: Float32Array, dst: number, src: Float32Array, off: number, n: number): void {
  if (dst !== 0) h.set(src.subarray(off, off + n), dst >>> 2);
}

/** Heap gradient `dst` (n) += `src` (n), when wanted. */
export function accumulate(h: Float32Array, dst: number, src: Float32Array): void {
  if (dst === 0) return;
  const d = dst >>> 2;
  for (let j = 0; j < src.length; j++) h[d + j] += src[j];
}

/** Column sums of `dg` (rows, g) added to the heap bias gradient `db` (g), when wanted. */
export function biasGrad(h: Float32Array, db: number, dg: Float32Array, rows: number, g: number): void {
  if (db === 0) return;
  const d = db >>> 2;
  for (let j = 0; j < g; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dg[r * g + j];
    h[d + j] += s;
  }
}

/** dy row (t,b) added into `dst` at `off` (w), when dy is given. */
export function addDy(h: Float32Array, dy: number, ldy: number, row: number, dst: Float32Array, off: number, w: number): void {
  if (dy === 0) return;
  const src = (dy >>> 2) + row * ldy;
  for (let j = 0; j < w; j++) dst[off + j] += h[src + j];
}

/** A (B*w) array holding heap buffer `init` (B*w), or zeros when it is 0. */
export function stateFrom(h: Float32Array, init: number, n: number): Float32Array {
  return init === 0 ? new Float32Array(n) : h.slice(init >>> 2, (init >>> 2) + n);
}
