//! Packing of A and B blocks into the contiguous micro-panels the micro-kernel streams through.
//! Packing reads either storage layout, so every transpose variant takes the same fast path.

use super::{MR, NR};
use crate::simd::F32x4;

/// Packs the (mc, kc) block of op(A) starting at (row0, col0) into MR-row micro-panels:
/// panel p holds rows p*MR.., laid out k-major as `[k][MR]`. Rows past `mc` are zero.
/// `a` is A as stored: (M,K) with stride `lda`, or (K,M) when `trans_a`.
pub fn pack_a(
    dst: &mut [f32], a: &[f32], lda: usize, trans_a: bool,
    row0: usize, col0: usize, mc: usize, kc: usize,
) {
    let panels = (mc + MR - 1) / MR;
    for p in 0..panels {
        let panel = &mut dst[p * MR * kc..(p + 1) * MR * kc];
        let r0 = row0 + p * MR;
        let rows = MR.min(mc - p * MR);
        if trans_a {
            // op(A)[r, k] = a[k*lda + r]: the MR rows of one k are contiguous.
            for k in 0..kc {
                let src = &a[(col0 + k) * lda + r0..];
                if rows == MR {
                    // SAFETY: src and the panel row both hold MR = 4 floats here.
                    unsafe { F32x4::load(src[..MR].as_ptr()).store(panel[k * MR..k * MR + MR].as_mut_ptr()) };
                } else {
                    for i in 0..MR {
                        panel[k * MR + i] = if i < rows { src[i] } else { 0.0 };
                    }
                }
            }
        } else if rows == MR {
            // Four rows of A, interleaved k-major.
            let row = |i: usize| &a[(r0 + i) * lda + col0..(r0 + i) * lda + col0 + kc];
            interleave4([row(0), row(1), row(2), row(3)], panel, MR);
        } else {
            for i in 0..MR {
                if i < rows {
                    let src = &a[(r0 + i) * lda + col0..(r0 + i) * lda + col0 + kc];
                    for (k, &v) in src.iter().enumerate() {
                        panel[k * MR + i] = v;
                    }
                } else {
                    for k in 0..kc {
                        panel[k * MR + i] = 0.0;
                    }
                }
            }
        }
    }
}

/// Packs the (kc, nc) block of op(B) starting at (row0, col0) into NR-column micro-panels:
/// panel p holds columns p*NR.., laid out k-major as `[k][NR]`. Columns past `nc` are zero.
/// `b` is B as stored: (K,N) with stride `ldb`, or (N,K) when `trans_b`.
pub fn pack_b(
    dst: &mut [f32], b: &[f32], ldb: usize, trans_b: bool,
    row0: usize, col0: usize, kc: usize, nc: usize,
) {
    let panels = (nc + NR - 1) / NR;
    for p in 0..panels {
        let panel = &mut dst[p * NR * kc..(p + 1) * NR * kc];
        let c0 = col0 + p * NR;
        let cols = NR.min(nc - p * NR);
        if trans_b && cols == NR {
            // op(B)[k, c] = b[c*ldb + k]: each column is a contiguous run over k. Eight columns,
            // as two interleaved groups of four.
            let col = |j: usize| &b[(c0 + j) * ldb + row0..(c0 + j) * ldb + row0 + kc];
            interleave4([col(0), col(1), col(2), col(3)], panel, NR);
            interleave4([col(4), col(5), col(6), col(7)], &mut panel[4..], NR);
        } else if trans_b {
            for j in 0..NR {
                if j < cols {
                    let src = &b[(c0 + j) * ldb + row0..(c0 + j) * ldb + row0 + kc];
                    for (k, &v) in src.iter().enumerate() {
                        panel[k * NR + j] = v;
                    }
                } else {
                    for k in 0..kc {
                        panel[k * NR + j] = 0.0;
                    }
                }
            }
        } else if cols == NR {
            for k in 0..kc {
                let src = &b[(row0 + k) * ldb + c0..(row0 + k) * ldb + c0 + NR];
                let out = &mut panel[k * NR..k * NR + NR];
                // SAFETY: both slices hold exactly NR = 8 floats.
                unsafe {
                    F32x4::load(src.as_ptr()).store(out.as_mut_ptr());
                    F32x4::load(src.as_ptr().add(4)).store(out.as_mut_ptr().add(4));
                }
            }
        } else {
            for k in 0..kc {
                let src = &b[(row0 + k) * ldb + c0..];
                for j in 0..NR {
                    panel[k * NR + j] = if j < cols { src[j] } else { 0.0 };
                }
            }
        }
    }
}

/// `out[k * stride + j] = runs[j][k]` for the four equally long `runs`: four k at a time through a
/// 4x4 transpose in registers (a plain loop would write one float at a time, `stride` apart).
#[inline(always)]
fn interleave4(runs: [&[f32]; 4], out: &mut [f32], stride: usize) {
    let n = runs[0].len();
    assert!(runs.iter().all(|r| r.len() == n) && (n == 0 || (n - 1) * stride + 4 <= out.len()));
    let n4 = n / 4 * 4;
    for k in (0..n4).step_by(4) {
        // SAFETY: k + 4 <= n, so each run holds 4 floats at k, and the stores at (k + q) * stride,
        // q < 4, end at (n - 1) * stride + 4 <= out.len() at the most (asserted above).
        unsafe {
            let cols = F32x4::transpose4([
                F32x4::load(runs[0][k..k + 4].as_ptr()),
                F32x4::load(runs[1][k..k + 4].as_ptr()),
                F32x4::load(runs[2][k..k + 4].as_ptr()),
                F32x4::load(runs[3][k..k + 4].as_ptr()),
            ]);
            for (q, col) in cols.iter().enumerate() {
                col.store(out.as_mut_ptr().add((k + q) * stride));
            }
        }
    }
    for k in n4..n {
        for (j, run) in runs.iter().enumerate() {
            out[k * stride + j] = run[k];
        }
    }
}
