//! Single-precision GEMM, `C = alpha * op(A) * op(B) + beta * C`, row-major, BLIS loop structure:
//! blocks of B are packed into NR-column panels, blocks of A into MR-row panels, and a 4x8
//! register-blocked micro-kernel walks the packed panels. Either operand may be transposed;
//! packing reads both layouts so all four variants run the same fast loop.

pub mod kernel;
pub mod naive;
pub mod pack;
pub mod small_m;

use std::cell::RefCell;

use crate::scratch::{self, OutOfMemory};

/// Micro-tile rows (broadcast values of A per k).
pub const MR: usize = 4;
/// Micro-tile columns (two f32x4 vectors of B per k).
pub const NR: usize = 8;
/// Depth of a packed block: an MR x KC panel of A (4 KiB) and a KC x NR panel of B (8 KiB) stay in L1.
pub const KC: usize = 256;
/// Rows of A per packed block: MC x KC floats = 128 KiB, held in L2.
pub const MC: usize = 128;
/// Columns of B per packed block: KC x NC floats = 4 MiB at most.
pub const NC: usize = 4096;

thread_local! {
    /// Packing scratch, grown on demand and kept: (packed A block, packed B block).
    static PACK_BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = RefCell::new((Vec::new(), Vec::new()));
}

/// Grows the packing scratch to the largest size any product needs (4.1 MiB), so that `sgemm`
/// never allocates afterwards (an allocation failure inside it would trap the wasm instance).
/// The wasm module's owner calls this once, before any product (`lw_init`).
pub fn reserve_pack_buffers() -> Result<(), OutOfMemory> {
    PACK_BUFFERS.with(|buffers| {
        let mut buffers = buffers.borrow_mut();
        let (apack, bpack) = &mut *buffers;
        scratch::grow(apack, round_up(MC, MR) * KC)?;
        scratch::grow(bpack, round_up(NC, NR) * KC)
    })
}

