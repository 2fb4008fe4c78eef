//! Transcendental functions over `F32x4`, plus scalar versions that run the very same vector
//! code on lane 0 (so a kernel's scalar tail gives bit-identical results to its vector body).
//!
//! Accuracy, measured by the sweep tests below against f64 `std` over the whole f32 range:
//! - `exp`: relative error < 1e-6 wherever the true result is a normal f32 (about 2 ulp);
//!   where it is subnormal, absolute error < 1e-38 (the result is the correctly rounded product
//!   of the reduced polynomial and 2^n, so in practice within one subnormal step, 1.4e-45).
//!   `exp(x) = +inf` for x > 88.7228, `0` for x < -103.97, `exp(-inf) = 0`, NaN propagates.
//! - `tanh`: absolute error < 5e-7; `tanh(±big) = ±1` exactly, `tanh(±0) = ±0`, NaN propagates.
//! - `sigmoid`: absolute error < 5e-7; `sigmoid(-big) = 0`, `sigmoid(big) = 1`, NaN propagates.
//! - `log` (scalar only): error < 2e-7 * max(1, |log x|) over all positive f32, subnormals
//!   included; `log(0) = -inf`, `log(x < 0) = NaN`, `log(inf) = inf`, NaN propagates.

// The polynomial coefficients are cephes' published digits, kept verbatim.
#![allow(clippy::excessive_precision)]

use crate::simd::F32x4;

const LOG2E: f32 = core::f32::consts::LOG2_E;
// ln 2 split Cody-Waite style: LN2_HI has 9 significant bits, so `n * LN2_HI` is exact for
// every |n| <= 150 and `x - n * LN2_HI` loses nothing.
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
// Inputs are clamped to this range first; beyond it the result is already 0 or +inf, and the
// clamp keeps |n| <= 150 so each half of the split 2^n scale stays a normal float.
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;

/// e^x lane-wise.
///
/// x = n ln2 + r with n = round(x log2e), |r| <= ln2/2; e^r from the cephes `expf` degree-6
/// polynomial; then scaled by 2^n as 2^(n/2) * 2^(n - n/2), so n = 128 (results near f32::MAX)
/// and n down to -150 (subnormal results, rounded once in the final multiply) both work.
#[inline(always)]
pub fn exp4(x: F32x4) -> F32x4 {
    exp4_n([x])[0]
}

/// `exp4` of N independent vectors, computed stage by stage across all N. One exp is a chain of
/// about 20 dependent operations; V8 does not reorder instructions, so interleaving the chains in
/// the code is what lets the CPU overlap them (one vector alone is latency-bound).
#[inline(always)]
pub fn exp4_n<const N: usize>(x: [F32x4; N]) -> [F32x4; N] {
    let mut x = x;
    let mut n = [F32x4::zero(); N];
    let mut r = [F32x4::zero(); N];
    let mut p = [F32x4::zero(); N];
    for k in 0..N {
        // `max`/`min` keep a NaN in `self`, so NaN flows through to the polynomial.
        x[k] = x[k].max(F32x4::splat(EXP_LO)).min(F32x4::splat(EXP_HI));
    }
    for k in 0..N {
        n[k] = x[k].mul(F32x4::splat(LOG2E)).round();
    }
    for k in 0..N {
        r[k] = x[k].sub(n[k].mul(F32x4::splat(LN2_HI))).sub(n[k].mul(F32x4::splat(LN2_LO)));
    }
    for k in 0..N {
        p[k] = F32x4::splat(1.987_569_2e-4).mul_add(r[k], F32x4::splat(1.398_199_9e-3));
    }
    for k in 0..N {
        p[k] = p[k].mul_add(r[k], F32x4::splat(8.333_452e-3));
    }
    for k in 0..N {
        p[k] = p[k].mul_add(r[k], F32x4::splat(4.166_579_6e-2));
    }
    for k in 0..N {
        p[k] = p[k].mul_add(r[k], F32x4::splat(1.666_666_5e-1));
    }
    for k in 0..N {
        p[k] = p[k].mul_add(r[k], F32x4::splat(5.000_000_1e-1));
    }
    let mut out = [F32x4::zero(); N];
    for k in 0..N {
        let er = p[k].mul_add(r[k].mul(r[k]), r[k]).add(F32x4::splat(1.0));
        // n = n1 + n2 with both halves integral and within 1 of n/2, so each 2^half is normal.
        let n1 = n[k].mul(F32x4::splat(0.5)).round();
        let n2 = n[k].sub(n1);
        out[k] = er.mul(n1.exp2_int()).mul(n2.exp2_int());
    }
    out
}

// tanh: below this |x| an odd polynomial (cephes `tanhf`), above it (1 - e) / (1 + e).
const TANH_SMALL: f32 = 0.625;

/// tanh(x) lane-wise: sign(x) * (1 - e) / (1 + e) with e = exp(-2|x|) for |x| >= 0.625
/// (e <= 1, so nothing overflows and ±big and ±inf give ±1), the cephes odd polynomial below.
#[inline(always)]
pub fn tanh4(x: F32x4) -> F32x4 {
    tanh4_from_exp(x, exp4(tanh_exp_arg(x)))
}

