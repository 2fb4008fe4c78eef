//! Scalar references for the recurrent layers: step by step, one batch row at a time, plain
//! loops, everything in f64, masks by lengths exactly as the fast kernels document. The fast
//! kernels are tested against these, and these against finite differences.

pub use super::Kind;

/// One layer-direction in f64. Shapes as the fast kernels: x (T,B,I), w_ih (G,I), w_hh (G,P),
/// biases (G), w_hr (P,H) (LSTM projection), h0 (B,P), c0 (B,H) (LSTM), lengths (B).
#[derive(Clone, Debug)]
pub struct Problem {
    pub kind: Kind,
    pub t: usize,
    pub b: usize,
    pub i: usize,
    pub h: usize,
    pub p: usize,
    pub x: Vec<f64>,
    pub w_ih: Vec<f64>,
    pub w_hh: Vec<f64>,
    pub b_ih: Option<Vec<f64>>,
    pub b_hh: Option<Vec<f64>>,
    pub w_hr: Option<Vec<f64>>,
    pub h0: Option<Vec<f64>>,
    pub c0: Option<Vec<f64>>,
    pub lengths: Option<Vec<i32>>,
    pub reverse: bool,
}

/// y (T,B,P) (0 on masked rows), h_n (B,P), c_n (B,H) (LSTM only, else empty).
#[derive(Clone, Debug)]
pub struct Outputs {
    pub y: Vec<f64>,
    pub h_n: Vec<f64>,
    pub c_n: Vec<f64>,
}

/// Full gradients (overwritten, not accumulated); db_* are computed even when the problem has
/// no bias, dw_hr is empty without projection, dc0 empty unless LSTM.
#[derive(Clone, Debug)]
pub struct Grads {
    pub dx: Vec<f64>,
    pub dw_ih: Vec<f64>,
    pub dw_hh: Vec<f64>,
    pub db_ih: Vec<f64>,
    pub db_hh: Vec<f64>,
    pub dw_hr: Vec<f64>,
    pub dh0: Vec<f64>,
    pub dc0: Vec<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// out (R) = W (R,C) v (C) + bias.
fn matvec(w: &[f64], v: &[f64], bias: Option<&[f64]>, rows: usize, cols: usize) -> Vec<f64> {
    (0..rows)
        .map(|r| {
            let mut acc = bias.map_or(0.0, |b| b[r]);
            for c in 0..cols {
                acc += w[r * cols + c] * v[c];
            }
            acc
        })
        .collect()
}

/// out (C) += W^T (C,R) d (R);  dW (R,C) += d v^T.
fn matvec_backward(dv: &mut [f64], dw: &mut [f64], w: &[f64], v: &[f64], d: &[f64], rows: usize, cols: usize) {
    for r in 0..rows {
        for c in 0..cols {
            dv[c] += w[r * cols + c] * d[r];
            dw[r * cols + c] += d[r] * v[c];
        }
    }
}

/// What one active (t,b) step saw and produced.
#[derive(Clone, Default)]
struct Step {
    x: Vec<f64>,
    h_prev: Vec<f64>,
    c_prev: Vec<f64>,
    /// LSTM [i f g o] activated; GRU [r z n] activated; RNN the output h.
    gates: Vec<f64>,
    /// GRU: hn = W_hn h_prev + b_hn. LSTM: c.
    extra: Vec<f64>,
    /// LSTM: r = o * tanh(c).
    r: Vec<f64>,
}

impl Problem {
    fn g(&self) -> usize {
        self.kind.gates() * self.h
    }

    fn active(&self, t: usize, b: usize) -> bool {
        match &self.lengths {
            Some(l) => (t as i32) < l[b],
            None => true,
        }
    }

    fn times(&self) -> Vec<usize> {
        if self.reverse { (0..self.t).rev().collect() } else { (0..self.t).collect() }
    }

