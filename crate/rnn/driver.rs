//! The one sequence driver every recurrent kind runs through, as matrixmultiply's `gemm_loop<K>`
//! serves every micro-kernel: the loops live here once, the cell math of each kind behind `Cell`.
//!
//! Forward, per layer-direction:
//!   reserve scratch, fold biases, pack w_ih^T and w_hh^T          (nothing written before this)
//!   for each chunk of processing steps:
//!     gates (chunk rows) = x @ w_ih^T + folded bias              (one GEMM, many steps)
//!     for each step s (time t):
//!       gates += h_prev @ w_hh^T      (or hg = h_prev @ w_hh^T apart, `Cell::HIDDEN_APART`)
//!       per active row: `Cell::forward_row` -> c, out; masked rows: cached gates 0
//!       h = out, or out @ w_hr^T with a projection
//!       masked rows carry h, c; y[t] = h (0 where masked)
//!   h_n, c_n = the last state
//! Backward (BPTT), reserving everything first:
//!   for each step in reverse processing order, skipping steps with no active row:
//!     dh_t = dh + dy[t] on active rows (into dh_all[t] with a projection; dr = dh_t @ w_hr)
//!     per active row: `Cell::backward_row` -> d(input-side gates), d(hidden-side gates), dc
//!     dh_prev += d(hidden-side gates) @ w_hh
//!   dh0, dc0 += the carried gradients
//!   dW_hh, dW_ih, dx (and dW_hr): one GEMM each over all T*B rows; bias grads by column sums.
//!
//! Every size a kind differs in is a multiple of H, so a cell states them as constants.
//! The cache is one layout for all kinds, regions that a kind does not use being empty:
//! `gates (T,B,GATE_LD*H)` (if `CACHES_GATES`) | `c (T+1,B,H)` (if `HAS_C`) | `h (T+1,B,P)` |
//! `r (T,B,H)` (projection only).

use std::cell::RefCell;

use super::{LayerWeights, Seq, WeightGrads, Weights};
use crate::gemm::{sgemm, PreparedB};
use crate::quant::Prepared;
use crate::scratch::{self, OutOfMemory};

/// The math of one kind of recurrent cell, one batch row at a time; the driver does the rest.
pub(super) trait Cell {
    /// Gate columns, in units of H: of x @ w_ih^T, of h_prev @ w_hh^T and of their gradients.
    const GATES: usize;
    /// Floats of one cached gate row in units of H: GATES, or more when the cell keeps extra
    /// values for backward (GRU: [r z n hn]).
    const GATE_LD: usize;
    /// Leading entries of b_hh, in units of H, that add straight into the input projection.
    const FOLDED_HH: usize;
    /// Whether the cell has a second state c (H) beside h (LSTM).
    const HAS_C: bool;
    /// Whether the activated gates go to the cache (else backward recomputes from h, as the RNN).
    const CACHES_GATES: bool;
    /// Whether h_prev @ w_hh^T is kept apart from the input-side gates (GRU: r * (W_hn h + b_hn))
    /// instead of added into them; its gradient is then apart too.
    const HIDDEN_APART: bool;

    /// One active row of one step. `gates` (GATE_LD*H) holds the input projection of the
    /// `GATES*H` first columns on entry and what backward reads on exit; `hg` (GATES*H) is
    /// h_prev @ w_hh^T when `HIDDEN_APART` (else empty); h_prev (P), c_prev (H or empty).
    /// Writes c (H or empty) and `out` (H): the new h, or the input of the projection.
    fn forward_row(&self, gates: &mut [f32], c: &mut [f32], out: &mut [f32], hg: &[f32], h_prev: &[f32], c_prev: &[f32]);

    /// Backward of one active row. `dout` (H) holds dL/d(out) on entry and, on exit, the part of
    /// dL/dh_prev that does not pass through w_hh (0 but for the GRU). `dc` (H or empty) holds
    /// dL/dc on entry and dL/dc_prev on exit. OVERWRITES `dxg` (GATES*H) with dL/d(input-side
    /// gate pre-activations) and, when `HIDDEN_APART`, `dhg` (GATES*H) with the hidden side.
    fn backward_row(&self, dxg: &mut [f32], dhg: &mut [f32], dout: &mut [f32], dc: &mut [f32], saved: &Saved);
}

