//! GEMM for a handful of rows of op(A) (m <= SMALL_M), e.g. one token at batch 1. Packing B would
//! cost as much as the multiply itself here, so these kernels stream B once, straight from its
//! storage. Memory bandwidth, not arithmetic, bounds them.

use crate::simd::F32x4;

/// Largest m sent here instead of through the packed path.
pub const SMALL_M: usize = 4;

/// `C = alpha * op(A) * op(B) + beta * C` for m <= SMALL_M (same contract as `gemm::sgemm`).
pub fn sgemm_small_m(
    trans_a: bool, trans_b: bool, m: usize, n: usize, k: usize, alpha: f32,
    a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize,
) {
    debug_assert!(m >= 1 && m <= SMALL_M);
    // Gather op(A) into contiguous rows (m*k floats, small).
    let mut rows = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for (i, row) in rows.iter_mut().enumerate().take(m) {
        *row = if trans_a { (0..k).map(|p| a[p * lda + i]).collect() } else { a[i * lda..i * lda + k].to_vec() };
    }
    for (i, row) in rows.iter().enumerate().take(m) {
        let c_row = &mut c[i * ldc..i * ldc + n];
        if trans_b {
            dots(row, b, ldb, n, k, alpha, beta, c_row);
        } else {
            axpys(row, b, ldb, n, k, alpha, beta, c_row);
        }
    }
}

/// c[j] = alpha * dot(a, B[j, :]) + beta * c[j], B stored (N, K). One row of B at a time, so B is
/// read as a single sequential stream (what the hardware prefetcher follows best when B comes from
/// DRAM), with four accumulators over k to keep four independent add chains in flight.
#[allow(clippy::too_many_arguments)]
fn dots(a: &[f32], b: &[f32], ldb: usize, n: usize, k: usize, alpha: f32, beta: f32, c: &mut [f32]) {
    let k16 = k / 16 * 16;
    for j in 0..n {
        let row = &b[j * ldb..j * ldb + k];
        let (mut s0, mut s1, mut s2, mut s3) = (F32x4::zero(), F32x4::zero(), F32x4::zero(), F32x4::zero());
        let mut p = 0;
        // SAFETY: p + 16 <= k16 <= k, and a and row hold k floats.
        unsafe {
            let (ap, rp) = (a.as_ptr(), row.as_ptr());
            while p < k16 {
                s0 = F32x4::load(ap.add(p)).mul_add(F32x4::load(rp.add(p)), s0);
                s1 = F32x4::load(ap.add(p + 4)).mul_add(F32x4::load(rp.add(p + 4)), s1);
                s2 = F32x4::load(ap.add(p + 8)).mul_add(F32x4::load(rp.add(p + 8)), s2);
                s3 = F32x4::load(ap.add(p + 12)).mul_add(F32x4::load(rp.add(p + 12)), s3);
                p += 16;
            }
        }
        let tail: f32 = (k16..k).map(|q| a[q] * row[q]).sum();
        let v = alpha * (s0.add(s1).add(s2.add(s3)).sum() + tail);
        c[j] = if beta == 0.0 { v } else { v + beta * c[j] };
    }
}

/// c[:] = alpha * sum_p a[p] * B[p, :] + beta * c[:], B stored (K, N): sixteen columns at a time.
#[allow(clippy::too_many_arguments)]
fn axpys(a: &[f32], b: &[f32], ldb: usize, n: usize, k: usize, alpha: f32, beta: f32, c: &mut [f32]) {
    let n16 = n / 16 * 16;
    let va = F32x4::splat(alpha);
    let vb = F32x4::splat(beta);
    let mut j = 0;
    while j < n16 {
        let mut acc = [F32x4::zero(); 4];
        for (p, &ap) in a.iter().enumerate().take(k) {
            let s = F32x4::splat(ap);
            let bp = &b[p * ldb + j..p * ldb + j + 16];
            // SAFETY: bp holds 16 floats.
            unsafe {
                for (q, acc_q) in acc.iter_mut().enumerate() {
                    *acc_q = s.mul_add(F32x4::load(bp.as_ptr().add(4 * q)), *acc_q);
                }
            }
        }
        for (q, acc_q) in acc.iter().enumerate() {
            let cp = &mut c[j + 4 * q..j + 4 * q + 4];
            // SAFETY: cp holds 4 floats.
            unsafe {
                let v = acc_q.mul(va);
                let v = if beta == 0.0 { v } else { v.add(F32x4::load(cp.as_ptr()).mul(vb)) };
                v.store(cp.as_mut_ptr());
            }
        }
        j += 16;
    }
    for jj in n16..n {
        let mut t = 0.0f32;
        for p in 0..k {
            t += a[p] * b[p * ldb + jj];
        }
        let v = alpha * t;
        c[jj] = if beta == 0.0 { v } else { v + beta * c[jj] };
    }
}
