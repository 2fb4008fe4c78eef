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
    for i in 0..m {
        let c_row = &mut c[i * ldc..i * ldc + n];
        if !trans_a {
            row_times_b(&a[i * lda..i * lda + k], trans_b, b, ldb, n, k, alpha, beta, c_row);
            continue;
        }
        // Row i of op(A) is column i of the stored A: gather it GATHER floats at a time into the
        // stack (no heap: kernels must not allocate) and accumulate the partial products.
        let mut gathered = [0.0f32; GATHER];
        for p0 in (0..k).step_by(GATHER) {
            let kc = GATHER.min(k - p0);
            for (q, g) in gathered[..kc].iter_mut().enumerate() {
                *g = a[(p0 + q) * lda + i];
            }
            let b_part = if trans_b { &b[p0..] } else { &b[p0 * ldb..] };
            let beta_part = if p0 == 0 { beta } else { 1.0 };
            row_times_b(&gathered[..kc], trans_b, b_part, ldb, n, kc, alpha, beta_part, c_row);
        }
    }
}

/// Floats of a transposed A's column gathered per pass (4 KiB of stack).
const GATHER: usize = 1024;

/// c_row (N) = alpha * row (K) @ op(B) + beta * c_row.
#[allow(clippy::too_many_arguments)]
fn row_times_b(row: &[f32], trans_b: bool, b: &[f32], ldb: usize, n: usize, k: usize, alpha: f32, beta: f32, c_row: &mut [f32]) {
    if trans_b {
        dots(row, b, ldb, n, k, alpha, beta, c_row);
    } else {
        axpys(row, b, ldb, n, k, alpha, beta, c_row);
    }
}

/// Rows of B read at once by `dots`, each from its own part of B.
const STREAMS: usize = 4;

/// c[j] = alpha * dot(a, B[j, :]) + beta * c[j], B stored (N, K).
///
/// B is usually bigger than the TLB's reach here, and how fast it arrives decides the speed. One
/// token of the W2 model reads 13 MB of weights; on this machine a native single-stream dot
/// product reads 8 MB at 24 GB/s but 13 MB at 10 GB/s with 4 KiB pages (18.5 GB/s with huge
/// pages, which wasm memory never gets). One sequential stream is slow: the hardware prefetcher
/// stops at every 4 KiB page and each new page costs a page walk. So the rows are split into
/// STREAMS equal bands, far apart in memory, and one row of each band is read at a time: four
/// independent streams keep four pages' misses in flight. Measured on the W2 weights: 2-2.4x the
/// single-stream rate (up to about 40 GB/s, what a native SSE loop with 8 streams reaches on this
/// machine). Six streams ran the same. Eight ran slower (bands a power of two rows apart share L2
/// sets); skewing their rows only brought eight level with four.
#[allow(clippy::too_many_arguments)]
fn dots(a: &[f32], b: &[f32], ldb: usize, n: usize, k: usize, alpha: f32, beta: f32, c: &mut [f32]) {
    let band = n / STREAMS;
    let k4 = k / 4 * 4;
    if k > 0 {
        assert!(n == 0 || (n - 1) * ldb + k <= b.len());
    }
    for i in 0..band {
        let mut rows = [0usize; STREAMS];
        for (s, row) in rows.iter_mut().enumerate() {
            *row = s * band + i;
        }
        let mut acc = [F32x4::zero(); STREAMS];
        // SAFETY: every row j < n starts at j * ldb and holds k floats (asserted above); a holds k.
        unsafe {
            let mut rp = [b.as_ptr(); STREAMS];
            for s in 0..STREAMS {
                rp[s] = b.as_ptr().add(rows[s] * ldb);
            }
            let mut ap = a.as_ptr();
            let mut left = k4 / 4;
            while left > 0 {
                let av = F32x4::load(ap);
                for s in 0..STREAMS {
                    acc[s] = av.mul_add(F32x4::load(rp[s]), acc[s]);
                    rp[s] = rp[s].add(4);
                }
                ap = ap.add(4);
                left -= 1;
            }
        }
        for s in 0..STREAMS {
            let j = rows[s];
            let row = &b[j * ldb..j * ldb + k];
            let tail: f32 = (k4..k).map(|q| a[q] * row[q]).sum();
            let v = alpha * (acc[s].sum() + tail);
            c[j] = if beta == 0.0 { v } else { v + beta * c[j] };
        }
    }
    for j in band * STREAMS..n {
        let row = &b[j * ldb..j * ldb + k];
        let v = alpha * a.iter().zip(row).map(|(x, y)| x * y).sum::<f32>();
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
