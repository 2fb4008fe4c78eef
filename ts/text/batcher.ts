/**
 * Batches for language modelling with truncated backpropagation through time.
 *
 * A token stream of N ids is cut into B contiguous lanes of L = floor((N - 1) / B) tokens, lane b
 * starting at b*L. Window w of every lane is the T tokens [w*T, w*T + T) of that lane, and its
 * targets are the same positions shifted by one. Consecutive windows of a lane are consecutive text,
 * so the hidden state at the end of window w is the right initial state for window w + 1: the
 * trainer carries it across windows (detached: state kept, gradient cut) and resets it to zeros
 * when an epoch starts again at window 0. The trailing L mod T tokens of each lane are not used.
 *
 *   x, y are (T, B) time-major: x[t*B + b] = lane_b[w*T + t], y[t*B + b] = lane_b[w*T + t + 1].
 */
import { ValueError } from '../errors';

export interface LMBatch {
  /** Inputs (T, B) time-major, flat. */
  x: Int32Array;
  /** Targets (T, B) time-major, flat: the next token of each input. */
  y: Int32Array;
  /** True for window 0 of an epoch: the carried hidden state must start from zeros. */
  reset: boolean;
  /** Epoch (0-based) and window (0-based) of this batch. */
  epoch: number;
  window: number;
}

export interface BatcherPosition {
  epoch: number;
  window: number;
}

export class LMBatcher {
  readonly ids: Int32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  /** Tokens per lane. */
  readonly laneLength: number;
  /** Windows in one pass over the lanes (an epoch). */
  readonly windowsPerEpoch: number;
  private epoch = 0;
  private window = 0;

  constructor(ids: Int32Array, batchSize: number, seqLen: number, name = 'LMBatcher') {
    for (const [k, v] of [['batchSize', batchSize], ['seqLen', seqLen]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new ValueError(`${name}: ${k} must be a positive integer, got ${v}`);
    }
    this.ids = ids;
    this.batchSize = batchSize;
    this.seqLen = seqLen;
    this.laneLength = Math.floor(Math.max(0, ids.length - 1) / batchSize);
    this.windowsPerEpoch = Math.floor(this.laneLength / seqLen);
    if (this.windowsPerEpoch === 0) {
      throw new ValueError(`${name}: ${ids.length} tokens are too few for batch ${batchSize} x seq ${seqLen} (need at least ${batchSize * seqLen + 1})`);
    }
  }

  /** Tokens in one batch (T*B). */
  get tokensPerBatch(): number {
    return this.batchSize * this.seqLen;
  }

  /** Where the next `next()` reads from. */
  get position(): BatcherPosition {
    return { epoch: this.epoch, window: this.window };
  }

  set position(p: BatcherPosition) {
    if (!Number.isInteger(p.epoch) || p.epoch < 0 || !Number.isInteger(p.window) || p.window < 0 || p.window >= this.windowsPerEpoch) {
      throw new ValueError(`LMBatcher.position: {epoch: ${p.epoch}, window: ${p.window}} is out of range (windows per epoch: ${this.windowsPerEpoch})`);
    }
    this.epoch = p.epoch;
    this.window = p.window;
  }

  /** The batch of window `w` (0 <= w < windowsPerEpoch), without moving the position. */
  batchAt(w: number, epoch = this.epoch): LMBatch {
    const T = this.seqLen;
    const B = this.batchSize;
    const L = this.laneLength;
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const base = b * L + w * T;
      for (let t = 0; t < T; t++) {
        x[t * B + b] = this.ids[base + t];
        y[t * B + b] = this.ids[base + t + 1];
      }
    }
    return { x, y, reset: w === 0, epoch, window: w };
  }

  /** The next batch; after the last window of an epoch, the next epoch starts at window 0. */
  next(): LMBatch {
    const batch = this.batchAt(this.window);
    this.window++;
    if (this.window === this.windowsPerEpoch) {
      this.window = 0;
      this.epoch++;
    }
    return batch;
  }
}

/**
 * Splits a token stream into a training head and a validation tail (the last `valFraction` of the
 * tokens, contiguous, so validation text is never seen in training).
 */
export function trainValSplit(ids: Int32Array, valFraction: number): { train: Int32Array; val: Int32Array } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new ValueError(`trainValSplit: valFraction must be in [0, 1), got ${valFraction}`);
  const nVal = Math.floor(ids.length * valFraction);
  return { train: ids.subarray(0, ids.length - nVal), val: ids.subarray(ids.length - nVal) };
}
