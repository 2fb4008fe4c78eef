//! Recurrent layers: fast kernels vs the f64 naive reference on awkward sizes, the reference vs
//! finite differences, sequence == steps, lengths == per-sequence runs, garbage past lengths,
//! and the ABI shims.

use super::gru::{gru_backward, gru_cache_len, gru_forward};
use super::lstm::{lstm_backward, lstm_cache_len, lstm_forward};
use super::naive::{Kind, Outputs, Problem};
use super::elman::{rnn_backward, rnn_cache_len, rnn_forward};
use super::{Dims, Seq, WeightGrads, Weights};
use crate::ops::testutil::rand_vec;

#[derive(Clone, Copy, Debug)]
struct Case {
    kind: Kind,
    t: usize,
    b: usize,
    i: usize,
    h: usize,
    /// LSTM projection size (< h), 0 for none.
    proj: usize,
    bias: bool,
    h0: bool,
    lengths: bool,
    reverse: bool,
    seed: u64,
}

impl Case {
    fn p(&self) -> usize {
        if self.proj > 0 { self.proj } else { self.h }
    }
    fn g(&self) -> usize {
        self.kind.gates() * self.h
    }
    fn is_lstm(&self) -> bool {
        self.kind == Kind::Lstm
    }
}

/// f32 inputs of one case.
#[derive(Clone)]
struct Data {
    x: Vec<f32>,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Option<Vec<f32>>,
    b_hh: Option<Vec<f32>>,
    w_hr: Option<Vec<f32>>,
    h0: Option<Vec<f32>>,
    c0: Option<Vec<f32>>,
    lengths: Option<Vec<i32>>,
}

fn make(c: &Case) -> Data {
    let (t, b, i, h, p, g) = (c.t, c.b, c.i, c.h, c.p(), c.g());
    let k = 1.0 / (h as f32).sqrt(); // PyTorch's init range
    let s = c.seed * 16;
    let lengths = if c.lengths {
        let u = rand_vec(b, s + 9, 0.0, 1.0);
        Some(u.iter().map(|v| 1 + ((v * t as f32) as i32).min(t as i32 - 1)).collect())
    } else {
        None
    };
    Data {
        x: rand_vec(t * b * i, s + 1, -1.0, 1.0),
        w_ih: rand_vec(g * i, s + 2, -k, k),
        w_hh: rand_vec(g * p, s + 3, -k, k),
        b_ih: if c.bias { Some(rand_vec(g, s + 4, -k, k)) } else { None },
        b_hh: if c.bias { Some(rand_vec(g, s + 5, -k, k)) } else { None },
        w_hr: if c.proj > 0 { Some(rand_vec(p * h, s + 6, -k, k)) } else { None },
        h0: if c.h0 { Some(rand_vec(b * p, s + 7, -0.8, 0.8)) } else { None },
        c0: if c.h0 && c.is_lstm() { Some(rand_vec(b * h, s + 8, -0.8, 0.8)) } else { None },
        lengths,
    }
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn problem(c: &Case, d: &Data) -> Problem {
    let o = |v: &Option<Vec<f32>>| v.as_ref().map(|v| f64s(v));
    Problem {
        kind: c.kind, t: c.t, b: c.b, i: c.i, h: c.h, p: c.p(),
        x: f64s(&d.x), w_ih: f64s(&d.w_ih), w_hh: f64s(&d.w_hh),
        b_ih: o(&d.b_ih), b_hh: o(&d.b_hh), w_hr: o(&d.w_hr), h0: o(&d.h0), c0: o(&d.c0),
        lengths: d.lengths.clone(), reverse: c.reverse,
    }
}

fn weights<'a>(d: &'a Data) -> Weights<'a> {
    Weights {
        w_ih: &d.w_ih, w_hh: &d.w_hh, b_ih: d.b_ih.as_deref(), b_hh: d.b_hh.as_deref(), w_hr: d.w_hr.as_deref(),
    }
}

fn seq<'a>(c: &Case, d: &'a Data) -> Seq<'a> {
    Seq { dims: Dims { t: c.t, b: c.b, i: c.i, h: c.h, p: c.p() }, lengths: d.lengths.as_deref(), reverse: c.reverse }
}

fn cache_len(c: &Case) -> usize {
    match c.kind {
        Kind::Lstm => lstm_cache_len(c.t, c.b, c.h, c.p(), c.proj > 0),
        Kind::Gru => gru_cache_len(c.t, c.b, c.h),
        _ => rnn_cache_len(c.t, c.b, c.h),
    }
}

