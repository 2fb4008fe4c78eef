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

use super::{
    accumulate, bias_grads, carry_masked, chunk_steps, fold_bias, init_state, input_projection, ld,
    pair, prepare_w_ih, st, take, with_scratch, write_y, Seq, WeightGrads, Weights,
};
use crate::gemm::{sgemm, PreparedB};
use crate::scratch::{self, OutOfMemory};
use crate::math::{exp4_n, sigmoid4_from_exp, sigmoid_exp_arg, tanh4};
use crate::simd::F32x4;

/// Floats of cache `gru_forward` fills: T*B*4H + (T+1)*B*H.
pub fn gru_cache_len(t: usize, b: usize, h: usize) -> usize {
    t * b * 4 * h + (t + 1) * b * h
}

/// One batch row: `gates` (4H) holds [xr xz xn] (input part, biases folded) on entry and
/// [r z n hn] on exit; `hg` (3H) = h_prev W_hh^T without bias. Writes h_next (H).
#[inline(always)]
fn cell_forward(gates: &mut [f32], hg: &[f32], b_hn: &[f32], h_prev: &[f32], h_next: &mut [f32], h: usize) {
    let (gr, rest) = gates.split_at_mut(h);
    let (gz, rest) = rest.split_at_mut(h);
    let (gn, ghn) = rest.split_at_mut(h);
    for j in (0..h).step_by(4) {
        let pr = ld(&gr[j..]).add(ld(&hg[j..h]));
        let pz = ld(&gz[j..]).add(ld(&hg[h + j..2 * h]));
        // Both gates' exps as one interleaved batch (see `exp4_n`).
        let e = exp4_n([sigmoid_exp_arg(pr), sigmoid_exp_arg(pz)]);
        let (r, z) = (sigmoid4_from_exp(e[0]), sigmoid4_from_exp(e[1]));
        let hn = ld(&hg[2 * h + j..3 * h]).add(ld(&b_hn[j..h]));
        let n = tanh4(r.mul_add(hn, ld(&gn[j..])));
        let hp = ld(&h_prev[j..h]);
        st(hp.sub(n).mul_add(z, n), &mut h_next[j..h]);
        st(r, &mut gr[j..]);
        st(z, &mut gz[j..]);
        st(n, &mut gn[j..]);
        st(hn, &mut ghn[j..h]);
    }
}

