//! Element-wise math with one input and up to two scalar parameters (`p0`, `p1`): neg, exp, log,
//! sqrt, abs, pow by a scalar, clamp. Forward and backward side by side; backward ACCUMULATES.
//!
//! exp is `math::exp4` (SIMD), log is `math::log` (scalar, cephes), sqrt/abs/neg are single
//! SIMD instructions; pow is C `powf` per element.

#![allow(clippy::missing_safety_doc)]

use crate::math;
use crate::ops::elementwise::map1;
use crate::simd::F32x4;

/// The unary ops, by their ABI code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UnaryOp {
    Neg = 0,
    Exp = 1,
    Log = 2,
    Sqrt = 3,
    Abs = 4,
    /// `x^p0`.
    Pow = 5,
    /// `min(max(x, p0), p1)`, so p0 > p1 gives p1 everywhere (PyTorch); NaN stays NaN. Pass
    /// -inf / +inf for a missing bound.
    Clamp = 6,
}

impl UnaryOp {
    pub fn from_code(code: u32) -> Option<UnaryOp> {
        use UnaryOp::*;
        [Neg, Exp, Log, Sqrt, Abs, Pow, Clamp].get(code as usize).copied()
    }

    #[inline(always)]
    pub fn scalar(self, x: f32, p0: f32, p1: f32) -> f32 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => math::exp(x),
            UnaryOp::Log => math::log(x),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Pow => x.powf(p0),
            UnaryOp::Clamp => clamp(x, p0, p1),
        }
    }

    /// d/dx of `g * op(x)` given y = op(x), PyTorch 1.13's formulas: abs'(0) = 0 (sgn), sqrt'
    /// = g / (2y), pow' = 0 when the exponent is 0, clamp passes g where lo <= x <= hi.
    #[inline(always)]
    pub fn grad(self, g: f32, x: f32, y: f32, p0: f32, p1: f32) -> f32 {
        match self {
            UnaryOp::Neg => -g,
            UnaryOp::Exp => g * y,
            UnaryOp::Log => g / x,
            UnaryOp::Sqrt => g / (2.0 * y),
            UnaryOp::Abs => {
                if x > 0.0 { g } else if x < 0.0 { -g } else { 0.0 }
            }
            UnaryOp::Pow => {
                if p0 == 0.0 { 0.0 } else { g * (p0 * x.powf(p0 - 1.0)) }
            }
            UnaryOp::Clamp => {
                if x >= p0 && x <= p1 { g } else { 0.0 }
            }
        }
    }
}

#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let v = if x < lo { lo } else { x };
    if v > hi { hi } else { v }
}

/// `out = op(x)`; out, x (n). # Safety: pointers valid for n f32; `out` may equal `x`.
pub unsafe fn unary_forward(op: UnaryOp, out: *mut f32, x: *const f32, n: usize, p0: f32, p1: f32) {
    match op {
        UnaryOp::Neg => map1(out, x, n, |v| F32x4::zero().sub(v), |v| -v),
        UnaryOp::Exp => map1(out, x, n, math::exp4, math::exp),
        UnaryOp::Sqrt => map1(out, x, n, |v| v.sqrt(), f32::sqrt),
        UnaryOp::Abs => map1(out, x, n, |v| v.abs(), f32::abs),
        _ => {
            for i in 0..n {
                *out.add(i) = op.scalar(*x.add(i), p0, p1);
            }
        }
    }
}

/// `dinp += dout * op'(x)` (y = forward output); all (n). Accumulates.
pub fn unary_backward(op: UnaryOp, dinp: &mut [f32], dout: &[f32], x: &[f32], y: &[f32], p0: f32, p1: f32) {
    for i in 0..dinp.len() {
        dinp[i] += op.grad(dout[i], x[i], y[i], p0, p1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{rand_vec, SIZES};

    const OPS: [UnaryOp; 7] = [UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Abs, UnaryOp::Pow, UnaryOp::Clamp];

    #[test]
    fn forward_matches_scalar_and_works_in_place() {
        for &n in &SIZES {
            let x = rand_vec(n, 9, -3.0, 3.0);
            for op in OPS {
                let want: Vec<f32> = x.iter().map(|&v| op.scalar(v, 1.5, 0.5)).collect();
                let mut out = vec![0.0; n];
                unsafe { unary_forward(op, out.as_mut_ptr(), x.as_ptr(), n, 1.5, 0.5) };
                let same = out.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                assert!(same, "{op:?} n={n}");
                let mut inplace = x.clone();
                unsafe { unary_forward(op, inplace.as_mut_ptr(), inplace.as_ptr(), n, 1.5, 0.5) };
                let same = inplace.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                assert!(same, "{op:?} in place n={n}");
            }
        }
    }

    #[test]
    fn conventions() {
        assert_eq!(UnaryOp::Abs.grad(1.0, 0.0, 0.0, 0.0, 0.0), 0.0);
        assert_eq!(UnaryOp::Abs.grad(1.0, -2.0, 2.0, 0.0, 0.0), -1.0);
        assert_eq!(UnaryOp::Clamp.grad(1.0, 0.5, 0.5, 0.5, 1.0), 1.0, "at the bound: passes");
        assert_eq!(UnaryOp::Clamp.grad(1.0, 1.5, 1.0, 0.5, 1.0), 0.0);
        assert_eq!(UnaryOp::Clamp.scalar(3.0, 2.0, 1.0), 1.0, "min > max gives max");
        assert!(UnaryOp::Clamp.scalar(f32::NAN, 0.0, 1.0).is_nan());
        assert_eq!(UnaryOp::Pow.grad(1.0, 0.0, 1.0, 0.0, 0.0), 0.0);
        let mut d = [1.0f32];
        unary_backward(UnaryOp::Exp, &mut d, &[2.0], &[0.0], &[1.0], 0.0, 0.0);
        assert_eq!(d, [3.0], "accumulates");
    }
}
