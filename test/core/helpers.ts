// Shared by the core tests: a seeded JS random source, fixture loading, closeness checks with
// readable failures, and float64 reference implementations of the ops (the naive code the WASM
// kernels are held to). References take flat row-major arrays plus shapes and return flat arrays.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { LstmWasmError, memory, tidy } from 'lstm-wasm';

export type Shape = readonly number[];

// ---------------------------------------------------------------------------------------------
// random data (independent of the library's generator)
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny deterministic 32-bit generator; values are float64 in [0, 1). */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n float32 values uniform in [lo, hi). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const u = seededUniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u();
  return out;
}

/** n float32 values uniform in [lo, hi) with |x| >= gap (keeps inputs away from relu's kink). */
export function randomAwayFromZero(n: number, seed: number, gap: number, lo = -2, hi = 2): Float32Array {
  const out = randomF32(n, seed, lo, hi);
  for (let i = 0; i < n; i++) if (Math.abs(out[i]) < gap) out[i] = out[i] < 0 ? -gap - 0.1 : gap + 0.1;
  return out;
}

export function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------------------------

/** A tensor as the fixture generator writes it (scripts/fixtures/make_fixtures.py). */
export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export function readFixture<T = unknown>(name: string): T {
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Fixture floats are float32 values printed in shortest form: round them back to float32. */
export function fixtureF32(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data);
}

export function fixtureI32(t: FixtureTensor): Int32Array {
  return Int32Array.from(t.data);
}

// ---------------------------------------------------------------------------------------------
// closeness
// ---------------------------------------------------------------------------------------------

export interface Tolerance {
  /** Absolute part of the bound. */
  atol?: number;
  /** Relative part of the bound, times |want|. */
  rtol?: number;
}

/**
 * Index and size of the worst violation of |got - want| <= atol + rtol * |want|, or null when all
 * elements pass. NaN must match NaN, infinities must match exactly.
 */
export function worstMismatch(
  got: ArrayLike<number>, want: ArrayLike<number>, { atol = 0, rtol = 0 }: Tolerance,
): { index: number; got: number; want: number; excess: number } | null {
  if (got.length !== want.length) return { index: -1, got: got.length, want: want.length, excess: Infinity };
  let worst: { index: number; got: number; want: number; excess: number } | null = null;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    let excess: number;
    if (Number.isNaN(w) || Number.isNaN(g)) excess = Number.isNaN(w) && Number.isNaN(g) ? 0 : Infinity;
    else if (!Number.isFinite(w) || !Number.isFinite(g)) excess = g === w ? 0 : Infinity;
    else excess = Math.abs(g - w) / (atol + rtol * Math.abs(w));
    if (excess > 1 && (worst === null || excess > worst.excess)) worst = { index: i, got: g, want: w, excess };
  }
  return worst;
}

/** Throws with the worst element named when got and want are not close. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, label: string): void {
  const w = worstMismatch(got, want, tol);
  if (w === null) return;
  if (w.index < 0) throw new Error(`${label}: length ${w.got}, expected ${w.want}`);
  throw new Error(
    `${label}: element ${w.index} is ${w.got}, expected ${w.want} ` +
      `(|diff| ${Math.abs(w.got - w.want).toExponential(3)} is ${w.excess.toFixed(1)}x the tolerance ` +
      `atol=${tol.atol ?? 0} rtol=${tol.rtol ?? 0})`,
  );
}

/** max |got - want| over all elements (both finite). */
export function maxAbsError(got: ArrayLike<number>, want: ArrayLike<number>): { error: number; index: number } {
  let error = 0;
  let index = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (e > error || Number.isNaN(e)) {
      error = Number.isNaN(e) ? Infinity : e;
      index = i;
    }
  }
  return { error, index };
}

// ---------------------------------------------------------------------------------------------
// float64 reference ops
// ---------------------------------------------------------------------------------------------

type Flat = ArrayLike<number>;

