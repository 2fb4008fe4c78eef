//! PyTorch golden tests: every case of test/fixtures/rnn/*.json (made by
//! scripts/fixtures/make_fixtures.py; schema in scripts/fixtures/README.md), run direction by
//! direction through the kernels exactly as the TypeScript layer composes them. A minimal JSON
//! reader is included (the crate has no dependencies).

use super::gru::{gru_backward, gru_cache_len, gru_forward};
use super::lstm::{lstm_backward, lstm_cache_len, lstm_forward};
use super::elman::{rnn_backward, rnn_cache_len, rnn_forward};
use super::{Dims, Seq, WeightGrads, Weights};

#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && (self.s[self.pos] as char).is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.pos], c, "JSON: expected '{}' at {}", c as char, self.pos);
        self.pos += 1;
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = String::new();
        while self.s[self.pos] != b'"' {
            if self.s[self.pos] == b'\\' {
                self.pos += 1;
                match self.s[self.pos] {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'u' => {
                        let hex = std::str::from_utf8(&self.s[self.pos + 1..self.pos + 5]).unwrap();
                        out.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap_or('?'));
                        self.pos += 4;
                    }
                    c => out.push(c as char),
                }
                self.pos += 1;
            } else {
                let start = self.pos;
                while self.s[self.pos] != b'"' && self.s[self.pos] != b'\\' {
                    self.pos += 1;
                }
                out.push_str(std::str::from_utf8(&self.s[start..self.pos]).unwrap());
            }
        }
        self.pos += 1;
        out
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.pos] {
            b'{' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s[self.pos] == b'}' {
                    self.pos += 1;
                    return Json::Obj(items);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    items.push((k, self.value()));
                    self.ws();
                    self.pos += 1;
                    if self.s[self.pos - 1] == b'}' {
                        return Json::Obj(items);
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s[self.pos] == b']' {
                    self.pos += 1;
                    return Json::Arr(items);
                }
                loop {
                    items.push(self.value());
                    self.ws();
                    self.pos += 1;
                    if self.s[self.pos - 1] == b']' {
                        return Json::Arr(items);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => {
                self.pos += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.pos += 5;
                Json::Bool(false)
            }
            b'n' => {
                self.pos += 4;
                Json::Null
            }
            _ => {
                let start = self.pos;
                while self.pos < self.s.len() && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.pos += 1;
                }
                Json::Num(std::str::from_utf8(&self.s[start..self.pos]).unwrap().parse().unwrap())
            }
        }
    }
}

impl Json {
    fn get_opt(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => panic!("not an object looking up {key}"),
        }
    }
    fn get(&self, key: &str) -> &Json {
        self.get_opt(key).unwrap_or_else(|| panic!("no key {key}"))
    }
    fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
    fn num(&self) -> f64 {
        match self {
            Json::Num(v) => *v,
            _ => panic!("not a number"),
        }
    }
    fn bool(&self) -> bool {
        matches!(self, Json::Bool(true))
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array"),
        }
    }
    /// A `{shape, data}` tensor as f32 (decimal -> f64 -> f32, as the fixtures specify).
    fn tensor(&self) -> (Vec<usize>, Vec<f32>) {
        let shape = self.get("shape").arr().iter().map(|v| v.num() as usize).collect();
        let data = self.get("data").arr().iter().map(|v| v.num() as f32).collect();
        (shape, data)
    }
    fn data(&self) -> Vec<f32> {
        self.tensor().1
    }
    fn opt_data(&self) -> Option<Vec<f32>> {
        if self.is_null() { None } else { Some(self.data()) }
    }
}