    /// One cell step of batch row `b` from (h_prev, c_prev); returns (step record, h, c).
    fn cell(&self, x: &[f64], h_prev: &[f64], c_prev: &[f64]) -> (Step, Vec<f64>, Vec<f64>) {
        let (h, i, p, g) = (self.h, self.i, self.p, self.g());
        let gi = matvec(&self.w_ih, x, self.b_ih.as_deref(), g, i);
        let gh = matvec(&self.w_hh, h_prev, self.b_hh.as_deref(), g, p);
        let mut st = Step { x: x.to_vec(), h_prev: h_prev.to_vec(), c_prev: c_prev.to_vec(), ..Default::default() };
        match self.kind {
            Kind::Lstm => {
                let pre: Vec<f64> = (0..g).map(|j| gi[j] + gh[j]).collect();
                let mut gates = vec![0.0; g];
                for j in 0..h {
                    gates[j] = sigmoid(pre[j]);
                    gates[h + j] = sigmoid(pre[h + j]);
                    gates[2 * h + j] = pre[2 * h + j].tanh();
                    gates[3 * h + j] = sigmoid(pre[3 * h + j]);
                }
                let c: Vec<f64> = (0..h).map(|j| gates[h + j] * c_prev[j] + gates[j] * gates[2 * h + j]).collect();
                let r: Vec<f64> = (0..h).map(|j| gates[3 * h + j] * c[j].tanh()).collect();
                let hn = match &self.w_hr {
                    Some(w_hr) => matvec(w_hr, &r, None, p, h),
                    None => r.clone(),
                };
                st.gates = gates;
                st.extra = c.clone();
                st.r = r;
                (st, hn, c)
            }
            Kind::Gru => {
                let mut gates = vec![0.0; g];
                let mut hn = vec![0.0; h];
                let mut out = vec![0.0; h];
                for j in 0..h {
                    let r = sigmoid(gi[j] + gh[j]);
                    let z = sigmoid(gi[h + j] + gh[h + j]);
                    let n = (gi[2 * h + j] + r * gh[2 * h + j]).tanh();
                    gates[j] = r;
                    gates[h + j] = z;
                    gates[2 * h + j] = n;
                    hn[j] = gh[2 * h + j];
                    out[j] = (1.0 - z) * n + z * h_prev[j];
                }
                st.gates = gates;
                st.extra = hn;
                (st, out, vec![])
            }
            Kind::RnnTanh | Kind::RnnRelu => {
                let out: Vec<f64> = (0..h)
                    .map(|j| {
                        let v = gi[j] + gh[j];
                        if self.kind == Kind::RnnRelu { v.max(0.0) } else { v.tanh() }
                    })
                    .collect();
                st.gates = out.clone();
                (st, out, vec![])
            }
        }
    }

    /// Runs the sequence; returns outputs and the per-(t,b) records (None where masked).
    fn run(&self) -> (Outputs, Vec<Option<Step>>) {
        let (tt, b_n, i, h, p) = (self.t, self.b, self.i, self.h, self.p);
        let is_lstm = self.kind == Kind::Lstm;
        let mut hs: Vec<Vec<f64>> = (0..b_n)
            .map(|b| self.h0.as_ref().map_or(vec![0.0; p], |h0| h0[b * p..(b + 1) * p].to_vec()))
            .collect();
        let mut cs: Vec<Vec<f64>> = (0..b_n)
            .map(|b| match (&self.c0, is_lstm) {
                (Some(c0), true) => c0[b * h..(b + 1) * h].to_vec(),
                (None, true) => vec![0.0; h],
                _ => vec![],
            })
            .collect();
        let mut y = vec![0.0; tt * b_n * p];
        let mut steps = vec![None; tt * b_n];
        for t in self.times() {
            for b in 0..b_n {
                if !self.active(t, b) {
                    continue;
                }
                let x = &self.x[(t * b_n + b) * i..(t * b_n + b + 1) * i];
                let (st, hn, cn) = self.cell(x, &hs[b], &cs[b]);
                y[(t * b_n + b) * p..(t * b_n + b + 1) * p].copy_from_slice(&hn);
                hs[b] = hn;
                cs[b] = cn;
                steps[t * b_n + b] = Some(st);
            }
        }
        let out = Outputs { y, h_n: hs.concat(), c_n: cs.concat() };
        (out, steps)
    }

