//! Elman RNN (PyTorch `nn.RNN`): `h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)`, act tanh or
//! relu. The derivative of either activation is read off its output h (PyTorch does the same:
//! `1 - h^2`, and `h > 0` for relu).
//!
//! Cache layout (`rnn_cache_len` floats): `h (T+1,B,H)` hidden-state boundaries (see
//! `rnn/mod.rs`); the pre-activations live in a chunked scratch and are not kept.

use super::{
    accumulate, bias_grads, carry_masked, chunk_steps, fold_bias, init_state, input_projection, ld,
    pair, prepare_w_ih, st, take, with_scratch, write_y, Seq, WeightGrads, Weights,
};
use crate::gemm::{sgemm, PreparedB};
use crate::scratch::{self, OutOfMemory};
use crate::math::tanh4;
use crate::simd::F32x4;

/// Floats of cache `rnn_forward` fills: (T+1)*B*H.
pub fn rnn_cache_len(t: usize, b: usize, h: usize) -> usize {
    (t + 1) * b * h
}

/// One batch row: h_next (H) = act(pre (H)).
#[inline(always)]
fn cell_forward(pre: &[f32], h_next: &mut [f32], relu: bool, h: usize) {
    for j in (0..h).step_by(4) {
        let v = ld(&pre[j..h]);
        let a = if relu { v.max(F32x4::zero()) } else { tanh4(v) };
        st(a, &mut h_next[j..h]);
    }
}

/// Backward of one batch row: OVERWRITES dpre (H) = dh (H) * act'(.), read off the output h_out.
#[inline(always)]
fn cell_backward(dpre: &mut [f32], dh: &[f32], h_out: &[f32], relu: bool, h: usize) {
    let (one, zero) = (F32x4::splat(1.0), F32x4::zero());
    for j in (0..h).step_by(4) {
        let y = ld(&h_out[j..h]);
        let d = ld(&dh[j..h]);
        let v = if relu { y.gt(zero).select(d, zero) } else { d.mul(one.sub(y.mul(y))) };
        st(v, &mut dpre[j..h]);
    }
}

/// RNN forward over a whole sequence (one direction). y rows (t,b) at `(t*B+b)*ldy` get h_t (H)
/// or 0 where masked; `h_n` (B,H) gets the final state. x (T,B,I), h0 (B,H) (None = zeros).
/// `cache` (len `rnn_cache_len`) is filled for `rnn_backward`.
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, cache: Option<&mut [f32]>,
    x: &[f32], w: &Weights, h0: Option<&[f32]>, relu: bool, seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h) = (d.t, d.b, d.i, d.h);
    let has_cache = cache.is_some();
    let tc = chunk_steps(tt, b);
    let scratch_len = h + tc * b * h + if has_cache { 0 } else { 2 * b * h };
    with_scratch(scratch_len, |scratch| {
        let mut scratch = scratch;
        let bias = take(&mut scratch, h);
        fold_bias(bias, w.b_ih, w.b_hh, h);
        let bias: Option<&[f32]> = if w.b_ih.is_some() || w.b_hh.is_some() { Some(bias) } else { None };
        let gbuf = take(&mut scratch, tc * b * h); // pre-activations of `tc` steps
        let hs = match cache {
            Some(cache) => &mut cache[..(tt + 1) * b * h],
            None => take(&mut scratch, 2 * b * h),
        };
        let (first, last) = seq.state_first_last(has_cache);
        let w_ih_t = prepare_w_ih(w.w_ih, i, h, tc * b, tt * b)?;
        // w_hh^T is multiplied at every step: pack it once for the whole sequence.
        let w_hh_t = PreparedB::new(w.w_hh, h, true, h, h, b)?;
        init_state(&mut hs[first * b * h..(first + 1) * b * h], h0);
        let mut s0 = 0;
        while s0 < tt {
            let s1 = (s0 + tc).min(tt);
            // The pre-activations are scratch (the cache keeps only h): always chunked.
            let (lo, hi) = seq.chunk_times(s0, s1, false);
            input_projection(gbuf, h, &x[lo * b * i..hi * b * i], &w_ih_t, bias, (hi - lo) * b, i, h);
            for s in s0..s1 {
                let t = seq.time(s);
                let (prev, next) = seq.state_rows(s, t, has_cache);
                let pre = &mut gbuf[(t - lo) * b * h..(t - lo + 1) * b * h]; // (B,H)
                let (h_prev, h_next) = pair(hs, b * h, prev, next);
                if seq.n_active(t) > 0 {
                    // pre += h_prev @ w_hh^T
                    w_hh_t.gemm(false, b, 1.0, h_prev, h, 1.0, pre, h);
                }
                for bb in 0..b {
                    if seq.active(t, bb) {
                        cell_forward(&pre[bb * h..(bb + 1) * h], &mut h_next[bb * h..(bb + 1) * h], relu, h);
                    }
                }
                carry_masked(h_prev, h_next, h, seq, t);
                write_y(y, ldy, h_next, seq, t);
            }
            s0 = s1;
        }
        if let Some(h_n) = h_n {
            h_n[..b * h].copy_from_slice(&hs[last * b * h..(last + 1) * b * h]);
        }
        Ok(())
    })
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
    let d = seq.dims;
    let (tt, b, i, h) = (d.t, d.b, d.i, d.h);
    let rows = tt * b;
    let hs = &cache[..(tt + 1) * b * h];

    let mut dpre = scratch::zeroed(rows * h)?; // (T,B,H); masked rows stay 0
    let mut dh = scratch::copied_or_zeroed(dh_n, b * h)?; // (B,H)

    let w_hh_packed = PreparedB::new(w.w_hh, h, false, h, h, b)?;
    // Nothing is allocated past this point: an out-of-memory leaves every gradient untouched.
    for s in (0..tt).rev() {
        let t = seq.time(s);
        if seq.n_active(t) == 0 {
            continue;
        }
        let (_, next) = seq.cache_bounds(t);
        for bb in 0..b {
            if !seq.active(t, bb) {
                continue;
            }
            let row = t * b + bb;
            let dh_row = &mut dh[bb * h..(bb + 1) * h];
            if let Some(dy) = dy {
                for (a, v) in dh_row.iter_mut().zip(&dy[row * ldy..][..h]) {
                    *a += *v;
                }
            }
            cell_backward(&mut dpre[row * h..(row + 1) * h], dh_row, &hs[(next * b + bb) * h..][..h], relu, h);
            dh_row.fill(0.0);
        }
        // dh_prev += dpre @ w_hh, (B,H) x (H,H); masked rows add exact zeros.
        w_hh_packed.gemm(false, b, 1.0, &dpre[t * b * h..(t + 1) * b * h], h, 1.0, &mut dh, h);
    }
    accumulate(dh0, &dh);

    let h_prev = if seq.reverse { &hs[b * h..] } else { &hs[..rows * h] };
    if let Some(dw_hh) = dw.dw_hh {
        sgemm(true, false, h, h, rows, 1.0, &dpre, h, h_prev, h, 1.0, dw_hh, h);
    }
    if let Some(dw_ih) = dw.dw_ih {
        sgemm(true, false, h, i, rows, 1.0, &dpre, h, &x[..rows * i], i, 1.0, dw_ih, i);
    }
    if let Some(dx) = dx {
        sgemm(false, false, rows, i, h, 1.0, &dpre, h, w.w_ih, i, 1.0, dx, i);
    }
    bias_grads(dw.db_ih, dw.db_hh, &dpre, rows, h, h);
    Ok(())
}
