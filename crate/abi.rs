//! Every `extern "C"` export of the wasm module, in one place: thin shims from pointers and sizes
//! to slices, then a call into a kernel. The TypeScript layer checks shapes, dtypes and indices
//! before it calls any of these; the shims trust their arguments.
//!
//! Pointers are byte offsets into linear memory. Lengths are element counts.

#![allow(clippy::missing_safety_doc)]
#![allow(clippy::too_many_arguments)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::slice;

const ALIGN: usize = 16;

/// Allocates `bytes` zeroed bytes, 16-byte aligned. Returns 0 when out of memory.
/// The caller owns the block and must release it with `lw_free(ptr, bytes)`.
#[no_mangle]
pub extern "C" fn lw_alloc(bytes: usize) -> *mut u8 {
    let layout = match Layout::from_size_align(bytes.max(1), ALIGN) {
        Ok(l) => l,
        Err(_) => return core::ptr::null_mut(),
    };
    unsafe { alloc_zeroed(layout) }
}

/// 1 in the relaxed-SIMD build (cargo feature `relaxed`), 0 in the SIMD128 build: the loader reports
/// which build it runs from the module itself, whatever its source.
#[no_mangle]
pub extern "C" fn lw_relaxed_simd() -> u32 {
    cfg!(feature = "relaxed") as u32
}

/// Reserves the module's own fixed scratch (the GEMM packing buffers, 4.1 MiB) so that no
/// kernel but the recurrent ones (which report it) ever needs memory it may not get. Call once
/// after instantiating; returns 1 on success, 0 when memory cannot grow that far.
#[no_mangle]
pub extern "C" fn lw_init() -> u32 {
    crate::gemm::reserve_pack_buffers().is_ok() as u32
}

/// Caps the bytes of live blocks (tensors and kernel scratch) at `bytes`; 0 removes the cap.
/// Blocks already live stay; past the cap `lw_alloc` returns 0 and kernels report out-of-memory.
#[no_mangle]
pub extern "C" fn lw_set_memory_limit(bytes: usize) {
    crate::budget::set_limit(if bytes == 0 { usize::MAX } else { bytes });
}

/// Bytes in live blocks (tensors, kernel scratch, the packing buffers).
#[no_mangle]
pub extern "C" fn lw_live_bytes() -> usize {
    crate::budget::live_bytes()
}

/// Releases a block from `lw_alloc`; `bytes` must be the size it was allocated with.
#[no_mangle]
pub unsafe extern "C" fn lw_free(ptr: *mut u8, bytes: usize) {
    if ptr.is_null() {
        return;
    }
    dealloc(ptr, Layout::from_size_align_unchecked(bytes.max(1), ALIGN));
}

#[inline(always)]
pub(crate) unsafe fn s<'a>(p: *const f32, n: usize) -> &'a [f32] {
    if n == 0 { &[] } else { slice::from_raw_parts(p, n) }
}
#[inline(always)]
pub(crate) unsafe fn sm<'a>(p: *mut f32, n: usize) -> &'a mut [f32] {
    if n == 0 { &mut [] } else { slice::from_raw_parts_mut(p, n) }
}
#[inline(always)]
pub(crate) unsafe fn smi<'a>(p: *mut i32, n: usize) -> &'a mut [i32] {
    if n == 0 { &mut [] } else { slice::from_raw_parts_mut(p, n) }
}
#[inline(always)]
pub(crate) unsafe fn si<'a>(p: *const i32, n: usize) -> &'a [i32] {
    if n == 0 { &[] } else { slice::from_raw_parts(p, n) }
}

// ---------------------------------------------------------------------------------------------
// gemm
// ---------------------------------------------------------------------------------------------

/// `C = alpha * op(A) * op(B) + beta * C`, row-major. op(A) is (M,K), op(B) is (K,N), C is (M,N).
/// `trans_a != 0` means A is stored (K,M); `trans_b != 0` means B is stored (N,K).
/// When beta is 0, C is not read (NaN in C does not propagate).
#[no_mangle]
pub unsafe extern "C" fn lw_sgemm(
    trans_a: u32, trans_b: u32, m: usize, n: usize, k: usize, alpha: f32,
    a: *const f32, lda: usize, b: *const f32, ldb: usize, beta: f32, c: *mut f32, ldc: usize,
) {
    let a_len = if m == 0 || k == 0 { 0 } else if trans_a != 0 { (k - 1) * lda + m } else { (m - 1) * lda + k };
    let b_len = if n == 0 || k == 0 { 0 } else if trans_b != 0 { (n - 1) * ldb + k } else { (k - 1) * ldb + n };
    let c_len = if m == 0 || n == 0 { 0 } else { (m - 1) * ldc + n };
    crate::gemm::sgemm(
        trans_a != 0, trans_b != 0, m, n, k, alpha,
        s(a, a_len), lda, s(b, b_len), ldb, beta, sm(c, c_len), ldc,
    );
}

/// out (batch, cols, rows, inner) = x (batch, rows, cols, inner): swaps two dims, carrying blocks
/// of `inner` elements (inner = 1: transpose of the last two dims). Any 4-byte dtype.
#[no_mangle]
pub unsafe extern "C" fn lw_transpose(
    out: *mut f32, x: *const f32, batch: usize, rows: usize, cols: usize, inner: usize,
) {
    let len = batch * rows * cols * inner;
    crate::layout::transpose(batch, rows, cols, inner, s(x, len), sm(out, len));
}

/// Copies a strided view of x into a strided view of out, both over `shape`: the N-d copy behind
/// permute, expand (x stride 0), select, narrow, repeat, stack and cat. `shape`, `out_strides` and
/// `x_strides` point to `ndim` int32 each (strides in elements, >= 0; distinct indices must reach
/// distinct out elements). `out` and `x` are where index 0 writes and reads, so a window is a
/// shifted pointer. ndim <= 64. Any 4-byte dtype, copied as bits.
#[no_mangle]
pub unsafe extern "C" fn lw_strided_copy(
    out: *mut u32, x: *const u32, ndim: usize, shape: *const i32, out_strides: *const i32, x_strides: *const i32,
) {
    use crate::layout::MAX_DIMS;
    // Tables on the stack: a kernel allocates nothing it could fail to get.
    let (mut dims, mut os, mut xs) = ([0usize; MAX_DIMS], [0usize; MAX_DIMS], [0usize; MAX_DIMS]);
    for d in 0..ndim {
        dims[d] = *shape.add(d) as usize;
        os[d] = *out_strides.add(d) as usize;
        xs[d] = *x_strides.add(d) as usize;
    }
    let (dims, os, xs) = (&dims[..ndim], &os[..ndim], &xs[..ndim]);
    if dims.contains(&0) {
        return;
    }
    let reach = |strides: &[usize]| 1 + dims.iter().zip(strides).map(|(&d, &st)| (d - 1) * st).sum::<usize>();
    crate::layout::strided_copy(dims, os, xs, slice::from_raw_parts(x, reach(xs)), slice::from_raw_parts_mut(out, reach(os)));
}

