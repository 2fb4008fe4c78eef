//! Activations, forward and backward. Backward takes the forward OUTPUT `out` (y), from which
//! each derivative is cheapest, and ACCUMULATES: `dinp += dout * f'(y)`.
//!
//! Forward kernels take raw pointers so `out` may be `inp` (in-place); partial overlap is not
//! allowed. In backward, `dinp` must not overlap `dout` or `out`. All buffers are (N).

// Each unsafe kernel states its pointer contract on one `# Safety:` line of its doc.
#![allow(clippy::missing_safety_doc)]

use crate::math;
use crate::ops::elementwise::map1;
use crate::simd::F32x4;

/// `out = 1 / (1 + exp(-inp))`, abs error < 5e-7 (see `math`).
/// # Safety: pointers valid for n f32; `out` may equal `inp`.
pub unsafe fn sigmoid_forward(out: *mut f32, inp: *const f32, n: usize) {
    map1(out, inp, n, math::sigmoid4, math::sigmoid)
}

/// `dinp += dout * y * (1 - y)` with y = sigmoid output.
pub fn sigmoid_backward(dinp: &mut [f32], dout: &[f32], out: &[f32]) {
    backward(dinp, dout, out, |y| y.mul(F32x4::splat(1.0).sub(y)), |y| y * (1.0 - y))
}

/// `out = tanh(inp)`, abs error < 5e-7 (see `math`).
/// # Safety: pointers valid for n f32; `out` may equal `inp`.
pub unsafe fn tanh_forward(out: *mut f32, inp: *const f32, n: usize) {
    map1(out, inp, n, math::tanh4, math::tanh)
}

/// `dinp += dout * (1 - y^2)` with y = tanh output.
pub fn tanh_backward(dinp: &mut [f32], dout: &[f32], out: &[f32]) {
    backward(dinp, dout, out, |y| F32x4::splat(1.0).sub(y.mul(y)), |y| 1.0 - y * y)
}

/// `out = max(inp, 0)`; NaN stays NaN (as in PyTorch).
/// # Safety: pointers valid for n f32; `out` may equal `inp`.
pub unsafe fn relu_forward(out: *mut f32, inp: *const f32, n: usize) {
    map1(out, inp, n, |x| x.max(F32x4::zero()), |x| if x < 0.0 { 0.0 } else { x })
}

/// `dinp += y > 0 ? dout : 0` with y = relu output (PyTorch's threshold_backward on the result).
pub fn relu_backward(dinp: &mut [f32], dout: &[f32], out: &[f32]) {
    let n = dinp.len();
    let (dout, out) = (&dout[..n], &out[..n]);
    let (d, g, y) = (dinp.as_mut_ptr(), dout.as_ptr(), out.as_ptr());
    let zero = F32x4::zero();
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n and all three slices have length n.
        unsafe {
            let keep = F32x4::load(y.add(i)).gt(zero);
            F32x4::load(d.add(i)).add(keep.select(F32x4::load(g.add(i)), zero)).store(d.add(i));
        }
        i += 4;
    }
    for i in i..n {
        if out[i] > 0.0 {
            dinp[i] += dout[i];
        }
    }
}

/// `dinp[i] += dout[i] * dfv/dfs(out[i])`.
#[inline(always)]
fn backward(
    dinp: &mut [f32], dout: &[f32], out: &[f32],
    dfv: impl Fn(F32x4) -> F32x4, dfs: impl Fn(f32) -> f32,
) {
    let n = dinp.len();
    let (dout, out) = (&dout[..n], &out[..n]);
    let (d, g, y) = (dinp.as_mut_ptr(), dout.as_ptr(), out.as_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n and all three slices have length n.
        unsafe {
            let dy = F32x4::load(g.add(i));
            dy.mul_add(dfv(F32x4::load(y.add(i))), F32x4::load(d.add(i))).store(d.add(i));
        }
        i += 4;
    }
    for i in i..n {
        dinp[i] += dout[i] * dfs(out[i]);
    }
}

/// f64 forward references and f32 backward references.
pub mod naive {
    pub fn sigmoid(x: f32) -> f32 {
        (1.0 / (1.0 + (-(x as f64)).exp())) as f32
    }
    pub fn tanh(x: f32) -> f32 {
        (x as f64).tanh() as f32
    }
    pub fn relu(x: f32) -> f32 {
        if x > 0.0 { x } else { 0.0 }
    }
    /// `dinp += dout * d(y)` element by element.
    pub fn backward(dinp: &mut [f32], dout: &[f32], out: &[f32], d: impl Fn(f32) -> f32) {
        for i in 0..dinp.len() {
            dinp[i] += dout[i] * d(out[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{assert_close, rand_vec, SIZES};

    type Fwd = unsafe fn(*mut f32, *const f32, usize);
    type Bwd = fn(&mut [f32], &[f32], &[f32]);

    #[test]
    fn forward_and_backward_match_naive() {
        let cases: [(Fwd, Bwd, fn(f32) -> f32, fn(f32) -> f32, &str); 3] = [
            (sigmoid_forward, sigmoid_backward, naive::sigmoid, |y| y * (1.0 - y), "sigmoid"),
            (tanh_forward, tanh_backward, naive::tanh, |y| 1.0 - y * y, "tanh"),
            (relu_forward, relu_backward, naive::relu, |y| if y > 0.0 { 1.0 } else { 0.0 }, "relu"),
        ];
        for &n in &SIZES {
            let x = rand_vec(n, 21, -6.0, 6.0);
            let dy = rand_vec(n, 22, -1.0, 1.0);
            let d0 = rand_vec(n, 23, -1.0, 1.0);
            for &(fwd, bwd, f, df, name) in &cases {
                let want: Vec<f32> = x.iter().map(|&v| f(v)).collect();
                let mut y = vec![0.0; n];
                unsafe { fwd(y.as_mut_ptr(), x.as_ptr(), n) };
                assert_close(&y, &want, 5e-7, name);
                let mut inplace = x.clone();
                unsafe { fwd(inplace.as_mut_ptr(), inplace.as_ptr(), n) };
                assert_eq!(inplace, y, "{name} in place n={n}");

                let mut dwant = d0.clone();
                naive::backward(&mut dwant, &dy, &y, df);
                let mut dx = d0.clone();
                bwd(&mut dx, &dy, &y);
                assert_close(&dx, &dwant, 1e-6, name);
            }
        }
    }

    #[test]
    fn relu_special_values() {
        let x = [-0.0f32, 0.0, -1.0, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40];
        let mut y = [0.0f32; 8];
        unsafe { relu_forward(y.as_mut_ptr(), x.as_ptr(), 8) };
        assert!(y[4].is_nan());
        assert_eq!([y[0], y[1], y[2], y[3], y[5], y[6], y[7]], [0.0, 0.0, 0.0, 2.0, f32::INFINITY, 0.0, 1e-40]);
        let mut dx = [1.0f32; 8];
        relu_backward(&mut dx, &[1.0; 8], &y);
        assert_eq!(dx, [1.0, 1.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    }
}
