//! Quantized weights for inference: int8 matrices, the products that read them and the embedding
//! lookup that widens their rows; and the float16 conversions of float16 checkpoints.
//!
//! - **int8**, symmetric per row: `scale[r] = max_k |w[r,k]| / 127`, `q = round(w / scale)` in
//!   [-127, 127] (a zero row has scale 0). The recurrent layers quantize per gate row, which is
//!   per row of w_ih / w_hh. Products `y (M,N) = beta * y + x (M,K) @ W^T`: each row of x is
//!   quantized on the fly to i16 (`s_x = max|x_m| / 32767`, a relative error of 2^-16, far below
//!   the weights' 2^-8), then `y[m,n] += s_w[n] * s_x[m] * Σ_k q_w q_x` with the integer sums in
//!   i32 lanes (`i32x4.dot_i16x8_s` on weights widened to i16 as they are loaded) over blocks of
//!   `KB` columns, each block added in f32. A block cannot overflow: a lane gains at most
//!   4 * 127 * 32767 per 16 columns, so 1024 columns stay below 1.07e9 < 2^31.
//! - **float16** (IEEE binary16, rounded to nearest even) is a storage format: a float16 model's
//!   weights are widened to f32 once, when it is made or loaded, and computed on as f32. Widening
//!   them in registers at every product was measured too: with no f16 instructions in WASM SIMD it
//!   takes six integer and float operations per four weights, and a W2 product ran 2.8x slower
//!   than f32 (280 vs 100 us for 2048x512 on one core here), for memory this use does not lack.
//!
//! The int8 product has a naive reference (`naive`) beside it.

use std::cell::RefCell;

use crate::gemm::PreparedB;
use crate::scratch::OutOfMemory;
use crate::simd::{F32x4, I32x4};

/// Columns summed in i32 before the sum goes to f32 (see the module doc).
pub const KB: usize = 1024;
/// Consecutive int8 rows read side by side: one stream, and each block of x loaded once for them.
/// Four: with Rust 1.96 (LLVM 22) eight rows ran `lw_qmatmul` (2048x512, batch 1, one core) at
/// 0.84x of Rust 1.63's eight (more live addresses and accumulators than V8 keeps in registers),
/// four at 0.98x; six at 0.94x.
const I8_ROWS: usize = 4;
/// The largest magnitude of an int8 weight and of an i16 activation.
const Q8: f32 = 127.0;
const Q16: f32 = 32767.0;

/// A weight matrix (N,K) as stored: f32, or int8 with per-row scales.
#[derive(Clone, Copy)]
pub enum Matrix<'a> {
    F32(&'a [f32]),
    I8 { q: &'a [i8], scales: &'a [f32] },
}

/// A `Matrix` ready for `y = beta * y + x @ W^T` products with many x: f32 packed once when many
/// rows will be multiplied (`gemm::PreparedB`, the same results as `sgemm`), int8 with its
/// activation scratch reserved (this module's, grown once and kept: decoding allocates nothing
/// per step). Built before a kernel writes anything, so an out-of-memory leaves every output
/// untouched.
pub enum Prepared<'a> {
    F32(PreparedB<'a>),
    I8 { q: &'a [i8], scales: &'a [f32], k: usize, n: usize },
}

thread_local! {
    /// The i16 row of x that int8 products read (`xq_len(K)`), grown on demand and kept.
    static XQ: RefCell<Vec<i16>> = RefCell::new(Vec::new());
}

/// Makes the i16 scratch hold `n` values.
fn reserve_xq(n: usize) -> Result<(), OutOfMemory> {
    XQ.with(|cell| {
        let mut v = cell.borrow_mut();
        let have = v.len();
        if have < n {
            v.try_reserve_exact(n - have).map_err(|_| OutOfMemory { bytes: 2 * n })?;
            v.resize(n, 0);
        }
        Ok(())
    })
}