/// Fast forward results with y compacted to (T,B,P).
#[derive(Clone, Debug, PartialEq)]
struct Fwd {
    y: Vec<f32>,
    h_n: Vec<f32>,
    c_n: Vec<f32>,
    cache: Vec<f32>,
}

/// y goes to a strided buffer (row stride P+3, starting one float in) poisoned with NaN, to
/// check the stride and that every y element is written and nothing between rows is.
const Y_PAD: usize = 3;

fn forward(c: &Case, d: &Data, with_cache: bool) -> Fwd {
    let (t, b, p, h) = (c.t, c.b, c.p(), c.h);
    let ldy = p + Y_PAD;
    let mut ybuf = vec![f32::NAN; 1 + t * b * ldy];
    let mut h_n = vec![f32::NAN; b * p];
    let mut c_n = vec![f32::NAN; if c.is_lstm() { b * h } else { 0 }];
    let mut cache = vec![f32::NAN; if with_cache { cache_len(c) } else { 0 }];
    {
        let (w, sq) = (weights(d), seq(c, d));
        let y = &mut ybuf[1..];
        let cache_opt = if with_cache { Some(&mut cache[..]) } else { None };
        match c.kind {
            Kind::Lstm => lstm_forward(
                y, ldy, Some(&mut h_n), Some(&mut c_n), cache_opt, &d.x, &w, d.h0.as_deref(), d.c0.as_deref(), &sq,
            ).unwrap(),
            Kind::Gru => gru_forward(y, ldy, Some(&mut h_n), cache_opt, &d.x, &w, d.h0.as_deref(), &sq).unwrap(),
            Kind::RnnTanh | Kind::RnnRelu => rnn_forward(
                y, ldy, Some(&mut h_n), cache_opt, &d.x, &w, d.h0.as_deref(), c.kind == Kind::RnnRelu, &sq,
            ).unwrap(),
        }
    }
    assert!(ybuf[0].is_nan(), "{c:?}: wrote before y");
    let mut y = Vec::with_capacity(t * b * p);
    for r in 0..t * b {
        y.extend_from_slice(&ybuf[1 + r * ldy..1 + r * ldy + p]);
        assert!(ybuf[1 + r * ldy + p..1 + (r + 1) * ldy].iter().all(|v| v.is_nan()), "{c:?}: wrote between y rows");
    }
    assert!(y.iter().chain(&h_n).chain(&c_n).all(|v| v.is_finite()), "{c:?}: non-finite output");
    Fwd { y, h_n, c_n, cache }
}

/// Gradients, each starting from `base` values (to check accumulation).
#[derive(Clone, Debug, PartialEq)]
struct Grads {
    dx: Vec<f32>,
    dw_ih: Vec<f32>,
    dw_hh: Vec<f32>,
    db_ih: Vec<f32>,
    db_hh: Vec<f32>,
    dw_hr: Vec<f32>,
    dh0: Vec<f32>,
    dc0: Vec<f32>,
}

impl Grads {
    fn base(c: &Case, zero: bool) -> Grads {
        let (t, b, i, h, p, g) = (c.t, c.b, c.i, c.h, c.p(), c.g());
        let v = |n: usize, s: u64| if zero { vec![0.0; n] } else { rand_vec(n, c.seed * 16 + s, -1.0, 1.0) };
        Grads {
            dx: v(t * b * i, 10),
            dw_ih: v(g * i, 11),
            dw_hh: v(g * p, 12),
            db_ih: v(g, 13),
            db_hh: v(g, 14),
            dw_hr: v(if c.proj > 0 { p * h } else { 0 }, 15),
            dh0: v(b * p, 16),
            dc0: v(if c.is_lstm() { b * h } else { 0 }, 17),
        }
    }
}

/// Upstream gradients: dy (T,B,P), dh_n (B,P), dc_n (B,H), each optional.
struct Upstream {
    dy: Option<Vec<f32>>,
    dh_n: Option<Vec<f32>>,
    dc_n: Option<Vec<f32>>,
}

fn upstream(c: &Case, dy: bool, dh_n: bool, dc_n: bool) -> Upstream {
    let (t, b, h, p) = (c.t, c.b, c.h, c.p());
    let s = c.seed * 16;
    Upstream {
        dy: if dy { Some(rand_vec(t * b * p, s + 20, -1.0, 1.0)) } else { None },
        dh_n: if dh_n { Some(rand_vec(b * p, s + 21, -1.0, 1.0)) } else { None },
        dc_n: if dc_n && c.is_lstm() { Some(rand_vec(b * h, s + 22, -1.0, 1.0)) } else { None },
    }
}

