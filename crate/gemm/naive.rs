//! The reference sgemm: a plain triple loop with the same contract as `gemm::sgemm`.
//! The fast path is tested against this on awkward sizes; it is never used on a hot path.

/// `C = alpha * op(A) * op(B) + beta * C` (row-major; see `gemm::sgemm` for the layout).
pub fn sgemm(
    trans_a: bool, trans_b: bool, m: usize, n: usize, k: usize, alpha: f32,
    a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                let av = if trans_a { a[p * lda + i] } else { a[i * lda + p] };
                let bv = if trans_b { b[j * ldb + p] } else { b[p * ldb + j] };
                acc += av as f64 * bv as f64;
            }
            let old = if beta == 0.0 { 0.0 } else { beta * c[i * ldc + j] };
            c[i * ldc + j] = alpha * acc as f32 + old;
        }
    }
}
