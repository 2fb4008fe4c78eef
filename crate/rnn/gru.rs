//! GRU (gate order r, z, n), PyTorch formulation:
//!
//! ```text
//! [xr xz xn] = x W_ih^T + b_ih,   [hr hz hn] = h_prev W_hh^T + b_hh     (B,3H) each
//! r = sigmoid(xr + hr), z = sigmoid(xz + hz)
//! n = tanh(xn + r * hn)                       (b_hn stays inside r * (...))
//! h = (1 - z) * n + z * h_prev  = (h_prev - n) * z + n   (PyTorch's evaluation order)
//! ```
//!
//! The input projection folds in b_ih and the r, z parts of b_hh; b_hn is added per step.
//!
//! Cache layout (`gru_cache_len` floats), indexed by time t, boundaries as in `rnn/mod.rs`:
//! `gates (T,B,4H)` rows [r z n hn] (activated r, z, n and hn = W_hn h_prev + b_hn; 0 on masked
//! rows) | `h (T+1,B,H)` hidden-state boundaries.

use super::driver::{self, Cell, Saved};
use super::{LayerWeights, ld, st, Seq, WeightGrads, Weights};
use crate::scratch::OutOfMemory;
use crate::math::{exp4_n, sigmoid4_from_exp, sigmoid_exp_arg, tanh4};
use crate::simd::F32x4;

/// Floats of cache `gru_forward` fills: T*B*4H + (T+1)*B*H.
pub fn gru_cache_len(t: usize, b: usize, h: usize) -> usize {
    driver::cache_len::<Gru>(t, b, h, h, false)
}

/// The GRU cell of hidden size `h`. Its hidden-side gates need their own product
/// (`HIDDEN_APART`): r multiplies W_hn h_prev + b_hn, which the cache keeps as hn.
struct Gru<'a> {
    h: usize,
    /// b_hn (H), the part of b_hh the input projection cannot fold in; None = zero.
    b_hn: Option<&'a [f32]>,
}