fn backward(c: &Case, d: &Data, cache: &[f32], up: &Upstream, mut gr: Grads) -> Grads {
    let (t, b, p) = (c.t, c.b, c.p());
    // dy through a strided buffer whose padding is garbage (must not be read).
    let ldy = p + Y_PAD;
    let dybuf = up.dy.as_ref().map(|dy| {
        let mut buf = vec![1e30f32; t * b * ldy];
        for r in 0..t * b {
            buf[r * ldy..r * ldy + p].copy_from_slice(&dy[r * p..(r + 1) * p]);
        }
        buf
    });
    let (w, sq) = (weights(d), seq(c, d));
    let dw = WeightGrads {
        dw_ih: Some(&mut gr.dw_ih), dw_hh: Some(&mut gr.dw_hh), db_ih: Some(&mut gr.db_ih),
        db_hh: Some(&mut gr.db_hh), dw_hr: if c.proj > 0 { Some(&mut gr.dw_hr) } else { None },
    };
    let (dy, dh_n) = (dybuf.as_deref(), up.dh_n.as_deref());
    match c.kind {
        Kind::Lstm => lstm_backward(
            Some(&mut gr.dx), dw, Some(&mut gr.dh0), Some(&mut gr.dc0), dy, ldy, dh_n, up.dc_n.as_deref(),
            &d.x, &w, cache, &sq,
        ).unwrap(),
        Kind::Gru => gru_backward(Some(&mut gr.dx), dw, Some(&mut gr.dh0), dy, ldy, dh_n, &d.x, &w, cache, &sq).unwrap(),
        Kind::RnnTanh | Kind::RnnRelu => rnn_backward(
            Some(&mut gr.dx), dw, Some(&mut gr.dh0), dy, ldy, dh_n, &d.x, &w, cache, c.kind == Kind::RnnRelu, &sq,
        ).unwrap(),
    }
    gr
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(err <= tol * (1.0 + w.abs()), "{what}[{k}]: got {g}, want {w} (err {err:e})");
    }
}

fn close32(got: &[f32], want: &[f32], tol: f64, what: &str) {
    close(got, &f64s(want), tol, what)
}

/// got - base vs want (checks that backward accumulated).
fn close_acc(got: &[f32], base: &[f32], want: &[f64], tol: f64, what: &str) {
    let diff: Vec<f32> = got.iter().zip(base).map(|(g, b)| g - b).collect();
    close(&diff, want, tol, what)
}

/// Fast forward (with and without cache) and backward against the naive reference.
fn check_against_naive(c: &Case, up_flags: (bool, bool, bool)) {
    let d = make(c);
    let pb = problem(c, &d);
    let want: Outputs = pb.forward();
    let fast = forward(c, &d, true);
    let what = format!("{c:?}");
    close(&fast.y, &want.y, 2e-6, &format!("{what} y"));
    close(&fast.h_n, &want.h_n, 2e-6, &format!("{what} h_n"));
    close(&fast.c_n, &want.c_n, 2e-6, &format!("{what} c_n"));
    let nocache = forward(c, &d, false);
    close32(&nocache.y, &fast.y, 1e-6, &format!("{what} y (no cache)"));
    close32(&nocache.h_n, &fast.h_n, 1e-6, &format!("{what} h_n (no cache)"));
    close32(&nocache.c_n, &fast.c_n, 1e-6, &format!("{what} c_n (no cache)"));

    let up = upstream(c, up_flags.0, up_flags.1, up_flags.2);
    let base = Grads::base(c, false);
    let got = backward(c, &d, &fast.cache, &up, base.clone());
    let want = pb.backward(
        up.dy.as_ref().map(|v| f64s(v)).as_deref(),
        up.dh_n.as_ref().map(|v| f64s(v)).as_deref(),
        up.dc_n.as_ref().map(|v| f64s(v)).as_deref(),
    );
    let tol = 1e-5;
    close_acc(&got.dx, &base.dx, &want.dx, tol, &format!("{what} dx"));
    close_acc(&got.dw_ih, &base.dw_ih, &want.dw_ih, tol, &format!("{what} dw_ih"));
    close_acc(&got.dw_hh, &base.dw_hh, &want.dw_hh, tol, &format!("{what} dw_hh"));
    close_acc(&got.db_ih, &base.db_ih, &want.db_ih, tol, &format!("{what} db_ih"));
    close_acc(&got.db_hh, &base.db_hh, &want.db_hh, tol, &format!("{what} db_hh"));
    close_acc(&got.dw_hr, &base.dw_hr, &want.dw_hr, tol, &format!("{what} dw_hr"));
    close_acc(&got.dh0, &base.dh0, &want.dh0, tol, &format!("{what} dh0"));
    close_acc(&got.dc0, &base.dc0, &want.dc0, tol, &format!("{what} dc0"));
}