/// The argument whose `exp4` `tanh4_from_exp` needs: -2|x|.
#[inline(always)]
pub fn tanh_exp_arg(x: F32x4) -> F32x4 {
    x.abs().mul(F32x4::splat(-2.0))
}

/// tanh(x) given e = exp4(tanh_exp_arg(x)), so callers can batch that exp with others.
#[inline(always)]
pub fn tanh4_from_exp(x: F32x4, e: F32x4) -> F32x4 {
    let one = F32x4::splat(1.0);
    let big = one.sub(e).div(one.add(e));
    let s = x.mul(x);
    let mut p = F32x4::splat(-5.704_988_7e-3);
    p = p.mul_add(s, F32x4::splat(2.063_908_9e-2));
    p = p.mul_add(s, F32x4::splat(-5.373_971_6e-2));
    p = p.mul_add(s, F32x4::splat(1.333_144_2e-1));
    p = p.mul_add(s, F32x4::splat(-3.333_328_2e-1));
    let small = p.mul(s).mul_add(x, x);
    // NaN compares false, so it takes the `big` branch, which is NaN. The sign copy also makes
    // tanh(-0) = -0, which the polynomial alone turns into +0.
    x.abs().lt(F32x4::splat(TANH_SMALL)).select(small, big).with_sign_of(x)
}

/// 1 / (1 + exp(-x)) lane-wise. exp(-x) = +inf for very negative x gives exactly 0.
#[inline(always)]
pub fn sigmoid4(x: F32x4) -> F32x4 {
    sigmoid4_from_exp(exp4(sigmoid_exp_arg(x)))
}

/// The argument whose `exp4` `sigmoid4_from_exp` needs: -x.
#[inline(always)]
pub fn sigmoid_exp_arg(x: F32x4) -> F32x4 {
    F32x4::zero().sub(x)
}

/// sigmoid(x) given e = exp4(sigmoid_exp_arg(x)).
#[inline(always)]
pub fn sigmoid4_from_exp(e: F32x4) -> F32x4 {
    let one = F32x4::splat(1.0);
    one.div(one.add(e))
}

fn lane0(f: impl Fn(F32x4) -> F32x4, x: f32) -> f32 {
    let mut out = [0.0f32; 4];
    // SAFETY: `out` holds four f32.
    unsafe { f(F32x4::splat(x)).store(out.as_mut_ptr()) };
    out[0]
}

/// Scalar e^x, bit-identical to a lane of `exp4`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    lane0(exp4, x)
}

/// Scalar tanh, bit-identical to a lane of `tanh4`.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    lane0(tanh4, x)
}

/// Scalar logistic sigmoid, bit-identical to a lane of `sigmoid4`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    lane0(sigmoid4, x)
}

const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;

