//! Layer normalization over the last dim of (R,N) (PyTorch `F.layer_norm` with the trailing dims
//! flattened into N), forward and backward side by side (llm.c's `layernorm_forward/backward`).
//!
//! Statistics: two passes in f32 with four SIMD partial sums, the mean first, then the variance
//! of the centered values (biased, divided by N), `rstd = 1 / sqrt(var + eps)`. Centering before
//! squaring avoids the cancellation of `E[x^2] - E[x]^2`. torch's CPU kernel also keeps float
//! statistics (a vectorized Welford), and we agree with it to ~1e-6 relative (norm.json fixtures)
//! without paying for f64 lanes, which would halve the SIMD width.
//!
//! `mean` and `rstd` (R) are what backward needs; forward writes them when given. Weight and bias
//! (N) are optional (absent = ones and zeros, `elementwise_affine=False`). Backward ACCUMULATES
//! into each gradient it is given (`dx`, `dweight`, `dbias`; absent = not wanted).

// The llm.c signatures: every buffer and size named, outputs first.
#![allow(clippy::too_many_arguments)]

use crate::simd::F32x4;

/// sum_j x[j] over one row.
#[inline(always)]
fn row_sum(x: &[f32]) -> f32 {
    let n = x.len();
    let mut acc = F32x4::zero();
    let mut j = 0;
    while j + 4 <= n {
        // SAFETY: j + 4 <= n = x.len().
        acc = acc.add(unsafe { F32x4::load(x.as_ptr().add(j)) });
        j += 4;
    }
    let mut s = acc.sum();
    for &v in &x[j..] {
        s += v;
    }
    s
}

/// sum_j (x[j] - m)^2 over one row.
#[inline(always)]
fn row_centered_sq(x: &[f32], m: f32) -> f32 {
    let n = x.len();
    let mv = F32x4::splat(m);
    let mut acc = F32x4::zero();
    let mut j = 0;
    while j + 4 <= n {
        // SAFETY: j + 4 <= n = x.len().
        let d = unsafe { F32x4::load(x.as_ptr().add(j)) }.sub(mv);
        acc = d.mul_add(d, acc);
        j += 4;
    }
    let mut s = acc.sum();
    for &v in &x[j..] {
        s += (v - m) * (v - m);
    }
    s
}

/// The mean and 1/sqrt(biased variance + eps) of one row of n > 0 values.
#[inline(always)]
fn row_moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let m = row_sum(x) / n;
    let var = row_centered_sq(x, m) / n;
    (m, 1.0 / (var + eps).sqrt())
}

/// `out[r,j] = (x[r,j] - mean_r) * rstd_r * weight[j] + bias[j]`; out, x (R,N), weight, bias (N)
/// or None (ones, zeros); writes mean, rstd (R) when given.
pub fn layer_norm_forward(
    out: &mut [f32], mut mean: Option<&mut [f32]>, mut rstd: Option<&mut [f32]>, x: &[f32],
    weight: Option<&[f32]>, bias: Option<&[f32]>, rows: usize, n: usize, eps: f32,
) {
    if n == 0 {
        return;
    }
    let ones = F32x4::splat(1.0);
    for r in 0..rows {
        let xr = &x[r * n..(r + 1) * n];
        let o = &mut out[r * n..(r + 1) * n];
        let (m, s) = row_moments(xr, eps);
        if let Some(mean) = mean.as_deref_mut() {
            mean[r] = m;
        }
        if let Some(rstd) = rstd.as_deref_mut() {
            rstd[r] = s;
        }
        let (mv, sv) = (F32x4::splat(m), F32x4::splat(s));
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: j + 4 <= n; xr, o and the optional weight and bias have n elements.
            unsafe {
                let norm = F32x4::load(xr.as_ptr().add(j)).sub(mv).mul(sv);
                let w = match weight {
                    Some(w) => F32x4::load(w.as_ptr().add(j)),
                    None => ones,
                };
                let b = match bias {
                    Some(b) => F32x4::load(b.as_ptr().add(j)),
                    None => F32x4::zero(),
                };
                norm.mul_add(w, b).store(o.as_mut_ptr().add(j));
            }
            j += 4;
        }
        for j in j..n {
            let norm = (xr[j] - m) * s;
            o[j] = norm * weight.map_or(1.0, |w| w[j]) + bias.map_or(0.0, |b| b[j]);
        }
    }
}