// ---------------------------------------------------------------------------------------------
// ops (element-wise, reductions, activations, softmax, embedding, layer norm) — see crate/ops
// ---------------------------------------------------------------------------------------------
//
// Buffers are f32 unless typed otherwise; `n`, `rows`, `v`, `c` are element counts. Map kernels
// marked "in place ok" accept `out` equal to an input (partial overlap is never allowed).
// Backward kernels ACCUMULATE into their gradient outputs unless marked "overwrites".

use crate::ops::{activation, broadcast as ops_bc, elementwise as ew, embedding, norm, reduce, selection, softmax, unary};

/// `out = a + b`; out, a, b (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_add(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    ew::add(out, a, b, n)
}

/// `out = a - b`; out, a, b (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_sub(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    ew::sub(out, a, b, n)
}

/// `out = a * b`; out, a, b (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_mul(out: *mut f32, a: *const f32, b: *const f32, n: usize) {
    ew::mul(out, a, b, n)
}

/// `out[r,j] = a[r,j] + b[j]`; out, a (rows,n), b (n). `out` may equal `a`, not overlap `b`.
#[no_mangle]
pub unsafe extern "C" fn lw_add_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    ew::add_bcast(out, a, b, rows, n)
}

/// `out[r,j] = a[r,j] - b[j]`; as `lw_add_bcast`.
#[no_mangle]
pub unsafe extern "C" fn lw_sub_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    ew::sub_bcast(out, a, b, rows, n)
}

/// `out[r,j] = a[r,j] * b[j]`; as `lw_add_bcast`.
#[no_mangle]
pub unsafe extern "C" fn lw_mul_bcast(out: *mut f32, a: *const f32, b: *const f32, rows: usize, n: usize) {
    ew::mul_bcast(out, a, b, rows, n)
}

/// `out[j] = sum_r a[r,j]` (accumulate == 0, overwrites) or `out[j] += ...` (accumulate != 0);
/// a (rows,n), out (n).
#[no_mangle]
pub unsafe extern "C" fn lw_sum_rows(out: *mut f32, a: *const f32, rows: usize, n: usize, accumulate: u32) {
    ew::sum_rows(sm(out, n), s(a, rows * n), rows, n, accumulate != 0)
}

/// `out = a + scalar`; out, a (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_add_scalar(out: *mut f32, a: *const f32, scalar: f32, n: usize) {
    ew::add_scalar(out, a, scalar, n)
}

/// `out = a * scalar`; out, a (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_scale(out: *mut f32, a: *const f32, scalar: f32, n: usize) {
    ew::scale(out, a, scalar, n)
}

/// `y += alpha * x`; y, x (n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_axpy(y: *mut f32, alpha: f32, x: *const f32, n: usize) {
    ew::axpy(y, alpha, x, n)
}

/// `out[i] = value`; out (n).
#[no_mangle]
pub unsafe extern "C" fn lw_fill(out: *mut f32, value: f32, n: usize) {
    ew::fill(sm(out, n), value)
}

/// `dst = src`; dst, src (n). Overlap allowed (memmove).
#[no_mangle]
pub unsafe extern "C" fn lw_copy(dst: *mut f32, src: *const f32, n: usize) {
    ew::copy(dst, src, n)
}

/// out (n) float32 = x (n) int32.
#[no_mangle]
pub unsafe extern "C" fn lw_cast_i32_to_f32(out: *mut f32, x: *const i32, n: usize) {
    ew::cast_i32_to_f32(sm(out, n), si(x, n))
}

/// out (n) int32 = x (n) float32 truncated toward zero (saturating; NaN gives 0).
#[no_mangle]
pub unsafe extern "C" fn lw_cast_f32_to_i32(out: *mut i32, x: *const f32, n: usize) {
    let out = if n == 0 { &mut [][..] } else { slice::from_raw_parts_mut(out, n) };
    ew::cast_f32_to_i32(out, s(x, n))
}

/// `sum_i a[i]` in f64 (f32 SIMD blocks of 256, blocks summed in f64); a (n).
#[no_mangle]
pub unsafe extern "C" fn lw_sum(a: *const f32, n: usize) -> f64 {
    reduce::sum(s(a, n))
}

/// `sum_i a[i]^2` in f64, accumulated as `lw_sum`; a (n).
#[no_mangle]
pub unsafe extern "C" fn lw_sum_sq(a: *const f32, n: usize) -> f64 {
    reduce::sum_sq(s(a, n))
}

/// `out = sigmoid(inp)`; out, inp (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_sigmoid_forward(out: *mut f32, inp: *const f32, n: usize) {
    activation::sigmoid_forward(out, inp, n)
}

/// `dinp += dout * y * (1 - y)`, y = sigmoid output; all (n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_sigmoid_backward(dinp: *mut f32, dout: *const f32, out: *const f32, n: usize) {
    activation::sigmoid_backward(sm(dinp, n), s(dout, n), s(out, n))
}

/// `out = tanh(inp)`; out, inp (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_tanh_forward(out: *mut f32, inp: *const f32, n: usize) {
    activation::tanh_forward(out, inp, n)
}

/// `dinp += dout * (1 - y^2)`, y = tanh output; all (n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_tanh_backward(dinp: *mut f32, dout: *const f32, out: *const f32, n: usize) {
    activation::tanh_backward(sm(dinp, n), s(dout, n), s(out, n))
}

/// `out = max(inp, 0)` (NaN stays NaN); out, inp (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_relu_forward(out: *mut f32, inp: *const f32, n: usize) {
    activation::relu_forward(out, inp, n)
}

/// `dinp += y > 0 ? dout : 0`, y = relu output; all (n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_relu_backward(dinp: *mut f32, dout: *const f32, out: *const f32, n: usize) {
    activation::relu_backward(sm(dinp, n), s(dout, n), s(out, n))
}

/// Row-wise softmax over the last dim; out, inp (rows,n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_softmax_forward(out: *mut f32, inp: *const f32, rows: usize, n: usize) {
    softmax::softmax_forward(out, inp, rows, n)
}