    /// Gradients of L = sum(y * dy) + sum(h_n * dh_n) + sum(c_n * dc_n) (None = 0).
    pub fn backward(&self, dy: Option<&[f64]>, dh_n: Option<&[f64]>, dc_n: Option<&[f64]>) -> Grads {
        let (tt, b_n, i, h, p, g) = (self.t, self.b, self.i, self.h, self.p, self.g());
        let is_lstm = self.kind == Kind::Lstm;
        let (_, steps) = self.run();
        let mut gr = Grads {
            dx: vec![0.0; tt * b_n * i],
            dw_ih: vec![0.0; g * i],
            dw_hh: vec![0.0; g * p],
            db_ih: vec![0.0; g],
            db_hh: vec![0.0; g],
            dw_hr: vec![0.0; if self.w_hr.is_some() { p * h } else { 0 }],
            dh0: vec![],
            dc0: vec![],
        };
        let mut dhs: Vec<Vec<f64>> = (0..b_n).map(|b| dh_n.map_or(vec![0.0; p], |d| d[b * p..(b + 1) * p].to_vec())).collect();
        let mut dcs: Vec<Vec<f64>> = (0..b_n)
            .map(|b| if !is_lstm { vec![] } else { dc_n.map_or(vec![0.0; h], |d| d[b * h..(b + 1) * h].to_vec()) })
            .collect();
        let mut times = self.times();
        times.reverse();
        for t in times {
            for b in 0..b_n {
                let st = match &steps[t * b_n + b] {
                    Some(st) => st,
                    None => continue,
                };
                let row = t * b_n + b;
                let mut dh = dhs[b].clone();
                if let Some(dy) = dy {
                    for k in 0..p {
                        dh[k] += dy[row * p + k];
                    }
                }
                let mut dgi = vec![0.0; g]; // dL/d(x W_ih^T + b_ih)
                let mut dgh = vec![0.0; g]; // dL/d(h W_hh^T + b_hh)
                let mut dh_prev = vec![0.0; p];
                match self.kind {
                    Kind::Lstm => {
                        let dr = match &self.w_hr {
                            Some(w_hr) => {
                                let mut dr = vec![0.0; h];
                                matvec_backward(&mut dr, &mut gr.dw_hr, w_hr, &st.r, &dh, p, h);
                                dr
                            }
                            None => dh.clone(),
                        };
                        let gt = &st.gates;
                        let dc = &mut dcs[b];
                        for j in 0..h {
                            let (ig, fg, gg, og) = (gt[j], gt[h + j], gt[2 * h + j], gt[3 * h + j]);
                            let tc = st.extra[j].tanh();
                            let dct = dc[j] + dr[j] * og * (1.0 - tc * tc);
                            dgi[j] = dct * gg * ig * (1.0 - ig);
                            dgi[h + j] = dct * st.c_prev[j] * fg * (1.0 - fg);
                            dgi[2 * h + j] = dct * ig * (1.0 - gg * gg);
                            dgi[3 * h + j] = dr[j] * tc * og * (1.0 - og);
                            dc[j] = dct * fg;
                        }
                        dgh.copy_from_slice(&dgi);
                    }
                    Kind::Gru => {
                        let gt = &st.gates;
                        for j in 0..h {
                            let (r, z, n) = (gt[j], gt[h + j], gt[2 * h + j]);
                            let dn = dh[j] * (1.0 - z);
                            let dz = dh[j] * (st.h_prev[j] - n);
                            dh_prev[j] += dh[j] * z;
                            let dn_pre = dn * (1.0 - n * n);
                            let dr_pre = dn_pre * st.extra[j] * r * (1.0 - r);
                            let dz_pre = dz * z * (1.0 - z);
                            dgi[j] = dr_pre;
                            dgi[h + j] = dz_pre;
                            dgi[2 * h + j] = dn_pre;
                            dgh[j] = dr_pre;
                            dgh[h + j] = dz_pre;
                            dgh[2 * h + j] = dn_pre * r;
                        }
                    }
                    Kind::RnnTanh | Kind::RnnRelu => {
                        for j in 0..h {
                            let out = st.gates[j];
                            dgi[j] = if self.kind == Kind::RnnRelu {
                                if out > 0.0 { dh[j] } else { 0.0 }
                            } else {
                                dh[j] * (1.0 - out * out)
                            };
                        }
                        dgh.copy_from_slice(&dgi);
                    }
                }
                let dx = &mut gr.dx[row * i..(row + 1) * i];
                matvec_backward(dx, &mut gr.dw_ih, &self.w_ih, &st.x, &dgi, g, i);
                matvec_backward(&mut dh_prev, &mut gr.dw_hh, &self.w_hh, &st.h_prev, &dgh, g, p);
                for j in 0..g {
                    gr.db_ih[j] += dgi[j];
                    gr.db_hh[j] += dgh[j];
                }
                dhs[b] = dh_prev;
            }
        }
        gr.dh0 = dhs.concat();
        gr.dc0 = dcs.concat();
        gr
    }

    /// Forward outputs.
    pub fn forward(&self) -> Outputs {
        self.run().0
    }
}