/// `C = alpha * op(A) * op(B) + beta * C`.
///
/// op(A) is (M,K): A is stored (M,K) with row stride `lda`, or (K,M) when `trans_a`.
/// op(B) is (K,N): B is stored (K,N) with row stride `ldb`, or (N,K) when `trans_b`.
/// C is (M,N) with row stride `ldc`. If beta is 0, C is only written (NaN in C does not leak).
pub fn sgemm(
    trans_a: bool, trans_b: bool, m: usize, n: usize, k: usize, alpha: f32,
    a: &[f32], lda: usize, b: &[f32], ldb: usize, beta: f32, c: &mut [f32], ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == 0.0 {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    if m <= small_m::SMALL_M {
        small_m::sgemm_small_m(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    PACK_BUFFERS.with(|buffers| {
        let mut buffers = buffers.borrow_mut();
        let (apack, bpack) = &mut *buffers;
        let kc_max = KC.min(k);
        let need_b = round_up(NC.min(n), NR) * kc_max;
        if bpack.len() < need_b {
            bpack.resize(need_b, 0.0);
        }
        // Split n into NC-wide column blocks, then k into KC-deep slices (`b_blocks`); the first
        // slice applies beta, the rest accumulate. Each (kc, nc) block of op(B) is packed once and
        // every row block of A reuses it.
        for blk in b_blocks(k, n) {
            pack::pack_b(bpack, b, ldb, trans_b, blk.pc, blk.jc, blk.kc, blk.nc);
            let beta_block = if blk.pc == 0 { beta } else { 1.0 };
            multiply_packed_block(trans_a, m, alpha, a, lda, blk.pc, blk.kc, bpack, blk.jc, blk.nc, beta_block, c, ldc, apack);
        }
    });
}

/// C[:, jc..jc+nc] = alpha * op(A)[:, pc..pc+kc] * Bblock + beta * C[:, jc..jc+nc], where Bblock
/// is the (kc, nc) block of op(B) already packed into NR-column panels.
#[allow(clippy::too_many_arguments)]
fn multiply_packed_block(
    trans_a: bool, m: usize, alpha: f32, a: &[f32], lda: usize, pc: usize, kc: usize,
    bpack: &[f32], jc: usize, nc: usize, beta: f32, c: &mut [f32], ldc: usize, apack: &mut Vec<f32>,
) {
    let need_a = round_up(MC.min(m), MR) * kc;
    if apack.len() < need_a {
        apack.resize(need_a, 0.0);
    }
    // Split m into MC-tall row blocks.
    for ic in (0..m).step_by(MC) {
        let mc = MC.min(m - ic);
        pack::pack_a(apack, a, lda, trans_a, ic, pc, mc, kc);
        // Micro-kernel loop: NR-column panels of B, then MR-row panels of A.
        for jr in (0..nc).step_by(NR) {
            let nr = NR.min(nc - jr);
            let bp = bpack[jr * kc..].as_ptr();
            for ir in (0..mc).step_by(MR) {
                let mr = MR.min(mc - ir);
                let ap = apack[ir * kc..].as_ptr();
                let c_offset = (ic + ir) * ldc + jc + jr;
                // The tile's last element must exist in c; checked once per tile so the unsafe
                // kernels below never write outside C.
                assert!(c_offset + (mr - 1) * ldc + nr <= c.len());
                let cp = c[c_offset..].as_mut_ptr();
                // SAFETY: packed panels hold kc*MR and kc*NR floats (sized above and by the
                // packer); the assert bounds the C tile.
                unsafe {
                    if mr == MR && nr == NR {
                        kernel::kernel_4x8(kc, ap, bp, cp, ldc, alpha, beta);
                    } else {
                        kernel::kernel_edge(kc, ap, bp, cp, ldc, mr, nr, alpha, beta);
                    }
                }
            }
        }
    }
}

/// op(B) prepared once for many products `C = alpha * op(A) * op(B) + beta * C` against it, as
/// the recurrent weights of a layer are for every time step. When the products will have more
/// than `small_m::SMALL_M` rows, B is packed into the micro-kernel's panels up front (the packing
/// the plain `sgemm` would redo on every call); for fewer rows it is read in place.
pub struct PreparedB<'a> {
    b: &'a [f32],
    ldb: usize,
    trans_b: bool,
    k: usize,
    n: usize,
    /// Blocks in (jc, pc) loop order, each `round_up(nc, NR) * kc` floats.
    packed: Option<Vec<f32>>,
}

impl<'a> PreparedB<'a> {
    /// Prepares op(B) (K,N) for products whose op(A) has `rows` rows. Packing needs a copy of
    /// B; `Err` when memory cannot hold it.
    pub fn new(b: &'a [f32], ldb: usize, trans_b: bool, k: usize, n: usize, rows: usize) -> Result<Self, OutOfMemory> {
        let packed = if rows > small_m::SMALL_M && k > 0 && n > 0 {
            let mut data = scratch::zeroed(round_up(n, NR) * k)?;
            for blk in b_blocks(k, n) {
                pack::pack_b(&mut data[blk.at..blk.at + blk.len], b, ldb, trans_b, blk.pc, blk.jc, blk.kc, blk.nc);
            }
            Some(data)
        } else {
            None
        };
        Ok(PreparedB { b, ldb, trans_b, k, n, packed })
    }

    /// `C = alpha * op(A) * op(B) + beta * C`, op(A) (M,K), C (M,N): the same result as `sgemm`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(&self, trans_a: bool, m: usize, alpha: f32, a: &[f32], lda: usize, beta: f32, c: &mut [f32], ldc: usize) {
        let (k, n) = (self.k, self.n);
        let packed = match &self.packed {
            Some(p) if m > small_m::SMALL_M && k > 0 && alpha != 0.0 => p,
            _ => return sgemm(trans_a, self.trans_b, m, n, k, alpha, a, lda, self.b, self.ldb, beta, c, ldc),
        };
        PACK_BUFFERS.with(|buffers| {
            let apack = &mut buffers.borrow_mut().0;
            for blk in b_blocks(k, n) {
                let beta_block = if blk.pc == 0 { beta } else { 1.0 };
                let bpack = &packed[blk.at..blk.at + blk.len];
                multiply_packed_block(trans_a, m, alpha, a, lda, blk.pc, blk.kc, bpack, blk.jc, blk.nc, beta_block, c, ldc, apack);
            }
        });
    }
}

/// One (kc, nc) block of op(B) at rows pc.., columns jc..; packed, it is `len` floats at `at`.
struct BBlock {
    jc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
    at: usize,
    len: usize,
}

/// The blocks of a (K,N) op(B) in the loop order of the BLIS nest (split n, then split k), with
/// their offsets when packed one after another.
fn b_blocks(k: usize, n: usize) -> impl Iterator<Item = BBlock> {
    let mut at = 0;
    (0..n).step_by(NC).flat_map(move |jc| (0..k).step_by(KC).map(move |pc| (jc, pc))).map(move |(jc, pc)| {
        let (nc, kc) = (NC.min(n - jc), KC.min(k - pc));
        let len = round_up(nc, NR) * kc;
        let blk = BBlock { jc, nc, pc, kc, at, len };
        at += len;
        blk
    })
}

/// C = beta * C (C = 0 when beta is 0, without reading C).
fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize) {
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if beta == 0.0 {
            row.iter_mut().for_each(|v| *v = 0.0);
        } else if beta != 1.0 {
            row.iter_mut().for_each(|v| *v *= beta);
        }
    }
}

