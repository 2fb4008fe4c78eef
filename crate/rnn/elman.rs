//! Elman RNN (PyTorch `nn.RNN`): `h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)`, act tanh or
//! relu. The derivative of either activation is read off its output h (PyTorch does the same:
//! `1 - h^2`, and `h > 0` for relu).
//!
//! Cache layout (`rnn_cache_len` floats): `h (T+1,B,H)` hidden-state boundaries (see
//! `rnn/mod.rs`); the pre-activations live in a chunked scratch and are not kept.

use super::driver::{self, Cell, Saved};
use super::{LayerWeights, ld, st, Seq, WeightGrads, Weights};
use crate::scratch::OutOfMemory;
use crate::math::tanh4;
use crate::simd::F32x4;

/// Floats of cache `rnn_forward` fills: (T+1)*B*H.
pub fn rnn_cache_len(t: usize, b: usize, h: usize) -> usize {
    driver::cache_len::<Elman>(t, b, h, h, false)
}

/// The Elman cell of hidden size `h`: the gate row is the pre-activation.
struct Elman {
    h: usize,
    relu: bool,
}

impl Cell for Elman {
    const GATES: usize = 1;
    const GATE_LD: usize = 1;
    const FOLDED_HH: usize = 1;
    const HAS_C: bool = false;
    const CACHES_GATES: bool = false;
    const HIDDEN_APART: bool = false;

    /// out = h_next (H) = act(pre (H)).
    #[inline(always)]
    fn forward_row(&self, pre: &mut [f32], _c: &mut [f32], h_next: &mut [f32], _hg: &[f32], _h_prev: &[f32], _c_prev: &[f32]) {
        let h = self.h;
        // Rows cut to the lengths the loop uses: no bounds check is left inside it.
        let (pre, h_next) = (&pre[..h], &mut h_next[..h]);
        for j in (0..h).step_by(4) {
            let v = ld(&pre[j..h]);
            let a = if self.relu { v.max(F32x4::zero()) } else { tanh4(v) };
            st(a, &mut h_next[j..h]);
        }
    }

    /// OVERWRITES dpre (H) = dh (H) * act'(.), read off the output h; dh is 0 on exit.
    #[inline(always)]
    fn backward_row(&self, dpre: &mut [f32], _dhg: &mut [f32], dh: &mut [f32], _dc: &mut [f32], saved: &Saved) {
        let h = self.h;
        let (dpre, dh, h_out) = (&mut dpre[..h], &mut dh[..h], &saved.h[..h]);
        let (one, zero) = (F32x4::splat(1.0), F32x4::zero());
        for j in (0..h).step_by(4) {
            let y = ld(&h_out[j..h]);
            let d = ld(&dh[j..h]);
            let v = if self.relu { y.gt(zero).select(d, zero) } else { d.mul(one.sub(y.mul(y))) };
            st(v, &mut dpre[j..h]);
        }
        dh.fill(0.0);
    }
}

/// RNN forward over a whole sequence (one direction). y rows (t,b) at `(t*B+b)*ldy` get h_t (H)
/// or 0 where masked; `h_n` (B,H) gets the final state. x (T,B,I), h0 (B,H) (None = zeros).
/// `cache` (len `rnn_cache_len`) is filled for `rnn_backward`.
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward<'a>(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, cache: Option<&mut [f32]>,
    x: &[f32], w: impl Into<LayerWeights<'a>>, h0: Option<&[f32]>, relu: bool, seq: &Seq,
) -> Result<(), OutOfMemory> {
    driver::forward(&Elman { h: seq.dims.h, relu }, y, ldy, h_n, None, cache, x, &w.into(), h0, None, seq)
}

/// RNN backward (BPTT) from the cache of `rnn_forward` on the same x, weights, lengths,
/// direction and activation. dy rows at `(t*B+b)*ldy` (H), dh_n (B,H): None = zero.
/// ACCUMULATES into dx (T,B,I), the present weight grads and dh0 (B,H).
#[allow(clippy::too_many_arguments)]
pub fn rnn_backward(
    dx: Option<&mut [f32]>, dw: WeightGrads, dh0: Option<&mut [f32]>,
    dy: Option<&[f32]>, ldy: usize, dh_n: Option<&[f32]>,
    x: &[f32], w: &Weights, cache: &[f32], relu: bool, seq: &Seq,
) -> Result<(), OutOfMemory> {
    driver::backward(&Elman { h: seq.dims.h, relu }, dx, dw, dh0, None, dy, ldy, dh_n, None, x, w, cache, seq)
}
