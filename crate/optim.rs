//! Optimizer updates over flat f32 buffers, following PyTorch's `torch.optim` single-tensor
//! formulas operation by operation. p (param), g (grad), and every state buffer are (N).
//!
//! Hyperparameters are f64 (JS numbers): constants PyTorch derives in Python double precision
//! (`1 - beta2`, `lr / (1 - beta1^t)`, `1 - lr * wd`, ...) are derived here in f64 the same way
//! and only then rounded to f32, as ATen does with Python scalars. `step` is 1-based: the value
//! of PyTorch's `state["step"]` after its increment, i.e. 1 on the first update.

// Hyperparameters are passed positionally, one argument per PyTorch option.
#![allow(clippy::too_many_arguments)]

use crate::simd::F32x4;

/// torch.optim.SGD, one step, updates `p` and `buf` in place:
/// ```text
/// d = g + weight_decay * p                      (if weight_decay != 0)
/// if momentum != 0:
///     buf = d                                   (step == 1: PyTorch's `buf is None` branch)
///     buf = momentum * buf + (1 - dampening) * d  (step > 1)
///     d = d + momentum * buf  if nesterov  else  buf
/// p = p - lr * d
/// ```
/// `buf` is the momentum buffer (N); it is neither read nor written when momentum == 0 and may
/// then be empty. `step` only tells the first step (== 1), whose momentum buffer is `d` itself.
pub fn sgd_step(
    p: &mut [f32], g: &[f32], buf: &mut [f32],
    lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool, step: u32,
) {
    let n = p.len();
    let g = &g[..n];
    let k = SgdConsts {
        wd: weight_decay as f32,
        l2: weight_decay != 0.0,
        mom: momentum as f32,
        keep: (1.0 - dampening) as f32,
        neg_lr: -lr as f32,
        first: step <= 1,
        nesterov,
    };
    if momentum == 0.0 {
        let (pp, gp) = (p.as_mut_ptr(), g.as_ptr());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: i + 4 <= n; p and g have length n.
            unsafe {
                let (pv, _) = k.update(F32x4::load(pp.add(i)), F32x4::load(gp.add(i)), None, F32x4::splat);
                pv.store(pp.add(i));
            }
            i += 4;
        }
        for i in i..n {
            p[i] = k.update(S(p[i]), S(g[i]), None, S).0 .0;
        }
    } else {
        let buf = &mut buf[..n];
        let (pp, gp, bp) = (p.as_mut_ptr(), g.as_ptr(), buf.as_mut_ptr());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: i + 4 <= n; p, g and buf have length n.
            unsafe {
                let b = Some(F32x4::load(bp.add(i)));
                let (pv, bv) = k.update(F32x4::load(pp.add(i)), F32x4::load(gp.add(i)), b, F32x4::splat);
                pv.store(pp.add(i));
                bv.store(bp.add(i));
            }
            i += 4;
        }
        for i in i..n {
            let (pv, bv) = k.update(S(p[i]), S(g[i]), Some(S(buf[i])), S);
            p[i] = pv.0;
            buf[i] = bv.0;
        }
    }
}

struct SgdConsts {
    wd: f32,
    l2: bool,
    mom: f32,
    keep: f32,
    neg_lr: f32,
    first: bool,
    nesterov: bool,
}

impl SgdConsts {
    /// One element (or four lanes): returns the new (p, buf); `buf` is None without momentum
    /// (and the returned buf is then meaningless).
    #[inline(always)]
    fn update<T: Lanes>(&self, p: T, g: T, buf: Option<T>, splat: impl Fn(f32) -> T) -> (T, T) {
        let mut d = g;
        if self.l2 {
            d = splat(self.wd).mul_add(p, d);
        }
        let mut b = d;
        if let Some(old) = buf {
            if !self.first {
                b = old.mul(splat(self.mom)).add(splat(self.keep).mul(d));
            }
            d = if self.nesterov { splat(self.mom).mul_add(b, d) } else { b };
        }
        (splat(self.neg_lr).mul_add(d, p), b)
    }
}