impl Cell for Gru<'_> {
    const GATES: usize = 3;
    const GATE_LD: usize = 4;
    const FOLDED_HH: usize = 2;
    const HAS_C: bool = false;
    const CACHES_GATES: bool = true;
    const HIDDEN_APART: bool = true;

    /// `gates` (4H) holds [xr xz xn] (input part, biases folded) on entry and [r z n hn] on exit;
    /// `hg` (3H) = h_prev W_hh^T without bias. Writes out = h (H).
    #[inline(always)]
    fn forward_row(&self, gates: &mut [f32], _c: &mut [f32], h_next: &mut [f32], hg: &[f32], h_prev: &[f32], _c_prev: &[f32]) {
        let h = self.h;
        // Rows cut to the lengths the loop uses: no bounds check is left inside it.
        let (gates, h_next, hg, h_prev) = (&mut gates[..4 * h], &mut h_next[..h], &hg[..3 * h], &h_prev[..h]);
        let (gr, rest) = gates.split_at_mut(h);
        let (gz, rest) = rest.split_at_mut(h);
        let (gn, ghn) = rest.split_at_mut(h);
        for j in (0..h).step_by(4) {
            let pr = ld(&gr[j..]).add(ld(&hg[j..h]));
            let pz = ld(&gz[j..]).add(ld(&hg[h + j..2 * h]));
            // Both gates' exps as one interleaved batch (see `exp4_n`).
            let e = exp4_n([sigmoid_exp_arg(pr), sigmoid_exp_arg(pz)]);
            let (r, z) = (sigmoid4_from_exp(e[0]), sigmoid4_from_exp(e[1]));
            let b_hn = match self.b_hn {
                Some(b) => ld(&b[j..h]),
                None => F32x4::zero(),
            };
            let hn = ld(&hg[2 * h + j..3 * h]).add(b_hn);
            let n = tanh4(r.mul_add(hn, ld(&gn[j..])));
            let hp = ld(&h_prev[j..h]);
            st(hp.sub(n).mul_add(z, n), &mut h_next[j..h]);
            st(r, &mut gr[j..]);
            st(z, &mut gz[j..]);
            st(n, &mut gn[j..]);
            st(hn, &mut ghn[j..h]);
        }
    }

    /// `dh` (H) holds dL/dh_t on entry and the direct part of dL/dh_prev (dh_t * z) on exit.
    /// OVERWRITES dxg (3H) = dL/d[xr xz xn] and dhg (3H) = dL/d[hr hz hn].
    #[inline(always)]
    fn backward_row(&self, dxg: &mut [f32], dhg: &mut [f32], dh: &mut [f32], _dc: &mut [f32], saved: &Saved) {
        let h = self.h;
        let (dxg, dhg, dh) = (&mut dxg[..3 * h], &mut dhg[..3 * h], &mut dh[..h]);
        let (gates, h_prev) = (&saved.gates[..4 * h], &saved.h_prev[..h]);
        let one = F32x4::splat(1.0);
        for j in (0..h).step_by(4) {
            let r = ld(&gates[j..h]);
            let z = ld(&gates[h + j..2 * h]);
            let n = ld(&gates[2 * h + j..3 * h]);
            let hn = ld(&gates[3 * h + j..4 * h]);
            let dht = ld(&dh[j..h]);
            let dn = dht.mul(one.sub(z));
            let dz = dht.mul(ld(&h_prev[j..h]).sub(n));
            let dn_pre = dn.mul(one.sub(n.mul(n)));
            let dz_pre = dz.mul(z).mul(one.sub(z));
            let dr_pre = dn_pre.mul(hn).mul(r).mul(one.sub(r));
            st(dr_pre, &mut dxg[j..h]);
            st(dz_pre, &mut dxg[h + j..2 * h]);
            st(dn_pre, &mut dxg[2 * h + j..3 * h]);
            st(dr_pre, &mut dhg[j..h]);
            st(dz_pre, &mut dhg[h + j..2 * h]);
            st(dn_pre.mul(r), &mut dhg[2 * h + j..3 * h]);
            st(dht.mul(z), &mut dh[j..h]);
        }
    }
}

/// GRU forward over a whole sequence (one direction). y rows (t,b) at `(t*B+b)*ldy` get h_t (H)
/// or 0 where masked; `h_n` (B,H) gets the final state. x (T,B,I), h0 (B,H) (None = zeros).
/// `cache` (len `gru_cache_len`) is filled for `gru_backward`.
#[allow(clippy::too_many_arguments)]
pub fn gru_forward<'a>(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, cache: Option<&mut [f32]>,
    x: &[f32], w: impl Into<LayerWeights<'a>>, h0: Option<&[f32]>, seq: &Seq,
) -> Result<(), OutOfMemory> {
    let h = seq.dims.h;
    let w: LayerWeights = w.into();
    let cell = Gru { h, b_hn: w.b_hh.map(|b| &b[2 * h..3 * h]) };
    driver::forward(&cell, y, ldy, h_n, None, cache, x, &w, h0, None, seq)
}

/// GRU backward (BPTT) from the cache of `gru_forward` on the same x, weights, lengths and
/// direction. dy rows at `(t*B+b)*ldy` (H), dh_n (B,H): None = zero. ACCUMULATES into
/// dx (T,B,I), the present weight grads and dh0 (B,H). (b_hh is not needed: hn is cached.)
#[allow(clippy::too_many_arguments)]
pub fn gru_backward(
    dx: Option<&mut [f32]>, dw: WeightGrads, dh0: Option<&mut [f32]>,
    dy: Option<&[f32]>, ldy: usize, dh_n: Option<&[f32]>,
    x: &[f32], w: &Weights, cache: &[f32], seq: &Seq,
) -> Result<(), OutOfMemory> {
    let cell = Gru { h: seq.dims.h, b_hn: None };
    driver::backward(&cell, dx, dw, dh0, None, dy, ldy, dh_n, None, x, w, cache, seq)
}
