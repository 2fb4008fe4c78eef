//! Element-wise maps over flat f32 buffers: binary ops (same shape and row-broadcast), scalar
//! ops, axpy, fill, copy, and `sum_rows`, the backward of a row broadcast.
//!
//! The map kernels take raw pointers so that `out` may be exactly one of the inputs (in-place
//! ops from the TypeScript side); partial overlap is not allowed. Each is `unsafe`: every pointer
//! must be valid for the stated number of f32 (no alignment needed).

// Each unsafe kernel states its pointer contract on one `# Safety:` line of its doc.
#![allow(clippy::missing_safety_doc)]

use crate::simd::F32x4;

/// `out[i] = fv/fs(a[i], b[i])` for i < n: four lanes at a time, then a scalar tail.
/// `out` may equal `a` or `b`: each lane block is fully loaded before it is stored.
#[inline(always)]
pub(crate) unsafe fn map2(
    out: *mut f32, a: *const f32, b: *const f32, n: usize,
    fv: impl Fn(F32x4, F32x4) -> F32x4, fs: impl Fn(f32, f32) -> f32,
) {
    let mut i = 0;
    while i + 4 <= n {
        fv(F32x4::load(a.add(i)), F32x4::load(b.add(i))).store(out.add(i));
        i += 4;
    }
    while i < n {
        *out.add(i) = fs(*a.add(i), *b.add(i));
        i += 1;
    }
}

/// `out[i] = fv/fs(a[i])` for i < n; `out` may equal `a`.
#[inline(always)]
pub(crate) unsafe fn map1(
    out: *mut f32, a: *const f32, n: usize,
    fv: impl Fn(F32x4) -> F32x4, fs: impl Fn(f32) -> f32,
) {
    let mut i = 0;
    while i + 4 <= n {
        fv(F32x4::load(a.add(i))).store(out.add(i));
        i += 4;
    }
    while i < n {
        *out.add(i) = fs(*a.add(i));
        i += 1;
    }
}

// ----- same-shape binary ops: out, a, b are (n) -------------------------------------------------

/// `out = a + b`. # Safety: pointers valid for n f32; `out` may equal `a` or `b`.
pub unsafe fn add(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    map2(out, a, b, n, |x, y| x.add(y), |x, y| x + y)
}

/// `out = a - b`. # Safety: pointers valid for n f32; `out` may equal `a` or `b`.
pub unsafe fn sub(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    map2(out, a, b, n, |x, y| x.sub(y), |x, y| x - y)
}

/// `out = a * b`. # Safety: pointers valid for n f32; `out` may equal `a` or `b`.
pub unsafe fn mul(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    map2(out, a, b, n, |x, y| x.mul(y), |x, y| x * y)
}

// ----- row broadcast: out, a are (R,N), b is (N) -----------------------------------------------

#[inline(always)]
unsafe fn bcast(
    out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize,
    fv: impl Fn(F32x4, F32x4) -> F32x4 + Copy, fs: impl Fn(f32, f32) -> f32 + Copy,
) {
    for r in 0..rows {
        map2(out.add(r * n), a.add(r * n), b, n, fv, fs);
    }
}

/// `out[r,j] = a[r,j] + b[j]`; out, a (R,N), b (N).
/// # Safety: out/a valid for R*N f32, b for N; `out` may equal `a`, must not overlap `b`.
pub unsafe fn add_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    bcast(out, a, b, rows, n, |x, y| x.add(y), |x, y| x + y)
}

/// `out[r,j] = a[r,j] - b[j]`; out, a (R,N), b (N). # Safety: as `add_bcast`.
pub unsafe fn sub_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    bcast(out, a, b, rows, n, |x, y| x.sub(y), |x, y| x - y)
}

/// `out[r,j] = a[r,j] * b[j]`; out, a (R,N), b (N). # Safety: as `add_bcast`.
pub unsafe fn mul_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    bcast(out, a, b, rows, n, |x, y| x.mul(y), |x, y| x * y)
}