/// Adam (`decoupled == false`, torch.optim.Adam) or AdamW (`decoupled == true`,
/// torch.optim.AdamW), one step, updates `p`, `m` (exp_avg) and `v` (exp_avg_sq) in place:
/// ```text
/// AdamW: p = p * (1 - lr * weight_decay)        Adam: g = g + weight_decay * p  (if wd != 0)
/// m = lerp(m, g, 1 - beta1)
/// v = v * beta2 + (1 - beta2) * g * g
/// denom = sqrt(v) / sqrt(1 - beta2^step) + eps
/// p = p - (lr / (1 - beta1^step)) * m / denom
/// ```
/// `m` and `v` start as zeros (PyTorch's state init). No amsgrad.
pub fn adam_step(
    p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32],
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: u32, decoupled: bool,
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let t = step.max(1) as i32;
    let k = AdamConsts {
        decay: (1.0 - lr * weight_decay) as f32,
        wd: weight_decay as f32,
        w1: (1.0 - beta1) as f32,
        b2: beta2 as f32,
        w2: (1.0 - beta2) as f32,
        neg_step_size: (-(lr / (1.0 - beta1.powi(t)))) as f32,
        bc2_sqrt: (1.0 - beta2.powi(t)).sqrt() as f32,
        eps: eps as f32,
        decoupled,
        l2: !decoupled && weight_decay != 0.0,
        lerp_low: (1.0 - beta1).abs() < 0.5,
    };
    let (pp, gp, mp, vp) = (p.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n; all four slices have length n.
        unsafe {
            let (pv, mv, vv) = k.update(
                F32x4::load(pp.add(i)), F32x4::load(gp.add(i)),
                F32x4::load(mp.add(i)), F32x4::load(vp.add(i)), F32x4::splat, F32x4::sqrt,
            );
            pv.store(pp.add(i));
            mv.store(mp.add(i));
            vv.store(vp.add(i));
        }
        i += 4;
    }
    while i < n {
        let (pv, mv, vv) = k.update(S(p[i]), S(g[i]), S(m[i]), S(v[i]), S, |x: S| S(x.0.sqrt()));
        p[i] = pv.0;
        m[i] = mv.0;
        v[i] = vv.0;
        i += 1;
    }
}

struct AdamConsts {
    decay: f32,
    wd: f32,
    w1: f32,
    b2: f32,
    w2: f32,
    neg_step_size: f32,
    bc2_sqrt: f32,
    eps: f32,
    decoupled: bool,
    l2: bool,
    lerp_low: bool,
}

impl AdamConsts {
    /// One element (or four lanes): returns the new (p, m, v).
    #[inline(always)]
    fn update<T: Lanes>(&self, mut p: T, mut g: T, m: T, v: T, splat: impl Fn(f32) -> T, sqrt: impl Fn(T) -> T) -> (T, T, T) {
        if self.decoupled {
            p = p.mul(splat(self.decay));
        } else if self.l2 {
            g = splat(self.wd).mul_add(p, g);
        }
        // ATen's lerp: start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w).
        let m = if self.lerp_low {
            splat(self.w1).mul_add(g.sub(m), m)
        } else {
            g.sub(g.sub(m).mul(splat(1.0 - self.w1)))
        };
        // addcmul_(g, g, value=w2): v + (w2 * g) * g
        let v = v.mul(splat(self.b2)).add(splat(self.w2).mul(g).mul(g));
        let denom = sqrt(v).div(splat(self.bc2_sqrt)).add(splat(self.eps));
        // addcdiv_(m, denom, value=-step_size): p + (-step_size * m) / denom
        let p = p.add(splat(self.neg_step_size).mul(m).div(denom));
        (p, m, v)
    }
}

/// A scalar with `F32x4`'s method names, so one expression serves the vector body and the tail.
#[derive(Clone, Copy)]
struct S(f32);

trait Lanes: Copy {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn mul_add(self, a: Self, b: Self) -> Self;
}

impl Lanes for S {
    fn add(self, o: Self) -> Self { S(self.0 + o.0) }
    fn sub(self, o: Self) -> Self { S(self.0 - o.0) }
    fn mul(self, o: Self) -> Self { S(self.0 * o.0) }
    fn div(self, o: Self) -> Self { S(self.0 / o.0) }
    fn mul_add(self, a: Self, b: Self) -> Self { S(self.0 * a.0 + b.0) }
}

impl Lanes for F32x4 {
    fn add(self, o: Self) -> Self { F32x4::add(self, o) }
    fn sub(self, o: Self) -> Self { F32x4::sub(self, o) }
    fn mul(self, o: Self) -> Self { F32x4::mul(self, o) }
    fn div(self, o: Self) -> Self { F32x4::div(self, o) }
    fn mul_add(self, a: Self, b: Self) -> Self { F32x4::mul_add(self, a, b) }
}

/// Plain per-element transcriptions of the PyTorch loops, the references for the tests.
pub mod naive {
    pub fn sgd_step(
        p: &mut [f32], g: &[f32], buf: &mut [f32],
        lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool, step: u32,
    ) {
        for i in 0..p.len() {
            let mut d = g[i];
            if weight_decay != 0.0 {
                d += weight_decay as f32 * p[i];
            }
            if momentum != 0.0 {
                if step == 1 {
                    buf[i] = d;
                } else {
                    buf[i] = buf[i] * momentum as f32 + (1.0 - dampening) as f32 * d;
                }
                d = if nesterov { d + momentum as f32 * buf[i] } else { buf[i] };
            }
            p[i] += -lr as f32 * d;
        }
    }

