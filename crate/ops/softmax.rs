//! Softmax and log-softmax over the last dim of (R,N), and the fused softmax-cross-entropy loss
//! over logits (R,V). All are max-subtracted, so logits of any magnitude are safe.
//!
//! Forward kernels (and the fused loss+gradient) take raw pointers so `out` may be `inp`
//! (in-place); partial overlap is not allowed. Backward kernels ACCUMULATE into `dinp` unless
//! the doc comment says otherwise; `dinp` must not overlap the other buffers.

// Each unsafe kernel states its pointer contract on one `# Safety:` line of its doc.
#![allow(clippy::missing_safety_doc)]

use crate::math;
use crate::simd::F32x4;

/// max_j x[j] over one row of n > 0 values (a NaN makes the row's later results NaN anyway).
#[inline(always)]
unsafe fn row_max(x: *const f32, n: usize) -> f32 {
    let mut acc = F32x4::splat(f32::NEG_INFINITY);
    let mut j = 0;
    while j + 4 <= n {
        acc = acc.max(F32x4::load(x.add(j)));
        j += 4;
    }
    let mut m = acc.max_lane();
    while j < n {
        m = m.max(*x.add(j));
        j += 1;
    }
    m
}

/// sum_j exp(x[j] - m); when `store` is given, also writes each exp(x[j] - m) there
/// (`store` may equal `x`).
#[inline(always)]
unsafe fn row_sum_exp(x: *const f32, n: usize, m: f32, store: Option<*mut f32>) -> f32 {
    let mv = F32x4::splat(m);
    let mut acc = F32x4::zero();
    let mut j = 0;
    while j + 4 <= n {
        let e = math::exp4(F32x4::load(x.add(j)).sub(mv));
        if let Some(o) = store {
            e.store(o.add(j));
        }
        acc = acc.add(e);
        j += 4;
    }
    let mut s = acc.sum();
    while j < n {
        let e = math::exp(*x.add(j) - m);
        if let Some(o) = store {
            *o.add(j) = e;
        }
        s += e;
        j += 1;
    }
    s
}

/// `x[j] *= a` over one row.
#[inline(always)]
unsafe fn row_scale(x: *mut f32, n: usize, a: f32) {
    let av = F32x4::splat(a);
    let mut j = 0;
    while j + 4 <= n {
        F32x4::load(x.add(j)).mul(av).store(x.add(j));
        j += 4;
    }
    while j < n {
        *x.add(j) *= a;
        j += 1;
    }
}

/// sum_j a[j] * b[j] over one row.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let b = &b[..n];
    let mut acc = F32x4::zero();
    let mut j = 0;
    while j + 4 <= n {
        // SAFETY: j + 4 <= n = a.len() = b.len().
        unsafe { acc = F32x4::load(a.as_ptr().add(j)).mul_add(F32x4::load(b.as_ptr().add(j)), acc) };
        j += 4;
    }
    let mut s = acc.sum();
    for j in j..n {
        s += a[j] * b[j];
    }
    s
}

// ----- softmax ---------------------------------------------------------------------------------

/// `out[r,:] = exp(inp[r,:] - max) / sum(exp(inp[r,:] - max))`; out, inp (R,N).
/// # Safety: pointers valid for R*N f32; `out` may equal `inp`.
pub unsafe fn softmax_forward(out: *mut f32, inp: *const f32, rows: usize, n: usize) {
    if n == 0 {
        return;
    }
    for r in 0..rows {
        let (x, o) = (inp.add(r * n), out.add(r * n));
        let m = row_max(x, n);
        let s = row_sum_exp(x, n, m, Some(o));
        row_scale(o, n, 1.0 / s);
    }
}

