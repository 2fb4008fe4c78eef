//! Element-wise ops, reductions, activations, softmax / cross-entropy, embedding and layer norm.
//!
//! Conventions (llm.c): `X_forward(out, inp, ..., sizes)` / `X_backward(dinp, ..., dout, ...)`
//! side by side, outputs first, then inputs, then sizes. Backward kernels ACCUMULATE into their
//! gradient outputs (`dinp += ...`) unless the doc comment says otherwise. Every fast kernel has a
//! scalar reference in the same file's `naive` module, and the tests compare the two on awkward
//! sizes (`testutil::SIZES`).
//!
//! Shapes: `R` rows, `N` length of the last dim, `V` vocabulary, `C` embedding channels.

pub mod activation;
pub mod broadcast;
pub mod elementwise;
pub mod embedding;
pub mod norm;
pub mod reduce;
pub mod selection;
pub mod softmax;
pub mod unary;

#[cfg(test)]
pub(crate) mod testutil {
    /// Lengths that exercise an empty body, a tail only, and tails of every residue mod 4.
    pub const SIZES: [usize; 8] = [1, 3, 7, 63, 64, 65, 127, 257];

    /// Deterministic xorshift values in [lo, hi).
    pub fn rand_vec(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 40) as f32 / (1u64 << 24) as f32;
                lo + (hi - lo) * u
            })
            .collect()
    }

    pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = (g - w).abs();
            assert!(err <= tol * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w} (err {err})");
        }
    }
}