    pub fn adam_step(
        p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32],
        lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: u32, decoupled: bool,
    ) {
        let bc1 = 1.0 - beta1.powi(step as i32);
        let bc2 = 1.0 - beta2.powi(step as i32);
        let step_size = (lr / bc1) as f32;
        for i in 0..p.len() {
            let mut gi = g[i];
            if decoupled {
                p[i] *= (1.0 - lr * weight_decay) as f32;
            } else if weight_decay != 0.0 {
                gi += weight_decay as f32 * p[i];
            }
            let w = (1.0 - beta1) as f32;
            m[i] = if w.abs() < 0.5 { m[i] + w * (gi - m[i]) } else { gi - (gi - m[i]) * (1.0 - w) };
            v[i] = v[i] * beta2 as f32 + (1.0 - beta2) as f32 * gi * gi;
            let denom = v[i].sqrt() / bc2.sqrt() as f32 + eps as f32;
            p[i] += -step_size * m[i] / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::rand_vec;

    const SIZES: [usize; 5] = [1, 3, 7, 65, 257];

    #[test]
    fn sgd_matches_reference_over_steps() {
        // (momentum, dampening, weight_decay, nesterov)
        let configs = [
            (0.0, 0.0, 0.0, false),
            (0.0, 0.0, 0.01, false),
            (0.9, 0.0, 0.0, false),
            (0.9, 0.1, 1e-3, false),
            (0.9, 0.0, 1e-2, true),
        ];
        for &n in &SIZES {
            for &(mom, damp, wd, nest) in &configs {
                let mut p = rand_vec(n, 61, -1.0, 1.0);
                let mut buf = if mom != 0.0 { vec![f32::NAN; n] } else { vec![] };
                let (mut pr, mut br) = (p.clone(), vec![f32::NAN; n]);
                for step in 1..=5u32 {
                    let g = rand_vec(n, 100 + step as u64, -1.0, 1.0);
                    sgd_step(&mut p, &g, &mut buf, 0.05, mom, damp, wd, nest, step);
                    naive::sgd_step(&mut pr, &g, &mut br, 0.05, mom, damp, wd, nest, step);
                    assert_eq!(p, pr, "sgd n={n} cfg={:?} step={step}", (mom, damp, wd, nest));
                    if mom != 0.0 {
                        assert_eq!(buf, br);
                    }
                }
            }
        }
    }

    #[test]
    fn sgd_momentum_hand_computed() {
        // p = 1, g = 0.5 each step, lr = 0.1, momentum = 0.9:
        // buf 0.5, 0.95, 1.355 -> p 0.95, 0.855, 0.7195.
        let (mut p, mut buf) = (vec![1.0f32; 5], vec![0.0f32; 5]);
        let want = [0.95, 0.855, 0.7195];
        for (step, &w) in (1..=3).zip(&want) {
            sgd_step(&mut p, &[0.5; 5], &mut buf, 0.1, 0.9, 0.0, 0.0, false, step);
            assert!(p.iter().all(|&x| (x - w).abs() < 1e-6), "step {step}: {p:?} vs {w}");
        }
    }

    #[test]
    fn adam_and_adamw_match_reference_over_steps() {
        // (beta1, beta2, weight_decay); beta1 = 0.3 exercises the other lerp branch.
        let configs = [(0.9, 0.999, 0.0), (0.9, 0.999, 0.01), (0.3, 0.99, 0.1)];
        for &n in &SIZES {
            for &(b1, b2, wd) in &configs {
                for &decoupled in &[false, true] {
                    let mut p = rand_vec(n, 71, -1.0, 1.0);
                    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
                    let (mut pr, mut mr, mut vr) = (p.clone(), m.clone(), v.clone());
                    for step in 1..=6u32 {
                        let g = rand_vec(n, 200 + step as u64, -1.0, 1.0);
                        adam_step(&mut p, &g, &mut m, &mut v, 1e-2, b1, b2, 1e-8, wd, step, decoupled);
                        naive::adam_step(&mut pr, &g, &mut mr, &mut vr, 1e-2, b1, b2, 1e-8, wd, step, decoupled);
                        let what = format!("adam n={n} b1={b1} wd={wd} decoupled={decoupled} step={step}");
                        assert_eq!(p, pr, "{what}: p");
                        assert_eq!(m, mr, "{what}: m");
                        assert_eq!(v, vr, "{what}: v");
                    }
                }
            }
        }
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_sign() {
        // With bias correction, step 1 gives m_hat = g, v_hat = g^2: p -= lr * g / (|g| + eps).
        let g = [0.5f32, -2.0, 1e-3, -0.25, 3.0];
        let mut p = vec![1.0f32; 5];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        adam_step(&mut p, &g, &mut m, &mut v, 0.1, 0.9, 0.999, 1e-8, 0.0, 1, false);
        for (x, gi) in p.iter().zip(&g) {
            let want = 1.0 - 0.1 * gi.signum();
            assert!((x - want).abs() < 1e-5, "{x} vs {want}");
        }
        // AdamW first shrinks p by (1 - lr * wd) = 0.99 before the same step.
        let mut p = vec![1.0f32; 5];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        adam_step(&mut p, &g, &mut m, &mut v, 0.1, 0.9, 0.999, 1e-8, 0.1, 1, true);
        for (x, gi) in p.iter().zip(&g) {
            let want = 0.99 - 0.1 * gi.signum();
            assert!((x - want).abs() < 1e-5, "{x} vs {want}");
        }
    }
}