/// `dinp += y * (dout - sum_row(dout * y))`, y = softmax output; all (rows,n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_softmax_backward(dinp: *mut f32, dout: *const f32, out: *const f32, rows: usize, n: usize) {
    softmax::softmax_backward(sm(dinp, rows * n), s(dout, rows * n), s(out, rows * n), rows, n)
}

/// Row-wise log-softmax over the last dim; out, inp (rows,n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_log_softmax_forward(out: *mut f32, inp: *const f32, rows: usize, n: usize) {
    softmax::log_softmax_forward(out, inp, rows, n)
}

/// `dinp += dout - exp(y) * sum_row(dout)`, y = log-softmax output; all (rows,n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_log_softmax_backward(dinp: *mut f32, dout: *const f32, out: *const f32, rows: usize, n: usize) {
    softmax::log_softmax_backward(sm(dinp, rows * n), s(dout, rows * n), s(out, rows * n), rows, n)
}

/// Mean cross-entropy over rows whose target != ignore_index (0 if none); logits (rows,v),
/// targets (rows) i32 in [0,v) or == ignore_index. Needs no scratch buffer.
#[no_mangle]
pub unsafe extern "C" fn lw_cross_entropy_forward(
    logits: *const f32, targets: *const i32, rows: usize, v: usize, ignore_index: i32,
) -> f32 {
    softmax::cross_entropy_forward(s(logits, rows * v), si(targets, rows), rows, v, ignore_index)
}

/// `dlogits += (softmax(logits) - onehot) * dloss / count` on counted rows; ignored rows (and
/// everything, when all rows are ignored) untouched. Accumulates. dlogits, logits (rows,v).
#[no_mangle]
pub unsafe extern "C" fn lw_cross_entropy_backward(
    dlogits: *mut f32, logits: *const f32, targets: *const i32, rows: usize, v: usize,
    ignore_index: i32, dloss: f32,
) {
    softmax::cross_entropy_backward(
        sm(dlogits, rows * v), s(logits, rows * v), si(targets, rows), rows, v, ignore_index, dloss,
    )
}

/// `out[r,:] = table[ids[r],:]`; out (rows,c), table (v,c), ids (rows) i32 in [0,v).
#[no_mangle]
pub unsafe extern "C" fn lw_embedding_forward(
    out: *mut f32, table: *const f32, ids: *const i32, rows: usize, v: usize, c: usize,
) {
    embedding::embedding_forward(sm(out, rows * c), s(table, v * c), si(ids, rows), c)
}

/// `dtable[ids[r],:] += dout[r,:]` for ids[r] != padding_idx (-1 for none). Accumulates;
/// repeated ids sum. dtable (v,c), dout (rows,c), ids (rows) i32.
#[no_mangle]
pub unsafe extern "C" fn lw_embedding_backward(
    dtable: *mut f32, dout: *const f32, ids: *const i32, rows: usize, v: usize, c: usize, padding_idx: i32,
) {
    embedding::embedding_backward(sm(dtable, v * c), s(dout, rows * c), si(ids, rows), c, padding_idx)
}

/// Layer norm over the last dim: `out = (x - mean) * rstd * weight + bias`; out, x (rows,n),
/// mean, rstd (rows) written when non-null (backward reads them), weight, bias (n) or null (ones,
/// zeros). Biased variance, `rstd = 1/sqrt(var + eps)`.
#[no_mangle]
pub unsafe extern "C" fn lw_layer_norm_forward(
    out: *mut f32, mean: *mut f32, rstd: *mut f32, x: *const f32, weight: *const f32, bias: *const f32,
    rows: usize, n: usize, eps: f32,
) {
    norm::layer_norm_forward(
        sm(out, rows * n), opt_mut(mean, rows), opt_mut(rstd, rows), s(x, rows * n), opt(weight, n), opt(bias, n),
        rows, n, eps,
    )
}

/// Layer norm backward: `dx`, `dweight`, `dbias` each null (not wanted) or ACCUMULATED into;
/// dx, dout, x (rows,n), mean, rstd (rows) from the forward, weight (n) or null (ones).
#[no_mangle]
pub unsafe extern "C" fn lw_layer_norm_backward(
    dx: *mut f32, dweight: *mut f32, dbias: *mut f32, dout: *const f32, x: *const f32, mean: *const f32,
    rstd: *const f32, weight: *const f32, rows: usize, n: usize,
) {
    norm::layer_norm_backward(
        opt_mut(dx, rows * n), opt_mut(dweight, n), opt_mut(dbias, n), s(dout, rows * n), s(x, rows * n),
        s(mean, rows), s(rstd, rows), opt(weight, n), rows, n,
    )
}

// ----- broadcasting and element-wise math — see crate/ops/broadcast.rs and unary.rs -----------
//
// A broadcast is `ndim` dims (1..=MAX_BCAST_DIMS) and a table `dims` of i32: the output shape
// (ndim), then one stride row (ndim, in elements, 0 on a broadcast dim) per input, in argument
// order. The output (and dout) is contiguous in that shape. Op codes: binary 0 add, 1 sub, 2 mul,
// 3 div, 4 pow, 5 maximum, 6 minimum; compare 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge; unary 0 neg,
// 1 exp, 2 log, 3 sqrt, 4 abs, 5 pow (x^p0), 6 clamp (p0 min, p1 max, +-inf when absent).
// An unknown code does nothing. Outputs never overlap inputs here except the unary forward.

/// Most dims a broadcast table may describe (after the caller merges adjacent dims).
pub const MAX_BCAST_DIMS: usize = 16;

/// The table's `rows` rows of `ndim`, as usize.
unsafe fn bcast_table<const R: usize>(ndim: usize, dims: *const i32) -> [[usize; MAX_BCAST_DIMS]; R] {
    let mut t = [[0usize; MAX_BCAST_DIMS]; R];
    let raw = si(dims, R * ndim);
    for r in 0..R {
        for d in 0..ndim.min(MAX_BCAST_DIMS) {
            t[r][d] = raw[r * ndim + d] as usize;
        }
    }
    t
}

/// `out = op(a, b)` broadcast; out (shape), a and b at their strides. Table rows: shape, a, b.
#[no_mangle]
pub unsafe extern "C" fn lw_binary_bcast(op: u32, out: *mut f32, a: *const f32, b: *const f32, ndim: usize, dims: *const i32) {
    let op = match ops_bc::BinOp::from_code(op) {
        Some(op) if ndim <= MAX_BCAST_DIMS => op,
        _ => return,
    };
    let [shape, sa, sb] = bcast_table::<3>(ndim, dims);
    ops_bc::binary(op, out, a, b, &shape[..ndim], &sa[..ndim], &sb[..ndim])
}