/// What forward left for one row of one step: the cached gate row (empty unless
/// `CACHES_GATES`), the states before and after the step (h (P), c (H or empty)).
pub(super) struct Saved<'a> {
    pub gates: &'a [f32],
    pub h_prev: &'a [f32],
    pub h: &'a [f32],
    pub c_prev: &'a [f32],
    pub c: &'a [f32],
}

/// Floats of the cache of `forward::<C>` (the layout in the module doc).
pub(super) fn cache_len<C: Cell>(t: usize, b: usize, h: usize, p: usize, has_proj: bool) -> usize {
    let gates = if C::CACHES_GATES { t * b * C::GATE_LD * h } else { 0 };
    let c = if C::HAS_C { (t + 1) * b * h } else { 0 };
    gates + c + (t + 1) * b * p + if has_proj { t * b * h } else { 0 }
}

/// Regions of a `cache_len::<C>` cache as element ranges: (gates, c, h, r).
fn cache_regions<C: Cell>(t: usize, b: usize, h: usize, p: usize, has_proj: bool) -> [std::ops::Range<usize>; 4] {
    let mut at = 0;
    let mut next = |n: usize| {
        at += n;
        at - n..at
    };
    [
        next(if C::CACHES_GATES { t * b * C::GATE_LD * h } else { 0 }),
        next(if C::HAS_C { (t + 1) * b * h } else { 0 }),
        next((t + 1) * b * p),
        next(if has_proj { t * b * h } else { 0 }),
    ]
}

