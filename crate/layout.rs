//! Data movement without arithmetic: batched transpose of two dims, carrying an inner block, and
//! the general N-d strided copy behind permute, expand, repeat, select, narrow, stack and cat.

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

/// The most dims `strided_copy` takes (its odometer lives on the stack).
pub const MAX_DIMS: usize = 64;

/// Copies a strided view of x into a strided view of out, both over `shape` (strides in elements):
/// `out[sum i_d * out_strides[d]] = x[sum i_d * x_strides[d]]` for every index. With contiguous
/// out strides this gathers (permute, select, narrow; an x stride of 0 repeats, as for expand);
/// with contiguous x strides it scatters into a window of out (cat, the backward of narrow).
/// Distinct indices must reach distinct out elements. Any 4-byte elements (copied as bits); with
/// ndim = 0 one element is copied; at most `MAX_DIMS` dims. The innermost dim is a memcpy when
/// both its strides are 1 and a fill when x's is 0; a transposing copy goes by 32x32 tiles.
pub fn strided_copy(shape: &[usize], out_strides: &[usize], x_strides: &[usize], x: &[u32], out: &mut [u32]) {
    debug_assert!(shape.len() == out_strides.len() && shape.len() == x_strides.len());
    if shape.contains(&0) {
        return;
    }
    let n = shape.len();
    if n == 0 {
        out[0] = x[0];
        return;
    }
    let last = n - 1;
    let (len, os, xs) = (shape[last], out_strides[last], x_strides[last]);
    // A transposing copy: x is contiguous along another dim than out's last. Row by row, every
    // read would be a cache miss (x strides apart); tiles of that dim by the last keep both in cache.
    let across = if xs > 1 && os == 1 { (0..last).find(|&d| x_strides[d] == 1 && shape[d] > 1) } else { None };
    match across {
        Some(k) => {
            let (rows, o_r, x_r) = (shape[k], out_strides[k], x_strides[k]);
            walk(shape, out_strides, x_strides, &[k, last], |to, from| {
                for r0 in (0..rows).step_by(BLOCK) {
                    for c0 in (0..len).step_by(BLOCK) {
                        for r in r0..(r0 + BLOCK).min(rows) {
                            for c in c0..(c0 + BLOCK).min(len) {
                                out[to + r * o_r + c] = x[from + r * x_r + c * xs];
                            }
                        }
                    }
                }
            });
        }
        None => walk(shape, out_strides, x_strides, &[last], |to, from| match (os, xs) {
            (1, 1) => out[to..to + len].copy_from_slice(&x[from..from + len]),
            (1, 0) => {
                let v = x[from];
                out[to..to + len].iter_mut().for_each(|o| *o = v);
            }
            _ => {
                for j in 0..len {
                    out[to + j * os] = x[from + j * xs];
                }
            }
        }),
    }
}

