//! LSTM (gate order i, f, g, o), optionally with a projection (PyTorch `proj_size`):
//!
//! ```text
//! [i f g o] = x W_ih^T + b_ih + h_prev W_hh^T + b_hh      (B,4H)
//! i, f, o = sigmoid(.), g = tanh(.)
//! c = f * c_prev + i * g                                  (B,H)
//! r = o * tanh(c)                                         (B,H)
//! h = r W_hr^T  (projection, (B,P))   or   h = r  (P = H)
//! ```
//!
//! Cache layout (`lstm_cache_len` floats), all indexed by time t, boundaries as in `rnn/mod.rs`:
//! `gates (T,B,4H)` activated [i f g o] (0 on masked rows) | `c (T+1,B,H)` cell-state boundaries
//! | `h (T+1,B,P)` hidden-state boundaries | `r (T,B,H)` o*tanh(c), projection only (0 on masked
//! rows). tanh(c) is recomputed in backward with the same function, so it is bit-identical.

use super::driver::{self, Cell, Saved};
use super::{LayerWeights, ld, st, Seq, WeightGrads, Weights};
use crate::scratch::OutOfMemory;
use crate::math::{exp4_n, sigmoid4_from_exp, sigmoid_exp_arg, tanh4, tanh4_from_exp, tanh_exp_arg};
use crate::simd::F32x4;

/// Floats of cache `lstm_forward` fills: T*B*4H + (T+1)*B*H + (T+1)*B*P (+ T*B*H with projection).
pub fn lstm_cache_len(t: usize, b: usize, h: usize, p: usize, has_proj: bool) -> usize {
    driver::cache_len::<Lstm>(t, b, h, p, has_proj)
}

/// The LSTM cell of hidden size `h`; a projection, when present, is the driver's (the cell's
/// `out` is r).
struct Lstm {
    h: usize,
}

impl Cell for Lstm {
    const GATES: usize = 4;
    const GATE_LD: usize = 4;
    const FOLDED_HH: usize = 4;
    const HAS_C: bool = true;
    const CACHES_GATES: bool = true;
    const HIDDEN_APART: bool = false;

    /// `gates` (4H): pre-activations in, activations [i f g o] out; writes c (H) and
    /// out = r = o * tanh(c) (H).
    #[inline(always)]
    fn forward_row(&self, gates: &mut [f32], c: &mut [f32], r: &mut [f32], _hg: &[f32], _h_prev: &[f32], c_prev: &[f32]) {
        let h = self.h;
        // Rows cut to the lengths the loop uses: no bounds check is left inside it.
        let (gates, c, r, c_prev) = (&mut gates[..4 * h], &mut c[..h], &mut r[..h], &c_prev[..h]);
        let (gi, rest) = gates.split_at_mut(h);
        let (gf, rest) = rest.split_at_mut(h);
        let (gg, go) = rest.split_at_mut(h);
        for j in (0..h).step_by(4) {
            let (pi, pf, pg, po) = (ld(&gi[j..]), ld(&gf[j..]), ld(&gg[j..]), ld(&go[j..h]));
            // The four gates' exps as one interleaved batch (see `exp4_n`).
            let e = exp4_n([sigmoid_exp_arg(pi), sigmoid_exp_arg(pf), tanh_exp_arg(pg), sigmoid_exp_arg(po)]);
            let i = sigmoid4_from_exp(e[0]);
            let f = sigmoid4_from_exp(e[1]);
            let g = tanh4_from_exp(pg, e[2]);
            let o = sigmoid4_from_exp(e[3]);
            let cn = f.mul_add(ld(&c_prev[j..h]), i.mul(g));
            st(i, &mut gi[j..]);
            st(f, &mut gf[j..]);
            st(g, &mut gg[j..]);
            st(o, &mut go[j..h]);
            st(cn, &mut c[j..h]);
            st(o.mul(tanh4(cn)), &mut r[j..h]);
        }
    }

