//! Data movement without arithmetic: batched transpose of two dims, carrying an inner block.

/// Block edge for the cache-blocked transpose: a 32x32 block of f32 is 4 KiB each way.
const BLOCK: usize = 32;

/// out (batch, cols, rows, inner) = x (batch, rows, cols, inner) with rows and cols swapped.
/// With inner = 1 this is the transpose of the last two dims; with inner = F it swaps the first
/// two dims of a (T, B, F) tensor. Works on any 4-byte elements.
pub fn transpose(batch: usize, rows: usize, cols: usize, inner: usize, x: &[f32], out: &mut [f32]) {
    let plane = rows * cols * inner;
    for b in 0..batch {
        let src = &x[b * plane..(b + 1) * plane];
        let dst = &mut out[b * plane..(b + 1) * plane];
        if inner == 1 {
            for r0 in (0..rows).step_by(BLOCK) {
                for c0 in (0..cols).step_by(BLOCK) {
                    for r in r0..(r0 + BLOCK).min(rows) {
                        for c in c0..(c0 + BLOCK).min(cols) {
                            dst[c * rows + r] = src[r * cols + c];
                        }
                    }
                }
            }
        } else {
            for r in 0..rows {
                for c in 0..cols {
                    let from = (r * cols + c) * inner;
                    let to = (c * rows + r) * inner;
                    dst[to..to + inner].copy_from_slice(&src[from..from + inner]);
                }
            }
        }
    }
}

pub mod naive {
    /// Reference: out[b][c][r][k] = x[b][r][c][k].
    pub fn transpose(batch: usize, rows: usize, cols: usize, inner: usize, x: &[f32], out: &mut [f32]) {
        for b in 0..batch {
            for r in 0..rows {
                for c in 0..cols {
                    for k in 0..inner {
                        out[((b * cols + c) * rows + r) * inner + k] = x[((b * rows + r) * cols + c) * inner + k];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transpose_matches_naive_on_awkward_sizes() {
        for &(batch, rows, cols, inner) in &[(1, 1, 1, 1), (2, 3, 7, 1), (1, 63, 65, 1), (3, 33, 1, 1), (1, 127, 257, 1), (1, 5, 3, 7), (2, 1, 4, 3)] {
            let x: Vec<f32> = (0..batch * rows * cols * inner).map(|i| i as f32).collect();
            let mut fast = vec![0.0; x.len()];
            let mut slow = vec![0.0; x.len()];
            super::transpose(batch, rows, cols, inner, &x, &mut fast);
            super::naive::transpose(batch, rows, cols, inner, &x, &mut slow);
            assert_eq!(fast, slow);
        }
    }
}