/// Backward of a row broadcast: `out[j] (+)= sum_r a[r,j]`; a (R,N), out (N).
/// `accumulate == false` overwrites `out`, `true` adds to it. Sums in f32, row by row (the
/// order of a sequential loop), so the error grows like R * eps; fine for bias gradients.
pub fn sum_rows(out: &mut [f32], a: &[f32], rows: usize, n: usize, accumulate: bool) {
    let out = &mut out[..n];
    let a = &a[..rows * n];
    if !accumulate {
        out.fill(0.0);
    }
    for row in a.chunks_exact(n.max(1)).take(rows) {
        let o = out.as_mut_ptr();
        // SAFETY: `out` and `row` are distinct slices of length n; out is updated in place.
        unsafe { map2(o, o, row.as_ptr(), n, |x, y| x.add(y), |x, y| x + y) };
    }
}

// ----- scalar ops ------------------------------------------------------------------------------

/// `out = a + s`. # Safety: pointers valid for n f32; `out` may equal `a`.
pub unsafe fn add_scalar(out: *mut f32, a: *const f32, s: f32, n: usize) {
    let sv = F32x4::splat(s);
    map1(out, a, n, |x| x.add(sv), |x| x + s)
}

/// `out = a * s`. # Safety: pointers valid for n f32; `out` may equal `a`.
pub unsafe fn scale(out: *mut f32, a: *const f32, s: f32, n: usize) {
    let sv = F32x4::splat(s);
    map1(out, a, n, |x| x.mul(sv), |x| x * s)
}

/// `y += alpha * x` (accumulates). # Safety: pointers valid for n f32; `y` may equal `x`.
pub unsafe fn axpy(y: *mut f32, alpha: f32, x: *const f32, n: usize) {
    let av = F32x4::splat(alpha);
    map2(y, x, y, n, |xv, yv| av.mul_add(xv, yv), |xv, yv| alpha * xv + yv)
}

/// `out[i] = value`.
pub fn fill(out: &mut [f32], value: f32) {
    out.fill(value)
}

/// `dst = src`, memmove semantics (overlap allowed). # Safety: pointers valid for n f32.
pub unsafe fn copy(dst: *mut f32, src: *const f32, n: usize) {
    core::ptr::copy(src, dst, n)
}

/// `out[i] = x[i]` as float32 (int32 -> float32, rounding to nearest past 2^24).
pub fn cast_i32_to_f32(out: &mut [f32], x: &[i32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = *v as f32;
    }
}

/// `out[i] = x[i]` truncated toward zero (float32 -> int32, as PyTorch's `.int()` and `.long()`);
/// past the int32 range it saturates and NaN gives 0 (Rust's `as`; PyTorch leaves both undefined).
pub fn cast_f32_to_i32(out: &mut [i32], x: &[f32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = *v as i32;
    }
}

#[cfg(test)]
mod cast_tests {
    #[test]
    fn casts_truncate_saturate_and_round() {
        let x = [1.9f32, -1.9, 0.5, -0.0, f32::NAN, 3e9, -3e9, 16_777_217.0];
        let mut out = [7i32; 8];
        super::cast_f32_to_i32(&mut out, &x);
        assert_eq!(out, [1, -1, 0, 0, 0, i32::MAX, i32::MIN, 16_777_216]);
        let ids = [0i32, -5, 16_777_217, i32::MAX];
        let mut f = [0f32; 4];
        super::cast_i32_to_f32(&mut f, &ids);
        assert_eq!(f, [0.0, -5.0, 16_777_216.0, 2_147_483_648.0]);
    }
}