/// `dinp[r,j] += y[r,j] * (dout[r,j] - sum_k dout[r,k] y[r,k])` with y = softmax output;
/// dinp, dout, out (R,N). Accumulates.
pub fn softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], rows: usize, n: usize) {
    for r in 0..rows {
        let rng = r * n..(r + 1) * n;
        let (d, g, y) = (&mut dinp[rng.clone()], &dout[rng.clone()], &out[rng]);
        let gys = dot(g, y);
        let gy = F32x4::splat(gys);
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: j + 4 <= n, every row slice has length n.
            unsafe {
                let yv = F32x4::load(y.as_ptr().add(j));
                let gv = F32x4::load(g.as_ptr().add(j));
                yv.mul_add(gv.sub(gy), F32x4::load(d.as_ptr().add(j))).store(d.as_mut_ptr().add(j));
            }
            j += 4;
        }
        for j in j..n {
            d[j] += y[j] * (g[j] - gys);
        }
    }
}

// ----- log-softmax -----------------------------------------------------------------------------

/// `out[r,:] = inp[r,:] - max - ln(sum(exp(inp[r,:] - max)))`; out, inp (R,N).
/// # Safety: pointers valid for R*N f32; `out` may equal `inp`.
pub unsafe fn log_softmax_forward(out: *mut f32, inp: *const f32, rows: usize, n: usize) {
    if n == 0 {
        return;
    }
    for r in 0..rows {
        let (x, o) = (inp.add(r * n), out.add(r * n));
        let m = row_max(x, n);
        let s = row_sum_exp(x, n, m, None);
        // (x - m) - ln s in this order: folding -m - ln s into one constant first would round
        // away the small differences x - m near the max.
        let (mv, lv) = (F32x4::splat(m), F32x4::splat(s.ln()));
        let mut j = 0;
        while j + 4 <= n {
            F32x4::load(x.add(j)).sub(mv).sub(lv).store(o.add(j));
            j += 4;
        }
        while j < n {
            *o.add(j) = (*x.add(j) - m) - s.ln();
            j += 1;
        }
    }
}

/// `dinp[r,j] += dout[r,j] - exp(y[r,j]) * sum_k dout[r,k]` with y = log-softmax output;
/// dinp, dout, out (R,N). Accumulates.
pub fn log_softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], rows: usize, n: usize) {
    for r in 0..rows {
        let rng = r * n..(r + 1) * n;
        let (d, g, y) = (&mut dinp[rng.clone()], &dout[rng.clone()], &out[rng]);
        let gs: f32 = g.iter().sum();
        let gsv = F32x4::splat(gs);
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: j + 4 <= n, every row slice has length n.
            unsafe {
                let p = math::exp4(F32x4::load(y.as_ptr().add(j)));
                let gv = F32x4::load(g.as_ptr().add(j));
                F32x4::load(d.as_ptr().add(j)).add(gv.sub(p.mul(gsv))).store(d.as_mut_ptr().add(j));
            }
            j += 4;
        }
        for j in j..n {
            d[j] += g[j] - math::exp(y[j]) * gs;
        }
    }
}

// ----- softmax cross-entropy -------------------------------------------------------------------

fn counted_rows(targets: &[i32], ignore_index: i32) -> usize {
    targets.iter().filter(|&&t| t != ignore_index).count()
}

/// Mean cross-entropy `mean_r (logsumexp(logits[r,:]) - logits[r, targets[r]])` over rows whose
/// target is not `ignore_index`; 0 when every row is ignored. logits (R,V), targets (R).
/// Needs no scratch buffer (nothing but the loss is produced). Sums rows in f64.
/// Targets must be in [0, V) or equal `ignore_index` (checked by the caller; out of range panics).
pub fn cross_entropy_forward(logits: &[f32], targets: &[i32], rows: usize, v: usize, ignore_index: i32) -> f32 {
    let logits = &logits[..rows * v];
    let mut total = 0.0f64;
    let mut count = 0usize;
    for (r, &t) in targets[..rows].iter().enumerate() {
        if t == ignore_index {
            continue;
        }
        let x = &logits[r * v..(r + 1) * v];
        let xt = x[t as usize];
        // SAFETY: x has v >= 1 elements (it holds index t).
        let (m, s) = unsafe {
            let m = row_max(x.as_ptr(), v);
            (m, row_sum_exp(x.as_ptr(), v, m, None))
        };
        total += (s.ln() - (xt - m)) as f64;
        count += 1;
    }
    if count == 0 { 0.0 } else { (total / count as f64) as f32 }
}

