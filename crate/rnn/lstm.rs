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

use super::{
    accumulate, bias_grads, carry_masked, chunk_steps, fold_bias, init_state, input_projection, ld,
    pair, prepare_w_ih, st, take, with_scratch, write_y, Seq, WeightGrads, Weights,
};
use crate::gemm::{sgemm, PreparedB};
use crate::scratch::{self, OutOfMemory};
use crate::math::{exp4_n, sigmoid4_from_exp, sigmoid_exp_arg, tanh4, tanh4_from_exp, tanh_exp_arg};
use crate::simd::F32x4;

/// Floats of cache `lstm_forward` fills: T*B*4H + (T+1)*B*H + (T+1)*B*P (+ T*B*H with projection).
pub fn lstm_cache_len(t: usize, b: usize, h: usize, p: usize, has_proj: bool) -> usize {
    t * b * 4 * h + (t + 1) * b * h + (t + 1) * b * p + if has_proj { t * b * h } else { 0 }
}

/// Cache regions: (gates, c, h, r).
fn split_cache(cache: &mut [f32], t: usize, b: usize, h: usize, p: usize, has_proj: bool)
    -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
    let mut rest = cache;
    let gates = take(&mut rest, t * b * 4 * h);
    let cs = take(&mut rest, (t + 1) * b * h);
    let hs = take(&mut rest, (t + 1) * b * p);
    let rs = take(&mut rest, if has_proj { t * b * h } else { 0 });
    (gates, cs, hs, rs)
}