fn round_up(x: usize, to: usize) -> usize {
    (x + to - 1) / to * to
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift) so the tests need no crates.
    fn fill(seed: u32, len: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).max(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn check(ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, beta: f32) {
        let (lda, ldb, ldc) = (if ta { m } else { k } + 1, if tb { k } else { n } + 2, n + 3);
        let a = fill(1 + m as u32, if ta { k * lda } else { m * lda });
        let b = fill(7 + n as u32, if tb { n * ldb } else { k * ldb });
        let c0 = fill(13 + k as u32, m * ldc);
        let mut fast = c0.clone();
        let mut slow = c0.clone();
        sgemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut fast, ldc);
        naive::sgemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut slow, ldc);
        let tol = 1e-5 * (k as f32).sqrt().max(1.0) * 4.0;
        for (idx, (x, y)) in fast.iter().zip(&slow).enumerate() {
            assert!((x - y).abs() <= tol, "ta={} tb={} m={} n={} k={} idx={}: {} vs {}", ta, tb, m, n, k, idx, x, y);
        }
        // The prepared-B path gives the same result.
        let mut prepared = c0.clone();
        PreparedB::new(&b, ldb, tb, k, n, m).unwrap().gemm(ta, m, alpha, &a, lda, beta, &mut prepared, ldc);
        for (idx, (x, y)) in prepared.iter().zip(&slow).enumerate() {
            assert!((x - y).abs() <= tol, "prepared ta={} tb={} m={} n={} k={} idx={}: {} vs {}", ta, tb, m, n, k, idx, x, y);
        }
        // Padding columns between rows of C must be untouched.
        for i in 0..m {
            for j in n..ldc {
                assert_eq!(fast[i * ldc + j], c0[i * ldc + j]);
            }
        }
    }

    #[test]
    fn matches_naive_on_awkward_sizes_all_transposes() {
        let sizes = [1, 3, 7, 8, 63, 65, 127, 257];
        for &ta in &[false, true] {
            for &tb in &[false, true] {
                for &m in &sizes {
                    for &n in &[1, 7, 9, 65, 257] {
                        for &k in &[1, 3, 63, 257, 300] {
                            check(ta, tb, m, n, k, 1.0, 0.0);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn alpha_beta_and_blocks_larger_than_one_panel() {
        check(false, false, 130, 70, 520, 0.5, 1.0);
        check(true, false, 129, 4100, 3, -2.0, 0.25);
        check(false, true, 5, 9, 600, 1.5, -1.0);
        // The small-m path (m <= 4), every layout, with alpha and beta.
        for &(ta, tb) in &[(false, false), (false, true), (true, false), (true, true)] {
            check(ta, tb, 1, 33, 70, 0.5, -1.0);
            check(ta, tb, 4, 2050, 513, 2.0, 0.5);
            // Deeper than one gathered chunk of a transposed A (small_m::GATHER).
            check(ta, tb, 3, 17, 2500, 1.0, -0.5);
        }
    }

    #[test]
    fn beta_zero_does_not_read_c_and_k_zero_scales() {
        let a = fill(3, 4 * 5);
        let b = fill(4, 5 * 6);
        let mut c = vec![f32::NAN; 4 * 6];
        sgemm(false, false, 4, 6, 5, 1.0, &a, 5, &b, 6, 0.0, &mut c, 6);
        assert!(c.iter().all(|v| v.is_finite()));
        let mut c2 = vec![2.0f32; 6];
        sgemm(false, false, 2, 3, 0, 1.0, &[], 1, &[], 3, 0.5, &mut c2, 3);
        assert_eq!(c2, vec![1.0; 6]);
    }
}