/// `da += d op/da * dout`, `db += d op/db * dout` at a's and b's strides (so broadcast dims sum);
/// dout (shape). `da`/`db` 0 = not wanted. Accumulates. Table rows: shape, a, b.
#[no_mangle]
pub unsafe extern "C" fn lw_binary_bcast_backward(
    op: u32, da: *mut f32, db: *mut f32, dout: *const f32, a: *const f32, b: *const f32, ndim: usize, dims: *const i32,
) {
    let op = match ops_bc::BinOp::from_code(op) {
        Some(op) if ndim <= MAX_BCAST_DIMS => op,
        _ => return,
    };
    let [shape, sa, sb] = bcast_table::<3>(ndim, dims);
    ops_bc::binary_backward(op, da, db, dout, a, b, &shape[..ndim], &sa[..ndim], &sb[..ndim])
}

/// `out = cmp(a, b) ? 1.0 : 0.0` broadcast (f32 output); a, b both f32, or both i32 when
/// `int32 != 0`. Table rows: shape, a, b.
#[no_mangle]
pub unsafe extern "C" fn lw_compare_bcast(op: u32, out: *mut f32, a: *const f32, b: *const f32, int32: u32, ndim: usize, dims: *const i32) {
    let op = match ops_bc::CmpOp::from_code(op) {
        Some(op) if ndim <= MAX_BCAST_DIMS => op,
        _ => return,
    };
    let [shape, sa, sb] = bcast_table::<3>(ndim, dims);
    ops_bc::compare(op, out, a, b, int32 != 0, &shape[..ndim], &sa[..ndim], &sb[..ndim])
}

/// `out = cond != 0 ? a : b` broadcast; cond f32, or i32 when `cond_int32 != 0`. Table rows:
/// shape, cond, a, b.
#[no_mangle]
pub unsafe extern "C" fn lw_where_bcast(out: *mut f32, cond: *const f32, a: *const f32, b: *const f32, cond_int32: u32, ndim: usize, dims: *const i32) {
    if ndim > MAX_BCAST_DIMS {
        return;
    }
    let [shape, sc, sa, sb] = bcast_table::<4>(ndim, dims);
    ops_bc::select(out, cond, a, b, cond_int32 != 0, &shape[..ndim], &sc[..ndim], &sa[..ndim], &sb[..ndim])
}

/// `da += cond ? dout : 0`, `db += cond ? 0 : dout` at a's and b's strides; 0 = not wanted.
/// Accumulates. Table rows: shape, cond, a, b.
#[no_mangle]
pub unsafe extern "C" fn lw_where_bcast_backward(
    da: *mut f32, db: *mut f32, dout: *const f32, cond: *const f32, cond_int32: u32, ndim: usize, dims: *const i32,
) {
    if ndim > MAX_BCAST_DIMS {
        return;
    }
    let [shape, sc, sa, sb] = bcast_table::<4>(ndim, dims);
    ops_bc::select_backward(da, db, dout, cond, cond_int32 != 0, &shape[..ndim], &sc[..ndim], &sa[..ndim], &sb[..ndim])
}

/// `out = op(x; p0, p1)`; out, x (n). In place ok.
#[no_mangle]
pub unsafe extern "C" fn lw_unary_forward(op: u32, out: *mut f32, x: *const f32, n: usize, p0: f32, p1: f32) {
    if let Some(op) = unary::UnaryOp::from_code(op) {
        unary::unary_forward(op, out, x, n, p0, p1)
    }
}

/// `dinp += dout * op'(x)`, y = forward output; all (n). Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_unary_backward(op: u32, dinp: *mut f32, dout: *const f32, x: *const f32, y: *const f32, n: usize, p0: f32, p1: f32) {
    if let Some(op) = unary::UnaryOp::from_code(op) {
        unary::unary_backward(op, sm(dinp, n), s(dout, n), s(x, n), s(y, n), p0, p1)
    }
}

// ----- selections along a dim — see crate/ops/selection.rs ------------------------------------
//
// A tensor seen as (outer, d, inner) around the dim; index buffers i32, every index in [0, d)
// (checked by the caller). NaN is the largest value; ties go to the lower index.

/// `values[o,i]`, `indices[o,i]` = max (min when `min != 0`) over d of x[o,:,i] and its first
/// index; values, indices (outer,inner); x (outer,d,inner), d >= 1. Overwrites.
#[no_mangle]
pub unsafe extern "C" fn lw_max_dim(values: *mut f32, indices: *mut i32, x: *const f32, outer: usize, d: usize, inner: usize, min: u32) {
    let n = outer * inner;
    selection::max_dim(sm(values, n), smi(indices, n), s(x, outer * d * inner), outer, d, inner, min != 0)
}

/// The k largest (`largest != 0`) or smallest of each x[o,:,i], sorted, with their indices;
/// values, indices (outer,k,inner); x (outer,d,inner), k <= d. O(k d) per line. Overwrites.
#[no_mangle]
pub unsafe extern "C" fn lw_topk(
    values: *mut f32, indices: *mut i32, x: *const f32, outer: usize, d: usize, inner: usize, k: usize, largest: u32,
) {
    let n = outer * k * inner;
    selection::topk(sm(values, n), smi(indices, n), s(x, outer * d * inner), outer, d, inner, k, largest != 0)
}

/// `out[o,j,i] = x[o, index[o,j,i], i]`; out, index (outer,k,inner); x (outer,d,inner). Overwrites.
#[no_mangle]
pub unsafe extern "C" fn lw_gather(out: *mut u32, x: *const u32, index: *const i32, outer: usize, d: usize, k: usize, inner: usize) {
    // A bit copy of 4-byte elements: float32 and int32 alike (NaN payloads kept).
    let n = outer * k * inner;
    let out = if n == 0 { &mut [][..] } else { slice::from_raw_parts_mut(out, n) };
    let src = outer * d * inner;
    let x = if src == 0 { &[][..] } else { slice::from_raw_parts(x, src) };
    selection::gather(out, x, si(index, n), outer, d, k, inner)
}

/// `dx[o, index[o,j,i], i] += dout[o,j,i]` (repeated indices sum); shapes as `lw_gather`. Accumulates.
#[no_mangle]
pub unsafe extern "C" fn lw_gather_backward(dx: *mut f32, dout: *const f32, index: *const i32, outer: usize, d: usize, k: usize, inner: usize) {
    let n = outer * k * inner;
    selection::gather_backward(sm(dx, outer * d * inner), s(dout, n), si(index, n), outer, d, k, inner)
}