/// Forward over a whole sequence (one direction); the contract of `lstm_forward` for every
/// kind (`c0`, `c_n` are None without `HAS_C`).
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<C: Cell>(
    cell: &C, y: &mut [f32], ldy: usize, h_n: Option<&mut [f32]>, c_n: Option<&mut [f32]>,
    cache: Option<&mut [f32]>,
    x: &[f32], w: &LayerWeights, h0: Option<&[f32]>, c0: Option<&[f32]>, seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h, p) = (d.t, d.b, d.i, d.h, d.p);
    let (g, ldg, hc) = (C::GATES * h, C::GATE_LD * h, if C::HAS_C { h } else { 0 });
    let has_proj = w.w_hr.is_some();
    debug_assert!(has_proj || p == h, "without projection p == h");
    let has_cache = cache.is_some();
    // The gate buffer is the cache's gate region (the whole sequence, projected at once) or a
    // scratch of `tc` steps.
    let gates_in_cache = has_cache && C::CACHES_GATES;
    let tc = if gates_in_cache { tt } else { chunk_steps(tt, b) };
    let scratch_len = g
        + if C::HIDDEN_APART { b * g } else { 0 }
        + if gates_in_cache { 0 } else { tc * b * ldg }
        + if has_cache { 0 } else { 2 * b * hc + 2 * b * p + if has_proj { b * h } else { 0 } };
    with_scratch(scratch_len, |scratch| {
        let mut scratch = scratch;
        let bias = take(&mut scratch, g);
        fold_bias(bias, w.b_ih, w.b_hh, C::FOLDED_HH * h);
        let bias: Option<&[f32]> = if w.b_ih.is_some() || w.b_hh.is_some() { Some(bias) } else { None };
        let hg = take(&mut scratch, if C::HIDDEN_APART { b * g } else { 0 }); // (B,G)
        let mut w_ih_t = prepare_w_ih(w.w_ih, i, g, tc * b, tt * b)?;
        // w_hh^T is multiplied at every step: pack it once for the whole sequence.
        let mut w_hh_t = Prepared::new(w.w_hh, p, g, b)?;
        let mut w_hr_t = match w.w_hr {
            Some(w_hr) => Some(Prepared::new(w_hr, h, p, 0)?),
            None => None,
        };
        // Nothing is allocated past this point: an out-of-memory leaves every output untouched.

        // gbuf: gates of `tc` steps (GATE_LD*H per row); cs, hs: state boundaries; rs: r rows.
        let (mut gbuf, cs, hs, rs): (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) = match cache {
            Some(cache) => {
                let [gr, cr, hr, rr] = cache_regions::<C>(tt, b, h, p, has_proj);
                let (rest, rs) = cache.split_at_mut(rr.start);
                let (rest, hs) = rest.split_at_mut(hr.start);
                let (gates, cs) = rest.split_at_mut(cr.start);
                debug_assert_eq!((gates.len(), cs.len(), hs.len(), rs.len()), (gr.len(), cr.len(), hr.len(), rr.len()));
                (gates, cs, hs, rs)
            }
            None => {
                let cs = take(&mut scratch, 2 * b * hc);
                let hs = take(&mut scratch, 2 * b * p);
                let rs = take(&mut scratch, if has_proj { b * h } else { 0 });
                (&mut [][..], cs, hs, rs)
            }
        };
        if !gates_in_cache {
            gbuf = take(&mut scratch, tc * b * ldg);
        }
        let (first, last) = seq.state_first_last(has_cache);
        init_state(&mut hs[first * b * p..(first + 1) * b * p], h0);
        init_state(&mut cs[first * b * hc..(first + 1) * b * hc], c0);

        let mut s0 = 0;
        while s0 < tt {
            let s1 = (s0 + tc).min(tt);
            let (lo, hi) = seq.chunk_times(s0, s1, gates_in_cache);
            input_projection(gbuf, ldg, &x[lo * b * i..hi * b * i], &mut w_ih_t, bias, (hi - lo) * b, i, g);
            for s in s0..s1 {
                let t = seq.time(s);
                let (prev, next) = seq.state_rows(s, t, has_cache);
                let gt = &mut gbuf[(t - lo) * b * ldg..(t - lo + 1) * b * ldg]; // (B,GATE_LD*H)
                let (h_prev, h_next) = pair(hs, b * p, prev, next); // (B,P) each
                let (c_prev, c_next) = pair(cs, b * hc, prev, next); // (B,H) each, or empty
                if seq.n_active(t) > 0 {
                    if C::HIDDEN_APART {
                        // hg = h_prev @ w_hh^T, (B,P) x (P,G)
                        w_hh_t.gemm(b, h_prev, p, 0.0, hg, g);
                    } else {
                        // gates += h_prev @ w_hh^T
                        w_hh_t.gemm(b, h_prev, p, 1.0, gt, ldg);
                    }
                }
                // The cell's output (B,H): h itself, or r rows the projection reads.
                let r_off = if has_cache { t * b * h } else { 0 };
                let out: &mut [f32] = if has_proj { &mut rs[r_off..r_off + b * h] } else { &mut *h_next };
                for bb in 0..b {
                    let grow = &mut gt[bb * ldg..(bb + 1) * ldg];
                    if seq.active(t, bb) {
                        let hg_row = if C::HIDDEN_APART { &hg[bb * g..(bb + 1) * g] } else { &[][..] };
                        cell.forward_row(
                            grow, &mut c_next[bb * hc..(bb + 1) * hc], &mut out[bb * h..(bb + 1) * h],
                            hg_row, &h_prev[bb * p..(bb + 1) * p], &c_prev[bb * hc..(bb + 1) * hc],
                        );
                    } else {
                        // Masked: nothing of this step may reach backward (x here may be garbage).
                        if C::CACHES_GATES {
                            grow.fill(0.0);
                        }
                        if has_proj {
                            out[bb * h..(bb + 1) * h].fill(0.0);
                        }
                    }
                }
                if let Some(w_hr_t) = w_hr_t.as_mut() {
                    // h = r @ w_hr^T, (B,H) x (H,P)
                    w_hr_t.gemm(b, &rs[r_off..r_off + b * h], h, 0.0, h_next, p);
                }
                carry_masked(h_prev, h_next, p, seq, t);
                carry_masked(c_prev, c_next, hc, seq, t);
                write_y(y, ldy, h_next, seq, t);
            }
            s0 = s1;
        }
        if let Some(h_n) = h_n {
            h_n[..b * p].copy_from_slice(&hs[last * b * p..(last + 1) * b * p]);
        }
        if let Some(c_n) = c_n {
            c_n[..b * hc].copy_from_slice(&cs[last * b * hc..(last + 1) * b * hc]);
        }
        Ok(())
    })
}