impl<'a> Prepared<'a> {
    /// For products of W (N,K) with up to `rows` rows of x at a time (f32 packs W when that is
    /// more than `gemm::small_m::SMALL_M`; 0 never packs).
    pub fn new(w: Matrix<'a>, k: usize, n: usize, rows: usize) -> Result<Self, OutOfMemory> {
        Ok(match w {
            Matrix::F32(w) => Prepared::F32(PreparedB::new(w, k, true, k, n, rows)?),
            Matrix::I8 { q, scales } => {
                reserve_xq(xq_len(k))?;
                Prepared::I8 { q, scales, k, n }
            }
        })
    }

    /// `y (M,N) = beta * y + x (M,K) @ W^T`, rows of x at stride `ldx`, of y at `ldy`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(&mut self, m: usize, x: &[f32], ldx: usize, beta: f32, y: &mut [f32], ldy: usize) {
        match self {
            Prepared::F32(p) => p.gemm(false, m, 1.0, x, ldx, beta, y, ldy),
            Prepared::I8 { q, scales, k, n } => XQ.with(|cell| matmul_i8(y, ldy, x, ldx, q, scales, m, *n, *k, beta, &mut cell.borrow_mut())),
        }
    }
}

/// `q` (rows, cols) and `scales` (rows) of `w` (rows, cols), symmetric per row.
pub fn quantize_i8(q: &mut [i8], scales: &mut [f32], w: &[f32], rows: usize, cols: usize) {
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        let max = row.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        let scale = max / Q8;
        scales[r] = scale;
        // Divided, not multiplied by 1/scale: that reciprocal overflows for rows below ~3.7e-37.
        for (o, &v) in q[r * cols..(r + 1) * cols].iter_mut().zip(row) {
            *o = if scale > 0.0 { (v / scale).round().clamp(-Q8, Q8) as i8 } else { 0 };
        }
    }
}

/// `w` (rows, cols) back from int8: `q * scale` of its row.
pub fn dequantize_i8(w: &mut [f32], q: &[i8], scales: &[f32], rows: usize, cols: usize) {
    for r in 0..rows {
        for (o, &v) in w[r * cols..(r + 1) * cols].iter_mut().zip(&q[r * cols..(r + 1) * cols]) {
            *o = v as f32 * scales[r];
        }
    }
}

/// float16 bits of each of `w`, rounded to nearest even (finite |w| <= 65504; see the module doc).
pub fn to_f16(out: &mut [u16], w: &[f32]) {
    for (o, &v) in out.iter_mut().zip(w) {
        *o = f32_to_f16(v);
    }
}

/// f32 of each float16 in `h` (exact).
pub fn from_f16(out: &mut [f32], h: &[u16]) {
    for (o, &v) in out.iter_mut().zip(h) {
        *o = f16_to_f32(v);
    }
}

/// One f32 to float16 bits, rounded to nearest even; subnormal results kept, overflow to infinity.
pub fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let a = bits & 0x7fff_ffff;
    if a >= 0x7f80_0000 {
        return sign | if a > 0x7f80_0000 { 0x7e00 } else { 0x7c00 };
    }
    if a >= 0x4780_0000 {
        // >= 65536: past the largest half (65504 rounds up to infinity from 65520 on).
        return sign | 0x7c00;
    }
    if a >= 0x3880_0000 {
        // Normal half: rebias the exponent (127 -> 15), round the 13 dropped bits to nearest even.
        // A carry out of the mantissa moves the exponent up, as it should (65520 -> infinity).
        let m = a - 0x3800_0000;
        let rounded = (m + 0x0fff + ((m >> 13) & 1)) >> 13;
        return sign | rounded as u16;
    }
    // Subnormal half (or zero): value / 2^-24, rounded to nearest even.
    let e = (a >> 23) as i32;
    if e < 102 {
        return sign; // below half of the smallest subnormal: zero
    }
    let mant = (a & 0x007f_ffff) | 0x0080_0000;
    let shift = (126 - e) as u32; // so that the result is in units of 2^-24
    let q = mant >> shift;
    let rem = mant & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    let rounded = if rem > halfway || (rem == halfway && q & 1 == 1) { q + 1 } else { q };
    sign | rounded as u16
}

