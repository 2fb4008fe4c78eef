//! Full reductions over a flat buffer, returned in f64.
//!
//! Accumulation: f32 SIMD partial sums over blocks of `BLOCK` elements (two four-lane
//! accumulators, so each f32 partial adds at most BLOCK/8 terms), and the block totals added in
//! f64. The error is therefore that of a 32-term f32 sum per lane, independent of the length:
//! a 10^8-element buffer is summed as accurately as a 256-element one.

use crate::simd::F32x4;

const BLOCK: usize = 256;

#[inline(always)]
fn blocked(a: &[f32], fv: impl Fn(F32x4) -> F32x4, fs: impl Fn(f32) -> f32) -> f64 {
    let mut total = 0.0f64;
    let mut blocks = a.chunks_exact(BLOCK);
    for blk in &mut blocks {
        let (mut acc0, mut acc1) = (F32x4::zero(), F32x4::zero());
        let p = blk.as_ptr();
        let mut i = 0;
        while i < BLOCK {
            // SAFETY: i + 8 <= BLOCK = blk.len().
            unsafe {
                acc0 = acc0.add(fv(F32x4::load(p.add(i))));
                acc1 = acc1.add(fv(F32x4::load(p.add(i + 4))));
            }
            i += 8;
        }
        total += acc0.add(acc1).sum() as f64;
    }
    for &x in blocks.remainder() {
        total += fs(x) as f64;
    }
    total
}

/// `sum_i a[i]`, accumulated as described in the module doc.
pub fn sum(a: &[f32]) -> f64 {
    blocked(a, |x| x, |x| x)
}

/// `sum_i a[i]^2` (the squared L2 norm, e.g. for gradient clipping), accumulated as `sum`.
pub fn sum_sq(a: &[f32]) -> f64 {
    blocked(a, |x| x.mul(x), |x| x * x)
}

/// f64 references.
pub mod naive {
    pub fn sum(a: &[f32]) -> f64 {
        a.iter().map(|&x| x as f64).sum()
    }
    pub fn sum_sq(a: &[f32]) -> f64 {
        a.iter().map(|&x| x as f64 * x as f64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{rand_vec, SIZES};

    #[test]
    fn sums_match_f64_reference() {
        let mut sizes = SIZES.to_vec();
        sizes.extend([0, 255, 256, 257, 1000, 4099]);
        for n in sizes {
            let a = rand_vec(n, 11, -1.0, 1.5);
            let (s, w) = (sum(&a), naive::sum(&a));
            assert!((s - w).abs() <= 1e-6 * (1.0 + naive::sum_sq(&a).sqrt()), "sum n={n}: {s} vs {w}");
            let (s, w) = (sum_sq(&a), naive::sum_sq(&a));
            assert!((s - w).abs() <= 1e-6 * (1.0 + w), "sum_sq n={n}: {s} vs {w}");
        }
    }

    #[test]
    fn large_buffer_stays_accurate() {
        // 2^24 + 3 ones: a plain f32 running sum would stop at 2^24.
        let a = vec![1.0f32; (1 << 24) + 3];
        assert_eq!(sum(&a), ((1 << 24) + 3) as f64);
        assert_eq!(sum_sq(&a), ((1 << 24) + 3) as f64);
        let b = vec![0.1f32; 1_000_003];
        let want = naive::sum(&b);
        assert!(((sum(&b) - want) / want).abs() < 1e-6);
    }
}