/// (kind, projection size for hidden h) of every tested configuration.
fn variants(h: usize) -> Vec<(Kind, usize)> {
    let mut v = vec![(Kind::Lstm, 0), (Kind::Gru, 0), (Kind::RnnTanh, 0), (Kind::RnnRelu, 0)];
    if h > 1 {
        v.push((Kind::Lstm, (h / 2).max(1)));
        v.push((Kind::Lstm, h - 1));
    }
    v
}

#[test]
fn rnn_fast_matches_naive_on_awkward_sizes() {
    let mut seed = 1;
    let mut n = 0;
    for &t in &[1, 3, 7] {
        for &b in &[1, 3, 5] {
            for &i in &[1, 3, 7] {
                for &h in &[1, 5, 9, 17] {
                    for (kind, proj) in variants(h) {
                        for flags in 0..16u32 {
                            seed += 1;
                            let c = Case {
                                kind, t, b, i, h, proj,
                                bias: flags & 1 != 0,
                                h0: flags & 2 != 0,
                                lengths: flags & 4 != 0,
                                reverse: flags & 8 != 0,
                                seed,
                            };
                            let up = ((seed % 4) != 0, (seed % 3) != 1, (seed % 5) != 2);
                            check_against_naive(&c, up);
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(n > 1000);
}

#[test]
fn rnn_naive_backward_matches_finite_differences() {
    for (kind, proj) in variants(4) {
        for &(bias, h0, lengths, reverse) in &[(false, false, false, false), (true, true, true, true), (true, false, true, false)] {
            let c = Case { kind, t: 4, b: 3, i: 3, h: 4, proj, bias, h0, lengths, reverse, seed: 77 };
            let d = make(&c);
            let mut pb = problem(&c, &d);
            // Make one length full and one short so both masks are exercised.
            if let Some(l) = pb.lengths.as_mut() {
                l[0] = 4;
                l[1] = 2;
            }
            let out = pb.forward();
            let wy = f64s(&rand_vec(out.y.len(), 5, -1.0, 1.0));
            let wh = f64s(&rand_vec(out.h_n.len(), 6, -1.0, 1.0));
            let wc = f64s(&rand_vec(out.c_n.len(), 7, -1.0, 1.0));
            let loss = |p: &Problem| {
                let o = p.forward();
                let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                dot(&o.y, &wy) + dot(&o.h_n, &wh) + dot(&o.c_n, &wc)
            };
            let g = pb.backward(Some(&wy), Some(&wh), if kind == Kind::Lstm { Some(&wc) } else { None });
            let eps = 1e-6;
            let check = |name: &str, get: &dyn Fn(&mut Problem) -> &mut Vec<f64>, grad: &[f64]| {
                let n = get(&mut pb.clone()).len();
                assert_eq!(n, grad.len(), "{name} length");
                for k in 0..n {
                    let mut plus = pb.clone();
                    get(&mut plus)[k] += eps;
                    let mut minus = pb.clone();
                    get(&mut minus)[k] -= eps;
                    let fd = (loss(&plus) - loss(&minus)) / (2.0 * eps);
                    assert!((fd - grad[k]).abs() <= 1e-6 * (1.0 + fd.abs()), "{c:?} {name}[{k}]: fd {fd} vs {}", grad[k]);
                }
            };
            check("x", &|p| &mut p.x, &g.dx);
            check("w_ih", &|p| &mut p.w_ih, &g.dw_ih);
            check("w_hh", &|p| &mut p.w_hh, &g.dw_hh);
            if bias {
                check("b_ih", &|p| p.b_ih.as_mut().unwrap(), &g.db_ih);
                check("b_hh", &|p| p.b_hh.as_mut().unwrap(), &g.db_hh);
            }
            if proj > 0 {
                check("w_hr", &|p| p.w_hr.as_mut().unwrap(), &g.dw_hr);
            }
            if h0 {
                check("h0", &|p| p.h0.as_mut().unwrap(), &g.dh0);
                if kind == Kind::Lstm {
                    check("c0", &|p| p.c0.as_mut().unwrap(), &g.dc0);
                }
            }
        }
    }
}

/// The case restricted to time step t, batch rows `rows`, with the given initial state.
fn slice_case(c: &Case, d: &Data, times: &[usize], rows: &[usize], h0: Option<Vec<f32>>, c0: Option<Vec<f32>>) -> (Case, Data) {
    let (b, i) = (c.b, c.i);
    let mut x = Vec::new();
    for &t in times {
        for &r in rows {
            x.extend_from_slice(&d.x[(t * b + r) * i..(t * b + r + 1) * i]);
        }
    }
    let c2 = Case { t: times.len(), b: rows.len(), h0: h0.is_some(), lengths: false, reverse: false, ..*c };
    let d2 = Data { x, h0, c0, lengths: None, ..d.clone() };
    (c2, d2)
}

#[test]
fn rnn_sequence_equals_steps() {
    for (kind, proj) in variants(9) {
        for &reverse in &[false, true] {
            let c = Case { kind, t: 7, b: 3, i: 5, h: 9, proj, bias: true, h0: true, lengths: false, reverse, seed: 5 };
            let p = c.p();
            let d = make(&c);
            let whole = forward(&c, &d, true);
            let whole_nc = forward(&c, &d, false);
            let up = upstream(&c, true, true, true);
            let whole_g = backward(&c, &d, &whole.cache, &up, Grads::base(&c, true));

            // Forward one step at a time, carrying (h, c); keep each step's cache.
            let order: Vec<usize> = if reverse { (0..c.t).rev().collect() } else { (0..c.t).collect() };
            let all: Vec<usize> = (0..c.b).collect();
            let (mut hc, mut cc) = (d.h0.clone(), d.c0.clone());
            let mut y = vec![0.0f32; c.t * c.b * p];
            let mut steps = Vec::new();
            for &t in &order {
                let (c1, d1) = slice_case(&c, &d, &[t], &all, hc.clone(), cc.clone());
                let f = forward(&c1, &d1, true);
                let f_nc = forward(&c1, &d1, false);
                assert_eq!(f.y, f_nc.y);
                y[t * c.b * p..(t + 1) * c.b * p].copy_from_slice(&f.y);
                hc = Some(f.h_n.clone());
                cc = if kind == Kind::Lstm { Some(f.c_n.clone()) } else { None };
                steps.push((t, c1, d1, f));
            }
            let what = format!("{c:?}");
            close32(&whole.y, &y, 1e-6, &format!("{what} y"));
            close32(&whole_nc.y, &y, 1e-6, &format!("{what} y (no cache)"));
            close32(&whole.h_n, hc.as_ref().unwrap(), 1e-6, &format!("{what} h_n"));
            if kind == Kind::Lstm {
                close32(&whole.c_n, cc.as_ref().unwrap(), 1e-6, &format!("{what} c_n"));
            }

            // Backward one step at a time in reverse processing order, carrying (dh, dc).
            let mut acc = Grads::base(&c, true);
            let mut dh = up.dh_n.clone();
            let mut dc = up.dc_n.clone();
            for (t, c1, d1, f) in steps.iter().rev() {
                let up1 = Upstream {
                    dy: Some(up.dy.as_ref().unwrap()[t * c.b * p..(t + 1) * c.b * p].to_vec()),
                    dh_n: dh.clone(),
                    dc_n: dc.clone(),
                };
                let g1 = backward(c1, d1, &f.cache, &up1, Grads::base(c1, true));
                acc.dx[t * c.b * c.i..(t + 1) * c.b * c.i].copy_from_slice(&g1.dx);
                for (a, v) in [
                    (&mut acc.dw_ih, &g1.dw_ih), (&mut acc.dw_hh, &g1.dw_hh), (&mut acc.db_ih, &g1.db_ih),
                    (&mut acc.db_hh, &g1.db_hh), (&mut acc.dw_hr, &g1.dw_hr),
                ] {
                    for (x, y) in a.iter_mut().zip(v.iter()) {
                        *x += *y;
                    }
                }
                dh = Some(g1.dh0.clone());
                dc = if kind == Kind::Lstm { Some(g1.dc0.clone()) } else { None };
            }
            acc.dh0 = dh.unwrap();
            acc.dc0 = dc.unwrap_or_default();
            for (name, a, b) in [
                ("dx", &whole_g.dx, &acc.dx), ("dw_ih", &whole_g.dw_ih, &acc.dw_ih), ("dw_hh", &whole_g.dw_hh, &acc.dw_hh),
                ("db_ih", &whole_g.db_ih, &acc.db_ih), ("db_hh", &whole_g.db_hh, &acc.db_hh),
                ("dw_hr", &whole_g.dw_hr, &acc.dw_hr), ("dh0", &whole_g.dh0, &acc.dh0), ("dc0", &whole_g.dc0, &acc.dc0),
            ] {
                close32(a, b, 1e-5, &format!("{what} {name}"));
            }
        }
    }
}

#[test]
fn rnn_lengths_equal_per_sequence_runs_and_ignore_garbage() {
    for (kind, proj) in variants(6) {
        for &reverse in &[false, true] {
            let c = Case { kind, t: 7, b: 5, i: 4, h: 6, proj, bias: true, h0: true, lengths: true, reverse, seed: 11 };
            let mut d = make(&c);
            d.lengths = Some(vec![3, 7, 1, 5, 2]);
            let (t, b, i, p, h) = (c.t, c.b, c.i, c.p(), c.h);
            let lengths = d.lengths.clone().unwrap();
            let batched = forward(&c, &d, true);
            let up = upstream(&c, true, true, true);
            let bg = backward(&c, &d, &batched.cache, &up, Grads::base(&c, true));
            let what = format!("{c:?}");

            // Garbage past the lengths (in x and in dy) changes nothing, bit for bit.
            let mut d2 = d.clone();
            let mut up2 = upstream(&c, true, true, true);
            let junk = rand_vec(t * b * i.max(p), 99, -50.0, 50.0);
            for tt in 0..t {
                for r in 0..b {
                    if tt as i32 >= lengths[r] {
                        let row = tt * b + r;
                        d2.x[row * i..(row + 1) * i].copy_from_slice(&junk[row * i..(row + 1) * i]);
                        up2.dy.as_mut().unwrap()[row * p..(row + 1) * p].copy_from_slice(&junk[row * p..(row + 1) * p]);
                    }
                }
            }
            let batched2 = forward(&c, &d2, true);
            assert_eq!(batched.y, batched2.y, "{what}: garbage changed y");
            assert_eq!(batched.h_n, batched2.h_n, "{what}: garbage changed h_n");
            assert_eq!(batched.c_n, batched2.c_n, "{what}: garbage changed c_n");
            let bg2 = backward(&c, &d2, &batched2.cache, &up2, Grads::base(&c, true));
            assert_eq!(bg, bg2, "{what}: garbage changed the gradients");

            // Each sequence alone (B=1, its own T) equals its rows of the batched run.
            let mut wsum = Grads::base(&c, true);
            for r in 0..b {
                let len = lengths[r] as usize;
                let h0 = Some(d.h0.as_ref().unwrap()[r * p..(r + 1) * p].to_vec());
                let c0 = d.c0.as_ref().map(|c0| c0[r * h..(r + 1) * h].to_vec());
                let times: Vec<usize> = (0..len).collect();
                let (mut c1, d1) = slice_case(&c, &d, &times, &[r], h0, c0);
                c1.reverse = reverse;
                let f = forward(&c1, &d1, true);
                for tt in 0..t {
                    let got = &batched.y[(tt * b + r) * p..(tt * b + r + 1) * p];
                    if tt < len {
                        close32(got, &f.y[tt * p..(tt + 1) * p], 1e-6, &format!("{what} y[{tt},{r}]"));
                    } else {
                        assert!(got.iter().all(|&v| v == 0.0), "{what}: y[{tt},{r}] past length not 0");
                    }
                }
                close32(&batched.h_n[r * p..(r + 1) * p], &f.h_n, 1e-6, &format!("{what} h_n[{r}]"));
                if kind == Kind::Lstm {
                    close32(&batched.c_n[r * h..(r + 1) * h], &f.c_n, 1e-6, &format!("{what} c_n[{r}]"));
                }
                let dy = up.dy.as_ref().unwrap();
                let up1 = Upstream {
                    dy: Some((0..len).flat_map(|tt| dy[(tt * b + r) * p..(tt * b + r + 1) * p].to_vec()).collect()),
                    dh_n: Some(up.dh_n.as_ref().unwrap()[r * p..(r + 1) * p].to_vec()),
                    dc_n: up.dc_n.as_ref().map(|v| v[r * h..(r + 1) * h].to_vec()),
                };
                c1.seed = c.seed; // same base
                let g1 = backward(&c1, &d1, &f.cache, &up1, Grads::base(&c1, true));
                for tt in 0..t {
                    let got = &bg.dx[(tt * b + r) * i..(tt * b + r + 1) * i];
                    if tt < len {
                        close32(got, &g1.dx[tt * i..(tt + 1) * i], 1e-5, &format!("{what} dx[{tt},{r}]"));
                    } else {
                        assert!(got.iter().all(|&v| v == 0.0), "{what}: dx[{tt},{r}] past length not 0");
                    }
                }
                close32(&bg.dh0[r * p..(r + 1) * p], &g1.dh0, 1e-5, &format!("{what} dh0[{r}]"));
                if kind == Kind::Lstm {
                    close32(&bg.dc0[r * h..(r + 1) * h], &g1.dc0, 1e-5, &format!("{what} dc0[{r}]"));
                }
                for (a, v) in [
                    (&mut wsum.dw_ih, &g1.dw_ih), (&mut wsum.dw_hh, &g1.dw_hh), (&mut wsum.db_ih, &g1.db_ih),
                    (&mut wsum.db_hh, &g1.db_hh), (&mut wsum.dw_hr, &g1.dw_hr),
                ] {
                    for (x, y) in a.iter_mut().zip(v.iter()) {
                        *x += *y;
                    }
                }
            }
            for (name, a, w) in [
                ("dw_ih", &bg.dw_ih, &wsum.dw_ih), ("dw_hh", &bg.dw_hh, &wsum.dw_hh), ("db_ih", &bg.db_ih, &wsum.db_ih),
                ("db_hh", &bg.db_hh, &wsum.db_hh), ("dw_hr", &bg.dw_hr, &wsum.dw_hr),
            ] {
                close32(a, w, 1e-5, &format!("{what} {name}"));
            }
        }
    }
}

/// Everything absent at once: no bias, h0, lengths, upstream grads other than dy, and no
/// gradient outputs except dx; plus a long sequence over several projection chunks.
#[test]
fn rnn_absent_arguments_and_long_sequences() {
    for (kind, proj) in variants(5) {
        let c = Case { kind, t: 150, b: 2, i: 3, h: 5, proj, bias: false, h0: false, lengths: false, reverse: true, seed: 3 };
        check_against_naive(&c, (true, false, false));
        let c = Case { t: 70, lengths: true, bias: true, ..c };
        check_against_naive(&c, (true, true, true));
        // Only dx wanted.
        let d = make(&c);
        let f = forward(&c, &d, true);
        let up = upstream(&c, true, false, false);
        let full = backward(&c, &d, &f.cache, &up, Grads::base(&c, true));
        let mut dx = vec![0.0f32; c.t * c.b * c.i];
        let (w, sq) = (weights(&d), seq(&c, &d));
        let ldy = c.p() + Y_PAD;
        let mut dybuf = vec![0.0f32; c.t * c.b * ldy];
        for r in 0..c.t * c.b {
            dybuf[r * ldy..r * ldy + c.p()].copy_from_slice(&up.dy.as_ref().unwrap()[r * c.p()..(r + 1) * c.p()]);
        }
        let none = WeightGrads::default();
        match kind {
            Kind::Lstm => lstm_backward(Some(&mut dx), none, None, None, Some(&dybuf), ldy, None, None, &d.x, &w, &f.cache, &sq).unwrap(),
            Kind::Gru => gru_backward(Some(&mut dx), none, None, Some(&dybuf), ldy, None, &d.x, &w, &f.cache, &sq).unwrap(),
            _ => rnn_backward(Some(&mut dx), none, None, Some(&dybuf), ldy, None, &d.x, &w, &f.cache, kind == Kind::RnnRelu, &sq).unwrap(),
        }
        assert_eq!(dx, full.dx);
    }
}

#[test]
fn rnn_abi_shims_match_the_kernels() {
    use crate::abi::*;
    use core::ptr::{null, null_mut};
    for (kind, proj) in variants(5) {
        let c = Case { kind, t: 4, b: 3, i: 3, h: 5, proj, bias: true, h0: true, lengths: true, reverse: true, seed: 21 };
        let d = make(&c);
        let (t, b, i, h, p) = (c.t, c.b, c.i, c.h, c.p());
        let want = forward(&c, &d, true);
        let up = upstream(&c, true, true, true);
        let want_g = backward(&c, &d, &want.cache, &up, Grads::base(&c, true));

        let ldy = 2 * p; // as the first half of a bidirectional output
        let mut y = vec![0.0f32; t * b * ldy];
        let mut h_n = vec![0.0f32; b * p];
        let mut c_n = vec![0.0f32; b * h];
        let mut dy = vec![0.0f32; t * b * ldy];
        for r in 0..t * b {
            dy[r * ldy..r * ldy + p].copy_from_slice(&up.dy.as_ref().unwrap()[r * p..(r + 1) * p]);
        }
        let mut g = Grads::base(&c, true);
        let lens = d.lengths.as_ref().unwrap().as_ptr();
        let (bi, bh) = (d.b_ih.as_ref().unwrap().as_ptr(), d.b_hh.as_ref().unwrap().as_ptr());
        let h0 = d.h0.as_ref().unwrap().as_ptr();
        let dh_n = up.dh_n.as_ref().unwrap().as_ptr();
        unsafe {
            match kind {
                Kind::Lstm => {
                    let w_hr = d.w_hr.as_ref().map_or(null(), |v| v.as_ptr());
                    let mut cache = vec![0.0f32; lw_lstm_cache_len(t, b, h, p, (proj > 0) as u32)];
                    assert_eq!(lw_lstm_forward(
                        t, b, i, h, p, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bi, bh, w_hr, h0,
                        d.c0.as_ref().unwrap().as_ptr(), lens, 1, y.as_mut_ptr(), ldy, h_n.as_mut_ptr(),
                        c_n.as_mut_ptr(), cache.as_mut_ptr(),
                    ), 0);
                    let dw_hr = if proj > 0 { g.dw_hr.as_mut_ptr() } else { null_mut() };
                    assert_eq!(lw_lstm_backward(
                        t, b, i, h, p, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), w_hr, lens, 1, cache.as_ptr(),
                        dy.as_ptr(), ldy, dh_n, up.dc_n.as_ref().unwrap().as_ptr(), g.dx.as_mut_ptr(),
                        g.dw_ih.as_mut_ptr(), g.dw_hh.as_mut_ptr(), g.db_ih.as_mut_ptr(), g.db_hh.as_mut_ptr(),
                        dw_hr, g.dh0.as_mut_ptr(), g.dc0.as_mut_ptr(),
                    ), 0);
                }
                Kind::Gru => {
                    let mut cache = vec![0.0f32; lw_gru_cache_len(t, b, h)];
                    assert_eq!(lw_gru_forward(
                        t, b, i, h, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bi, bh, h0, lens, 1,
                        y.as_mut_ptr(), ldy, h_n.as_mut_ptr(), cache.as_mut_ptr(),
                    ), 0);
                    assert_eq!(lw_gru_backward(
                        t, b, i, h, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bh, lens, 1, cache.as_ptr(),
                        dy.as_ptr(), ldy, dh_n, g.dx.as_mut_ptr(), g.dw_ih.as_mut_ptr(), g.dw_hh.as_mut_ptr(),
                        g.db_ih.as_mut_ptr(), g.db_hh.as_mut_ptr(), g.dh0.as_mut_ptr(),
                    ), 0);
                }
                _ => {
                    let relu = (kind == Kind::RnnRelu) as u32;
                    let mut cache = vec![0.0f32; lw_rnn_cache_len(t, b, h)];
                    assert_eq!(lw_rnn_forward(
                        t, b, i, h, relu, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bi, bh, h0, lens, 1,
                        y.as_mut_ptr(), ldy, h_n.as_mut_ptr(), cache.as_mut_ptr(),
                    ), 0);
                    assert_eq!(lw_rnn_backward(
                        t, b, i, h, relu, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), lens, 1, cache.as_ptr(),
                        dy.as_ptr(), ldy, dh_n, g.dx.as_mut_ptr(), g.dw_ih.as_mut_ptr(), g.dw_hh.as_mut_ptr(),
                        g.db_ih.as_mut_ptr(), g.db_hh.as_mut_ptr(), g.dh0.as_mut_ptr(),
                    ), 0);
                }
            }
            // Inference call: no cache, no h_n/c_n wanted.
            let mut y2 = vec![0.0f32; t * b * p];
            match kind {
                Kind::Lstm => assert_eq!(lw_lstm_forward(
                    t, b, i, h, p, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bi, bh,
                    d.w_hr.as_ref().map_or(null(), |v| v.as_ptr()), h0, d.c0.as_ref().unwrap().as_ptr(), lens, 1,
                    y2.as_mut_ptr(), p, null_mut(), null_mut(), null_mut(),
                ), 0),
                Kind::Gru => assert_eq!(lw_gru_forward(
                    t, b, i, h, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(), bi, bh, h0, lens, 1,
                    y2.as_mut_ptr(), p, null_mut(), null_mut(),
                ), 0),
                _ => assert_eq!(lw_rnn_forward(
                    t, b, i, h, (kind == Kind::RnnRelu) as u32, d.x.as_ptr(), d.w_ih.as_ptr(), d.w_hh.as_ptr(),
                    bi, bh, h0, lens, 1, y2.as_mut_ptr(), p, null_mut(), null_mut(),
                ), 0),
            }
            assert_eq!(y2, want.y, "{c:?}: inference y");
        }
        let yc: Vec<f32> = (0..t * b).flat_map(|r| y[r * ldy..r * ldy + p].to_vec()).collect();
        assert!((0..t * b).all(|r| y[r * ldy + p..(r + 1) * ldy].iter().all(|&v| v == 0.0)));
        assert_eq!(yc, want.y, "{c:?}: y");
        assert_eq!(h_n, want.h_n, "{c:?}: h_n");
        if kind == Kind::Lstm {
            assert_eq!(c_n, want.c_n, "{c:?}: c_n");
        }
        assert_eq!(g, want_g, "{c:?}: grads");
    }
}