/// One float16 to f32 (exact for every half; infinities and NaN kept).
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits = if exp == 0x1f {
        0x7f80_0000 | (mant << 13)
    } else if exp == 0 {
        // Zero or subnormal: mant * 2^-24, exact in f32.
        let v = mant as f32 * (1.0 / 16_777_216.0);
        return if sign != 0 { -v } else { v };
    } else {
        ((exp + 112) << 23) | (mant << 13)
    };
    f32::from_bits(sign | bits)
}

/// `y (M,N) = beta * y + x (M,K) @ W^T`, W (N,K) int8 with `scales` (N), x rows at stride `ldx`,
/// y rows at stride `ldy`; `xq` is scratch of at least `xq_len(K)` i16 (the quantized row of x,
/// zero-padded). beta 0 does not read y.
#[allow(clippy::too_many_arguments)]
pub fn matmul_i8(
    y: &mut [f32], ldy: usize, x: &[f32], ldx: usize, w: &[i8], scales: &[f32], m: usize, n: usize, k: usize, beta: f32, xq: &mut [i16],
) {
    let k16 = xq_len(k);
    if m == 0 || n == 0 {
        return;
    }
    assert!(xq.len() >= k16 && x.len() >= (m - 1) * ldx + k && w.len() >= n * k && scales.len() >= n && y.len() >= (m - 1) * ldy + n);
    for i in 0..m {
        let xs = quantize_row_i16(&mut xq[..k16], &x[i * ldx..i * ldx + k]);
        let yrow = &mut y[i * ldy..i * ldy + n];
        // Rows in groups of I8_ROWS side by side (each x block loaded once for the group).
        let groups = n / I8_ROWS;
        for g0 in 0..groups {
            let mut rows = [0usize; I8_ROWS];
            for (q, r) in rows.iter_mut().enumerate() {
                *r = g0 * I8_ROWS + q;
            }
            let dots = dot_rows_i8::<I8_ROWS>(w, k, rows, &xq[..k16]);
            for (q, &r) in rows.iter().enumerate() {
                put(&mut yrow[r], dots[q] * scales[r] * xs, beta);
            }
        }
        for r in I8_ROWS * groups..n {
            let dot = dot_rows_i8::<1>(w, k, [r], &xq[..k16])[0];
            put(&mut yrow[r], dot * scales[r] * xs, beta);
        }
    }
}

/// i16 of scratch `matmul_i8` needs for K columns.
pub fn xq_len(k: usize) -> usize {
    (k + 15) / 16 * 16
}

#[inline(always)]
fn put(y: &mut f32, v: f32, beta: f32) {
    *y = if beta == 0.0 { v } else { beta * *y + v };
}

/// `xq[..k]` = round(x / s) with s = max|x| / 32767 (zeros after k); returns s.
fn quantize_row_i16(xq: &mut [i16], x: &[f32]) -> f32 {
    let max = x.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    let s = max / Q16;
    let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
    for (o, &v) in xq.iter_mut().zip(x) {
        *o = (v * inv).round().clamp(-Q16, Q16) as i16;
    }
    for o in xq[x.len()..].iter_mut() {
        *o = 0;
    }
    s
}

/// Σ_k q_w[r,k] q_x[k] for each of `R` rows (as f32: exact integer sums per KB block, then f32).
#[inline(always)]
fn dot_rows_i8<const R: usize>(w: &[i8], k: usize, rows: [usize; R], xq: &[i16]) -> [f32; R] {
    let k16 = k / 16 * 16;
    let mut total = [F32x4::zero(); R];
    let mut tail = [0i32; R];
    let mut c0 = 0;
    while c0 < k16 {
        let c1 = (c0 + KB).min(k16);
        let mut acc = [I32x4::zero(); R];
        // SAFETY: row r holds k >= c1 int8 at r*k; xq holds >= k16 i16 (asserted by the caller).
        unsafe {
            let xp = xq.as_ptr();
            for c in (c0..c1).step_by(16) {
                for q in 0..R {
                    acc[q] = acc[q].add(I32x4::dot_i8x16(w.as_ptr().add(rows[q] * k + c), xp.add(c)));
                }
            }
        }
        for q in 0..R {
            total[q] = total[q].add(acc[q].to_f32());
        }
        c0 = c1;
    }
    for q in 0..R {
        let row = &w[rows[q] * k..(rows[q] + 1) * k];
        for c in k16..k {
            tail[q] += row[c] as i32 * xq[c] as i32;
        }
    }
    let mut out = [0.0f32; R];
    for q in 0..R {
        out[q] = total[q].sum() + tail[q] as f32;
    }
    out
}