/// Backward (BPTT) from the cache of `forward::<C>` on the same x, weights, lengths and
/// direction; the contract of `lstm_backward` for every kind (`dc0`, `dc_n` are None without
/// `HAS_C`).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<C: Cell>(
    cell: &C, dx: Option<&mut [f32]>, dw: WeightGrads, dh0: Option<&mut [f32]>, dc0: Option<&mut [f32]>,
    dy: Option<&[f32]>, ldy: usize, dh_n: Option<&[f32]>, dc_n: Option<&[f32]>,
    x: &[f32], w: &Weights, cache: &[f32], seq: &Seq,
) -> Result<(), OutOfMemory> {
    let d = seq.dims;
    let (tt, b, i, h, p) = (d.t, d.b, d.i, d.h, d.p);
    let (g, ldg, hc) = (C::GATES * h, C::GATE_LD * h, if C::HAS_C { h } else { 0 });
    let rows = tt * b;
    let has_proj = w.w_hr.is_some();
    let [gr, cr, hr, rr] = cache_regions::<C>(tt, b, h, p, has_proj);
    let (gates, cs, hs, rs) = (&cache[gr], &cache[cr], &cache[hr], &cache[rr]);

    let mut dxg = scratch::zeroed(rows * g)?; // (T,B,G) dL/d(input-side gates), time-aligned; masked rows stay 0
    let mut dhg_apart = scratch::zeroed(if C::HIDDEN_APART { rows * g } else { 0 })?; // (T,B,G) hidden side
    let mut dh = scratch::copied_or_zeroed(dh_n, b * p)?; // (B,P)
    let mut dc = scratch::copied_or_zeroed(dc_n, b * hc)?; // (B,H) or empty
    let mut dh_all = scratch::zeroed(if has_proj { rows * p } else { 0 })?; // (T,B,P) dL/dh_t, projection only
    let mut dr = scratch::zeroed(if has_proj { b * h } else { 0 })?; // (B,H)
    let w_hh_packed = PreparedB::new(w.w_hh, p, false, g, p, b)?;
    // Nothing is allocated past this point: an out-of-memory leaves every gradient untouched.

    for s in (0..tt).rev() {
        let t = seq.time(s);
        if seq.n_active(t) == 0 {
            continue; // dh, dc pass through; gate gradient rows stay 0
        }
        let (prev, next) = seq.cache_bounds(t);
        // dh_t = dh (from the later step / dh_n) + dy[t] on active rows: in place in dh, or into
        // dh_all[t] with a projection (dW_hr needs every dh_t), then dr = dh_t @ w_hr.
        if let Some(w_hr) = w.w_hr {
            for bb in 0..b {
                if seq.active(t, bb) {
                    let dht = &mut dh_all[(t * b + bb) * p..(t * b + bb + 1) * p];
                    dht.copy_from_slice(&dh[bb * p..bb * p + p]);
                    add_dy(dht, dy, ldy, t * b + bb);
                    // dh of an active row is consumed; the GEMM below adds its dh_prev.
                    dh[bb * p..bb * p + p].fill(0.0);
                }
            }
            // dr = dh_t @ w_hr, (B,P) x (P,H)
            sgemm(false, false, b, h, p, 1.0, &dh_all[t * b * p..(t + 1) * b * p], p, w_hr, h, 0.0, &mut dr, h);
        }
        for bb in 0..b {
            if !seq.active(t, bb) {
                continue;
            }
            let row = t * b + bb;
            let dout = if has_proj {
                &mut dr[bb * h..bb * h + h]
            } else {
                let dht = &mut dh[bb * p..bb * p + p];
                add_dy(dht, dy, ldy, row);
                dht
            };
            let dhg_row = if C::HIDDEN_APART { &mut dhg_apart[row * g..(row + 1) * g] } else { &mut [][..] };
            let saved = Saved {
                gates: if C::CACHES_GATES { &gates[row * ldg..(row + 1) * ldg] } else { &[] },
                h_prev: &hs[(prev * b + bb) * p..][..p],
                h: &hs[(next * b + bb) * p..][..p],
                c_prev: &cs[(prev * b + bb) * hc..][..hc],
                c: &cs[(next * b + bb) * hc..][..hc],
            };
            cell.backward_row(&mut dxg[row * g..(row + 1) * g], dhg_row, dout, &mut dc[bb * hc..(bb + 1) * hc], &saved);
        }
        // dh_prev += dhg @ w_hh, (B,G) x (G,P); masked rows add exact zeros (pass-through).
        let dhg = if C::HIDDEN_APART { &dhg_apart } else { &dxg };
        w_hh_packed.gemm(false, b, 1.0, &dhg[t * b * g..(t + 1) * b * g], g, 1.0, &mut dh, p);
    }
    accumulate(dh0, &dh);
    accumulate(dc0, &dc);

    let dhg = if C::HIDDEN_APART { &dhg_apart } else { &dxg };
    // h_prev of every step as one time-aligned (T*B, P) slice of the boundaries.
    let h_prev = if seq.reverse { &hs[b * p..] } else { &hs[..rows * p] };
    if let Some(dw_hh) = dw.dw_hh {
        sgemm(true, false, g, p, rows, 1.0, dhg, g, h_prev, p, 1.0, dw_hh, p);
    }
    if let Some(dw_ih) = dw.dw_ih {
        sgemm(true, false, g, i, rows, 1.0, &dxg, g, &x[..rows * i], i, 1.0, dw_ih, i);
    }
    if let Some(dx) = dx {
        sgemm(false, false, rows, i, g, 1.0, &dxg, g, w.w_ih, i, 1.0, dx, i);
    }
    if let (Some(dw_hr), true) = (dw.dw_hr, has_proj) {
        // dW_hr += dh_all^T @ r, (P,T*B) x (T*B,H)
        sgemm(true, false, p, h, rows, 1.0, &dh_all, p, rs, h, 1.0, dw_hr, h);
    }
    column_sums(dw.db_ih, &dxg, rows, g);
    column_sums(dw.db_hh, dhg, rows, g);
    Ok(())
}

