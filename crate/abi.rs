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

// ---------------------------------------------------------------------------------------------
// ops (element-wise, reductions, activations, softmax, embedding) — see crate/ops
// ---------------------------------------------------------------------------------------------
//
// Buffers are f32 unless typed otherwise; `n`, `rows`, `v`, `c` are element counts. Map kernels
// marked "in place ok" accept `out` equal to an input (partial overlap is never allowed).
// Backward kernels ACCUMULATE into their gradient outputs unless marked "overwrites".

use crate::ops::{activation, elementwise as ew, embedding, reduce, softmax};

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

/// Fused: returns the mean loss (as `lw_cross_entropy_forward`) and OVERWRITES dlogits (rows,v)
/// with `(softmax - onehot) * dloss / count` on counted rows, 0 on ignored rows (all 0 when
/// every row is ignored). `dlogits` may equal `logits`.
#[no_mangle]
pub unsafe extern "C" fn lw_softmax_cross_entropy(
    dlogits: *mut f32, logits: *const f32, targets: *const i32, rows: usize, v: usize,
    ignore_index: i32, dloss: f32,
) -> f32 {
    softmax::softmax_cross_entropy(dlogits, logits, si(targets, rows), rows, v, ignore_index, dloss)
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