/** The library's broadcasting rule: the smaller operand repeats over the larger's leading dims. */
export function refBinary(op: (x: number, y: number) => number, a: Flat, b: Flat): Float64Array {
  const n = Math.max(a.length, b.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = op(a[i % a.length], b[i % b.length]);
  return out;
}

/**
 * a (..., M, K) @ b (K, N) when b is 2-D, or a (..., M, K) @ b (..., K, N) with equal leading
 * dims. Returns (..., M, N).
 */
export function refMatmul(a: Flat, aShape: Shape, b: Flat, bShape: Shape): Float64Array {
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const n = bShape[bShape.length - 1];
  const batch = size(aShape.slice(0, -2));
  const bBatched = bShape.length > 2;
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k;
    const bo = bBatched ? p * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[ao + i * k + q] * b[bo + q * n + j];
        out[p * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

/** sum_k |a[i,k]| |b[k,j]| for 2-D a (M,K), b (K,N): the scale of the rounding error of C[i,j]. */
export function refAbsMatmul(a: Flat, b: Flat, m: number, k: number, n: number): Float64Array {
  const abs = (x: Flat) => Float64Array.from(x as ArrayLike<number>, Math.abs);
  return refMatmul(abs(a), [m, k], abs(b), [k, n]);
}

/** Swaps the last two dims. */
export function refTranspose(x: Flat, shape: Shape): Float64Array {
  const r = shape[shape.length - 2];
  const c = shape[shape.length - 1];
  const batch = size(shape.slice(0, -2));
  const out = new Float64Array(x.length);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[p * r * c + j * r + i] = x[p * r * c + i * c + j];
  }
  return out;
}

/** (outer, d, inner) sizes of a shape split at `dim`. */
export function splitAt(shape: Shape, dim: number): [number, number, number] {
  return [size(shape.slice(0, dim)), shape[dim], size(shape.slice(dim + 1))];
}

/** Sum over one dim (or everything when dim is undefined), optionally divided by the count. */
export function refReduce(x: Flat, shape: Shape, dim: number | undefined, isMean: boolean): Float64Array {
  if (dim === undefined) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    return Float64Array.of(isMean ? s / x.length : s);
  }
  const d0 = dim < 0 ? dim + shape.length : dim;
  const [outer, d, inner] = splitAt(shape, d0);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += x[(o * d + q) * inner + j];
      out[o * inner + j] = isMean ? s / d : s;
    }
  }
  return out;
}

export function refSlice(x: Flat, shape: Shape, dim: number, start: number, end: number): Float64Array {
  const d0 = dim < 0 ? dim + shape.length : dim;
  const [outer, d, inner] = splitAt(shape, d0);
  const len = end - start;
  const out = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < len; q++) {
      for (let j = 0; j < inner; j++) out[(o * len + q) * inner + j] = x[(o * d + start + q) * inner + j];
    }
  }
  return out;
}

export function refConcat(xs: readonly Flat[], shapes: readonly Shape[], dim: number): Float64Array {
  const d0 = dim < 0 ? dim + shapes[0].length : dim;
  const total = shapes.reduce((acc, s) => acc + s[d0], 0);
  const [outer, , inner] = splitAt(shapes[0], d0);
  const out = new Float64Array(outer * total * inner);
  let at = 0;
  xs.forEach((x, t) => {
    const d = shapes[t][d0];
    for (let o = 0; o < outer; o++) {
      for (let q = 0; q < d; q++) {
        for (let j = 0; j < inner; j++) out[(o * total + at + q) * inner + j] = x[(o * d + q) * inner + j];
      }
    }
    at += d;
  });
  return out;
}

/** log(sum(exp(row))) of row r of x (rows of n), max-subtracted. */
function rowLogSumExp(x: Flat, n: number, r: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[r * n + j]);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j] - m);
  return m + Math.log(s);
}

/** Row-wise (rows of n) softmax, max-subtracted. */
export function refSoftmax(x: Flat, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const lse = rowLogSumExp(x, n, r);
    for (let j = 0; j < n; j++) out[r * n + j] = Math.exp(x[r * n + j] - lse);
  }
  return out;
}

export function refLogSoftmax(x: Flat, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const lse = rowLogSumExp(x, n, r);
    for (let j = 0; j < n; j++) out[r * n + j] = x[r * n + j] - lse;
  }
  return out;
}