/// Time steps per input-projection GEMM when nothing is cached: chunks of about this many rows
/// keep the scratch O(B*G) (a streaming T=1 decoder uses constant memory) while the packed
/// w_ih is still reused across enough rows.
const PROJ_ROWS: usize = 64;

fn chunk_steps(t: usize, b: usize) -> usize {
    (PROJ_ROWS / b.max(1)).max(1).min(t.max(1))
}

thread_local! {
    /// Forward scratch, grown on demand and kept (bounded: O(max(B, PROJ_ROWS) * G)).
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `n` floats of reusable scratch (contents unspecified); `Err` when memory cannot
/// hold them (then `f` does not run) or when `f` fails.
fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [f32]) -> Result<R, OutOfMemory>) -> Result<R, OutOfMemory> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            scratch::grow(&mut v, n)?;
            f(&mut v[..n])
        }
        // Re-entered (never happens today): fall back to a fresh buffer.
        Err(_) => f(&mut scratch::zeroed(n)?),
    })
}

/// Splits the first `n` floats off `buf`.
fn take<'a>(buf: &mut &'a mut [f32], n: usize) -> &'a mut [f32] {
    let whole = std::mem::take(buf);
    let (head, tail) = whole.split_at_mut(n);
    *buf = tail;
    head
}

/// Rows `prev` (read) and `next` (written) of width `w` of a boundary buffer.
fn pair(buf: &mut [f32], w: usize, prev: usize, next: usize) -> (&[f32], &mut [f32]) {
    debug_assert!(prev != next);
    if prev < next {
        let (a, b) = buf.split_at_mut(next * w);
        (&a[prev * w..prev * w + w], &mut b[..w])
    } else {
        let (a, b) = buf.split_at_mut(prev * w);
        (&b[..w], &mut a[next * w..next * w + w])
    }
}