/// Natural logarithm (cephes `logf`): x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
/// log(m) = f - f^2/2 + f^3 P(f) with f = m - 1, and e ln2 added in the Cody-Waite split of
/// `exp`. Scalar: it needs the exponent bits, which the vector type does not expose.
pub fn log(x: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x == f32::INFINITY {
        return x;
    }
    let (mut bits, mut e) = (x.to_bits(), 0i32);
    if bits < 0x0080_0000 {
        // Subnormal: scale by 2^25 into the normal range first.
        bits = (x * 33_554_432.0).to_bits();
        e = -25;
    }
    e += ((bits >> 23) as i32) - 126;
    // m in [0.5, 1): the mantissa with the exponent of 0.5.
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    if m < SQRT_HALF {
        e -= 1;
        m = m + m - 1.0;
    } else {
        m -= 1.0;
    }
    let z = m * m;
    let mut y = 7.037_683_6e-2f32;
    y = y * m - 1.151_461_0e-1;
    y = y * m + 1.167_699_9e-1;
    y = y * m - 1.242_014_1e-1;
    y = y * m + 1.424_932_3e-1;
    y = y * m - 1.666_805_8e-1;
    y = y * m + 2.000_071_5e-1;
    y = y * m - 2.499_999_4e-1;
    y = y * m + 3.333_333_1e-1;
    y *= m * z;
    let ef = e as f32;
    y += LN2_LO * ef;
    y -= 0.5 * z;
    (m + y) + LN2_HI * ef
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points across the whole f32 range: a strided walk over all bit patterns of each sign,
    /// a dense grid over the interesting region, and the special values.
    fn sweep_points() -> Vec<f32> {
        let mut v = Vec::new();
        let mut bits: u32 = 0;
        while bits < 0x7f80_0000 {
            v.push(f32::from_bits(bits));
            v.push(-f32::from_bits(bits));
            bits += 997;
        }
        let mut x = -120.0f64;
        while x <= 100.0 {
            v.push(x as f32);
            x += 1.0 / 1024.0;
        }
        let mut x = -2.0f64;
        while x <= 2.0 {
            v.push(x as f32);
            x += 1.0 / 65536.0;
        }
        for &s in &[
            0.0f32, -0.0, 1e-30, -1e-30, 1e-45, f32::MIN_POSITIVE, 0.625, -0.625, 88.72283,
            88.722_84, 88.73, 88.8, 89.0, 90.0, -87.33, -103.27, -103.97, -104.0, -110.0,
            f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY,
        ] {
            v.push(s);
        }
        v
    }

    /// Max relative error of `exp` over normal results, max absolute error over subnormal ones.
    fn exp_errors() -> (f64, f64) {
        let (mut rel, mut abs_sub) = (0.0f64, 0.0f64);
        for x in sweep_points() {
            let got = exp(x) as f64;
            let want = (x as f64).exp();
            if want > f32::MAX as f64 * (1.0 + 0.5f64.powi(24)) {
                assert!(got == f64::INFINITY, "exp({x}) = {got}, want inf");
            } else if want >= f32::MIN_POSITIVE as f64 {
                rel = rel.max(((got - want) / want).abs());
            } else {
                abs_sub = abs_sub.max((got - want).abs());
            }
        }
        (rel, abs_sub)
    }

    fn abs_error(f: fn(f32) -> f32, reference: fn(f64) -> f64) -> f64 {
        let mut worst = 0.0f64;
        for x in sweep_points() {
            let err = (f(x) as f64 - reference(x as f64)).abs();
            assert!(err.is_finite(), "f({x}) = {}", f(x));
            worst = worst.max(err);
        }
        worst
    }

    #[test]
    fn exp_accuracy_whole_range() {
        let (rel, abs_sub) = exp_errors();
        println!("exp: max rel err {rel:e} (normal results), max abs err {abs_sub:e} (subnormal)");
        assert!(rel < 1e-6, "exp max relative error {rel}");
        assert!(abs_sub < 1e-38, "exp max subnormal absolute error {abs_sub}");
    }

    #[test]
    fn tanh_accuracy_whole_range() {
        let err = abs_error(tanh, f64::tanh);
        println!("tanh: max abs err {err:e}");
        assert!(err < 5e-7, "tanh max absolute error {err}");
    }

    #[test]
    fn sigmoid_accuracy_whole_range() {
        let err = abs_error(sigmoid, |x| 1.0 / (1.0 + (-x).exp()));
        println!("sigmoid: max abs err {err:e}");
        assert!(err < 5e-7, "sigmoid max absolute error {err}");
    }

    #[test]
    fn log_accuracy_whole_range() {
        let mut worst = 0.0f64;
        for x in sweep_points() {
            if !(x > 0.0) || x.is_infinite() {
                continue;
            }
            let want = (x as f64).ln();
            let err = (log(x) as f64 - want).abs() / want.abs().max(1.0);
            worst = worst.max(err);
        }
        // Near 1, where log is small, the relative error of the result itself.
        let mut x = 0.5f64;
        while x < 2.0 {
            let xf = x as f32;
            let want = (xf as f64).ln();
            if want != 0.0 {
                let rel = ((log(xf) as f64 - want) / want).abs();
                assert!(rel < 3e-7, "log({xf}) relative error {rel}");
            }
            x += 1.0 / 65536.0;
        }
        println!("log: max err {worst:e} (relative to max(1, |log x|))");
        assert!(worst < 2e-7, "log max error {worst}");
        assert_eq!(log(1.0), 0.0);
        assert_eq!(log(0.0), f32::NEG_INFINITY);
        assert_eq!(log(-0.0), f32::NEG_INFINITY);
        assert_eq!(log(f32::INFINITY), f32::INFINITY);
        assert!(log(-1.0).is_nan());
        assert!(log(f32::NAN).is_nan());
        assert!((log(1e-45) as f64 - (1e-45f32 as f64).ln()).abs() < 1e-5);
    }

    #[test]
    fn special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(88.73), f32::INFINITY);
        assert_eq!(exp(1000.0), f32::INFINITY);
        assert!(exp(88.72283).is_finite());
        assert_eq!(exp(-104.0), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert!(exp(-103.0) > 0.0);
        assert!(exp(f32::NAN).is_nan());

        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh(1e-30), 1e-30);
        assert_eq!(tanh(20.0), 1.0);
        assert_eq!(tanh(-20.0), -1.0);
        assert_eq!(tanh(f32::MAX), 1.0);
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan());

        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn scalar_matches_vector_lanes() {
        let xs = [-100.5f32, -3.25, 0.3, 88.0];
        let mut out = [0.0f32; 4];
        unsafe { exp4(F32x4::load(xs.as_ptr())).store(out.as_mut_ptr()) };
        for i in 0..4 {
            assert_eq!(out[i].to_bits(), exp(xs[i]).to_bits());
        }
        unsafe { tanh4(F32x4::load(xs.as_ptr())).store(out.as_mut_ptr()) };
        for i in 0..4 {
            assert_eq!(out[i].to_bits(), tanh(xs[i]).to_bits());
        }
    }
}
