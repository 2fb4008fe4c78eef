/**
 * IEEE binary16 (float16) in JavaScript, as crate/quant.rs converts it: float32 to float16 bits
 * rounded to nearest even (overflow to infinity), and float16 bits to their exact value. The JS
 * backend's kernels and the safetensors reader share them.
 */

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);

/** float16 bits of `v` (rounded to float32 first, then to nearest even). */
export function f32ToF16(v: number): number {
  f32Box[0] = v;
  const bits = u32Box[0];
  const sign = (bits >>> 16) & 0x8000;
  const a = bits & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (a >= 0x47800000) return sign | 0x7c00;
  if (a >= 0x38800000) {
    const m = a - 0x38000000;
    return sign | ((m + 0x0fff + ((m >>> 13) & 1)) >>> 13);
  }
  const e = a >>> 23;
  if (e < 102) return sign;
  const mant = (a & 0x007fffff) | 0x00800000;
  const shift = 126 - e;
  const q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return sign | (rem > halfway || (rem === halfway && (q & 1) === 1) ? q + 1 : q);
}

/** The value of float16 bits `h` (exact; infinities and NaN kept). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
