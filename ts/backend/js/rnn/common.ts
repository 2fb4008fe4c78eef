/**
 * What the three recurrent kinds share (crate/rnn/mod.rs): the sequence (sizes, lengths,
 * direction) and its cache boundaries. The loops over it are in driver.ts.
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