/// With `norm = (x - mean) * rstd` and `g = dout * weight` per row:
/// `dx += (g - mean_j(g) - norm * mean_j(g * norm)) * rstd`, `dweight += sum_r dout * norm`,
/// `dbias += sum_r dout`. dx, dout, x (R,N); mean, rstd (R) from the forward; weight (N) or None
/// (ones). Accumulates into each gradient given.
pub fn layer_norm_backward(
    mut dx: Option<&mut [f32]>, mut dweight: Option<&mut [f32]>, mut dbias: Option<&mut [f32]>,
    dout: &[f32], x: &[f32], mean: &[f32], rstd: &[f32], weight: Option<&[f32]>, rows: usize, n: usize,
) {
    if n == 0 {
        return;
    }
    let ones = F32x4::splat(1.0);
    for r in 0..rows {
        let (xr, gr) = (&x[r * n..(r + 1) * n], &dout[r * n..(r + 1) * n]);
        let (mv, sv) = (F32x4::splat(mean[r]), F32x4::splat(rstd[r]));
        // Pass 1: the two row means dx needs, and the parameter gradients.
        let (mut g_acc, mut gn_acc) = (F32x4::zero(), F32x4::zero());
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: j + 4 <= n; every row slice and the optional (N) buffers have n elements.
            unsafe {
                let norm = F32x4::load(xr.as_ptr().add(j)).sub(mv).mul(sv);
                let go = F32x4::load(gr.as_ptr().add(j));
                let w = match weight {
                    Some(w) => F32x4::load(w.as_ptr().add(j)),
                    None => ones,
                };
                let g = go.mul(w);
                g_acc = g_acc.add(g);
                gn_acc = g.mul_add(norm, gn_acc);
                if let Some(dw) = dweight.as_deref_mut() {
                    go.mul_add(norm, F32x4::load(dw.as_ptr().add(j))).store(dw.as_mut_ptr().add(j));
                }
                if let Some(db) = dbias.as_deref_mut() {
                    F32x4::load(db.as_ptr().add(j)).add(go).store(db.as_mut_ptr().add(j));
                }
            }
            j += 4;
        }
        let (mut g_sum, mut gn_sum) = (g_acc.sum(), gn_acc.sum());
        for j in j..n {
            let norm = (xr[j] - mean[r]) * rstd[r];
            let g = gr[j] * weight.map_or(1.0, |w| w[j]);
            g_sum += g;
            gn_sum += g * norm;
            if let Some(dw) = dweight.as_deref_mut() {
                dw[j] += gr[j] * norm;
            }
            if let Some(db) = dbias.as_deref_mut() {
                db[j] += gr[j];
            }
        }
        let dx = match dx.as_deref_mut() {
            Some(dx) => &mut dx[r * n..(r + 1) * n],
            None => continue,
        };
        // Pass 2: dx.
        let (g_mean, gn_mean) = (g_sum / n as f32, gn_sum / n as f32);
        let (gmv, gnmv) = (F32x4::splat(g_mean), F32x4::splat(gn_mean));
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: as in pass 1.
            unsafe {
                let norm = F32x4::load(xr.as_ptr().add(j)).sub(mv).mul(sv);
                let w = match weight {
                    Some(w) => F32x4::load(w.as_ptr().add(j)),
                    None => ones,
                };
                let g = F32x4::load(gr.as_ptr().add(j)).mul(w);
                let t = g.sub(gmv).sub(norm.mul(gnmv)).mul(sv);
                F32x4::load(dx.as_ptr().add(j)).add(t).store(dx.as_mut_ptr().add(j));
            }
            j += 4;
        }
        for j in j..n {
            let norm = (xr[j] - mean[r]) * rstd[r];
            let g = gr[j] * weight.map_or(1.0, |w| w[j]);
            dx[j] += (g - g_mean - norm * gn_mean) * rstd[r];
        }
    }
}

#[cfg(test)]
mod naive {
    /// Scalar reference in f64: returns (out, mean, rstd).
    pub fn forward(x: &[f32], w: Option<&[f32]>, b: Option<&[f32]>, rows: usize, n: usize, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (mut out, mut mean, mut rstd) = (vec![0.0; rows * n], vec![0.0; rows], vec![0.0; rows]);
        for r in 0..rows {
            let xr = &x[r * n..(r + 1) * n];
            let m = xr.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = xr.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n as f64;
            let s = 1.0 / (var + eps as f64).sqrt();
            mean[r] = m as f32;
            rstd[r] = s as f32;
            for j in 0..n {
                let y = (xr[j] as f64 - m) * s * w.map_or(1.0, |w| w[j] as f64) + b.map_or(0.0, |b| b[j] as f64);
                out[r * n + j] = y as f32;
            }
        }
        (out, mean, rstd)
    }