/// `dlogits[r,:] += (softmax(logits[r,:]) - onehot(targets[r])) * dloss / count` on counted
/// rows; ignored rows (and every row, when all are ignored) are left untouched. ACCUMULATES.
/// dlogits, logits (R,V), targets (R). Recomputes the softmax from the logits.
pub fn cross_entropy_backward(
    dlogits: &mut [f32], logits: &[f32], targets: &[i32], rows: usize, v: usize,
    ignore_index: i32, dloss: f32,
) {
    let targets = &targets[..rows];
    let (logits, dlogits) = (&logits[..rows * v], &mut dlogits[..rows * v]);
    let count = counted_rows(targets, ignore_index);
    if count == 0 {
        return;
    }
    let scale = dloss / count as f32;
    for (r, &t) in targets.iter().enumerate() {
        if t == ignore_index {
            continue;
        }
        let (x, d) = (&logits[r * v..(r + 1) * v], &mut dlogits[r * v..(r + 1) * v]);
        // SAFETY: x has v >= 1 elements (t indexes it below).
        let (m, s) = unsafe {
            let m = row_max(x.as_ptr(), v);
            (m, row_sum_exp(x.as_ptr(), v, m, None))
        };
        let (mv, k) = (F32x4::splat(m), F32x4::splat(scale / s));
        let mut j = 0;
        while j + 4 <= v {
            // SAFETY: j + 4 <= v, both row slices have length v.
            unsafe {
                let p = math::exp4(F32x4::load(x.as_ptr().add(j)).sub(mv));
                p.mul_add(k, F32x4::load(d.as_ptr().add(j))).store(d.as_mut_ptr().add(j));
            }
            j += 4;
        }
        for j in j..v {
            d[j] += math::exp(x[j] - m) * (scale / s);
        }
        d[t as usize] -= scale;
    }
}