/// Scalar references the fast kernels are tested against.
pub mod naive {
    pub fn binary(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
        for i in 0..out.len() {
            out[i] = f(a[i], b[i]);
        }
    }
    pub fn bcast(out: &mut [f32], a: &[f32], b: &[f32], rows: usize, n: usize, f: impl Fn(f32, f32) -> f32) {
        for r in 0..rows {
            for j in 0..n {
                out[r * n + j] = f(a[r * n + j], b[j]);
            }
        }
    }
    pub fn sum_rows(out: &mut [f32], a: &[f32], rows: usize, n: usize, accumulate: bool) {
        for j in 0..n {
            let mut acc = if accumulate { out[j] as f64 } else { 0.0 };
            for r in 0..rows {
                acc += a[r * n + j] as f64;
            }
            out[j] = acc as f32;
        }
    }
    pub fn axpy(y: &mut [f32], alpha: f32, x: &[f32]) {
        for i in 0..y.len() {
            y[i] += alpha * x[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{assert_close, rand_vec, SIZES};

    type Kernel = unsafe fn(*mut f32, *const f32, *const f32, usize);

    #[test]
    fn binary_ops_match_naive_and_work_in_place() {
        let cases: [(Kernel, fn(f32, f32) -> f32, &str); 3] = [
            (add, |x, y| x + y, "add"),
            (sub, |x, y| x - y, "sub"),
            (mul, |x, y| x * y, "mul"),
        ];
        for &n in &SIZES {
            let a = rand_vec(n, 1, -2.0, 2.0);
            let b = rand_vec(n, 2, -2.0, 2.0);
            for &(k, f, name) in &cases {
                let mut want = vec![0.0; n];
                naive::binary(&mut want, &a, &b, f);
                let mut out = vec![f32::NAN; n];
                unsafe { k(out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), n) };
                assert_eq!(out, want, "{name} n={n}");
                let mut inplace = a.clone();
                unsafe { k(inplace.as_mut_ptr(), inplace.as_ptr(), b.as_ptr(), n) };
                assert_eq!(inplace, want, "{name} in place (out = a) n={n}");
                let mut inplace_b = b.clone();
                unsafe { k(inplace_b.as_mut_ptr(), a.as_ptr(), inplace_b.as_ptr(), n) };
                assert_eq!(inplace_b, want, "{name} in place (out = b) n={n}");
            }
        }
    }

    #[test]
    fn bcast_ops_match_naive() {
        type Bcast = unsafe fn(*mut f32, *const f32, *const f32, usize, usize);
        let cases: [(Bcast, fn(f32, f32) -> f32, &str); 3] = [
            (add_bcast, |x, y| x + y, "add_bcast"),
            (sub_bcast, |x, y| x - y, "sub_bcast"),
            (mul_bcast, |x, y| x * y, "mul_bcast"),
        ];
        for &rows in &[1usize, 3, 7] {
            for &n in &SIZES {
                let a = rand_vec(rows * n, 3, -2.0, 2.0);
                let b = rand_vec(n, 4, -2.0, 2.0);
                for &(k, f, name) in &cases {
                    let mut want = vec![0.0; rows * n];
                    naive::bcast(&mut want, &a, &b, rows, n, f);
                    let mut out = a.clone();
                    unsafe { k(out.as_mut_ptr(), out.as_ptr(), b.as_ptr(), rows, n) };
                    assert_eq!(out, want, "{name} rows={rows} n={n}");
                }
            }
        }
    }

    #[test]
    fn sum_rows_matches_naive() {
        for &rows in &[1usize, 3, 65] {
            for &n in &SIZES {
                let a = rand_vec(rows * n, 5, -1.0, 1.0);
                let init = rand_vec(n, 6, -1.0, 1.0);
                for &acc in &[false, true] {
                    let mut want = init.clone();
                    naive::sum_rows(&mut want, &a, rows, n, acc);
                    let mut out = init.clone();
                    sum_rows(&mut out, &a, rows, n, acc);
                    assert_close(&out, &want, 1e-5, "sum_rows");
                }
            }
        }
        let mut out = [7.0f32; 3];
        sum_rows(&mut out, &[], 0, 3, false);
        assert_eq!(out, [0.0; 3], "zero rows overwrite gives zeros");
    }

    #[test]
    fn scalar_ops_axpy_fill_copy() {
        for &n in &SIZES {
            let a = rand_vec(n, 7, -3.0, 3.0);
            let mut out = vec![0.0; n];
            unsafe { add_scalar(out.as_mut_ptr(), a.as_ptr(), 0.5, n) };
            assert_eq!(out, a.iter().map(|x| x + 0.5).collect::<Vec<_>>(), "add_scalar n={n}");
            let mut out = a.clone();
            unsafe { scale(out.as_mut_ptr(), out.as_ptr(), -1.5, n) };
            assert_eq!(out, a.iter().map(|x| x * -1.5).collect::<Vec<_>>(), "scale n={n}");

            let x = rand_vec(n, 8, -1.0, 1.0);
            let mut want = a.clone();
            naive::axpy(&mut want, 0.25, &x);
            let mut y = a.clone();
            unsafe { axpy(y.as_mut_ptr(), 0.25, x.as_ptr(), n) };
            assert_eq!(y, want, "axpy n={n}");

            let mut f = vec![0.0; n];
            fill(&mut f, 3.0);
            assert!(f.iter().all(|&v| v == 3.0));
            let mut c = vec![0.0; n];
            unsafe { copy(c.as_mut_ptr(), a.as_ptr(), n) };
            assert_eq!(c, a);
        }
    }
}