// ---------------------------------------------------------------------------------------------
// optimizers — see crate/optim.rs
// ---------------------------------------------------------------------------------------------
//
// Hyperparameters are f64 (JS numbers) so PyTorch's double-precision constants are reproduced;
// `step` is 1-based (1 on the first update). All buffers (n) and updated in place.

/// torch.optim.SGD step on p (n) with grad g (n). `buf` (n) is the momentum buffer, ignored
/// (may be 0) when momentum == 0; on step 1 it is overwritten with the (decayed) grad, so it
/// need not be initialized. `nesterov != 0` enables Nesterov momentum.
#[no_mangle]
pub unsafe extern "C" fn lw_sgd_step(
    p: *mut f32, g: *const f32, buf: *mut f32, n: usize,
    lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: u32, step: u32,
) {
    let buf_len = if momentum != 0.0 { n } else { 0 };
    crate::optim::sgd_step(
        sm(p, n), s(g, n), sm(buf, buf_len), lr, momentum, dampening, weight_decay, nesterov != 0, step,
    )
}

/// torch.optim.Adam step (L2 weight decay added to the grad). m, v (n): exp_avg, exp_avg_sq,
/// zero-initialized before step 1.
#[no_mangle]
pub unsafe extern "C" fn lw_adam_step(
    p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: u32,
) {
    crate::optim::adam_step(sm(p, n), s(g, n), sm(m, n), sm(v, n), lr, beta1, beta2, eps, weight_decay, step, false)
}

/// torch.optim.AdamW step (decoupled decay `p *= 1 - lr * weight_decay`); as `lw_adam_step`.
#[no_mangle]
pub unsafe extern "C" fn lw_adamw_step(
    p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: u32,
) {
    crate::optim::adam_step(sm(p, n), s(g, n), sm(m, n), sm(v, n), lr, beta1, beta2, eps, weight_decay, step, true)
}

// ---------------------------------------------------------------------------------------------
// recurrent layers — see crate/rnn
// ---------------------------------------------------------------------------------------------
//
// One call runs one direction of one layer over a whole sequence, PyTorch semantics.
// Sizes: t time, b batch, i input features, h hidden, p LSTM projection size (pass p = h when
// there is no projection; GRU/RNN have no p). x (t,b,i) is time-major and contiguous; gate order
// LSTM i,f,g,o, GRU r,z,n; w_ih (G,i), w_hh (G,p), b_ih/b_hh (G), w_hr (p,h) with G = 4h/3h/h.
// A pointer of 0 means absent: no bias (b_ih, b_hh each), zero h0/c0, no lengths, no cache (pure
// inference: only O(max(b,64)*G) reusable scratch), gradient not wanted, zero dy/dh_n/dc_n.
// `lengths` (b) i32, each in 1..=t, any order: at time t rows with t >= len[b] are masked (state
// carried, y row 0, no gradient), which is PyTorch's packed-sequence behaviour for both
// directions. `reverse != 0` processes t = t-1 down to 0.
// y / dy rows are strided: row (t,b) starts at element (t*b_size + b) * ldy (ldy >= p), so both
// directions of a bidirectional layer share one (t,b,2p) buffer. y, h_n, c_n are OVERWRITTEN.
// `cache` (length from lw_*_cache_len, f32) is written by forward and read by backward with the
// same x, weights, lengths and direction. Backward ACCUMULATES into dx, dw_*, db_*, dh0, dc0.
// Forward and backward return 0, or, when memory cannot hold their scratch, the bytes of the
// request that failed (at least 1): then nothing was written (see crate/scratch.rs).

use crate::rnn::{self, Dims, LayerWeights, Seq, WeightGrads, Weights};
use crate::quant::{self, Matrix, Prepared};
use crate::decode::Dtype;
use crate::scratch::OutOfMemory;

/// The status a recurrent export returns: 0, or the bytes it failed to reserve (at least 1).
fn status(result: Result<(), OutOfMemory>) -> usize {
    match result {
        Ok(()) => 0,
        Err(e) => e.bytes.max(1),
    }
}

#[inline(always)]
unsafe fn opt<'a>(p: *const f32, n: usize) -> Option<&'a [f32]> {
    if p.is_null() { None } else { Some(s(p, n)) }
}
#[inline(always)]
unsafe fn opt_mut<'a>(p: *mut f32, n: usize) -> Option<&'a mut [f32]> {
    if p.is_null() { None } else { Some(sm(p, n)) }
}
#[inline(always)]
unsafe fn opt_i32<'a>(p: *const i32, n: usize) -> Option<&'a [i32]> {
    if p.is_null() { None } else { Some(si(p, n)) }
}
/// Elements spanned by `rows` rows of `width` at row stride `ld`.
#[inline(always)]
fn strided_len(rows: usize, width: usize, ld: usize) -> usize {
    if rows == 0 || width == 0 { 0 } else { (rows - 1) * ld + width }
}

/// `len()` when `bound` (computed in u128, where dims cannot wrap, and at least the length `len`
/// computes) fits in the address space; else `usize::MAX`, which no allocation can reach, so a
/// caller asking for an impossible cache is refused instead of handed a wrapped-around size.
fn len_within(bound: u128, len: impl FnOnce() -> usize) -> usize {
    if bound > usize::MAX as u128 { usize::MAX } else { len() }
}

fn wide(d: usize) -> u128 {
    d as u128
}

/// Floats of LSTM cache: t*b*4h + (t+1)*b*h + (t+1)*b*p (+ t*b*h if has_proj != 0). Layout:
/// gates (t,b,4h) activated i,f,g,o | c (t+1,b,h) | h (t+1,b,p) | r = o*tanh(c) (t,b,h) if proj.
/// The t+1 state rows are step boundaries indexed by time: forward direction row t = state
/// before step t; reverse direction row t+1 = state before step t.
#[no_mangle]
pub extern "C" fn lw_lstm_cache_len(t: usize, b: usize, h: usize, p: usize, has_proj: u32) -> usize {
    let bound = (wide(t) + 1) * wide(b) * (6 * wide(h) + wide(p));
    len_within(bound, || rnn::lstm::lstm_cache_len(t, b, h, p, has_proj != 0))
}