/// `out[r,:] = dequantized table[ids[r],:]`, table (V,C) int8 with `scales` (V).
pub fn embedding_i8(out: &mut [f32], q: &[i8], scales: &[f32], ids: &[i32], c: usize) {
    for (o, &id) in out.chunks_exact_mut(c.max(1)).zip(ids) {
        let id = id as usize;
        let s = scales[id];
        for (v, &qv) in o.iter_mut().zip(&q[id * c..(id + 1) * c]) {
            *v = qv as f32 * s;
        }
    }
}

/// The references the fast kernels are tested against: dequantize, then sum in f64.
pub mod naive {
    /// `y = beta * y + x @ W^T` with W given as f32 (dequantized), sums in f64.
    pub fn matmul(y: &mut [f32], x: &[f32], w: &[f32], m: usize, n: usize, k: usize, beta: f32) {
        for i in 0..m {
            for r in 0..n {
                let mut s = 0.0f64;
                for c in 0..k {
                    s += x[i * k + c] as f64 * w[r * k + c] as f64;
                }
                y[i * n + r] = if beta == 0.0 { s as f32 } else { (beta as f64 * y[i * n + r] as f64 + s) as f32 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::rand_vec;

    #[test]
    fn int8_round_trip_is_within_half_a_step_and_zero_rows_stay_zero() {
        let (rows, cols) = (9, 37);
        let mut w = rand_vec(rows * cols, 1, -3.0, 3.0);
        w[2 * cols..3 * cols].iter_mut().for_each(|v| *v = 0.0);
        let (mut q, mut s, mut back) = (vec![0i8; rows * cols], vec![0.0; rows], vec![0.0; rows * cols]);
        quantize_i8(&mut q, &mut s, &w, rows, cols);
        dequantize_i8(&mut back, &q, &s, rows, cols);
        for r in 0..rows {
            let max = w[r * cols..(r + 1) * cols].iter().fold(0.0f32, |a, v| a.max(v.abs()));
            assert_eq!(s[r], max / 127.0);
            assert!(q[r * cols..(r + 1) * cols].iter().all(|&v| (-127..=127).contains(&v)));
            for c in 0..cols {
                assert!((back[r * cols + c] - w[r * cols + c]).abs() <= s[r] * 0.5 * (1.0 + 1e-6), "row {} col {}", r, c);
            }
        }
        assert_eq!(s[2], 0.0);
        assert!(back[2 * cols..3 * cols].iter().all(|&v| v == 0.0));
    }

    /// The half nearest to v, by search over all finite halves (f64 distances; ties to even).
    fn nearest_half(v: f32) -> u16 {
        let mut best = 0u16;
        let mut best_d = f64::INFINITY;
        for h in 0..0x7c00u16 {
            for s in [0u16, 0x8000] {
                let d = (f16_to_f32(h | s) as f64 - v as f64).abs();
                if d < best_d || (d == best_d && (h | s) & 1 == 0 && best & 1 == 1) {
                    best = h | s;
                    best_d = d;
                }
            }
        }
        best
    }

    #[test]
    fn float16_conversions_are_exact_and_round_to_nearest_even() {
        // Every finite half survives f32 and back, and the SIMD widening agrees with the scalar one.
        for h in 0..=0xffffu16 {
            if h & 0x7c00 == 0x7c00 {
                continue;
            }
            let f = f16_to_f32(h);
            assert_eq!(f32_to_f16(f), if f == 0.0 { h & 0x8000 | (h & 0x7fff) } else { h }, "half {:#06x} -> {}", h, f);
        }
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00, "a tie rounds to even (down)");
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02, "a tie rounds to even (up)");
        for v in rand_vec(300, 7, -70.0, 70.0).into_iter().chain(rand_vec(100, 8, -1e-4, 1e-4)) {
            // By value: a tiny negative rounds to -0, which equals the +0 the search may find.
            assert_eq!(f16_to_f32(f32_to_f16(v)), f16_to_f32(nearest_half(v)), "{}", v);
        }
    }

    fn check_matmul(m: usize, n: usize, k: usize, beta: f32, seed: u64) {
        let x = rand_vec(m * k, seed, -2.0, 2.0);
        let w = rand_vec(n * k, seed + 1, -1.0, 1.0);
        let y0 = rand_vec(m * n, seed + 2, -1.0, 1.0);
        // int8 against the dequantized weights (the x quantization is the only difference).
        let (mut q, mut s, mut wd) = (vec![0i8; n * k], vec![0.0; n], vec![0.0; n * k]);
        quantize_i8(&mut q, &mut s, &w, n, k);
        dequantize_i8(&mut wd, &q, &s, n, k);
        let (mut y, mut yr) = (y0.clone(), y0);
        let mut xq = vec![0i16; xq_len(k)];
        matmul_i8(&mut y, n, &x, k, &q, &s, m, n, k, beta, &mut xq);
        naive::matmul(&mut yr, &x, &wd, m, n, k, beta);
        for i in 0..m {
            let xmax = x[i * k..(i + 1) * k].iter().fold(0.0f32, |a, v| a.max(v.abs()));
            for r in 0..n {
                // |x - x_q| <= s_x / 2 per element, so the sum moves by at most s_x/2 * Σ|w_deq|.
                let bound = xmax / 32767.0 * 0.5 * wd[r * k..(r + 1) * k].iter().map(|v| v.abs()).sum::<f32>() + 1e-5 * (1.0 + yr[i * n + r].abs());
                let d = (y[i * n + r] - yr[i * n + r]).abs();
                assert!(d <= bound * 1.01, "int8 m {} n {} k {} at ({}, {}): {} vs {} (bound {})", m, n, k, i, r, y[i * n + r], yr[i * n + r], bound);
            }
        }
    }

    #[test]
    fn products_match_the_naive_reference_on_awkward_sizes() {
        let mut seed = 10;
        for &m in &[1, 2, 5] {
            for &n in &[1, 3, 4, 7, 63, 65] {
                for &k in &[1, 7, 15, 16, 17, 63, 65, 1025, 2100] {
                    for &beta in &[0.0, 1.0] {
                        check_matmul(m, n, k, beta, seed);
                        seed += 3;
                    }
                }
            }
        }
    }

    #[test]
    fn int8_sums_do_not_overflow_at_the_largest_values() {
        // Every weight and activation at its largest magnitude, over more than four blocks.
        let (n, k) = (5, 4 * KB + 37);
        let w = vec![1.0f32; n * k];
        let x = vec![-3.0f32; k];
        let (mut q, mut s) = (vec![0i8; n * k], vec![0.0; n]);
        quantize_i8(&mut q, &mut s, &w, n, k);
        let mut y = vec![0.0; n];
        let mut xq = vec![0i16; xq_len(k)];
        matmul_i8(&mut y, n, &x, k, &q, &s, 1, n, k, 0.0, &mut xq);
        for v in y {
            assert!((v + 3.0 * k as f32).abs() <= 3.0 * k as f32 * 1e-6, "{}", v);
        }
    }

    #[test]
    fn embeddings_widen_the_rows_they_look_up() {
        let (v, c) = (6, 19);
        let table = rand_vec(v * c, 3, -2.0, 2.0);
        let ids = [5, 0, 3, 3];
        let (mut q, mut s, mut deq) = (vec![0i8; v * c], vec![0.0; v], vec![0.0; v * c]);
        quantize_i8(&mut q, &mut s, &table, v, c);
        dequantize_i8(&mut deq, &q, &s, v, c);
        let mut out = vec![0.0; ids.len() * c];
        embedding_i8(&mut out, &q, &s, &ids, c);
        for (r, &id) in ids.iter().enumerate() {
            assert_eq!(&out[r * c..(r + 1) * c], &deq[id as usize * c..(id as usize + 1) * c]);
        }
    }
}