/// Calls `f(out offset, x offset)` for every index of the dims of `shape` not in `inner` (an
/// odometer, the last dim fastest; offsets kept incrementally, no multiply per step).
fn walk<F: FnMut(usize, usize)>(shape: &[usize], out_strides: &[usize], x_strides: &[usize], inner: &[usize], mut f: F) {
    let (mut dims, mut os, mut xs) = ([0usize; MAX_DIMS], [0usize; MAX_DIMS], [0usize; MAX_DIMS]);
    let mut m = 0;
    for d in (0..shape.len()).filter(|d| !inner.contains(d)) {
        dims[m] = shape[d];
        os[m] = out_strides[d];
        xs[m] = x_strides[d];
        m += 1;
    }
    let mut index = [0usize; MAX_DIMS];
    let (mut to, mut from) = (0usize, 0usize);
    for _ in 0..dims[..m].iter().product::<usize>() {
        f(to, from);
        let mut d = m;
        while d > 0 {
            d -= 1;
            index[d] += 1;
            to += os[d];
            from += xs[d];
            if index[d] < dims[d] {
                break;
            }
            index[d] = 0;
            to -= dims[d] * os[d];
            from -= dims[d] * xs[d];
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

    /// Reference: both offsets computed from each multi-index.
    pub fn strided_copy(shape: &[usize], out_strides: &[usize], x_strides: &[usize], x: &[u32], out: &mut [u32]) {
        let total: usize = shape.iter().product();
        for i in 0..total {
            let (mut rest, mut to, mut from) = (i, 0, 0);
            for d in (0..shape.len()).rev() {
                to += (rest % shape[d]) * out_strides[d];
                from += (rest % shape[d]) * x_strides[d];
                rest /= shape[d];
            }
            out[to] = x[from];
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

    /// The largest offset `strides` reach over `shape`, plus one: the length a buffer needs.
    fn extent(shape: &[usize], strides: &[usize]) -> usize {
        1 + shape.iter().zip(strides).map(|(&d, &s)| (d.max(1) - 1) * s).sum::<usize>()
    }

    fn contiguous(shape: &[usize]) -> Vec<usize> {
        let mut strides = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1];
        }
        strides
    }

    fn check(shape: &[usize], out_strides: &[usize], x_strides: &[usize]) {
        let x: Vec<u32> = (0..extent(shape, x_strides) as u32).map(|i| i.wrapping_mul(2654435761)).collect();
        let n = extent(shape, out_strides);
        let (mut fast, mut slow) = (vec![7u32; n], vec![7u32; n]);
        super::strided_copy(shape, out_strides, x_strides, &x, &mut fast);
        super::naive::strided_copy(shape, out_strides, x_strides, &x, &mut slow);
        assert_eq!(fast, slow, "shape {:?} out strides {:?} x strides {:?}", shape, out_strides, x_strides);
    }

    fn gather(shape: &[usize], x_strides: &[usize]) {
        check(shape, &contiguous(shape), x_strides);
    }

    /// (shape, strides) of `x.permute(perm)` for a contiguous x of `shape`.
    fn permuted(shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let c = contiguous(shape);
        (perm.iter().map(|&p| shape[p]).collect(), perm.iter().map(|&p| c[p]).collect())
    }

    #[test]
    fn strided_copy_matches_naive_on_permutations_of_awkward_sizes() {
        let shapes: &[&[usize]] = &[&[1, 1, 1], &[7, 1, 63], &[3, 65, 5], &[2, 7, 9], &[1, 63, 65], &[65, 3, 1]];
        let perms: &[&[usize]] = &[&[0, 1, 2], &[2, 1, 0], &[1, 0, 2], &[0, 2, 1], &[1, 2, 0], &[2, 0, 1]];
        for shape in shapes {
            for perm in perms {
                let (s, st) = permuted(shape, perm);
                gather(&s, &st);
            }
        }
        // Transposing copies that go by tiles, with partial tiles at both edges.
        for (shape, perm) in [([2, 65, 63], [0, 2, 1]), ([65, 3, 33], [2, 1, 0]), ([33, 2, 97], [2, 0, 1])] {
            let (s, st) = permuted(&shape, &perm);
            gather(&s, &st);
        }
        let (s, st) = permuted(&[2, 3, 1, 5, 7], &[4, 2, 0, 3, 1]);
        gather(&s, &st);
    }

    #[test]
    fn strided_copy_repeats_with_zero_strides_and_reads_offset_windows() {
        gather(&[4, 7], &[1, 0]); // a column expanded along the rows
        gather(&[4, 7], &[0, 1]); // a row expanded down
        gather(&[3, 1, 65], &[0, 0, 1]);
        gather(&[2, 3, 63], &[100, 0, 1]); // rows of a wider tensor (narrow)
        gather(&[5], &[3]); // every third element (select of a column)
        gather(&[], &[]); // a 0-d tensor: one element
        let mut out = [0u32; 0];
        super::strided_copy(&[3, 0, 2], &[1, 1, 1], &[1, 1, 1], &[], &mut out); // empty: touches nothing
    }

    #[test]
    fn strided_copy_scatters_into_windows_of_out() {
        check(&[3, 5, 7], &[7 * 12, 7, 1], &contiguous(&[3, 5, 7])); // cat: rows 5 of 12 along dim 1
        check(&[4, 1, 65], &[65 * 3, 65, 1], &contiguous(&[4, 1, 65])); // stack: slot 1 of 3
        check(&[7, 63], &[1, 7], &contiguous(&[7, 63])); // a transposed write
        check(&[2, 3, 9], &[40, 10, 1], &[0, 9, 1]); // expanded source into a padded out
    }

    #[test]
    fn strided_copy_is_bit_exact_on_nan_patterns() {
        let x: Vec<u32> = vec![0x7fc0_0001, 0xffff_ffff, 0x7f80_0001, 0];
        let mut out = vec![0u32; 4];
        super::strided_copy(&[2, 2], &[2, 1], &[1, 2], &x, &mut out);
        assert_eq!(out, vec![0x7fc0_0001, 0x7f80_0001, 0xffff_ffff, 0]);
    }
}
