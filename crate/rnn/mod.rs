//! Recurrent layers (LSTM with optional projection, GRU, Elman RNN tanh/relu): one call runs
//! one direction of one layer over a whole sequence, with PyTorch semantics number for number.
//!
//! Dimensions: `T` time, `B` batch, `I` input features, `H` hidden size, `P` LSTM projection
//! size (`P = H` without projection and for GRU/RNN), `G` gate width (4H LSTM, 3H GRU, H RNN).
//! x is time-major (T,B,I); y rows are strided: row (t,b) starts at `(t*B + b) * ldy`, so the
//! two directions of a bidirectional layer write the two halves of one (T,B,2P) buffer.
//!
//! Forward (all kinds): ONE GEMM projects the inputs of many steps at once
//! (`x @ w_ih^T + biases`, every bias that is simply additive folded in), then per step ONE
//! recurrent GEMM `h_prev (B,P) @ w_hh^T` and a fused SIMD gate kernel that writes the new state
//! and y[t]. Backward (BPTT) mirrors it: per step (in reverse processing order) a fused gate
//! gradient kernel and the `dh_prev += dgates @ w_hh` GEMM; after the loop one GEMM each for
//! dW_hh, dW_ih and dx over all T*B rows, and bias gradients by column sums.
//!
//! Backward ACCUMULATES (`+=`) into every gradient it is given (dx, dW_*, db_*, dh0, dc0);
//! the caller zeroes them. `None` (a 0 pointer at the ABI) means absent: no bias, zero initial
//! state, no lengths, no cache, gradient not wanted.
//!
//! `reverse` processes t = T-1 down to 0. Variable lengths (`lengths` (B), each in 1..=T, any
//! order): at time t, batch rows with `t >= len[b]` are masked: their state is carried
//! unchanged and their y row is 0. The forward direction therefore stops at len-1 (hN is the
//! state there) and the reverse direction starts at len-1 from h0, exactly as PyTorch's packed
//! sequences. Masked rows never let x into state or outputs, and get exactly zero gradient (dx
//! rows past a length are exactly 0); dh/dc pass through them unchanged and dy there is ignored.
//! (x past a length may be any finite garbage: its dW_ih contribution is an exact 0 * x.)
//!
//! The cache (forward -> backward) holds state at the T+1 step *boundaries*, indexed by time:
//! for the forward direction boundary t is the state before step t and t+1 the state after;
//! for the reverse direction boundary t+1 is before step t and t is after. Either way the
//! T*B rows `h_prev` of the dW_hh GEMM are one contiguous, time-aligned slice of it.
//! Layouts are documented on each kind's `*_cache_len`.

pub mod elman;
pub mod gru;
pub mod lstm;
pub mod naive;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

use crate::gemm::PreparedB;
use crate::scratch::{self, OutOfMemory};
use crate::simd::F32x4;

/// Sizes of one layer-direction. `p` is the LSTM projection size, `h` everywhere else.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub t: usize,
    pub b: usize,
    pub i: usize,
    pub h: usize,
    pub p: usize,
}

/// What the sequence looks like: sizes, optional lengths (B) and direction.
#[derive(Clone, Copy)]
pub struct Seq<'a> {
    pub dims: Dims,
    pub lengths: Option<&'a [i32]>,
    pub reverse: bool,
}

impl<'a> Seq<'a> {
    /// Time index of processing step `s`.
    #[inline(always)]
    pub fn time(&self, s: usize) -> usize {
        if self.reverse { self.dims.t - 1 - s } else { s }
    }

    /// Whether batch row `b` takes part in the step at time `t` (`t < len[b]`).
    #[inline(always)]
    pub fn active(&self, t: usize, b: usize) -> bool {
        match self.lengths {
            Some(len) => (t as i64) < len[b] as i64,
            None => true,
        }
    }

    /// Number of active batch rows at time `t`.
    pub fn n_active(&self, t: usize) -> usize {
        match self.lengths {
            Some(_) => (0..self.dims.b).filter(|&b| self.active(t, b)).count(),
            None => self.dims.b,
        }
    }

    /// Cache boundaries (prev, next) of step `s` at time `t` (see the module doc).
    #[inline(always)]
    fn cache_bounds(&self, t: usize) -> (usize, usize) {
        if self.reverse { (t + 1, t) } else { (t, t + 1) }
    }

    /// The boundary holding the initial state (h0) and the final one (hN) in a (T+1)-boundary cache.
    fn cache_first_last(&self) -> (usize, usize) {
        if self.reverse { (self.dims.t, 0) } else { (0, self.dims.t) }
    }

    // Forward state lives either in the cache's T+1 boundaries (`cached`) or, with no cache, in
    // two rows used in turn. These three say which row is which, for every kind of layer.

    /// The rows holding the initial state and the final one.
    fn state_first_last(&self, cached: bool) -> (usize, usize) {
        if cached { self.cache_first_last() } else { (0, self.dims.t % 2) }
    }