/// f64 references.
pub mod naive {
    pub fn softmax_row(x: &[f32]) -> Vec<f64> {
        let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
        let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }
    pub fn softmax_forward(out: &mut [f32], inp: &[f32], rows: usize, n: usize) {
        for r in 0..rows {
            for (o, p) in out[r * n..(r + 1) * n].iter_mut().zip(softmax_row(&inp[r * n..(r + 1) * n])) {
                *o = p as f32;
            }
        }
    }
    pub fn log_softmax_forward(out: &mut [f32], inp: &[f32], rows: usize, n: usize) {
        for r in 0..rows {
            let x = &inp[r * n..(r + 1) * n];
            let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
            let lse = m + x.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            for j in 0..n {
                out[r * n + j] = (x[j] as f64 - lse) as f32;
            }
        }
    }
    pub fn softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], rows: usize, n: usize) {
        for r in 0..rows {
            let row = r * n..(r + 1) * n;
            let gy: f64 = dout[row.clone()].iter().zip(&out[row]).map(|(&g, &y)| g as f64 * y as f64).sum();
            for j in r * n..(r + 1) * n {
                dinp[j] += (out[j] as f64 * (dout[j] as f64 - gy)) as f32;
            }
        }
    }
    pub fn log_softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], rows: usize, n: usize) {
        for r in 0..rows {
            let gs: f64 = dout[r * n..(r + 1) * n].iter().map(|&g| g as f64).sum();
            for j in r * n..(r + 1) * n {
                dinp[j] += (dout[j] as f64 - (out[j] as f64).exp() * gs) as f32;
            }
        }
    }
    /// (mean loss, gradient of dloss * mean loss) in f64.
    pub fn cross_entropy(logits: &[f32], targets: &[i32], rows: usize, v: usize, ignore: i32, dloss: f64) -> (f64, Vec<f64>) {
        let count = targets.iter().filter(|&&t| t != ignore).count();
        let mut loss = 0.0;
        let mut grad = vec![0.0; rows * v];
        for r in 0..rows {
            let t = targets[r];
            if t == ignore {
                continue;
            }
            let p = softmax_row(&logits[r * v..(r + 1) * v]);
            loss -= p[t as usize].ln();
            for j in 0..v {
                let onehot = if j == t as usize { 1.0 } else { 0.0 };
                grad[r * v + j] = (p[j] - onehot) * dloss / count as f64;
            }
        }
        (if count == 0 { 0.0 } else { loss / count as f64 }, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{assert_close, rand_vec, SIZES};

    #[test]
    fn softmax_and_log_softmax_match_naive() {
        for &rows in &[1usize, 3] {
            for &n in &SIZES {
                let x = rand_vec(rows * n, 31, -8.0, 8.0);
                let dy = rand_vec(rows * n, 32, -1.0, 1.0);
                let d0 = rand_vec(rows * n, 33, -1.0, 1.0);

                let mut want = vec![0.0; rows * n];
                naive::softmax_forward(&mut want, &x, rows, n);
                let mut y = x.clone();
                unsafe { softmax_forward(y.as_mut_ptr(), y.as_ptr(), rows, n) };
                assert_close(&y, &want, 1e-6, "softmax");
                let (mut dw, mut dx) = (d0.clone(), d0.clone());
                naive::softmax_backward(&mut dw, &dy, &y, rows, n);
                softmax_backward(&mut dx, &dy, &y, rows, n);
                assert_close(&dx, &dw, 1e-6, "softmax_backward");

                naive::log_softmax_forward(&mut want, &x, rows, n);
                let mut ly = vec![0.0; rows * n];
                unsafe { log_softmax_forward(ly.as_mut_ptr(), x.as_ptr(), rows, n) };
                assert_close(&ly, &want, 1e-6, "log_softmax");
                let mut inplace = x.clone();
                unsafe { log_softmax_forward(inplace.as_mut_ptr(), inplace.as_ptr(), rows, n) };
                assert_eq!(inplace, ly, "log_softmax in place");
                let (mut dw, mut dx) = (d0.clone(), d0.clone());
                naive::log_softmax_backward(&mut dw, &dy, &ly, rows, n);
                log_softmax_backward(&mut dx, &dy, &ly, rows, n);
                assert_close(&dx, &dw, 2e-6, "log_softmax_backward");
            }
        }
    }

    #[test]
    fn softmax_is_stable_for_huge_logits() {
        let x = [1000.0f32, 999.0, -1000.0, 1e30, 1e30];
        let mut y = [0.0f32; 5];
        unsafe { softmax_forward(y.as_mut_ptr(), x.as_ptr(), 1, 5) };
        assert_eq!(y, [0.0, 0.0, 0.0, 0.5, 0.5]);
        let x = [1000.0f32, 999.0, -1000.0];
        unsafe { log_softmax_forward(y.as_mut_ptr(), x.as_ptr(), 1, 3) };
        assert!((y[0] + 0.313_261_7).abs() < 1e-6 && (y[1] + 1.313_261_7).abs() < 1e-6, "{y:?}");
        assert!((y[2] + 2_000.313).abs() < 1e-3, "{y:?}");
    }

    /// Finite-difference check of the naive backward formulas the fast kernels are held to.
    #[test]
    fn naive_backward_matches_finite_differences() {
        let (rows, n) = (2, 5);
        let x = rand_vec(rows * n, 34, -2.0, 2.0);
        let w = rand_vec(rows * n, 35, -1.0, 1.0);
        type Fwd = fn(&mut [f32], &[f32], usize, usize);
        type Bwd = fn(&mut [f32], &[f32], &[f32], usize, usize);
        let pairs: [(Fwd, Bwd); 2] = [
            (naive::softmax_forward, naive::softmax_backward),
            (naive::log_softmax_forward, naive::log_softmax_backward),
        ];
        for &(fwd, bwd) in &pairs {
            let loss = |x: &[f32]| {
                let mut y = vec![0.0; rows * n];
                fwd(&mut y, x, rows, n);
                y.iter().zip(&w).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>()
            };
            let mut y = vec![0.0; rows * n];
            fwd(&mut y, &x, rows, n);
            let mut dx = vec![0.0; rows * n];
            bwd(&mut dx, &w, &y, rows, n);
            for i in 0..rows * n {
                let h = 1e-2f32;
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let fd = (loss(&xp) - loss(&xm)) / (2.0 * h as f64);
                assert!((fd - dx[i] as f64).abs() < 1e-3, "i={i}: fd {fd} vs {}", dx[i]);
            }
        }
    }

    #[test]
    fn cross_entropy_matches_naive_with_ignore_index() {
        const IGNORE: i32 = -100;
        for &rows in &[1usize, 3, 7] {
            for &v in &SIZES {
                let logits = rand_vec(rows * v, 41, -10.0, 10.0);
                let targets: Vec<i32> = (0..rows)
                    .map(|r| if r % 3 == 1 { IGNORE } else { ((r * 7919 + 3) % v) as i32 })
                    .collect();
                let dloss = 0.75f32;
                let (want_loss, want_grad) = naive::cross_entropy(&logits, &targets, rows, v, IGNORE, dloss as f64);
                let want_grad: Vec<f32> = want_grad.iter().map(|&g| g as f32).collect();

                let loss = cross_entropy_forward(&logits, &targets, rows, v, IGNORE);
                assert!((loss as f64 - want_loss).abs() < 2e-6 * (1.0 + want_loss), "forward {loss} vs {want_loss}");

                let base = rand_vec(rows * v, 42, -1.0, 1.0);
                let mut acc = base.clone();
                cross_entropy_backward(&mut acc, &logits, &targets, rows, v, IGNORE, dloss);
                let want_acc: Vec<f32> = base.iter().zip(&want_grad).map(|(a, g)| a + g).collect();
                assert_close(&acc, &want_acc, 1e-6, "cross_entropy_backward accumulates");
                for r in (0..rows).filter(|r| targets[*r] == IGNORE) {
                    assert_eq!(&acc[r * v..(r + 1) * v], &base[r * v..(r + 1) * v], "ignored row untouched");
                }
            }
        }
    }

    #[test]
    fn cross_entropy_all_ignored_is_zero() {
        let (rows, v) = (3, 5);
        let logits = rand_vec(rows * v, 43, -3.0, 3.0);
        let targets = [-1, -1, -1];
        assert_eq!(cross_entropy_forward(&logits, &targets, rows, v, -1), 0.0);
        let mut acc = vec![2.0; rows * v];
        cross_entropy_backward(&mut acc, &logits, &targets, rows, v, -1, 1.0);
        assert!(acc.iter().all(|&g| g == 2.0));
        assert_eq!(cross_entropy_forward(&[], &[], 0, 5, -100), 0.0);
    }

    #[test]
    fn cross_entropy_huge_logits_and_known_value() {
        // log(1 + e^-1 + e^-2000) against PyTorch's F.cross_entropy([[1000, 999, -1000]], [0]).
        let logits = [1000.0f32, 999.0, -1000.0, 0.0, 0.0, 0.0];
        let loss = cross_entropy_forward(&logits, &[0, 2], 2, 3, -100);
        let want = (0.313_261_687_518_223 + 3f64.ln()) / 2.0;
        assert!((loss as f64 - want).abs() < 1e-6, "{loss} vs {want}");
    }
}
