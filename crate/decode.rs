//! One decoding step of a whole recurrent stack in one call: what a stepper runs per generated
//! token. The stack is the common one, [Embedding ->] L unidirectional LSTM/GRU/RNN layers
//! (LSTM with or without projection) [-> Linear head], batch B, one time step:
//!
//! ```text
//! x0 (B,I)  = table[ids]            (or the input floats, without an embedding)
//! for l in 0..L:
//!   x_{l+1} (B,P), h_out[l], c_out[l] = layer_l(x_l, h_in[l], c_in[l])     (T = 1)
//! out (B,V) = x_L @ W_head^T + b_head  (or x_L itself, without a head)
//! ```
//!
//! It calls the very kernels the module path calls for the same step, in the same order
//! (`embedding_forward`, the recurrent `*_forward` with T = 1, `sgemm` then `add_bcast`), so its
//! output is bit-identical to `LanguageModel.forward` / `nn.LSTM.forward` over one step; what it
//! saves is everything around them: no tensor is made, nothing is allocated after the first step
//! (the layer buffers are this module's scratch, grown once), one call instead of a dozen.
//!
//! Weights may be int8 (crate/quant.rs, the whole stack alike); then the layers run
//! `driver::forward` on those matrices and the embedding and head widen theirs, so a quantized
//! model decodes in one call too.
//!
//! The stack is described by a `plan` of u32 words (the layout below, `PLAN_*`), built by the
//! caller before each step from its parameters' current addresses. States are (L,B,P) for h and
//! (L,B,H) for c; `h_in`/`c_in` may be absent (zeros), and the outputs must not overlap the inputs
//! (a stepper writes a spare state and copies it over its own).

use std::cell::RefCell;

use crate::gemm::sgemm;
use crate::ops::{elementwise, embedding};
use crate::quant::{self, Matrix, Prepared};
pub use crate::rnn::Kind;
use crate::rnn::{elman, gru, lstm, Dims, LayerWeights, Seq};
use crate::scratch::{self, OutOfMemory};

/// How a stack's matrices are stored (every one alike; biases are f32). A float16 model computes
/// as f32 (its weights widened when loaded: crate/quant.rs says why).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dtype {
    F32,
    I8,
}

impl Dtype {
    pub fn from_code(code: u32) -> Option<Dtype> {
        match code {
            0 => Some(Dtype::F32),
            1 => Some(Dtype::I8),
            _ => None,
        }
    }
}

/// Words of a plan: the header, then `LAYER_WORDS` per layer.
pub const PLAN_KIND: usize = 0;
pub const PLAN_LAYERS: usize = 1;
pub const PLAN_BATCH: usize = 2;
pub const PLAN_INPUT: usize = 3; // I: features of layer 0's input (the embedding's width)
pub const PLAN_HIDDEN: usize = 4; // H
pub const PLAN_PROJ: usize = 5; // P (= H without projection)
pub const PLAN_TABLE: usize = 6; // embedding table (V_in, I), or 0: the input is floats (B, I)
pub const PLAN_TABLE_ROWS: usize = 7; // V_in
pub const PLAN_HEAD_W: usize = 8; // head weight (V, P), or 0: the output is x_L (B, P)
pub const PLAN_HEAD_B: usize = 9; // head bias (V), or 0
pub const PLAN_VOCAB: usize = 10; // V
pub const PLAN_DTYPE: usize = 11; // 0 f32, 1 int8
pub const PLAN_TABLE_SCALES: usize = 12; // int8: the table's row scales (V_in)
pub const PLAN_HEAD_SCALES: usize = 13; // int8: the head's row scales (V)
pub const PLAN_HEADER: usize = 14;
/// Per layer: w_ih, w_hh, b_ih, b_hh, w_hr, then (int8) the scales of w_ih, w_hh, w_hr; 0 when absent.
pub const LAYER_WORDS: usize = 8;

/// A described stack, borrowed for one step.
pub struct Stack<'a> {
    pub kind: Kind,
    pub b: usize,
    pub i: usize,
    pub h: usize,
    pub p: usize,
    /// Embedding table (V_in, I), or None (the input is floats).
    pub table: Option<Matrix<'a>>,
    /// Head weight (V, P) and bias (V).
    pub head: Option<(Matrix<'a>, Option<&'a [f32]>)>,
    pub v: usize,
    pub layers: usize,
    /// Layer l's weights (w_ih is (G, I) for layer 0, (G, P) above it).
    pub weights: &'a dyn Fn(usize) -> LayerWeights<'a>,
}