/** F.layer_norm over rows of n in float64 (biased variance); weight, bias (n) or null. */
export function refLayerNorm(x: Flat, n: number, weight: Flat | null, bias: Flat | null, eps = 1e-5): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let m = 0;
    for (let j = 0; j < n; j++) m += x[r * n + j];
    m /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (x[r * n + j] - m) ** 2;
    const rstd = 1 / Math.sqrt(v / n + eps);
    for (let j = 0; j < n; j++) out[r * n + j] = (x[r * n + j] - m) * rstd * (weight?.[j] ?? 1) + (bias?.[j] ?? 0);
  }
  return out;
}

/** PyTorch cross_entropy over logits (N, C): mean over non-ignored rows, or their sum. */
export function refCrossEntropy(
  logits: Flat, targets: ArrayLike<number>, classes: number, ignoreIndex: number, reduction: 'mean' | 'sum',
): number {
  const logp = refLogSoftmax(logits, classes);
  let total = 0;
  let count = 0;
  for (let r = 0; r < targets.length; r++) {
    if (targets[r] === ignoreIndex) continue;
    total -= logp[r * classes + targets[r]];
    count++;
  }
  return reduction === 'sum' ? total : total / count;
}

/** Rows of weight (V, C) gathered at ids: (ids.length, C). */
export function refEmbedding(weight: Flat, dim: number, ids: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ids.length * dim);
  for (let r = 0; r < ids.length; r++) for (let j = 0; j < dim; j++) out[r * dim + j] = weight[ids[r] * dim + j];
  return out;
}

export const refSigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Throws with the worst element named unless |got - want| <= bound elementwise. */
export function assertWithinBound(
  got: ArrayLike<number>, want: ArrayLike<number>, bound: ArrayLike<number>, label: string,
): void {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length}, expected ${want.length}`);
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < got.length; i++) {
    const ratio = Math.abs(got[i] - want[i]) / bound[i];
    if (!(ratio <= worstRatio)) {
      worst = i;
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} is ${got[worst]}, expected ${want[worst]} ` +
        `(|diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)} > bound ${bound[worst].toExponential(3)})`,
    );
  }
}

/** Unit roundoff of float32. */
export const F32_EPS = 2 ** -24;

/**
 * C = op(A) op(B) in float64 with op(A) (M,K), op(B) (K,N); A is stored (K,M) when transA, B (N,K)
 * when transB. Also returns sum_k |op(A)[i,k]| |op(B)[k,j]|, which bounds the float32 rounding
 * error of an inner product of length K: |fl(C) - C| <= (K u / (1 - K u)) * that sum.
 */
export function refGemm(
  a: Flat, b: Flat, m: number, k: number, n: number, transA = false, transB = false,
): { c: Float64Array; absC: Float64Array } {
  const c = new Float64Array(m * n);
  const absC = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let q = 0; q < k; q++) {
        const x = transA ? a[q * m + i] : a[i * k + q];
        const y = transB ? b[j * k + q] : b[q * n + j];
        s += x * y;
        t += Math.abs(x * y);
      }
      c[i * n + j] = s;
      absC[i * n + j] = t;
    }
  }
  return { c, absC };
}

/**
 * Runs `call` (inside a scope that builds its inputs, or with `scoped` false outside any scope,
 * where nothing would free a leak), expects an error of class `type` whose message matches every
 * pattern, and checks that the failure allocated nothing that survives.
 */
export function expectFailure(type: typeof LstmWasmError, patterns: (string | RegExp)[], call: () => unknown, scoped = true): Error {
  const before = memory();
  let caught: unknown = null;
  try {
    if (scoped) {
      tidy(() => {
        call();
      });
    } else {
      call();
    }
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ${type.name}, but the call returned normally`).toBeInstanceOf(Error);
  const err = caught as Error;
  expect(err, `${err.name}: ${err.message}`).toBeInstanceOf(type);
  expect(err).toBeInstanceOf(LstmWasmError);
  expect(err.name).toBe(type.name);
  for (const p of patterns) expect(err.message).toMatch(typeof p === 'string' ? new RegExp(escapeRegExp(p)) : p);
  expect(memory().liveTensors, 'no tensor leaked').toBe(before.liveTensors);
  expect(memory().tensorBytes).toBe(before.tensorBytes);
  return err;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
