/**
 * Single-precision GEMM in plain loops, the contract of crate/gemm:
 * `C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C`, row-major with row strides; A is
 * stored (K,M) when `transA`, B is stored (N,K) when `transB`; beta = 0 never reads C.
 *
 * Each row of C is accumulated in float64 and rounded once. The loop order keeps the innermost
 * loop on contiguous memory: row i of op(A) is gathered once, then either i-k-j (B not transposed:
 * a row of B per k, axpy into the accumulator row) or i-j-k (B transposed: a dot product with a
 * row of stored B).
 */

let rowA = new Float64Array(64); // (K) row i of op(A)
let rowC = new Float64Array(64); // (N) accumulator for row i of C

export function sgemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOff: number, lda: number, b: Float32Array, bOff: number, ldb: number,
  beta: number, c: Float32Array, cOff: number, ldc: number,
): void {
  if (m === 0 || n === 0) return;
  alpha = Math.fround(alpha);
  beta = Math.fround(beta);
  if (k === 0 || alpha === 0) {
    scaleC(m, n, beta, c, cOff, ldc);
    return;
  }
  if (rowA.length < k) rowA = new Float64Array(k);
  if (rowC.length < n) rowC = new Float64Array(n);
  const ra = rowA;
  const acc = rowC;
  for (let i = 0; i < m; i++) {
    if (transA) {
      for (let p = 0; p < k; p++) ra[p] = a[aOff + p * lda + i];
    } else {
      const ai = aOff + i * lda;
      for (let p = 0; p < k; p++) ra[p] = a[ai + p];
    }
    if (transB) {
      for (let j = 0; j < n; j++) acc[j] = dot(ra, b, bOff + j * ldb, k);
    } else {
      acc.fill(0, 0, n);
      // Four rows of B per pass: a quarter of the loads and stores of the accumulator row.
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const a0 = ra[p], a1 = ra[p + 1], a2 = ra[p + 2], a3 = ra[p + 3];
        const b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        for (let j = 0; j < n; j++) acc[j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
      for (; p < k; p++) {
        const av = ra[p];
        const bp = bOff + p * ldb;
        for (let j = 0; j < n; j++) acc[j] += av * b[bp + j];
      }
    }
    const ci = cOff + i * ldc;
    if (beta === 0) {
      for (let j = 0; j < n; j++) c[ci + j] = alpha * acc[j];
    } else {
      for (let j = 0; j < n; j++) c[ci + j] = alpha * acc[j] + beta * c[ci + j];
    }
  }
}

/** sum_p x[p] * y[yOff + p] over k terms, with four partial sums so the adds do not wait on each other. */
function dot(x: Float64Array, y: Float32Array, yOff: number, k: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 += x[p] * y[yOff + p];
    s1 += x[p + 1] * y[yOff + p + 1];
    s2 += x[p + 2] * y[yOff + p + 2];
    s3 += x[p + 3] * y[yOff + p + 3];
  }
  for (; p < k; p++) s0 += x[p] * y[yOff + p];
  return (s0 + s1) + (s2 + s3);
}

/** C = beta * C, writing zeros without reading C when beta is 0. */
function scaleC(m: number, n: number, beta: number, c: Float32Array, cOff: number, ldc: number): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * ldc;
    if (beta === 0) c.fill(0, ci, ci + n);
    else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j] = beta * c[ci + j];
  }
}