fn load(name: &str) -> Json {
    let path = format!("{}/test/fixtures/rnn/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Parser { s: &text, pos: 0 }.value()
}

/// (T,B,C) <-> (B,T,C).
fn swap01(v: &[f32], d0: usize, d1: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for a in 0..d0 {
        for b in 0..d1 {
            out[(b * d0 + a) * c..(b * d0 + a + 1) * c].copy_from_slice(&v[(a * d1 + b) * c..(a * d1 + b + 1) * c]);
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(err <= 1e-5 * (1.0 + w.abs()), "{what}[{k}]: got {g}, want {w} (err {err:e})");
    }
}

/// One layer-direction's parameters, read from the state dict (`weight_ih_l{l}{_reverse}` ...).
struct LayerParams {
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Option<Vec<f32>>,
    b_hh: Option<Vec<f32>>,
    w_hr: Option<Vec<f32>>,
}

fn weights(q: &LayerParams) -> Weights<'_> {
    Weights { w_ih: &q.w_ih, w_hh: &q.w_hh, b_ih: q.b_ih.as_deref(), b_hh: q.b_hh.as_deref(), w_hr: q.w_hr.as_deref() }
}

/// Runs a fixture layer by layer and direction by direction (layer l > 0 takes the (T,B,D*P)
/// output of layer l-1), then backward top-down (the dx of layer l is the dy of layer l-1);
/// compares output, hN, cN and every gradient. Handles tm/bf, unbatched and lengths.
fn run_fixture(name: &str) {
    let f = load(name);
    let mode = f.get("mode").str().to_string();
    let layers = f.get("numLayers").num() as usize;
    let (i0, h) = (f.get("inputSize").num() as usize, f.get("hiddenSize").num() as usize);
    let proj = f.get("projSize").num() as usize;
    let p = if proj > 0 { proj } else { h };
    let dirs = if f.get("bidirectional").bool() { 2 } else { 1 };
    let (bf, unbatched) = (f.get("batchFirst").bool(), f.get("unbatched").bool());
    let (in_shape, x_raw) = f.get("input").tensor();
    let (t, b) = if unbatched { (in_shape[0], 1) } else if bf { (in_shape[1], in_shape[0]) } else { (in_shape[0], in_shape[1]) };
    let to_tm = |v: &[f32], c: usize| if bf && !unbatched { swap01(v, b, t, c) } else { v.to_vec() };
    let lengths: Option<Vec<i32>> = match f.get_opt("lengths") {
        Some(Json::Arr(a)) => Some(a.iter().map(|v| v.num() as i32).collect()),
        _ => None,
    };
    let is_lstm = mode == "LSTM";
    let relu = mode == "RNN_RELU";
    let g = match mode.as_str() {
        "LSTM" => 4 * h,
        "GRU" => 3 * h,
        _ => h,
    };
    let h0 = f.get("h0").opt_data();
    let c0 = if is_lstm { f.get("c0").opt_data() } else { None };
    let lw = f.get("lossWeights");
    let dh_n_all = lw.get("hN").data();
    let dc_n_all = if is_lstm { lw.get("cN").opt_data() } else { None };
    let params = f.get("params");
    let gp = f.get("grads").get("params");
    let key = |k: &str, l: usize, dir: usize| format!("{k}_l{l}{}", if dir == 1 { "_reverse" } else { "" });
    let lp = |l: usize, dir: usize| {
        let get = |k: &str| params.get_opt(&key(k, l, dir)).map(|v| v.data());
        LayerParams { w_ih: get("weight_ih").unwrap(), w_hh: get("weight_hh").unwrap(), b_ih: get("bias_ih"), b_hh: get("bias_hh"), w_hr: get("weight_hr") }
    };
    let ldy = dirs * p;
    let (sb_p, sb_h) = (b * p, b * h); // one (layer, direction) slot of hN / cN

    // Forward: inputs[l] is the (T,B,I_l) input of layer l; caches[l*D + dir].
    let mut inputs = vec![to_tm(&x_raw, i0)];
    let mut caches = Vec::new();
    let mut h_n = vec![0.0f32; layers * dirs * sb_p];
    let mut c_n = vec![0.0f32; layers * dirs * sb_h];
    for l in 0..layers {
        let i = if l == 0 { i0 } else { dirs * p };
        let mut y = vec![f32::NAN; t * b * ldy];
        for dir in 0..dirs {
            let s = l * dirs + dir;
            let q = lp(l, dir);
            let w = weights(&q);
            let seq = Seq { dims: Dims { t, b, i, h, p }, lengths: lengths.as_deref(), reverse: dir == 1 };
            let h0d = h0.as_ref().map(|v| &v[s * sb_p..(s + 1) * sb_p]);
            let c0d = c0.as_ref().map(|v| &v[s * sb_h..(s + 1) * sb_h]);
            let (x, y_dir, hn) = (&inputs[l], &mut y[dir * p..], &mut h_n[s * sb_p..(s + 1) * sb_p]);
            let mut cache = vec![0.0f32; match mode.as_str() {
                "LSTM" => lstm_cache_len(t, b, h, p, proj > 0),
                "GRU" => gru_cache_len(t, b, h),
                _ => rnn_cache_len(t, b, h),
            }];
            match mode.as_str() {
                "LSTM" => lstm_forward(
                    y_dir, ldy, Some(hn), Some(&mut c_n[s * sb_h..(s + 1) * sb_h]), Some(&mut cache), x, &w, h0d, c0d, &seq,
                ).unwrap(),
                "GRU" => gru_forward(y_dir, ldy, Some(hn), Some(&mut cache), x, &w, h0d, &seq).unwrap(),
                _ => rnn_forward(y_dir, ldy, Some(hn), Some(&mut cache), x, &w, h0d, relu, &seq).unwrap(),
            }
            caches.push(cache);
        }
        inputs.push(y);
    }
    assert_close(&inputs[layers], &to_tm(&f.get("output").data(), ldy), &format!("{name} output"));
    assert_close(&h_n, &f.get("hN").data(), &format!("{name} hN"));
    if is_lstm {
        assert_close(&c_n, &f.get("cN").data(), &format!("{name} cN"));
    }

    // Backward, top layer first.
    let mut dy = to_tm(&lw.get("output").data(), ldy);
    let mut dh0 = vec![0.0f32; layers * dirs * sb_p];
    let mut dc0 = vec![0.0f32; layers * dirs * sb_h];
    for l in (0..layers).rev() {
        let i = if l == 0 { i0 } else { dirs * p };
        let mut dx = vec![0.0f32; t * b * i];
        for dir in 0..dirs {
            let s = l * dirs + dir;
            let q = lp(l, dir);
            let w = weights(&q);
            let seq = Seq { dims: Dims { t, b, i, h, p }, lengths: lengths.as_deref(), reverse: dir == 1 };
            let mut dw_ih = vec![0.0f32; g * i];
            let mut dw_hh = vec![0.0f32; g * p];
            let mut db_ih = vec![0.0f32; g];
            let mut db_hh = vec![0.0f32; g];
            let mut dw_hr = vec![0.0f32; p * h];
            let dw = WeightGrads {
                dw_ih: Some(&mut dw_ih), dw_hh: Some(&mut dw_hh), db_ih: Some(&mut db_ih), db_hh: Some(&mut db_hh),
                dw_hr: if proj > 0 { Some(&mut dw_hr) } else { None },
            };
            let (x, cache) = (&inputs[l], &caches[s]);
            let dy_dir = Some(&dy[dir * p..]);
            let dh_n = Some(&dh_n_all[s * sb_p..(s + 1) * sb_p]);
            let dh0d = Some(&mut dh0[s * sb_p..(s + 1) * sb_p]);
            match mode.as_str() {
                "LSTM" => lstm_backward(
                    Some(&mut dx), dw, dh0d, Some(&mut dc0[s * sb_h..(s + 1) * sb_h]), dy_dir, ldy, dh_n,
                    dc_n_all.as_ref().map(|v| &v[s * sb_h..(s + 1) * sb_h]), x, &w, cache, &seq,
                ).unwrap(),
                "GRU" => gru_backward(Some(&mut dx), dw, dh0d, dy_dir, ldy, dh_n, x, &w, cache, &seq).unwrap(),
                _ => rnn_backward(Some(&mut dx), dw, dh0d, dy_dir, ldy, dh_n, x, &w, cache, relu, &seq).unwrap(),
            }
            let check = |k: &str, got: &[f32]| {
                let kk = key(k, l, dir);
                assert_close(got, &gp.get(&kk).data(), &format!("{name} grad {kk}"));
            };
            check("weight_ih", &dw_ih);
            check("weight_hh", &dw_hh);
            if q.b_ih.is_some() {
                check("bias_ih", &db_ih);
                check("bias_hh", &db_hh);
            }
            if proj > 0 {
                check("weight_hr", &dw_hr);
            }
        }
        dy = dx;
    }
    let grads = f.get("grads");
    assert_close(&dy, &to_tm(&grads.get("input").data(), i0), &format!("{name} grad input"));
    if let Some(want) = grads.get("h0").opt_data() {
        assert_close(&dh0, &want, &format!("{name} grad h0"));
    }
    if is_lstm {
        if let Some(want) = grads.get("c0").opt_data() {
            assert_close(&dc0, &want, &format!("{name} grad c0"));
        }
    }
}

#[test]
fn rnn_pytorch_fixtures() {
    let index = load("index");
    let names: Vec<String> = index.get("cases").arr().iter().map(|v| v.str().to_string()).collect();
    assert!(names.len() >= 40, "only {} fixtures listed", names.len());
    for name in &names {
        run_fixture(name);
    }
}
