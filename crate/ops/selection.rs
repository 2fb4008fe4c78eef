//! Selections along one dim: max/min with their indices, top-k, gather, and the scatter-add that
//! is the backward of all three. A tensor is seen as (O, D, I): `O` outer, `D` the dim, `I` inner;
//! index buffers are i32 and the caller (ts/ops) has checked every index is in [0, D).
//!
//! Orders follow PyTorch: NaN is larger than every number (max/argmax and largest top-k return
//! it first, smallest top-k last) and among equal values the lower index comes first (PyTorch's
//! max/argmax do the same on CPU; its top-k order among ties is unspecified).

/// Whether `(a, ia)` comes before `(b, ib)`: larger first when `largest`, else smaller first;
/// NaN counts as the largest value; ties go to the lower index.
#[inline(always)]
fn before(a: f32, ia: usize, b: f32, ib: usize, largest: bool) -> bool {
    let (an, bn) = (a.is_nan(), b.is_nan());
    if an || bn {
        if an && bn {
            return ia < ib;
        }
        return an == largest;
    }
    if a == b {
        return ia < ib;
    }
    (a > b) == largest
}

/// `values[o,i] = max (or min) over d of x[o,d,i]`, `indices[o,i]` = its d (the first one; a NaN
/// wins both max and min, as PyTorch). values, indices (O,I); x (O,D,I); D >= 1. Overwrites.
pub fn max_dim(values: &mut [f32], indices: &mut [i32], x: &[f32], outer: usize, d: usize, inner: usize, min: bool) {
    for o in 0..outer {
        let plane = &x[o * d * inner..(o + 1) * d * inner];
        for i in 0..inner {
            let (mut best, mut at) = (plane[i], 0usize);
            for j in 1..d {
                let v = plane[j * inner + i];
                if best.is_nan() {
                    break;
                }
                if v.is_nan() || (if min { v < best } else { v > best }) {
                    best = v;
                    at = j;
                }
            }
            values[o * inner + i] = best;
            indices[o * inner + i] = at as i32;
        }
    }
}

/// The k first elements of each (o, :, i) line in the order of `before`, sorted: values and
/// indices (O,k,I); x (O,D,I); k <= D. k selection passes over the line (each takes the first
/// element after the previous pick), so O(k D) per line and no scratch memory. Overwrites.
pub fn topk(values: &mut [f32], indices: &mut [i32], x: &[f32], outer: usize, d: usize, inner: usize, k: usize, largest: bool) {
    for o in 0..outer {
        let plane = &x[o * d * inner..(o + 1) * d * inner];
        for i in 0..inner {
            let mut prev: Option<(f32, usize)> = None;
            for slot in 0..k {
                let mut pick: Option<(f32, usize)> = None;
                for j in 0..d {
                    let v = plane[j * inner + i];
                    let after_prev = match prev {
                        Some((pv, pj)) => before(pv, pj, v, j, largest),
                        None => true,
                    };
                    if !after_prev {
                        continue;
                    }
                    pick = match pick {
                        Some((bv, bj)) if !before(v, j, bv, bj, largest) => Some((bv, bj)),
                        _ => Some((v, j)),
                    };
                }
                // k <= D, so a pick always exists.
                let (v, j) = pick.unwrap_or((f32::NAN, 0));
                values[(o * k + slot) * inner + i] = v;
                indices[(o * k + slot) * inner + i] = j as i32;
                prev = Some((v, j));
            }
        }
    }
}

/// `out[o,j,i] = x[o, index[o,j,i], i]`; out, index (O,K,I); x (O,D,I). Works on any 4-byte
/// elements (the caller passes f32). Overwrites.
pub fn gather<T: Copy>(out: &mut [T], x: &[T], index: &[i32], outer: usize, d: usize, k: usize, inner: usize) {
    for o in 0..outer {
        for j in 0..k {
            for i in 0..inner {
                let at = (o * k + j) * inner + i;
                out[at] = x[(o * d + index[at] as usize) * inner + i];
            }
        }
    }
}