/// Backward of one batch row. `dh` (H) holds dL/dh_t on entry and the direct part of dL/dh_prev
/// (dh_t * z) on exit. OVERWRITES dxg (3H) = dL/d[xr xz xn] and dhg (3H) = dL/d[hr hz hn].
#[inline(always)]
fn cell_backward(dxg: &mut [f32], dhg: &mut [f32], dh: &mut [f32], gates: &[f32], h_prev: &[f32], h: usize) {
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

/// GRU forward over a whole sequence (one direction). y rows (t,b) at `(t*B+b)*ldy` get h_t (H)
/// or 0 where masked; `h_n` (B,H) gets the final state. x (T,B,I), h0 (B,H) (None = zeros).
/// `cache` (len `gru_cache_len`) is filled for `gru_backward`.
#[allow(clippy::too_many_arguments)]
pub fn gru_forward(
    y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, cache: Option<&mut [f32]>,
    x: &[f32], w: &Weights, h0: Option<&[f32]>, seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h) = (d.t, d.b, d.i, d.h);
    let (g, ldg) = (3 * h, 4 * h);
    let has_cache = cache.is_some();
    let tc = if has_cache { tt } else { chunk_steps(tt, b) };
    let scratch_len = g + h + b * g + if has_cache { 0 } else { tc * b * ldg + 2 * b * h };
    with_scratch(scratch_len, |scratch| {
        let mut scratch = scratch;
        let bias = take(&mut scratch, g);
        fold_bias(bias, w.b_ih, w.b_hh, 2 * h);
        let bias: Option<&[f32]> = if w.b_ih.is_some() || w.b_hh.is_some() { Some(bias) } else { None };
        let b_hn = take(&mut scratch, h);
        match w.b_hh {
            Some(bh) => b_hn.copy_from_slice(&bh[2 * h..3 * h]),
            None => b_hn.fill(0.0),
        }
        let hg = take(&mut scratch, b * g); // (B,3H)
        let (gbuf, hs) = match cache {
            Some(cache) => {
                let mut cache = cache;
                let gbuf = take(&mut cache, tt * b * ldg);
                (gbuf, take(&mut cache, (tt + 1) * b * h))
            }
            None => {
                let gbuf = take(&mut scratch, tc * b * ldg);
                (gbuf, take(&mut scratch, 2 * b * h))
            }
        };
        let (first, last) = seq.state_first_last(has_cache);
        init_state(&mut hs[first * b * h..(first + 1) * b * h], h0);
        let w_ih_t = prepare_w_ih(w.w_ih, i, g, tc * b, tt * b)?;
        // w_hh^T is multiplied at every step: pack it once for the whole sequence.
        let w_hh_t = PreparedB::new(w.w_hh, h, true, h, g, b)?;

        let mut s0 = 0;
        while s0 < tt {
            let s1 = (s0 + tc).min(tt);
            let (lo, hi) = seq.chunk_times(s0, s1, has_cache);
            input_projection(gbuf, ldg, &x[lo * b * i..hi * b * i], &w_ih_t, bias, (hi - lo) * b, i, g);
            for s in s0..s1 {
                let t = seq.time(s);
                let (prev, next) = seq.state_rows(s, t, has_cache);
                let gt = &mut gbuf[(t - lo) * b * ldg..(t - lo + 1) * b * ldg]; // (B,4H)
                let (h_prev, h_next) = pair(hs, b * h, prev, next); // (B,H) each
                if seq.n_active(t) > 0 {
                    // hg = h_prev @ w_hh^T, (B,H) x (H,3H)
                    w_hh_t.gemm(false, b, 1.0, h_prev, h, 0.0, hg, g);
                }
                for bb in 0..b {
                    let grow = &mut gt[bb * ldg..(bb + 1) * ldg];
                    if seq.active(t, bb) {
                        cell_forward(
                            grow, &hg[bb * g..(bb + 1) * g], b_hn, &h_prev[bb * h..(bb + 1) * h],
                            &mut h_next[bb * h..(bb + 1) * h], h,
                        );
                    } else {
                        grow.fill(0.0);
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

/// GRU backward (BPTT) from the cache of `gru_forward` on the same x, weights, lengths and
/// direction. dy rows at `(t*B+b)*ldy` (H), dh_n (B,H): None = zero. ACCUMULATES into
/// dx (T,B,I), the present weight grads and dh0 (B,H). (b_hh is not needed: hn is cached.)
#[allow(clippy::too_many_arguments)]
pub fn gru_backward(
    dx: Option<&mut [f32]>, dw: WeightGrads, dh0: Option<&mut [f32]>,
    dy: Option<&[f32]>, ldy: usize, dh_n: Option<&[f32]>,
    x: &[f32], w: &Weights, cache: &[f32], seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h) = (d.t, d.b, d.i, d.h);
    let (g, ldg) = (3 * h, 4 * h);
    let rows = tt * b;
    let gates = &cache[..rows * ldg];
    let hs = &cache[rows * ldg..rows * ldg + (tt + 1) * b * h];

    let mut dxg = scratch::zeroed(rows * g)?; // (T,B,3H) dL/d(input-side pre-activations)
    let mut dhg = scratch::zeroed(rows * g)?; // (T,B,3H) dL/d(hidden-side pre-activations)
    let mut dh = scratch::copied_or_zeroed(dh_n, b * h)?; // (B,H)

    let w_hh_packed = PreparedB::new(w.w_hh, h, false, g, h, b)?;
    // Nothing is allocated past this point: an out-of-memory leaves every gradient untouched.
    for s in (0..tt).rev() {
        let t = seq.time(s);
        if seq.n_active(t) == 0 {
            continue;
        }
        let (prev, _) = seq.cache_bounds(t);
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
            cell_backward(
                &mut dxg[row * g..(row + 1) * g], &mut dhg[row * g..(row + 1) * g], dh_row,
                &gates[row * ldg..(row + 1) * ldg], &hs[(prev * b + bb) * h..][..h], h,
            );
        }
        // dh_prev += dhg @ w_hh, (B,3H) x (3H,H); masked rows add exact zeros.
        w_hh_packed.gemm(false, b, 1.0, &dhg[t * b * g..(t + 1) * b * g], g, 1.0, &mut dh, h);
    }
    accumulate(dh0, &dh);

    let h_prev = if seq.reverse { &hs[b * h..] } else { &hs[..rows * h] };
    if let Some(dw_hh) = dw.dw_hh {
        sgemm(true, false, g, h, rows, 1.0, &dhg, g, h_prev, h, 1.0, dw_hh, h);
    }
    if let Some(dw_ih) = dw.dw_ih {
        sgemm(true, false, g, i, rows, 1.0, &dxg, g, &x[..rows * i], i, 1.0, dw_ih, i);
    }
    if let Some(dx) = dx {
        sgemm(false, false, rows, i, g, 1.0, &dxg, g, w.w_ih, i, 1.0, dx, i);
    }
    bias_grads(dw.db_ih, None, &dxg, rows, g, g);
    bias_grads(None, dw.db_hh, &dhg, rows, g, g);
    Ok(())
}
