//! General NumPy/PyTorch broadcasting: binary maps, comparisons and `where` over any dims, and
//! their backward, which sums each gradient back to its input's shape.
//!
//! A broadcast is described by the output shape (`shape`, `D` dims, row-major, contiguous) and
//! one stride per dim for every input, in elements, 0 on a broadcast dim. The caller (ts/ops)
//! merges adjacent dims first, so `D` is small; the walk below recurses over the outer `D - 1`
//! dims (no allocation) and runs an inner loop over the last dim, with SIMD fast paths when that
//! dim is contiguous in both inputs or contiguous in one and broadcast in the other.
//!
//! Backward kernels ACCUMULATE into gradients laid out with the input's strides, so a stride-0
//! dim sums there directly (f32, in order: error grows like (broadcast length) * eps, as
//! `sum_rows`).

#![allow(clippy::missing_safety_doc)]
#![allow(clippy::too_many_arguments)]

use crate::math;
use crate::ops::elementwise::map2;
use crate::simd::F32x4;

/// The binary ops, by their ABI code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    /// `a^b` as C `powf` (so PyTorch's special cases: 0^0 = 1, (-8)^(1/3) = NaN, ...).
    Pow = 4,
    /// NaN if either input is NaN, as `torch.maximum`.
    Maximum = 5,
    Minimum = 6,
}

impl BinOp {
    pub fn from_code(code: u32) -> Option<BinOp> {
        use BinOp::*;
        [Add, Sub, Mul, Div, Pow, Maximum, Minimum].get(code as usize).copied()
    }

    #[inline(always)]
    pub fn scalar(self, a: f32, b: f32) -> f32 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Pow => a.powf(b),
            BinOp::Maximum => {
                if a.is_nan() || b.is_nan() { f32::NAN } else if a < b { b } else { a }
            }
            BinOp::Minimum => {
                if a.is_nan() || b.is_nan() { f32::NAN } else if b < a { b } else { a }
            }
        }
    }

    /// `(d/da, d/db)` of `g * op(a, b)`, PyTorch 1.13's formulas (derivatives.yaml): pow's
    /// gradients are 0 where the exponent is 0 (for a) or where a = 0 and b >= 0 (for b);
    /// maximum/minimum split a tie evenly between the two inputs.
    #[inline(always)]
    pub fn grads(self, g: f32, a: f32, b: f32) -> (f32, f32) {
        match self {
            BinOp::Add => (g, g),
            BinOp::Sub => (g, -g),
            BinOp::Mul => (g * b, g * a),
            BinOp::Div => (g / b, -g * ((a / b) / b)),
            BinOp::Pow => {
                let da = if b == 0.0 { 0.0 } else { g * (b * a.powf(b - 1.0)) };
                let db = if a == 0.0 && b >= 0.0 { 0.0 } else { g * (a.powf(b) * math::log(a)) };
                (da, db)
            }
            BinOp::Maximum | BinOp::Minimum => {
                let a_wins = if self == BinOp::Maximum { a > b } else { a < b };
                let b_wins = if self == BinOp::Maximum { b > a } else { b < a };
                if a == b {
                    (g / 2.0, g / 2.0)
                } else {
                    (if a_wins { g } else { 0.0 }, if b_wins { g } else { 0.0 })
                }
            }
        }
    }
}

/// The comparisons, by their ABI code. Each writes 1.0 where it holds and 0.0 elsewhere.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CmpOp {
    Eq = 0,
    Ne = 1,
    Lt = 2,
    Le = 3,
    Gt = 4,
    Ge = 5,
}

impl CmpOp {
    pub fn from_code(code: u32) -> Option<CmpOp> {
        use CmpOp::*;
        [Eq, Ne, Lt, Le, Gt, Ge].get(code as usize).copied()
    }