/// LSTM forward, one layer-direction. w_hr != 0 enables the projection (then p < h usually;
/// otherwise p must equal h). Writes y rows (p), h_n (b,p), c_n (b,h) (each may be 0), and the
/// cache when cache != 0. h0 (b,p), c0 (b,h).
#[no_mangle]
pub unsafe extern "C" fn lw_lstm_forward(
    t: usize, b: usize, i: usize, h: usize, p: usize,
    x: *const f32, w_ih: *const f32, w_hh: *const f32, b_ih: *const f32, b_hh: *const f32,
    w_hr: *const f32, h0: *const f32, c0: *const f32, lengths: *const i32, reverse: u32,
    y: *mut f32, ldy: usize, h_n: *mut f32, c_n: *mut f32, cache: *mut f32,
) -> usize {
    let has_proj = !w_hr.is_null();
    let g = 4 * h;
    let w = Weights {
        w_ih: s(w_ih, g * i), w_hh: s(w_hh, g * p),
        b_ih: opt(b_ih, g), b_hh: opt(b_hh, g), w_hr: opt(w_hr, p * h),
    };
    let seq = Seq { dims: Dims { t, b, i, h, p }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::lstm::lstm_forward(
        sm(y, strided_len(t * b, p, ldy)), ldy, opt_mut(h_n, b * p), opt_mut(c_n, b * h),
        opt_mut(cache, rnn::lstm::lstm_cache_len(t, b, h, p, has_proj)),
        s(x, t * b * i), &w, opt(h0, b * p), opt(c0, b * h), &seq,
    ))
}

/// LSTM backward from `cache`. dy rows (p) at stride ldy, dh_n (b,p), dc_n (b,h) (0 = zero).
/// ACCUMULATES dx (t,b,i), dw_ih (4h,i), dw_hh (4h,p), db_ih, db_hh (4h), dw_hr (p,h), dh0 (b,p),
/// dc0 (b,h); any may be 0. w_hr must be given (non-0) iff forward had a projection.
#[no_mangle]
pub unsafe extern "C" fn lw_lstm_backward(
    t: usize, b: usize, i: usize, h: usize, p: usize,
    x: *const f32, w_ih: *const f32, w_hh: *const f32, w_hr: *const f32,
    lengths: *const i32, reverse: u32, cache: *const f32,
    dy: *const f32, ldy: usize, dh_n: *const f32, dc_n: *const f32,
    dx: *mut f32, dw_ih: *mut f32, dw_hh: *mut f32, db_ih: *mut f32, db_hh: *mut f32,
    dw_hr: *mut f32, dh0: *mut f32, dc0: *mut f32,
) -> usize {
    let has_proj = !w_hr.is_null();
    let g = 4 * h;
    let w = Weights { w_ih: s(w_ih, g * i), w_hh: s(w_hh, g * p), b_ih: None, b_hh: None, w_hr: opt(w_hr, p * h) };
    let dw = WeightGrads {
        dw_ih: opt_mut(dw_ih, g * i), dw_hh: opt_mut(dw_hh, g * p),
        db_ih: opt_mut(db_ih, g), db_hh: opt_mut(db_hh, g), dw_hr: opt_mut(dw_hr, p * h),
    };
    let seq = Seq { dims: Dims { t, b, i, h, p }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::lstm::lstm_backward(
        opt_mut(dx, t * b * i), dw, opt_mut(dh0, b * p), opt_mut(dc0, b * h),
        opt(dy, strided_len(t * b, p, ldy)), ldy, opt(dh_n, b * p), opt(dc_n, b * h),
        s(x, t * b * i), &w, s(cache, rnn::lstm::lstm_cache_len(t, b, h, p, has_proj)), &seq,
    ))
}

/// Floats of GRU cache: t*b*4h + (t+1)*b*h. Layout: gates (t,b,4h) rows [r z n hn] (activated
/// r, z, n and hn = W_hn h_prev + b_hn) | h (t+1,b,h) step boundaries as for the LSTM.
#[no_mangle]
pub extern "C" fn lw_gru_cache_len(t: usize, b: usize, h: usize) -> usize {
    len_within((wide(t) + 1) * wide(b) * 5 * wide(h), || rnn::gru::gru_cache_len(t, b, h))
}

/// GRU forward, one layer-direction. h0 (b,h); writes y rows (h), h_n (b,h), cache.
#[no_mangle]
pub unsafe extern "C" fn lw_gru_forward(
    t: usize, b: usize, i: usize, h: usize,
    x: *const f32, w_ih: *const f32, w_hh: *const f32, b_ih: *const f32, b_hh: *const f32,
    h0: *const f32, lengths: *const i32, reverse: u32,
    y: *mut f32, ldy: usize, h_n: *mut f32, cache: *mut f32,
) -> usize {
    let g = 3 * h;
    let w = Weights { w_ih: s(w_ih, g * i), w_hh: s(w_hh, g * h), b_ih: opt(b_ih, g), b_hh: opt(b_hh, g), w_hr: None };
    let seq = Seq { dims: Dims { t, b, i, h, p: h }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::gru::gru_forward(
        sm(y, strided_len(t * b, h, ldy)), ldy, opt_mut(h_n, b * h),
        opt_mut(cache, rnn::gru::gru_cache_len(t, b, h)), s(x, t * b * i), &w, opt(h0, b * h), &seq,
    ))
}

/// GRU backward from `cache`. `b_hh` is accepted for symmetry and unused (hn is cached); may be 0.
/// ACCUMULATES dx (t,b,i), dw_ih (3h,i), dw_hh (3h,h), db_ih, db_hh (3h), dh0 (b,h).
#[no_mangle]
pub unsafe extern "C" fn lw_gru_backward(
    t: usize, b: usize, i: usize, h: usize,
    x: *const f32, w_ih: *const f32, w_hh: *const f32, _b_hh: *const f32,
    lengths: *const i32, reverse: u32, cache: *const f32,
    dy: *const f32, ldy: usize, dh_n: *const f32,
    dx: *mut f32, dw_ih: *mut f32, dw_hh: *mut f32, db_ih: *mut f32, db_hh: *mut f32, dh0: *mut f32,
) -> usize {
    let g = 3 * h;
    let w = Weights { w_ih: s(w_ih, g * i), w_hh: s(w_hh, g * h), b_ih: None, b_hh: None, w_hr: None };
    let dw = WeightGrads {
        dw_ih: opt_mut(dw_ih, g * i), dw_hh: opt_mut(dw_hh, g * h),
        db_ih: opt_mut(db_ih, g), db_hh: opt_mut(db_hh, g), dw_hr: None,
    };
    let seq = Seq { dims: Dims { t, b, i, h, p: h }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::gru::gru_backward(
        opt_mut(dx, t * b * i), dw, opt_mut(dh0, b * h),
        opt(dy, strided_len(t * b, h, ldy)), ldy, opt(dh_n, b * h),
        s(x, t * b * i), &w, s(cache, rnn::gru::gru_cache_len(t, b, h)), &seq,
    ))
}