    /// The rows (prev, next) of processing step `s`, at time `t`.
    fn state_rows(&self, s: usize, t: usize, cached: bool) -> (usize, usize) {
        if cached { self.cache_bounds(t) } else { (s % 2, (s + 1) % 2) }
    }

    /// The times [lo, hi) whose input projections a chunk of processing steps s0..s1 needs;
    /// `whole` when the projection buffer holds the whole sequence (one chunk of all T steps).
    fn chunk_times(&self, s0: usize, s1: usize, whole: bool) -> (usize, usize) {
        let tt = self.dims.t;
        if whole { (0, tt) } else if self.reverse { (tt - s1, tt - s0) } else { (s0, s1) }
    }
}

/// Parameters of one layer-direction, PyTorch layouts: w_ih (G,I), w_hh (G,P), b_ih, b_hh (G),
/// w_hr (P,H) (LSTM projection only).
#[derive(Clone, Copy)]
pub struct Weights<'a> {
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub b_ih: Option<&'a [f32]>,
    pub b_hh: Option<&'a [f32]>,
    pub w_hr: Option<&'a [f32]>,
}

/// Parameter gradients (same shapes as `Weights`), each accumulated into when present.
#[derive(Default)]
pub struct WeightGrads<'a> {
    pub dw_ih: Option<&'a mut [f32]>,
    pub dw_hh: Option<&'a mut [f32]>,
    pub db_ih: Option<&'a mut [f32]>,
    pub db_hh: Option<&'a mut [f32]>,
    pub dw_hr: Option<&'a mut [f32]>,
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
fn prepare_w_ih(w_ih: &[f32], i: usize, g: usize, chunk_rows: usize, total_rows: usize) -> Result<PreparedB<'_>, OutOfMemory> {
    let rows = if chunk_rows < total_rows { chunk_rows } else { 0 };
    PreparedB::new(w_ih, i, true, i, g, rows)
}

/// out (R, ldo) [:, :g] = x (R,I) @ w_ih^T + bias, with `w_ih_t` from `prepare_w_ih` (w_ih is
/// (G,I)); `bias` None writes just the product. Masked rows are projected too (the gate kernels
/// never read them).
#[allow(clippy::too_many_arguments)]
fn input_projection(
    out: &mut [f32], ldo: usize, x: &[f32], w_ih_t: &PreparedB, bias: Option<&[f32]>,
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
    w_ih_t.gemm(false, rows, 1.0, &x[..rows * i], i, beta, out, ldo);
}

/// Masked rows of `next` (B rows of width w) carry `prev` unchanged.
fn carry_masked(prev: &[f32], next: &mut [f32], w: usize, seq: &Seq, t: usize) {
    if seq.lengths.is_none() {
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

/// Column sums of `dgates` (R, ld)[:, :g] added to each present bias gradient.
fn bias_grads(db_ih: Option<&mut [f32]>, db_hh: Option<&mut [f32]>, dg: &[f32], rows: usize, ld: usize, g: usize) {
    let sum = |db: &mut [f32]| {
        if ld == g {
            crate::ops::elementwise::sum_rows(db, dg, rows, g, true);
        } else {
            for r in 0..rows {
                for (d, v) in db[..g].iter_mut().zip(&dg[r * ld..r * ld + g]) {
                    *d += *v;
                }
            }
        }
    };
    if let Some(db) = db_ih {
        sum(db);
    }
    if let Some(db) = db_hh {
        sum(db);
    }
}

// ----- four-lane access with a zero-padded tail -------------------------------------------------
//
// The gate kernels walk a row four lanes at a time; the last partial block is loaded into a
// zero-padded array and run through the very same vector code, so a row's result does not depend
// on where it falls relative to a multiple of four (and the tail needs no second, scalar copy of
// the cell math).

/// Lanes `s[0..min(4, len)]`, zero-padded.
#[inline(always)]
fn ld(s: &[f32]) -> F32x4 {
    if s.len() >= 4 {
        // SAFETY: four readable f32.
        unsafe { F32x4::load(s.as_ptr()) }
    } else {
        let mut a = [0.0f32; 4];
        a[..s.len()].copy_from_slice(s);
        // SAFETY: `a` holds four f32.
        unsafe { F32x4::load(a.as_ptr()) }
    }
}

/// Stores the first `min(4, len)` lanes of `v` into `s`.
#[inline(always)]
fn st(v: F32x4, s: &mut [f32]) {
    if s.len() >= 4 {
        // SAFETY: four writable f32.
        unsafe { v.store(s.as_mut_ptr()) }
    } else {
        let mut a = [0.0f32; 4];
        // SAFETY: `a` holds four f32.
        unsafe { v.store(a.as_mut_ptr()) };
        let n = s.len();
        s.copy_from_slice(&a[..n]);
    }
}