/// Backward of `gather` (and of max/min/top-k along a dim): `dx[o, index[o,j,i], i] += dout[o,j,i]`;
/// repeated indices sum. Accumulates.
pub fn gather_backward(dx: &mut [f32], dout: &[f32], index: &[i32], outer: usize, d: usize, k: usize, inner: usize) {
    for o in 0..outer {
        for j in 0..k {
            for i in 0..inner {
                let at = (o * k + j) * inner + i;
                dx[(o * d + index[at] as usize) * inner + i] += dout[at];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::rand_vec;

    #[test]
    fn max_min_first_index_and_nan() {
        // x (1,4,2): columns [1,3,3,2] and [5,5,0,NaN].
        let x = [1.0, 5.0, 3.0, 5.0, 3.0, 0.0, 2.0, f32::NAN];
        let (mut v, mut ix) = ([0.0f32; 2], [9i32; 2]);
        max_dim(&mut v, &mut ix, &x, 1, 4, 2, false);
        assert_eq!((v[0], ix[0]), (3.0, 1));
        assert!(v[1].is_nan() && ix[1] == 3);
        max_dim(&mut v, &mut ix, &x, 1, 4, 2, true);
        assert_eq!((v[0], ix[0]), (1.0, 0));
        assert!(v[1].is_nan() && ix[1] == 3, "NaN wins min too");
    }

    #[test]
    fn topk_matches_a_full_sort() {
        for &(outer, d, inner) in &[(1usize, 7usize, 1usize), (2, 65, 3), (3, 5, 2)] {
            let mut x = rand_vec(outer * d * inner, 17, -2.0, 2.0);
            x[0] = x[inner]; // a tie
            for &largest in &[true, false] {
                for k in [1, d / 2, d] {
                    let (mut v, mut ix) = (vec![0.0; outer * k * inner], vec![0; outer * k * inner]);
                    topk(&mut v, &mut ix, &x, outer, d, inner, k, largest);
                    for o in 0..outer {
                        for i in 0..inner {
                            let mut line: Vec<(f32, usize)> = (0..d).map(|j| (x[(o * d + j) * inner + i], j)).collect();
                            line.sort_by(|a, b| if before(a.0, a.1, b.0, b.1, largest) { core::cmp::Ordering::Less } else { core::cmp::Ordering::Greater });
                            for s in 0..k {
                                let at = (o * k + s) * inner + i;
                                assert_eq!((v[at], ix[at] as usize), line[s], "outer {o} inner {i} slot {s}");
                            }
                        }
                    }
                }
            }
        }
        let x = [1.0, 3.0, f32::NAN, 3.0, 2.0];
        let (mut v, mut ix) = ([0.0f32; 3], [0i32; 3]);
        topk(&mut v, &mut ix, &x, 1, 5, 1, 3, true);
        assert!(v[0].is_nan());
        assert_eq!((&v[1..], ix), (&[3.0f32, 3.0][..], [2, 1, 3]));
        topk(&mut v, &mut ix, &x, 1, 5, 1, 3, false);
        assert_eq!((v, ix), ([1.0, 2.0, 3.0], [0, 4, 1]));
    }

    #[test]
    fn gather_and_its_backward() {
        // x (2,3,1), index (2,2,1).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let index = [2, 0, 1, 1];
        let mut out = [0.0f32; 4];
        gather(&mut out, &x, &index, 2, 3, 2, 1);
        assert_eq!(out, [3.0, 1.0, 5.0, 5.0]);
        let mut dx = [1.0f32; 6];
        gather_backward(&mut dx, &[1.0, 2.0, 3.0, 4.0], &index, 2, 3, 2, 1);
        assert_eq!(dx, [3.0, 1.0, 2.0, 1.0, 8.0, 1.0], "accumulates; repeated indices sum");
    }
}