    #[inline(always)]
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// Calls `row(r, offsets)` for every innermost row `r` of `shape` (row-major order; the output
/// row starts at `r * shape[D-1]`), with each input's element offset of that row's first element.
fn for_each_row<const K: usize>(shape: &[usize], strides: [&[usize]; K], row: &mut impl FnMut(usize, [usize; K])) {
    fn walk<const K: usize>(
        d: usize, shape: &[usize], strides: &[&[usize]; K], base: [usize; K], next: &mut usize,
        row: &mut impl FnMut(usize, [usize; K]),
    ) {
        if d + 1 >= shape.len() {
            row(*next, base);
            *next += 1;
            return;
        }
        for i in 0..shape[d] {
            let mut at = base;
            for k in 0..K {
                at[k] += i * strides[k][d];
            }
            walk(d + 1, shape, strides, at, next, row);
        }
    }
    if shape.iter().any(|&n| n == 0) {
        return;
    }
    let mut next = 0;
    walk(0, shape, &strides, [0; K], &mut next, row);
}

/// `out[r, j] = f(a[..], b[..])` over one row of n: SIMD when each input is contiguous (stride 1)
/// or repeated (stride 0) along it.
#[inline(always)]
unsafe fn binary_row(
    out: *mut f32, a: *const f32, b: *const f32, n: usize, sa: usize, sb: usize,
    fv: impl Fn(F32x4, F32x4) -> F32x4 + Copy, fs: impl Fn(f32, f32) -> f32 + Copy,
) {
    match (sa, sb) {
        (1, 1) => map2(out, a, b, n, fv, fs),
        (1, 0) => {
            let (bs, bv) = (*b, F32x4::splat(*b));
            crate::ops::elementwise::map1(out, a, n, |x| fv(x, bv), |x| fs(x, bs))
        }
        (0, 1) => {
            let (as_, av) = (*a, F32x4::splat(*a));
            crate::ops::elementwise::map1(out, b, n, |y| fv(av, y), |y| fs(as_, y))
        }
        _ => {
            for j in 0..n {
                *out.add(j) = fs(*a.add(j * sa), *b.add(j * sb));
            }
        }
    }
}

/// `out = op(a, b)` broadcast: out (shape) contiguous, a and b read at strides `sa`, `sb`.
/// # Safety: every offset the shape and strides reach is in bounds; `out` overlaps no input.
pub unsafe fn binary(op: BinOp, out: *mut f32, a: *const f32, b: *const f32, shape: &[usize], sa: &[usize], sb: &[usize]) {
    let n = *shape.last().unwrap_or(&1);
    let (ia, ib) = (*sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let mut row = |r: usize, [oa, ob]: [usize; 2]| {
        let (o, x, y) = (out.add(r * n), a.add(oa), b.add(ob));
        match op {
            BinOp::Add => binary_row(o, x, y, n, ia, ib, |p, q| p.add(q), |p, q| p + q),
            BinOp::Sub => binary_row(o, x, y, n, ia, ib, |p, q| p.sub(q), |p, q| p - q),
            BinOp::Mul => binary_row(o, x, y, n, ia, ib, |p, q| p.mul(q), |p, q| p * q),
            BinOp::Div => binary_row(o, x, y, n, ia, ib, |p, q| p.div(q), |p, q| p / q),
            // `max` keeps a NaN in its receiver; a NaN in q is taken by the select.
            BinOp::Maximum => binary_row(o, x, y, n, ia, ib, |p, q| q.eq(q).select(p.max(q), q), |p, q| BinOp::Maximum.scalar(p, q)),
            BinOp::Minimum => binary_row(o, x, y, n, ia, ib, |p, q| q.eq(q).select(p.min(q), q), |p, q| BinOp::Minimum.scalar(p, q)),
            BinOp::Pow => {
                for j in 0..n {
                    *o.add(j) = (*x.add(j * ia)).powf(*y.add(j * ib));
                }
            }
        }
    };
    for_each_row(shape, [sa, sb], &mut row);
}

/// Accumulates the gradients of `out = op(a, b)` given `dout` (shape, contiguous): `da` (at the
/// strides `sa` of a) `+= d/da`, `db` likewise; a null `da`/`db` is not wanted. A stride-0 dim
/// sums the gradient over it, which is the reduction back to the input's shape.
/// # Safety: as `binary`; `da`/`db` are valid for the elements `sa`/`sb` reach, overlap nothing.
pub unsafe fn binary_backward(
    op: BinOp, da: *mut f32, db: *mut f32, dout: *const f32, a: *const f32, b: *const f32,
    shape: &[usize], sa: &[usize], sb: &[usize],
) {
    let n = *shape.last().unwrap_or(&1);
    let (ia, ib) = (*sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let mut row = |r: usize, [oa, ob]: [usize; 2]| {
        let g = dout.add(r * n);
        for j in 0..n {
            let (x, y) = (*a.add(oa + j * ia), *b.add(ob + j * ib));
            let (gx, gy) = op.grads(*g.add(j), x, y);
            if !da.is_null() {
                *da.add(oa + j * ia) += gx;
            }
            if !db.is_null() {
                *db.add(ob + j * ib) += gy;
            }
        }
    };
    for_each_row(shape, [sa, sb], &mut row);
}

/// `out = 1.0 where cmp(a, b) else 0.0`, broadcast as `binary`. With `int32` the inputs are read
/// as i32 (compared exactly), else as f32 (NaN compares unequal to everything, as IEEE).
/// # Safety: as `binary`.
pub unsafe fn compare(op: CmpOp, out: *mut f32, a: *const f32, b: *const f32, int32: bool, shape: &[usize], sa: &[usize], sb: &[usize]) {
    let n = *shape.last().unwrap_or(&1);
    let (ia, ib) = (*sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let (ai, bi) = (a as *const i32, b as *const i32);
    let mut row = |r: usize, [oa, ob]: [usize; 2]| {
        let o = out.add(r * n);
        for j in 0..n {
            let (pa, pb) = (oa + j * ia, ob + j * ib);
            let holds = if int32 { op.holds(*ai.add(pa), *bi.add(pb)) } else { op.holds(*a.add(pa), *b.add(pb)) };
            *o.add(j) = if holds { 1.0 } else { 0.0 };
        }
    };
    for_each_row(shape, [sa, sb], &mut row);
}

/// `out = cond != 0 ? a : b`, broadcast over all three (cond read as i32 with `cond_int32`,
/// else as f32, where NaN counts as true: it is not 0).
/// # Safety: as `binary`.
pub unsafe fn select(
    out: *mut f32, cond: *const f32, a: *const f32, b: *const f32, cond_int32: bool,
    shape: &[usize], sc: &[usize], sa: &[usize], sb: &[usize],
) {
    let n = *shape.last().unwrap_or(&1);
    let (ic, ia, ib) = (*sc.last().unwrap_or(&0), *sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let ci = cond as *const i32;
    let mut row = |r: usize, [oc, oa, ob]: [usize; 3]| {
        let o = out.add(r * n);
        for j in 0..n {
            let pc = oc + j * ic;
            let take_a = if cond_int32 { *ci.add(pc) != 0 } else { *cond.add(pc) != 0.0 };
            *o.add(j) = if take_a { *a.add(oa + j * ia) } else { *b.add(ob + j * ib) };
        }
    };
    for_each_row(shape, [sc, sa, sb], &mut row);
}

/// Backward of `select`: `da += cond ? dout : 0`, `db += cond ? 0 : dout`, at their strides
/// (null = not wanted). Accumulates.
/// # Safety: as `binary_backward`.
pub unsafe fn select_backward(
    da: *mut f32, db: *mut f32, dout: *const f32, cond: *const f32, cond_int32: bool,
    shape: &[usize], sc: &[usize], sa: &[usize], sb: &[usize],
) {
    let n = *shape.last().unwrap_or(&1);
    let (ic, ia, ib) = (*sc.last().unwrap_or(&0), *sa.last().unwrap_or(&0), *sb.last().unwrap_or(&0));
    let ci = cond as *const i32;
    let mut row = |r: usize, [oc, oa, ob]: [usize; 3]| {
        let g = dout.add(r * n);
        for j in 0..n {
            let pc = oc + j * ic;
            let take_a = if cond_int32 { *ci.add(pc) != 0 } else { *cond.add(pc) != 0.0 };
            if take_a && !da.is_null() {
                *da.add(oa + j * ia) += *g.add(j);
            }
            if !take_a && !db.is_null() {
                *db.add(ob + j * ib) += *g.add(j);
            }
        }
    };
    for_each_row(shape, [sc, sa, sb], &mut row);
}

/// Scalar references: every output index decoded into coordinates, each input offset recomputed.
pub mod naive {
    use super::BinOp;

    pub fn offsets(shape: &[usize], strides: &[usize], flat: usize) -> usize {
        let (mut rem, mut off) = (flat, 0);
        for d in (0..shape.len()).rev() {
            off += (rem % shape[d]) * strides[d];
            rem /= shape[d];
        }
        off
    }

    pub fn binary(op: BinOp, out: &mut [f32], a: &[f32], b: &[f32], shape: &[usize], sa: &[usize], sb: &[usize]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = op.scalar(a[offsets(shape, sa, i)], b[offsets(shape, sb, i)]);
        }
    }

    pub fn binary_backward(
        op: BinOp, da: &mut [f32], db: &mut [f32], dout: &[f32], a: &[f32], b: &[f32],
        shape: &[usize], sa: &[usize], sb: &[usize],
    ) {
        for (i, &g) in dout.iter().enumerate() {
            let (pa, pb) = (offsets(shape, sa, i), offsets(shape, sb, i));
            let (ga, gb) = op.grads(g, a[pa], b[pb]);
            da[pa] += ga;
            db[pb] += gb;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{assert_close, rand_vec};

    /// (output shape, a strides, b strides, a length, b length): contiguous inner, row and column
    /// broadcasts, both sides broadcast, an outer product, a scalar, and inner lengths off the
    /// SIMD width.
    fn layouts() -> Vec<(Vec<usize>, Vec<usize>, Vec<usize>, usize, usize)> {
        vec![
            (vec![65], vec![1], vec![1], 65, 65),
            (vec![7], vec![1], vec![0], 7, 1),
            (vec![7], vec![0], vec![1], 1, 7),
            (vec![4, 5], vec![1, 0], vec![5, 1], 4, 20),
            (vec![3, 63], vec![63, 1], vec![0, 1], 189, 63),
            (vec![5, 3], vec![1, 0], vec![0, 1], 5, 3),
            (vec![2, 3, 7], vec![7, 0, 1], vec![0, 7, 1], 14, 21),
            (vec![2, 3, 4], vec![0, 0, 1], vec![3, 1, 0], 4, 6),
            (vec![1], vec![0], vec![0], 1, 1),
        ]
    }

    const OPS: [BinOp; 7] = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Pow, BinOp::Maximum, BinOp::Minimum];

    #[test]
    fn binary_matches_naive() {
        for (shape, sa, sb, la, lb) in layouts() {
            let n: usize = shape.iter().product();
            let a = rand_vec(la, 1, 0.1, 3.0);
            let mut b = rand_vec(lb, 2, -2.0, 2.0);
            b[0] = a[0]; // a tie for maximum/minimum
            for op in OPS {
                let mut want = vec![0.0; n];
                naive::binary(op, &mut want, &a, &b, &shape, &sa, &sb);
                let mut got = vec![f32::NAN; n];
                unsafe { binary(op, got.as_mut_ptr(), a.as_ptr(), b.as_ptr(), &shape, &sa, &sb) };
                assert_eq!(got, want, "{op:?} {shape:?} {sa:?} {sb:?}");
            }
        }
    }

    #[test]
    fn maximum_minimum_propagate_nan_from_either_side() {
        let a = [f32::NAN, 1.0, 2.0, 3.0, 5.0];
        let b = [1.0, f32::NAN, 2.0, 4.0, 0.0];
        for op in [BinOp::Maximum, BinOp::Minimum] {
            let mut out = [0.0f32; 5];
            unsafe { binary(op, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), &[5], &[1], &[1]) };
            assert!(out[0].is_nan() && out[1].is_nan(), "{op:?}");
            assert_eq!(out[2], 2.0);
        }
    }

    #[test]
    fn backward_matches_naive_and_accumulates() {
        for (shape, sa, sb, la, lb) in layouts() {
            let n: usize = shape.iter().product();
            let a = rand_vec(la, 3, 0.1, 3.0);
            let b = rand_vec(lb, 4, -2.0, 2.0);
            let g = rand_vec(n, 5, -1.0, 1.0);
            for op in OPS {
                let (mut wa, mut wb) = (vec![0.5; la], vec![-0.5; lb]);
                naive::binary_backward(op, &mut wa, &mut wb, &g, &a, &b, &shape, &sa, &sb);
                let (mut ga, mut gb) = (vec![0.5; la], vec![-0.5; lb]);
                unsafe {
                    binary_backward(op, ga.as_mut_ptr(), gb.as_mut_ptr(), g.as_ptr(), a.as_ptr(), b.as_ptr(), &shape, &sa, &sb)
                };
                assert_close(&ga, &wa, 1e-6, "da");
                assert_close(&gb, &wb, 1e-6, "db");
                let mut only_b = vec![-0.5; lb];
                unsafe {
                    binary_backward(op, core::ptr::null_mut(), only_b.as_mut_ptr(), g.as_ptr(), a.as_ptr(), b.as_ptr(), &shape, &sa, &sb)
                };
                assert_eq!(only_b, gb, "{op:?}: da absent");
            }
        }
    }

    #[test]
    fn gradient_conventions() {
        assert_eq!(BinOp::Maximum.grads(1.0, 2.0, 2.0), (0.5, 0.5));
        assert_eq!(BinOp::Maximum.grads(1.0, 3.0, 2.0), (1.0, 0.0));
        assert_eq!(BinOp::Minimum.grads(1.0, 3.0, 2.0), (0.0, 1.0));
        assert_eq!(BinOp::Pow.grads(1.0, 0.0, 2.0), (0.0, 0.0));
        assert_eq!(BinOp::Pow.grads(1.0, 3.0, 0.0).0, 0.0);
    }

    #[test]
    fn compare_and_select() {
        let a = [1.0f32, 2.0, 3.0, f32::NAN];
        let b = [2.0f32];
        let mut out = [9.0f32; 4];
        let want: [(CmpOp, [f32; 4]); 6] = [
            (CmpOp::Eq, [0.0, 1.0, 0.0, 0.0]),
            (CmpOp::Ne, [1.0, 0.0, 1.0, 1.0]),
            (CmpOp::Lt, [1.0, 0.0, 0.0, 0.0]),
            (CmpOp::Le, [1.0, 1.0, 0.0, 0.0]),
            (CmpOp::Gt, [0.0, 0.0, 1.0, 0.0]),
            (CmpOp::Ge, [0.0, 1.0, 1.0, 0.0]),
        ];
        for (op, w) in want {
            unsafe { compare(op, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), false, &[4], &[1], &[0]) };
            assert_eq!(out, w, "{op:?}");
        }
        let ai = [1i32, 16_777_217, -3];
        let bi = [16_777_216i32, 16_777_217, -3];
        let mut out = [9.0f32; 3];
        unsafe { compare(CmpOp::Eq, out.as_mut_ptr(), ai.as_ptr() as *const f32, bi.as_ptr() as *const f32, true, &[3], &[1], &[1]) };
        assert_eq!(out, [0.0, 1.0, 1.0], "int32 compares exactly past 2^24");

        // cond (2,1) int32, a (1,3), b scalar.
        let cond = [1i32, 0];
        let a = [1.0f32, 2.0, 3.0];
        let b = [-1.0f32];
        let mut out = [0.0f32; 6];
        let (shape, sc, sa, sb) = ([2usize, 3], [1usize, 0], [0usize, 1], [0usize, 0]);
        unsafe { select(out.as_mut_ptr(), cond.as_ptr() as *const f32, a.as_ptr(), b.as_ptr(), true, &shape, &sc, &sa, &sb) };
        assert_eq!(out, [1.0, 2.0, 3.0, -1.0, -1.0, -1.0]);
        let g = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (mut ga, mut gb) = ([0.0f32; 3], [0.0f32; 1]);
        unsafe {
            select_backward(ga.as_mut_ptr(), gb.as_mut_ptr(), g.as_ptr(), cond.as_ptr() as *const f32, true, &shape, &sc, &sa, &sb)
        };
        assert_eq!(ga, [1.0, 2.0, 3.0]);
        assert_eq!(gb, [15.0]);
    }
}
