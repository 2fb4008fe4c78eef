//! The sgemm micro-kernel: a 4x8 tile of C from a packed MR-row panel of A and a packed NR-column
//! panel of B. Contract: `C <- alpha * A_panel * B_panel + beta * C`; if beta is 0, C is not read.
//!
//! Why 4x8: baseline wasm SIMD has no lane FMA, so each k costs 4 splats, 2 loads and 8 mul + 8 add
//! on 8 independent accumulators; 8 accumulators + 2 B vectors + 1 splat = 11 of the 16 SIMD
//! registers V8 has on x64. Bigger tiles (4x16, 8x8) spill and run at about 60% of this one.

use super::{MR, NR};
use crate::simd::F32x4;

/// In the relaxed-SIMD build the accumulation is `f32x4.relaxed_madd` (see crate/simd.rs).
///
/// # Safety
/// `a` points at `kc * MR` floats, `b` at `kc * NR` floats, and `c` at a full MR x NR tile with
/// row stride `ldc`.
#[inline(always)]
pub unsafe fn kernel_4x8(
    kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32,
) {
    let mut c00 = F32x4::zero();
    let mut c01 = F32x4::zero();
    let mut c10 = F32x4::zero();
    let mut c11 = F32x4::zero();
    let mut c20 = F32x4::zero();
    let mut c21 = F32x4::zero();
    let mut c30 = F32x4::zero();
    let mut c31 = F32x4::zero();
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        let b0 = F32x4::load(bp);
        let b1 = F32x4::load(bp.add(4));
        let a0 = F32x4::splat(*ap);
        c00 = a0.madd_relaxed(b0, c00);
        c01 = a0.madd_relaxed(b1, c01);
        let a1 = F32x4::splat(*ap.add(1));
        c10 = a1.madd_relaxed(b0, c10);
        c11 = a1.madd_relaxed(b1, c11);
        let a2 = F32x4::splat(*ap.add(2));
        c20 = a2.madd_relaxed(b0, c20);
        c21 = a2.madd_relaxed(b1, c21);
        let a3 = F32x4::splat(*ap.add(3));
        c30 = a3.madd_relaxed(b0, c30);
        c31 = a3.madd_relaxed(b1, c31);
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    let rows = [(c00, c01), (c10, c11), (c20, c21), (c30, c31)];
    let va = F32x4::splat(alpha);
    let vb = F32x4::splat(beta);
    for (i, &(lo, hi)) in rows.iter().enumerate() {
        let cp = c.add(i * ldc);
        if beta == 0.0 {
            lo.mul(va).store(cp);
            hi.mul(va).store(cp.add(4));
        } else {
            lo.mul(va).add(F32x4::load(cp).mul(vb)).store(cp);
            hi.mul(va).add(F32x4::load(cp.add(4)).mul(vb)).store(cp.add(4));
        }
    }
}

/// The same tile for an edge of C that is only `mr x nr` (mr <= MR, nr <= NR): computes the full
/// tile into a scratch tile, then updates only the valid part of C.
///
/// # Safety
/// As `kernel_4x8`, but `c` needs only `mr` rows of `nr` valid columns.
pub unsafe fn kernel_edge(
    kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize,
    mr: usize, nr: usize, alpha: f32, beta: f32,
) {
    let mut tile = [0.0f32; MR * NR];
    kernel_4x8(kc, a, b, tile.as_mut_ptr(), NR, alpha, 0.0);
    for i in 0..mr {
        for j in 0..nr {
            let cp = c.add(i * ldc + j);
            *cp = if beta == 0.0 { tile[i * NR + j] } else { tile[i * NR + j] + beta * *cp };
        }
    }
}
