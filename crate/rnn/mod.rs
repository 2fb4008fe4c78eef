//! Recurrent layers (LSTM with optional projection, GRU, Elman RNN tanh/relu): one call runs
//! one direction of one layer over a whole sequence, with PyTorch semantics number for number.
//!
//! Dimensions: `T` time, `B` batch, `I` input features, `H` hidden size, `P` LSTM projection
//! size (`P = H` without projection and for GRU/RNN), `G` gate width (4H LSTM, 3H GRU, H RNN).
//! x is time-major (T,B,I); y rows are strided: row (t,b) starts at `(t*B + b) * ldy`, so the
//! two directions of a bidirectional layer write the two halves of one (T,B,2P) buffer.
//!
//! The loops described below are written once, in `driver.rs`; each kind (`lstm.rs`, `gru.rs`,
//! `elman.rs`) is a `driver::Cell`: its sizes as constants and the fused SIMD math of one batch
//! row, forward and backward side by side.
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

mod driver;
pub mod elman;
pub mod gru;
pub mod lstm;
pub mod naive;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use crate::quant::Matrix;
use crate::simd::F32x4;

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Lstm,
    Gru,
    RnnTanh,
    RnnRelu,
}

impl Kind {
    /// Gate width G in units of H.
    pub fn gates(self) -> usize {
        match self {
            Kind::Lstm => 4,
            Kind::Gru => 3,
            Kind::RnnTanh | Kind::RnnRelu => 1,
        }
    }

    /// The ABI's code of a kind (0 LSTM, 1 GRU, 2 RNN tanh, 3 RNN relu).
    pub fn from_code(code: u32) -> Option<Kind> {
        match code {
            0 => Some(Kind::Lstm),
            1 => Some(Kind::Gru),
            2 => Some(Kind::RnnTanh),
            3 => Some(Kind::RnnRelu),
            _ => None,
        }
    }
}

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

/// A layer-direction's parameters for the forward pass, each matrix stored as f32, int8 or
/// float16 (`quant::Matrix`; biases stay f32): what `driver::forward` reads. Training uses f32
/// `Weights`, which convert to this.
#[derive(Clone, Copy)]
pub struct LayerWeights<'a> {
    pub w_ih: Matrix<'a>,
    pub w_hh: Matrix<'a>,
    pub b_ih: Option<&'a [f32]>,
    pub b_hh: Option<&'a [f32]>,
    pub w_hr: Option<Matrix<'a>>,
}

impl<'a> From<&Weights<'a>> for LayerWeights<'a> {
    fn from(w: &Weights<'a>) -> Self {
        LayerWeights { w_ih: Matrix::F32(w.w_ih), w_hh: Matrix::F32(w.w_hh), b_ih: w.b_ih, b_hh: w.b_hh, w_hr: w.w_hr.map(Matrix::F32) }
    }
}

impl<'a> From<&LayerWeights<'a>> for LayerWeights<'a> {
    fn from(w: &LayerWeights<'a>) -> Self {
        *w
    }
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