/// One batch row of the cell: `gates` (4H) holds the pre-activations and is overwritten with
/// the activations; writes c (H) and r = o * tanh(c) (H).
#[inline(always)]
fn cell_forward(gates: &mut [f32], c_prev: &[f32], c: &mut [f32], r: &mut [f32], h: usize) {
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

/// Backward of one batch row of the cell. `dr` (H) is dL/dr; `dc` (H) holds dL/dc from the
/// later step on entry and dL/dc_prev on exit. OVERWRITES `dgates` (4H) with dL/d(pre-activations).
#[inline(always)]
fn cell_backward(dgates: &mut [f32], dc: &mut [f32], gates: &[f32], c_prev: &[f32], c: &[f32], dr: &[f32], h: usize) {
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
}

/// LSTM forward over a whole sequence (one direction).
///
/// y rows (t,b) at `(t*B+b)*ldy` get h_t (P) or 0 where masked; `h_n` (B,P), `c_n` (B,H) get the
/// final state (overwritten). x (T,B,I), h0 (B,P), c0 (B,H) (None = zeros). `cache` (len
/// `lstm_cache_len`) is filled for `lstm_backward`; without it only O(B*G) scratch is used.
/// `Err` (nothing written) when memory cannot hold the scratch.
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, c_n: Option<&mut [f32]>,
    cache: Option<&mut [f32]>,
    x: &[f32], w: &Weights, h0: Option<&[f32]>, c0: Option<&[f32]>, seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h, p) = (d.t, d.b, d.i, d.h, d.p);
    let g = 4 * h;
    let has_proj = w.w_hr.is_some();
    debug_assert!(has_proj || p == h, "LSTM without projection needs p == h");
    let has_cache = cache.is_some();
    let tc = if has_cache { tt } else { chunk_steps(tt, b) };
    let scratch_len = g + if has_cache { 0 } else { tc * b * g + 2 * b * h + 2 * b * p + if has_proj { b * h } else { 0 } };
    with_scratch(scratch_len, |scratch| {
        let mut scratch = scratch;
        let bias = take(&mut scratch, g);
        fold_bias(bias, w.b_ih, w.b_hh, g);
        let bias: Option<&[f32]> = if w.b_ih.is_some() || w.b_hh.is_some() { Some(bias) } else { None };
        // gbuf: gates of `tc` steps (4H per row); cs, hs: state boundaries; rs: r rows.
        let (gbuf, cs, hs, rs) = match cache {
            Some(cache) => split_cache(cache, tt, b, h, p, has_proj),
            None => {
                let gbuf = take(&mut scratch, tc * b * g);
                let cs = take(&mut scratch, 2 * b * h);
                let hs = take(&mut scratch, 2 * b * p);
                let rs = take(&mut scratch, if has_proj { b * h } else { 0 });
                (gbuf, cs, hs, rs)
            }
        };
        let w_ih_t = prepare_w_ih(w.w_ih, i, g, tc * b, tt * b)?;
        // w_hh^T is multiplied at every step: pack it once for the whole sequence.
        let w_hh_t = PreparedB::new(w.w_hh, p, true, p, g, b)?;
        let (first, last) = seq.state_first_last(has_cache);
        init_state(&mut hs[first * b * p..(first + 1) * b * p], h0);
        init_state(&mut cs[first * b * h..(first + 1) * b * h], c0);

        let mut s0 = 0;
        while s0 < tt {
            let s1 = (s0 + tc).min(tt);
            let (lo, hi) = seq.chunk_times(s0, s1, has_cache);
            input_projection(gbuf, g, &x[lo * b * i..hi * b * i], &w_ih_t, bias, (hi - lo) * b, i, g);
            for s in s0..s1 {
                let t = seq.time(s);
                let (prev, next) = seq.state_rows(s, t, has_cache);
                let gt = &mut gbuf[(t - lo) * b * g..(t - lo + 1) * b * g]; // (B,4H)
                let (h_prev, h_next) = pair(hs, b * p, prev, next); // (B,P) each
                let (c_prev, c_next) = pair(cs, b * h, prev, next); // (B,H) each
                let any = seq.n_active(t) > 0;
                if any {
                    // gates += h_prev @ w_hh^T
                    w_hh_t.gemm(false, b, 1.0, h_prev, p, 1.0, gt, g);
                }
                let r_t: &mut [f32] = if has_proj {
                    let off = if has_cache { t * b * h } else { 0 };
                    &mut rs[off..off + b * h]
                } else {
                    &mut *h_next
                };
                for bb in 0..b {
                    let grow = &mut gt[bb * g..bb * g + g];
                    if seq.active(t, bb) {
                        let c_row = &mut c_next[bb * h..bb * h + h];
                        cell_forward(grow, &c_prev[bb * h..bb * h + h], c_row, &mut r_t[bb * h..bb * h + h], h);
                    } else {
                        // Masked: nothing of this step may reach backward (x here may be garbage).
                        grow.fill(0.0);
                        if has_proj {
                            r_t[bb * h..bb * h + h].fill(0.0);
                        }
                    }
                }
                if let Some(w_hr) = w.w_hr {
                    let off = if has_cache { t * b * h } else { 0 };
                    // h = r @ w_hr^T, (B,H) x (H,P)
                    sgemm(false, true, b, p, h, 1.0, &rs[off..off + b * h], h, w_hr, h, 0.0, h_next, p);
                }
                carry_masked(h_prev, h_next, p, seq, t);
                carry_masked(c_prev, c_next, h, seq, t);
                write_y(y, ldy, h_next, seq, t);
            }
            s0 = s1;
        }
        if let Some(h_n) = h_n {
            h_n[..b * p].copy_from_slice(&hs[last * b * p..(last + 1) * b * p]);
        }
        if let Some(c_n) = c_n {
            c_n[..b * h].copy_from_slice(&cs[last * b * h..(last + 1) * b * h]);
        }
        Ok(())
    })
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
    let d = seq.dims;
    let (tt, b, i, h, p) = (d.t, d.b, d.i, d.h, d.p);
    let g = 4 * h;
    let rows = tt * b;
    let has_proj = w.w_hr.is_some();
    let gates = &cache[..rows * g];
    let cs = &cache[rows * g..rows * g + (tt + 1) * b * h];
    let hs_off = rows * g + (tt + 1) * b * h;
    let hs = &cache[hs_off..hs_off + (tt + 1) * b * p];
    let rs = if has_proj { &cache[hs_off + (tt + 1) * b * p..][..rows * h] } else { &[][..] };

    let mut dgates = scratch::zeroed(rows * g)?; // (T,B,4H), time-aligned; masked rows stay 0
    let mut dh = scratch::copied_or_zeroed(dh_n, b * p)?; // (B,P)
    let mut dc = scratch::copied_or_zeroed(dc_n, b * h)?; // (B,H)
    let mut dh_all = scratch::zeroed(if has_proj { rows * p } else { 0 })?; // (T,B,P) dL/dh_t, projection only
    let mut dr = scratch::zeroed(if has_proj { b * h } else { 0 })?; // (B,H)
    let w_hh_packed = PreparedB::new(w.w_hh, p, false, g, p, b)?;
    // Nothing is allocated past this point: an out-of-memory leaves every gradient untouched.

    for s in (0..tt).rev() {
        let t = seq.time(s);
        if seq.n_active(t) == 0 {
            continue; // dh, dc pass through; dgates rows stay 0
        }
        let (prev, next) = seq.cache_bounds(t);
        // dh_t = dh (from step t+1 / dh_n) + dy[t] on active rows: in place in dh, or into
        // dh_all[t] with a projection (dW_hr needs every dh_t).
        for bb in 0..b {
            if !seq.active(t, bb) {
                continue;
            }
            let dht: &mut [f32] = if has_proj {
                let dst = &mut dh_all[(t * b + bb) * p..(t * b + bb + 1) * p];
                dst.copy_from_slice(&dh[bb * p..bb * p + p]);
                dst
            } else {
                &mut dh[bb * p..bb * p + p]
            };
            if let Some(dy) = dy {
                for (a, v) in dht.iter_mut().zip(&dy[(t * b + bb) * ldy..][..p]) {
                    *a += *v;
                }
            }
        }
        if let Some(w_hr) = w.w_hr {
            // dr = dh_t @ w_hr, (B,P) x (P,H)
            sgemm(false, false, b, h, p, 1.0, &dh_all[t * b * p..(t + 1) * b * p], p, w_hr, h, 0.0, &mut dr, h);
        }
        let dg_t = &mut dgates[t * b * g..(t + 1) * b * g];
        for bb in 0..b {
            if !seq.active(t, bb) {
                continue;
            }
            let row = t * b + bb;
            let dr_row = if has_proj { &dr[bb * h..bb * h + h] } else { &dh[bb * p..bb * p + p] };
            cell_backward(
                &mut dg_t[bb * g..bb * g + g], &mut dc[bb * h..bb * h + h], &gates[row * g..row * g + g],
                &cs[(prev * b + bb) * h..][..h], &cs[(next * b + bb) * h..][..h], dr_row, h,
            );
            // dh of an active row is consumed; the GEMM below adds its dh_prev.
            dh[bb * p..bb * p + p].fill(0.0);
        }
        // dh_prev += dgates @ w_hh, (B,4H) x (4H,P); masked rows add exact zeros (pass-through).
        w_hh_packed.gemm(false, b, 1.0, dg_t, g, 1.0, &mut dh, p);
    }
    accumulate(dh0, &dh);
    accumulate(dc0, &dc);

    // h_prev of every step as one time-aligned (T*B, P) slice of the boundaries.
    let h_prev = if seq.reverse { &hs[b * p..] } else { &hs[..rows * p] };
    if let Some(dw_hh) = dw.dw_hh {
        sgemm(true, false, g, p, rows, 1.0, &dgates, g, h_prev, p, 1.0, dw_hh, p);
    }
    if let Some(dw_ih) = dw.dw_ih {
        sgemm(true, false, g, i, rows, 1.0, &dgates, g, &x[..rows * i], i, 1.0, dw_ih, i);
    }
    if let Some(dx) = dx {
        sgemm(false, false, rows, i, g, 1.0, &dgates, g, w.w_ih, i, 1.0, dx, i);
    }
    if let (Some(dw_hr), true) = (dw.dw_hr, has_proj) {
        // dW_hr += dh_all^T @ r, (P,T*B) x (T*B,H)
        sgemm(true, false, p, h, rows, 1.0, &dh_all, p, rs, h, 1.0, dw_hr, h);
    }
    bias_grads(dw.db_ih, dw.db_hh, &dgates, rows, g, g);
    Ok(())
}