/// Floats of RNN cache: (t+1)*b*h, the hidden-state step boundaries (as for the LSTM).
#[no_mangle]
pub extern "C" fn lw_rnn_cache_len(t: usize, b: usize, h: usize) -> usize {
    len_within((wide(t) + 1) * wide(b) * wide(h), || rnn::elman::rnn_cache_len(t, b, h))
}

/// Elman RNN forward (`relu != 0`: relu, else tanh), one layer-direction. h0 (b,h); writes
/// y rows (h), h_n (b,h), cache.
#[no_mangle]
pub unsafe extern "C" fn lw_rnn_forward(
    t: usize, b: usize, i: usize, h: usize, relu: u32,
    x: *const f32, w_ih: *const f32, w_hh: *const f32, b_ih: *const f32, b_hh: *const f32,
    h0: *const f32, lengths: *const i32, reverse: u32,
    y: *mut f32, ldy: usize, h_n: *mut f32, cache: *mut f32,
) -> usize {
    let w = Weights { w_ih: s(w_ih, h * i), w_hh: s(w_hh, h * h), b_ih: opt(b_ih, h), b_hh: opt(b_hh, h), w_hr: None };
    let seq = Seq { dims: Dims { t, b, i, h, p: h }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::elman::rnn_forward(
        sm(y, strided_len(t * b, h, ldy)), ldy, opt_mut(h_n, b * h),
        opt_mut(cache, rnn::elman::rnn_cache_len(t, b, h)), s(x, t * b * i), &w, opt(h0, b * h), relu != 0, &seq,
    ))
}