/// `bias (G) = b_ih + b_hh` over the first `n_hh` entries, `b_ih` alone after them (GRU keeps
/// b_hn inside r * (...)); absent biases count as zero.
fn fold_bias(bias: &mut [f32], b_ih: Option<&[f32]>, b_hh: Option<&[f32]>, n_hh: usize) {
    let g = bias.len();
    match b_ih {
        Some(b) => bias.copy_from_slice(&b[..g]),
        None => bias.fill(0.0),
    }
    if let Some(b) = b_hh {
        for j in 0..n_hh {
            bias[j] += b[j];
        }
    }
}

/// w_ih^T prepared for `input_projection` over a sequence split into chunks of `chunk_rows` rows of
/// x (of `total_rows`): packed once when there is more than one chunk (inference over a long
/// sequence would otherwise repack w_ih for every chunk), left in place for a single product.
fn prepare_w_ih<'a>(w_ih: crate::quant::Matrix<'a>, i: usize, g: usize, chunk_rows: usize, total_rows: usize) -> Result<Prepared<'a>, OutOfMemory> {
    let rows = if chunk_rows < total_rows { chunk_rows } else { 0 };
    Prepared::new(w_ih, i, g, rows)
}

/// out (R, ldo) [:, :g] = x (R,I) @ w_ih^T + bias, with `w_ih_t` from `prepare_w_ih` (w_ih is
/// (G,I)); `bias` None writes just the product. Masked rows are projected too (the cells never
/// read them).
#[allow(clippy::too_many_arguments)]
fn input_projection(
    out: &mut [f32], ldo: usize, x: &[f32], w_ih_t: &mut Prepared, bias: Option<&[f32]>,
    rows: usize, i: usize, g: usize,
) {
    if rows == 0 || g == 0 {
        return;
    }
    let beta = match bias {
        Some(bias) => {
            for r in 0..rows {
                out[r * ldo..r * ldo + g].copy_from_slice(bias);
            }
            1.0
        }
        None => 0.0,
    };
    w_ih_t.gemm(rows, &x[..rows * i], i, beta, out, ldo);
}

/// Masked rows of `next` (B rows of width w) carry `prev` unchanged.
fn carry_masked(prev: &[f32], next: &mut [f32], w: usize, seq: &Seq, t: usize) {
    if seq.lengths.is_none() || w == 0 {
        return;
    }
    for b in 0..seq.dims.b {
        if !seq.active(t, b) {
            next[b * w..b * w + w].copy_from_slice(&prev[b * w..b * w + w]);
        }
    }
}

/// y rows of time t: the new state h (B,P) where active, 0 where masked.
fn write_y(y: &mut [f32], ldy: usize, h: &[f32], seq: &Seq, t: usize) {
    let (b_n, p) = (seq.dims.b, seq.dims.p);
    for b in 0..b_n {
        let row = &mut y[(t * b_n + b) * ldy..][..p];
        if seq.active(t, b) {
            row.copy_from_slice(&h[b * p..b * p + p]);
        } else {
            row.fill(0.0);
        }
    }
}

/// Initial state rows: a copy of `init` or zeros.
fn init_state(dst: &mut [f32], init: Option<&[f32]>) {
    match init {
        Some(s) => dst.copy_from_slice(&s[..dst.len()]),
        None => dst.fill(0.0),
    }
}

/// `dst += src` elementwise (accumulating an initial-state gradient).
fn accumulate(dst: Option<&mut [f32]>, src: &[f32]) {
    if let Some(dst) = dst {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += *s;
        }
    }
}

/// `dst (P) += dy` row `row` (at `row * ldy`), when dy is given.
#[inline(always)]
fn add_dy(dst: &mut [f32], dy: Option<&[f32]>, ldy: usize, row: usize) {
    if let Some(dy) = dy {
        let n = dst.len();
        for (a, v) in dst.iter_mut().zip(&dy[row * ldy..][..n]) {
            *a += *v;
        }
    }
}

/// Column sums of `dg` (R,G) added to the bias gradient `db` (G), when it is wanted.
fn column_sums(db: Option<&mut [f32]>, dg: &[f32], rows: usize, g: usize) {
    if let Some(db) = db {
        crate::ops::elementwise::sum_rows(db, dg, rows, g, true);
    }
}
