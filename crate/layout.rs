//! Data movement without arithmetic: batched transpose of the last two dims.

/// Block edge for the cache-blocked transpose: a 32x32 block of f32 is 4 KiB each way.
const BLOCK: usize = 32;

/// out (batch, cols, rows) = transpose of x (batch, rows, cols). Works on any 4-byte elements.
pub fn transpose(batch: usize, rows: usize, cols: usize, x: &[f32], out: &mut [f32]) {
    let plane = rows * cols;
    for b in 0..batch {
        let src = &x[b * plane..(b + 1) * plane];
        let dst = &mut out[b * plane..(b + 1) * plane];
        for r0 in (0..rows).step_by(BLOCK) {
            for c0 in (0..cols).step_by(BLOCK) {
                for r in r0..(r0 + BLOCK).min(rows) {
                    for c in c0..(c0 + BLOCK).min(cols) {
                        dst[c * rows + r] = src[r * cols + c];
                    }
                }
            }
        }
    }
}

pub mod naive {
    /// Reference: out[b][c][r] = x[b][r][c].
    pub fn transpose(batch: usize, rows: usize, cols: usize, x: &[f32], out: &mut [f32]) {
        for b in 0..batch {
            for r in 0..rows {
                for c in 0..cols {
                    out[b * rows * cols + c * rows + r] = x[b * rows * cols + r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transpose_matches_naive_on_awkward_sizes() {
        for &(batch, rows, cols) in &[(1, 1, 1), (2, 3, 7), (1, 63, 65), (3, 33, 1), (1, 127, 257)] {
            let x: Vec<f32> = (0..batch * rows * cols).map(|i| i as f32).collect();
            let mut fast = vec![0.0; x.len()];
            let mut slow = vec![0.0; x.len()];
            super::transpose(batch, rows, cols, &x, &mut fast);
            super::naive::transpose(batch, rows, cols, &x, &mut slow);
            assert_eq!(fast, slow);
        }
    }
}