/// Elman RNN backward from `cache` (same `relu` as forward). ACCUMULATES dx (t,b,i),
/// dw_ih (h,i), dw_hh (h,h), db_ih, db_hh (h), dh0 (b,h).
#[no_mangle]
pub unsafe extern "C" fn lw_rnn_backward(
    t: usize, b: usize, i: usize, h: usize, relu: u32,
    x: *const f32, w_ih: *const f32, w_hh: *const f32,
    lengths: *const i32, reverse: u32, cache: *const f32,
    dy: *const f32, ldy: usize, dh_n: *const f32,
    dx: *mut f32, dw_ih: *mut f32, dw_hh: *mut f32, db_ih: *mut f32, db_hh: *mut f32, dh0: *mut f32,
) -> usize {
    let w = Weights { w_ih: s(w_ih, h * i), w_hh: s(w_hh, h * h), b_ih: None, b_hh: None, w_hr: None };
    let dw = WeightGrads {
        dw_ih: opt_mut(dw_ih, h * i), dw_hh: opt_mut(dw_hh, h * h),
        db_ih: opt_mut(db_ih, h), db_hh: opt_mut(db_hh, h), dw_hr: None,
    };
    let seq = Seq { dims: Dims { t, b, i, h, p: h }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    status(rnn::elman::rnn_backward(
        opt_mut(dx, t * b * i), dw, opt_mut(dh0, b * h),
        opt(dy, strided_len(t * b, h, ldy)), ldy, opt(dh_n, b * h),
        s(x, t * b * i), &w, s(cache, rnn::elman::rnn_cache_len(t, b, h)), relu != 0, &seq,
    ))
}

/// A matrix of `rows * cols` stored as `dtype` (0 f32, 1 int8 with `scales` (rows)).
unsafe fn matrix<'a>(dtype: Dtype, ptr: *const u8, scales: *const f32, rows: usize, cols: usize) -> Matrix<'a> {
    let n = rows * cols;
    match dtype {
        Dtype::F32 => Matrix::F32(s(ptr as *const f32, n)),
        Dtype::I8 => Matrix::I8 { q: if n == 0 { &[] } else { slice::from_raw_parts(ptr as *const i8, n) }, scales: s(scales, rows) },
    }
}

/// `matrix` when `ptr` is not 0.
unsafe fn opt_matrix<'a>(dtype: Dtype, ptr: *const u8, scales: *const f32, rows: usize, cols: usize) -> Option<Matrix<'a>> {
    if ptr.is_null() { None } else { Some(matrix(dtype, ptr, scales, rows, cols)) }
}

/// One decoding step of a recurrent stack (crate/decode.rs): `plan` (u32 words, the layout of
/// `decode::PLAN_*`) describes it; `input` is ids (B, int32) with an embedding, else floats (B,I);
/// h_in (L,B,P) and c_in (L,B,H) may be 0 (zeros); writes h_out, c_out (LSTM) and out ((B,V)
/// with a head, else (B,P)). Outputs must not overlap inputs. Returns 0, or the bytes of scratch
/// it could not get (then `out` is untouched and h_out/c_out may be half written).
#[no_mangle]
pub unsafe extern "C" fn lw_decode_step(
    plan: *const u32, input: *const u8, h_in: *const f32, c_in: *const f32,
    h_out: *mut f32, c_out: *mut f32, out: *mut f32,
) -> usize {
    use crate::decode::*;
    let word = |k: usize| *plan.add(k) as usize;
    let (kind, dtype) = match (Kind::from_code(word(PLAN_KIND) as u32), Dtype::from_code(word(PLAN_DTYPE) as u32)) {
        (Some(k), Some(d)) => (k, d),
        _ => return usize::MAX,
    };
    let (layers, b, i, h, p, v) = (word(PLAN_LAYERS), word(PLAN_BATCH), word(PLAN_INPUT), word(PLAN_HIDDEN), word(PLAN_PROJ), word(PLAN_VOCAB));
    let g = kind.gates() * h;
    let f = |k: usize| word(k) as *const f32;
    let bytes = |k: usize| word(k) as *const u8;
    let table = opt_matrix(dtype, bytes(PLAN_TABLE), f(PLAN_TABLE_SCALES), word(PLAN_TABLE_ROWS), i);
    let head = opt_matrix(dtype, bytes(PLAN_HEAD_W), f(PLAN_HEAD_SCALES), v, p).map(|w| (w, opt(f(PLAN_HEAD_B), v)));
    let weights = |l: usize| {
        let at = PLAN_HEADER + l * LAYER_WORDS;
        let in_size = if l == 0 { i } else { p };
        LayerWeights {
            w_ih: matrix(dtype, bytes(at), f(at + 5), g, in_size), w_hh: matrix(dtype, bytes(at + 1), f(at + 6), g, p),
            b_ih: opt(f(at + 2), g), b_hh: opt(f(at + 3), g), w_hr: opt_matrix(dtype, bytes(at + 4), f(at + 7), p, h),
        }
    };
    let stack = Stack { kind, b, i, h, p, table, head, v, layers, weights: &weights };
    let input = if table.is_some() { Input::Ids(si(input as *const i32, b)) } else { Input::Floats(s(input as *const f32, b * i)) };
    let hc = if kind == Kind::Lstm { layers * b * h } else { 0 };
    status(crate::decode::step(
        &stack, input, opt(h_in, layers * b * p), if hc > 0 { opt(c_in, hc) } else { None },
        sm(h_out, layers * b * p), sm(c_out, hc), sm(out, stack.out_len()),
    ))
}

// ----- quantized weights (crate/quant.rs) --------------------------------------------------------

/// `q` (rows, cols) int8 and `scales` (rows) of `w`, symmetric per row.
#[no_mangle]
pub unsafe extern "C" fn lw_quantize_i8(q: *mut i8, scales: *mut f32, w: *const f32, rows: usize, cols: usize) {
    let n = rows * cols;
    let q = if n == 0 { &mut [][..] } else { slice::from_raw_parts_mut(q, n) };
    quant::quantize_i8(q, sm(scales, rows), s(w, n), rows, cols)
}

/// `w` (rows, cols) = int8 `q` times its row's scale.
#[no_mangle]
pub unsafe extern "C" fn lw_dequantize_i8(w: *mut f32, q: *const i8, scales: *const f32, rows: usize, cols: usize) {
    let n = rows * cols;
    let q = if n == 0 { &[][..] } else { slice::from_raw_parts(q, n) };
    quant::dequantize_i8(sm(w, n), q, s(scales, rows), rows, cols)
}

/// float16 bits of `n` floats, rounded to nearest even (the caller has refused |w| > 65504 and non-finite values).
#[no_mangle]
pub unsafe extern "C" fn lw_to_f16(out: *mut u16, w: *const f32, n: usize) {
    if n > 0 {
        quant::to_f16(slice::from_raw_parts_mut(out, n), s(w, n))
    }
}

/// `n` float16 values widened to f32 (exact).
#[no_mangle]
pub unsafe extern "C" fn lw_from_f16(out: *mut f32, h: *const u16, n: usize) {
    if n > 0 {
        quant::from_f16(sm(out, n), slice::from_raw_parts(h, n))
    }
}

/// `y (M,N) = beta * y + x (M,K) @ W^T` for W (N,K) stored as `dtype` (1 int8 with `scales`;
/// 0 f32, as `lw_sgemm(0, 1, ...)` computes it). Returns 0, or the bytes of scratch it could not get.
#[no_mangle]
pub unsafe extern "C" fn lw_qmatmul(
    dtype: u32, y: *mut f32, x: *const f32, w: *const u8, scales: *const f32, m: usize, n: usize, k: usize, beta: f32,
) -> usize {
    let dtype = match Dtype::from_code(dtype) {
        Some(d) => d,
        None => return usize::MAX,
    };
    let result = Prepared::new(matrix(dtype, w, scales, n, k), k, n, 0).map(|mut p| p.gemm(m, s(x, m * k), k, beta, sm(y, m * n), n));
    status(result)
}

/// `out[r,:]` = row `ids[r]` of a (V,C) table stored as `dtype` (as `lw_qmatmul`), widened to f32.
#[no_mangle]
pub unsafe extern "C" fn lw_qembedding(dtype: u32, out: *mut f32, table: *const u8, scales: *const f32, ids: *const i32, rows: usize, v: usize, c: usize) {
    match matrix(Dtype::from_code(dtype).unwrap_or(Dtype::F32), table, scales, v, c) {
        Matrix::F32(t) => embedding::embedding_forward(sm(out, rows * c), t, si(ids, rows), c),
        Matrix::I8 { q, scales } => quant::embedding_i8(sm(out, rows * c), q, scales, si(ids, rows), c),
    }
}

/// A recurrent layer-direction over a whole sequence with quantized weights, for inference
/// (no cache, no gradient): `kind` 0 LSTM, 1 GRU, 2 RNN tanh, 3 RNN relu; matrices stored as
/// `dtype` (1 int8 with their scales, 0 f32), biases f32; otherwise `lw_lstm_forward`'s
/// contract (w_hr != 0: projection; lengths; reverse; y rows at stride ldy; h_n, c_n).
#[no_mangle]
pub unsafe extern "C" fn lw_qrnn_forward(
    kind: u32, dtype: u32, t: usize, b: usize, i: usize, h: usize, p: usize,
    x: *const f32, w_ih: *const u8, s_ih: *const f32, w_hh: *const u8, s_hh: *const f32,
    b_ih: *const f32, b_hh: *const f32, w_hr: *const u8, s_hr: *const f32,
    h0: *const f32, c0: *const f32, lengths: *const i32, reverse: u32,
    y: *mut f32, ldy: usize, h_n: *mut f32, c_n: *mut f32,
) -> usize {
    use crate::decode::Kind;
    let (kind, dtype) = match (Kind::from_code(kind), Dtype::from_code(dtype)) {
        (Some(k), Some(d)) => (k, d),
        _ => return usize::MAX,
    };
    let g = kind.gates() * h;
    let w = LayerWeights {
        w_ih: matrix(dtype, w_ih, s_ih, g, i), w_hh: matrix(dtype, w_hh, s_hh, g, p),
        b_ih: opt(b_ih, g), b_hh: opt(b_hh, g), w_hr: opt_matrix(dtype, w_hr, s_hr, p, h),
    };
    let seq = Seq { dims: Dims { t, b, i, h, p }, lengths: opt_i32(lengths, b), reverse: reverse != 0 };
    let (y, x) = (sm(y, strided_len(t * b, p, ldy)), s(x, t * b * i));
    status(match kind {
        Kind::Lstm => rnn::lstm::lstm_forward(y, ldy, opt_mut(h_n, b * p), opt_mut(c_n, b * h), None, x, &w, opt(h0, b * p), opt(c0, b * h), &seq),
        Kind::Gru => rnn::gru::gru_forward(y, ldy, opt_mut(h_n, b * h), None, x, &w, opt(h0, b * h), &seq),
        Kind::RnnTanh | Kind::RnnRelu => rnn::elman::rnn_forward(y, ldy, opt_mut(h_n, b * h), None, x, &w, opt(h0, b * h), kind == Kind::RnnRelu, &seq),
    })
}