impl<'a> Stack<'a> {
    /// Floats of the output: (B,V) with a head, else (B,P).
    pub fn out_len(&self) -> usize {
        self.b * if self.head.is_some() { self.v } else { self.p }
    }
}

/// What one step reads: token ids (B) with an embedding, or floats (B,I) without.
pub enum Input<'a> {
    Ids(&'a [i32]),
    Floats(&'a [f32]),
}

thread_local! {
    /// The step's buffers: x0 (B,I) and two layer outputs (B,P), grown once.
    static SCRATCH: RefCell<Vec<f32>> = RefCell::new(Vec::new());
}

/// One step of `stack` (module doc). `h_in`/`c_in` (None: zeros) are read, `h_out`/`c_out`
/// (c: LSTM only) and `out` written. An out-of-memory (a layer's scratch) stops the step with
/// `h_out`/`c_out` perhaps half written and `out` not: the caller keeps its input state.
pub fn step(
    stack: &Stack, input: Input, h_in: Option<&[f32]>, c_in: Option<&[f32]>,
    h_out: &mut [f32], c_out: &mut [f32], out: &mut [f32],
) -> Result<(), OutOfMemory> {
    let (b, i, h, p) = (stack.b, stack.i, stack.h, stack.p);
    let layers = stack.layers;
    let x0_len = if stack.table.is_some() { b * i } else { 0 };
    // With a head the last layer writes into a buffer of its own; without one, into `out`.
    let y_len = b * p;
    let need = x0_len + 2 * y_len;
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        scratch::grow(&mut buf, need)?;
        let (x0, ys) = buf[..need].split_at_mut(x0_len);
        let (ya, yb) = ys.split_at_mut(y_len);
        let first: &[f32] = match (input, stack.table) {
            (Input::Ids(ids), Some(table)) => {
                match table {
                    Matrix::F32(t) => embedding::embedding_forward(x0, t, ids, i),
                    Matrix::I8 { q, scales } => quant::embedding_i8(x0, q, scales, ids, i),
                }
                x0
            }
            (Input::Floats(x), None) => x,
            _ => unreachable!("ids with an embedding, floats without (checked by the caller)"),
        };
        // Layer l reads x (layer input) and writes y; buffers alternate between ya and yb.
        let mut bufs = [ya, yb];
        for l in 0..layers {
            let w = (stack.weights)(l);
            let in_size = if l == 0 { i } else { p };
            let seq = Seq { dims: Dims { t: 1, b, i: in_size, h, p }, lengths: None, reverse: false };
            let h0 = h_in.map(|s| &s[l * b * p..(l + 1) * b * p]);
            let hn = &mut h_out[l * b * p..(l + 1) * b * p];
            let last_without_head = l + 1 == layers && stack.head.is_none();
            let [ya, yb] = &mut bufs;
            let (x, y): (&[f32], &mut [f32]) = match (l == 0, l % 2 == 0) {
                (true, _) => (first, if last_without_head { &mut *out } else { &mut **ya }),
                (false, true) => (&**yb, if last_without_head { &mut *out } else { &mut **ya }),
                (false, false) => (&**ya, if last_without_head { &mut *out } else { &mut **yb }),
            };
            match stack.kind {
                Kind::Lstm => {
                    let c0 = c_in.map(|s| &s[l * b * h..(l + 1) * b * h]);
                    let cn = &mut c_out[l * b * h..(l + 1) * b * h];
                    lstm::lstm_forward(y, p, Some(hn), Some(cn), None, x, &w, h0, c0, &seq)?;
                }
                Kind::Gru => gru::gru_forward(y, h, Some(hn), None, x, &w, h0, &seq)?,
                Kind::RnnTanh | Kind::RnnRelu => {
                    elman::rnn_forward(y, h, Some(hn), None, x, &w, h0, stack.kind == Kind::RnnRelu, &seq)?
                }
            }
        }
        if let Some((w, bias)) = stack.head {
            let last = if layers % 2 == 1 { &*bufs[0] } else { &*bufs[1] };
            let v = stack.v;
            match w {
                // The call the module path's Linear makes (then its bias add), for the same numbers.
                Matrix::F32(w) => sgemm(false, true, b, v, p, 1.0, last, p, w, p, 0.0, out, v),
                quantized => Prepared::new(quantized, p, v, 0)?.gemm(b, last, p, 0.0, out, v),
            }
            if let Some(bias) = bias {
                // SAFETY: out is (B,V) and bias (V); in place is allowed.
                unsafe { elementwise::add_bcast(out.as_mut_ptr(), out.as_ptr(), bias.as_ptr(), b, v) };
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    //! The fused step against the same stack run over a whole sequence by the layer kernels
    //! (sequence == steps, llm.c's and Karpathy's check): every kind, with and without
    //! embedding, head, bias and projection, on awkward sizes. A wrong buffer, offset or layer
    //! order shows as an O(1) difference; the tolerance only covers the sequence's input GEMM
    //! summing in another order than T single steps.
    use super::*;
    use crate::ops::testutil::rand_vec;
    use crate::rnn::Weights;

    struct Model {
        kind: Kind,
        layers: usize,
        i: usize,
        h: usize,
        p: usize,
        v_in: usize,
        v: usize,
        table: Option<Vec<f32>>,
        head: Option<(Vec<f32>, Option<Vec<f32>>)>,
        /// Per layer: w_ih, w_hh, b_ih, b_hh, w_hr.
        w: Vec<[Option<Vec<f32>>; 5]>,
    }

    fn model(kind: Kind, layers: usize, i: usize, h: usize, proj: usize, bias: bool, embed: bool, head: bool, seed: u64) -> Model {
        let p = if proj > 0 { proj } else { h };
        let g = kind.gates() * h;
        let (v_in, v) = (7, 11);
        let r = |n: usize, k: u64| Some(rand_vec(n, seed * 100 + k, -0.6, 0.6));
        let w = (0..layers)
            .map(|l| {
                let k = 10 * l as u64;
                let in_size = if l == 0 { i } else { p };
                [
                    r(g * in_size, k), r(g * p, k + 1),
                    if bias { r(g, k + 2) } else { None }, if bias { r(g, k + 3) } else { None },
                    if proj > 0 { r(p * h, k + 4) } else { None },
                ]
            })
            .collect();
        Model {
            kind, layers, i, h, p, v_in, v,
            table: if embed { r(v_in * i, 90) } else { None },
            head: if head { Some((rand_vec(v * p, seed * 100 + 91, -0.6, 0.6), if bias { r(v, 92) } else { None })) } else { None },
            w,
        }
    }

    impl Model {
        fn weights(&self, l: usize) -> Weights<'_> {
            let o = |k: usize| self.w[l][k].as_deref();
            Weights { w_ih: o(0).unwrap(), w_hh: o(1).unwrap(), b_ih: o(2), b_hh: o(3), w_hr: o(4) }
        }

        fn hc(&self) -> usize {
            if self.kind == Kind::Lstm { self.h } else { 0 }
        }

        /// T steps through `step`, from zeros: the outputs (T, B, out) and the final h, c.
        fn by_steps(&self, b: usize, ids: &[i32], xs: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
            let weights = |l: usize| LayerWeights::from(&self.weights(l));
            let stack = Stack {
                kind: self.kind, b, i: self.i, h: self.h, p: self.p, table: self.table.as_deref().map(Matrix::F32),
                head: self.head.as_ref().map(|(w, bias)| (Matrix::F32(&w[..]), bias.as_deref())), v: self.v, layers: self.layers, weights: &weights,
            };
            let t = if self.table.is_some() { ids.len() / b } else { xs.len() / (b * self.i) };
            let (hl, cl) = (self.layers * b * self.p, self.layers * b * self.hc());
            let (mut h, mut c) = (vec![0.0; hl], vec![0.0; cl]);
            let mut outs = Vec::new();
            for s in 0..t {
                let (mut hn, mut cn, mut out) = (vec![9.0; hl], vec![9.0; cl], vec![9.0; stack.out_len()]);
                let input = if self.table.is_some() { Input::Ids(&ids[s * b..(s + 1) * b]) } else { Input::Floats(&xs[s * b * self.i..(s + 1) * b * self.i]) };
                let (h_in, c_in) = if s == 0 { (None, None) } else { (Some(&h[..]), Some(&c[..])) };
                step(&stack, input, h_in, c_in, &mut hn, &mut cn, &mut out).unwrap();
                outs.extend_from_slice(&out);
                h = hn;
                c = cn;
            }
            (outs, h, c)
        }

        /// The same T steps as one sequence per layer (the layer kernels over all T at once).
        fn by_sequence(&self, b: usize, ids: &[i32], xs: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
            let (i, h, p) = (self.i, self.h, self.p);
            let mut x = match &self.table {
                Some(table) => {
                    let mut x0 = vec![0.0; ids.len() * i];
                    embedding::embedding_forward(&mut x0, table, ids, i);
                    x0
                }
                None => xs.to_vec(),
            };
            let t = x.len() / (b * i);
            let (mut hs, mut cs) = (vec![0.0; self.layers * b * p], vec![0.0; self.layers * b * self.hc()]);
            for l in 0..self.layers {
                let in_size = if l == 0 { i } else { p };
                let seq = Seq { dims: Dims { t, b, i: in_size, h, p }, lengths: None, reverse: false };
                let mut y = vec![0.0; t * b * p];
                let w = self.weights(l);
                let hn = &mut hs[l * b * p..(l + 1) * b * p];
                match self.kind {
                    Kind::Lstm => {
                        let cn = &mut cs[l * b * h..(l + 1) * b * h];
                        lstm::lstm_forward(&mut y, p, Some(hn), Some(cn), None, &x, &w, None, None, &seq).unwrap()
                    }
                    Kind::Gru => gru::gru_forward(&mut y, h, Some(hn), None, &x, &w, None, &seq).unwrap(),
                    _ => elman::rnn_forward(&mut y, h, Some(hn), None, &x, &w, None, self.kind == Kind::RnnRelu, &seq).unwrap(),
                }
                x = y;
            }
            let out = match &self.head {
                Some((w, bias)) => {
                    let mut out = vec![0.0; t * b * self.v];
                    crate::gemm::naive::sgemm(false, true, t * b, self.v, p, 1.0, &x, p, w, p, 0.0, &mut out, self.v);
                    if let Some(bias) = bias {
                        for row in out.chunks_mut(self.v) {
                            row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
                        }
                    }
                    out
                }
                None => x,
            };
            (out, hs, cs)
        }
    }

    /// A model's matrices stored as int8 or float16, and the f32 they stand for.
    struct Quantized {
        /// Per matrix: the i8 values and scales, or the halves.
        i8: Vec<(Vec<i8>, Vec<f32>)>,
        f16: Vec<Vec<u16>>,
    }

    /// Every matrix of `m` (w_ih, w_hh, w_hr per layer, then table and head) quantized both ways;
    /// `m` itself is changed to hold the int8 values dequantized (for `as_f32` = false) or the
    /// widened halves.
    fn quantize_model(m: &mut Model, int8: bool) -> Quantized {
        let mut out = Quantized { i8: Vec::new(), f16: Vec::new() };
        let mut one = |w: &mut Vec<f32>, rows: usize| {
            let cols = w.len() / rows;
            if int8 {
                let (mut q, mut sc) = (vec![0i8; w.len()], vec![0.0; rows]);
                quant::quantize_i8(&mut q, &mut sc, w, rows, cols);
                quant::dequantize_i8(w, &q, &sc, rows, cols);
                out.i8.push((q, sc));
            } else {
                let mut hv = vec![0u16; w.len()];
                quant::to_f16(&mut hv, w);
                quant::from_f16(w, &hv);
                out.f16.push(hv);
            }
        };
        let g = m.kind.gates() * m.h;
        for l in 0..m.layers {
            let (ws, p, h) = (&mut m.w[l], m.p, m.h);
            one(ws[0].as_mut().unwrap(), g);
            one(ws[1].as_mut().unwrap(), g);
            if let Some(w) = ws[4].as_mut() {
                one(w, p);
                let _ = h;
            }
        }
        if let Some(t) = m.table.as_mut() {
            one(t, m.v_in);
        }
        if let Some((w, _)) = m.head.as_mut() {
            one(w, m.v);
        }
        out
    }

    #[test]
    fn quantized_stacks_step_as_their_dequantized_f32_twins() {
        for kind in [Kind::Lstm, Kind::Gru, Kind::RnnRelu] {
            for &(layers, proj) in &[(1usize, 0usize), (2, 4)] {
                if proj > 0 && kind != Kind::Lstm {
                    continue;
                }
                for int8 in [true] {
                    let mut m = model(kind, layers, 6, 9, proj, true, true, true, 40 + layers as u64);
                    let qz = quantize_model(&mut m, int8);
                    let b = 3;
                    let ids: Vec<i32> = (0..4 * b).map(|k| ((k * 3 + 1) % m.v_in) as i32).collect();
                    // The f32 model now holds exactly the values the quantized one stands for.
                    let (o_ref, h_ref, _) = m.by_steps(b, &ids, &[]);
                    let mut k = 0;
                    let mut next = || {
                        k += 1;
                        Matrix::I8 { q: &qz.i8[k - 1].0, scales: &qz.i8[k - 1].1 }
                    };
                    let mut layer_m = Vec::new();
                    for l in 0..layers {
                        let (a, bm) = (next(), next());
                        let r = if m.w[l][4].is_some() { Some(next()) } else { None };
                        layer_m.push((a, bm, r));
                    }
                    let table = next();
                    let head = next();
                    let weights = |l: usize| {
                        let o = |j: usize| m.w[l][j].as_deref();
                        LayerWeights { w_ih: layer_m[l].0, w_hh: layer_m[l].1, b_ih: o(2), b_hh: o(3), w_hr: layer_m[l].2 }
                    };
                    let stack = Stack {
                        kind, b, i: m.i, h: m.h, p: m.p, table: Some(table),
                        head: Some((head, m.head.as_ref().unwrap().1.as_deref())), v: m.v, layers, weights: &weights,
                    };
                    let (hl, cl) = (layers * b * m.p, layers * b * m.hc());
                    let (mut hs, mut cs) = (vec![0.0; hl], vec![0.0; cl]);
                    let mut outs = Vec::new();
                    for s in 0..4 {
                        let (mut hn, mut cn, mut out) = (vec![0.0; hl], vec![0.0; cl], vec![0.0; stack.out_len()]);
                        let (hi, ci) = if s == 0 { (None, None) } else { (Some(&hs[..]), Some(&cs[..])) };
                        step(&stack, Input::Ids(&ids[s * b..(s + 1) * b]), hi, ci, &mut hn, &mut cn, &mut out).unwrap();
                        outs.extend_from_slice(&out);
                        hs = hn;
                        cs = cn;
                    }
                    // int8: only the activations' 16-bit quantization differs; float16: only summation order.
                    let tol = if int8 { 2e-3 } else { 2e-5 };
                    let what = format!("{:?} layers {} proj {} int8 {}", kind, layers, proj, int8);
                    assert!(max_diff(&outs, &o_ref) < tol, "{}: outputs differ by {}", what, max_diff(&outs, &o_ref));
                    assert!(max_diff(&hs, &h_ref) < tol, "{}: h differs by {}", what, max_diff(&hs, &h_ref));
                }
            }
        }
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn steps_equal_the_sequence_for_every_stack() {
        let mut cases = 0;
        for kind in [Kind::Lstm, Kind::Gru, Kind::RnnTanh, Kind::RnnRelu] {
            for &(layers, i, h, proj, b) in &[(1, 5, 7, 0, 1), (2, 9, 13, 0, 3), (3, 4, 8, 0, 5), (2, 6, 9, 4, 2)] {
                if proj > 0 && kind != Kind::Lstm {
                    continue;
                }
                for &(bias, embed, head) in &[(true, true, true), (false, true, false), (true, false, true), (false, false, false)] {
                    let m = model(kind, layers, i, h, proj, bias, embed, head, cases + 1);
                    let t = 4;
                    let ids: Vec<i32> = (0..t * b).map(|k| ((k * 5 + 3) % m.v_in) as i32).collect();
                    let xs = rand_vec(t * b * i, 500 + cases, -1.0, 1.0);
                    let (o1, h1, c1) = m.by_steps(b, &ids, &xs);
                    let (o2, h2, c2) = m.by_sequence(b, &ids, &xs);
                    let what = format!("{:?} layers {} i {} h {} proj {} b {} bias {} embed {} head {}", kind, layers, i, h, proj, b, bias, embed, head);
                    assert!(max_diff(&o1, &o2) < 2e-5, "{}: outputs differ by {}", what, max_diff(&o1, &o2));
                    assert!(max_diff(&h1, &h2) < 2e-5, "{}: h differs by {}", what, max_diff(&h1, &h2));
                    assert!(max_diff(&c1, &c2) < 2e-5, "{}: c differs by {}", what, max_diff(&c1, &c2));
                    assert!(o1.iter().any(|&x| x != 0.0), "{}: outputs are all zero", what);
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 4 * 3 * 4 + 4);
    }
}
