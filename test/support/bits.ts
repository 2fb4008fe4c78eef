/** Bit-for-bit comparison of float32 results, for tests that promise identical arithmetic. */
import { expect } from 'vitest';

/** The float32 bit patterns of `a`: a view of a Float32Array (NaN payloads kept), else a float32 copy. */
function float32Bits(a: ArrayLike<number>): Uint32Array {
  return a instanceof Float32Array ? new Uint32Array(a.buffer, a.byteOffset, a.length) : new Uint32Array(Float32Array.from(a).buffer);
}

/** Equal as float32 bit for bit (so -0 vs 0 or one NaN payload would fail too); names the first difference. */
export function expectSameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  const x = float32Bits(a);
  const y = float32Bits(b);
  const i = x.findIndex((v, k) => v !== y[k]);
  expect(i, `${what}: first differing element ${i} (${a[i]} vs ${b[i]})`).toBe(-1);
}