    /// Scalar reference in f64: returns (dx, dweight, dbias), not accumulated.
    pub fn backward(dout: &[f32], x: &[f32], w: Option<&[f32]>, rows: usize, n: usize, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (mut dx, mut dw, mut db) = (vec![0.0f32; rows * n], vec![0.0f64; n], vec![0.0f64; n]);
        for r in 0..rows {
            let xr = &x[r * n..(r + 1) * n];
            let gr = &dout[r * n..(r + 1) * n];
            let m = xr.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = xr.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n as f64;
            let s = 1.0 / (var + eps as f64).sqrt();
            let norm: Vec<f64> = xr.iter().map(|&v| (v as f64 - m) * s).collect();
            let g: Vec<f64> = (0..n).map(|j| gr[j] as f64 * w.map_or(1.0, |w| w[j] as f64)).collect();
            let g_mean = g.iter().sum::<f64>() / n as f64;
            let gn_mean = (0..n).map(|j| g[j] * norm[j]).sum::<f64>() / n as f64;
            for j in 0..n {
                dx[r * n + j] = ((g[j] - g_mean - norm[j] * gn_mean) * s) as f32;
                dw[j] += gr[j] as f64 * norm[j];
                db[j] += gr[j] as f64;
            }
        }
        (dx, dw.iter().map(|&v| v as f32).collect(), db.iter().map(|&v| v as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{assert_close, rand_vec, SIZES};

    const EPS: f32 = 1e-5;

    #[test]
    fn forward_matches_naive_on_awkward_sizes() {
        for &n in &SIZES {
            for &(affine, rows) in &[(true, 3usize), (false, 2)] {
                // An offset of 3 checks the centering (a one-pass E[x^2] - E[x]^2 would lose digits).
                let x = rand_vec(rows * n, n as u64, 2.0, 4.0);
                let w = rand_vec(n, 7 + n as u64, -1.5, 1.5);
                let b = rand_vec(n, 11 + n as u64, -1.0, 1.0);
                let (w, b) = if affine { (Some(&w[..]), Some(&b[..])) } else { (None, None) };
                let (want, want_mean, want_rstd) = naive::forward(&x, w, b, rows, n, EPS);
                let (mut out, mut mean, mut rstd) = (vec![9.0; rows * n], vec![9.0; rows], vec![9.0; rows]);
                layer_norm_forward(&mut out, Some(&mut mean), Some(&mut rstd), &x, w, b, rows, n, EPS);
                let what = format!("n={n} affine={affine}");
                assert_close(&out, &want, 2e-4, &format!("{what} out"));
                assert_close(&mean, &want_mean, 1e-6, &format!("{what} mean"));
                assert_close(&rstd, &want_rstd, 2e-4, &format!("{what} rstd"));
                // Without mean/rstd the output is the same.
                let mut out2 = vec![0.0; rows * n];
                layer_norm_forward(&mut out2, None, None, &x, w, b, rows, n, EPS);
                assert_eq!(out, out2, "{what}: output without statistics");
            }
        }
    }

    #[test]
    fn constant_row_normalizes_to_zero_then_bias() {
        // var = 0: rstd = 1/sqrt(eps), every normalized value exactly 0.
        let (x, b) = (vec![5.0f32; 7], vec![0.25f32; 7]);
        let (mut out, mut mean, mut rstd) = (vec![1.0; 7], vec![0.0; 1], vec![0.0; 1]);
        layer_norm_forward(&mut out, Some(&mut mean), Some(&mut rstd), &x, None, Some(&b), 1, 7, EPS);
        assert_eq!(out, b);
        assert_eq!(mean[0], 5.0);
        assert_close(&rstd, &[1.0 / EPS.sqrt()], 1e-6, "rstd");
    }

    #[test]
    fn backward_matches_naive_and_accumulates() {
        for &n in &SIZES {
            for &(affine, rows) in &[(true, 3usize), (false, 2)] {
                let x = rand_vec(rows * n, 3 * n as u64, -2.0, 2.0);
                let dout = rand_vec(rows * n, 5 * n as u64, -1.0, 1.0);
                let w_vals = rand_vec(n, 13 + n as u64, -1.5, 1.5);
                let w = if affine { Some(&w_vals[..]) } else { None };
                let (_, mean, rstd) = naive::forward(&x, w, None, rows, n, EPS);
                let (want_dx, want_dw, want_db) = naive::backward(&dout, &x, w, rows, n, EPS);
                // Start from 1.0 everywhere: the kernel must add to what is there.
                let (mut dx, mut dw, mut db) = (vec![1.0; rows * n], vec![1.0; n], vec![1.0; n]);
                layer_norm_backward(Some(&mut dx), Some(&mut dw), Some(&mut db), &dout, &x, &mean, &rstd, w, rows, n);
                let plus1 = |v: &[f32]| v.iter().map(|&a| a + 1.0).collect::<Vec<_>>();
                let what = format!("n={n} affine={affine}");
                // dx is a difference of O(1) terms scaled by rstd; n = 1 gives exactly 0.
                assert_close(&dx, &plus1(&want_dx), 1e-4, &format!("{what} dx"));
                assert_close(&dw, &plus1(&want_dw), 1e-4, &format!("{what} dweight"));
                assert_close(&db, &plus1(&want_db), 1e-5, &format!("{what} dbias"));
                // Only dx wanted: the same dx.
                let mut dx_only = vec![1.0; rows * n];
                layer_norm_backward(Some(&mut dx_only), None, None, &dout, &x, &mean, &rstd, w, rows, n);
                assert_eq!(dx_only, dx, "{what}: dx alone");
                // Only the parameters wanted.
                let (mut dw2, mut db2) = (vec![1.0; n], vec![1.0; n]);
                layer_norm_backward(None, Some(&mut dw2), Some(&mut db2), &dout, &x, &mean, &rstd, w, rows, n);
                assert_eq!((dw2, db2), (dw, db), "{what}: parameters alone");
            }
        }
    }
}