    /// `dr` (H) = dL/dr in, 0 out (all of dh_prev goes through w_hh); `dc` (H) dL/dc in,
    /// dL/dc_prev out. OVERWRITES `dgates` (4H) with dL/d(pre-activations).
    #[inline(always)]
    fn backward_row(&self, dgates: &mut [f32], _dhg: &mut [f32], dr: &mut [f32], dc: &mut [f32], saved: &Saved) {
        let h = self.h;
        let (dgates, dr, dc) = (&mut dgates[..4 * h], &mut dr[..h], &mut dc[..h]);
        let (gates, c_prev, c) = (&saved.gates[..4 * h], &saved.c_prev[..h], &saved.c[..h]);
        let (di_, rest) = dgates.split_at_mut(h);
        let (df_, rest) = rest.split_at_mut(h);
        let (dg_, do_) = rest.split_at_mut(h);
        let one = F32x4::splat(1.0);
        for j in (0..h).step_by(4) {
            let i = ld(&gates[j..h]);
            let f = ld(&gates[h + j..2 * h]);
            let g = ld(&gates[2 * h + j..3 * h]);
            let o = ld(&gates[3 * h + j..4 * h]);
            let tc = tanh4(ld(&c[j..h]));
            let dr = ld(&dr[j..h]);
            // dc_total = dc_next + dr * o * (1 - tanh(c)^2)
            let dct = ld(&dc[j..h]).add(dr.mul(o).mul(one.sub(tc.mul(tc))));
            let d_o = dr.mul(tc);
            let d_i = dct.mul(g);
            let d_f = dct.mul(ld(&c_prev[j..h]));
            let d_g = dct.mul(i);
            st(dct.mul(f), &mut dc[j..h]);
            st(d_i.mul(i).mul(one.sub(i)), &mut di_[j..]);
            st(d_f.mul(f).mul(one.sub(f)), &mut df_[j..]);
            st(d_g.mul(one.sub(g.mul(g))), &mut dg_[j..]);
            st(d_o.mul(o).mul(one.sub(o)), &mut do_[j..]);
        }
        dr.fill(0.0);
    }
}

/// LSTM forward over a whole sequence (one direction).
///
/// y rows (t,b) at `(t*B+b)*ldy` get h_t (P) or 0 where masked; `h_n` (B,P), `c_n` (B,H) get the
/// final state (overwritten). x (T,B,I), h0 (B,P), c0 (B,H) (None = zeros). `cache` (len
/// `lstm_cache_len`) is filled for `lstm_backward`; without it only O(B*G) scratch is used.
/// `Err` (nothing written) when memory cannot hold the scratch.
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward<'a>(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, c_n: Option<&mut [f32]>,
    cache: Option<&mut [f32]>,
    x: &[f32], w: impl Into<LayerWeights<'a>>, h0: Option<&[f32]>, c0: Option<&[f32]>, seq: &Seq,
) -> Result<(), OutOfMemory> {
    driver::forward(&Lstm { h: seq.dims.h }, y, ldy, h_n, c_n, cache, x, &w.into(), h0, c0, seq)
}

/// LSTM backward (BPTT) from the cache of `lstm_forward` on the same x, weights, lengths and
/// direction. dy rows at `(t*B+b)*ldy` (P), dh_n (B,P), dc_n (B,H): None = zero.
/// ACCUMULATES into dx (T,B,I), the present weight grads, dh0 (B,P), dc0 (B,H).
/// `Err` (no gradient touched) when memory cannot hold the scratch.
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward(
    dx: Option<&mut [f32]>, dw: WeightGrads, dh0: Option<&mut [f32]>, dc0: Option<&mut [f32]>,
    dy: Option<&[f32]>, ldy: usize, dh_n: Option<&[f32]>, dc_n: Option<&[f32]>,
    x: &[f32], w: &Weights, cache: &[f32], seq: &Seq,
) -> Result<(), OutOfMemory> {
    driver::backward(&Lstm { h: seq.dims.h }, dx, dw, dh0, dc0, dy, ldy, dh_n, dc_n, x, w, cache, seq)
}
