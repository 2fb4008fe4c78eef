/**
 * How data-parallel training splits a batch: the B lanes of a (T, B) time-major window go to N
 * replicas in contiguous ranges (sizes differ by at most one), and so do the lanes of the carried
 * state (L, B, H). Replica r always owns the same lanes, so its carried state never moves.
 */

/** The lanes [start, end) of each of `n` replicas over `B` lanes (n <= B). */
export function laneRanges(B: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, r) => [Math.floor((r * B) / n), Math.floor(((r + 1) * B) / n)]);
}

/** Lanes [b0, b1) of a (T, B) time-major batch, as (T, b1 - b0). */
export function takeLanes(x: Int32Array, T: number, B: number, b0: number, b1: number): Int32Array {
  const Bs = b1 - b0;
  const out = new Int32Array(T * Bs);
  for (let t = 0; t < T; t++) out.set(x.subarray(t * B + b0, t * B + b1), t * Bs);
  return out;
}

/** Lanes [b0, b1) of a (L, B, H) state, as (L, b1 - b0, H). */
export function takeStateLanes(s: Float32Array, L: number, B: number, H: number, b0: number, b1: number): Float32Array {
  const Bs = b1 - b0;
  const out = new Float32Array(L * Bs * H);
  for (let l = 0; l < L; l++) out.set(s.subarray((l * B + b0) * H, (l * B + b1) * H), l * Bs * H);
  return out;
}

/** Writes `part` (L, b1 - b0, H) into lanes [b0, b1) of `s` (L, B, H). */
export function putStateLanes(s: Float32Array, part: Float32Array, L: number, B: number, H: number, b0: number, b1: number): void {
  const Bs = b1 - b0;
  for (let l = 0; l < L; l++) s.set(part.subarray(l * Bs * H, (l + 1) * Bs * H), (l * B + b0) * H);
}
