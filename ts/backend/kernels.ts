/**
 * The kernel ABI: one entry per `lw_*` export of the Rust crate (crate/abi.rs), same names and
 * argument order. Pointers are byte offsets into backend memory, `n`/`rows`/... element counts,
 * flags 0/1. Outputs come first (llm.c order), except `lw_sgemm` which keeps BLAS order.
 * "accumulates" means the kernel adds into its output (`+=`); the caller zeroes it first.
 */
type Ptr = number;

export interface Kernels {
  /** C (M,N) = alpha op(A) op(B) + beta C; op(A) (M,K), op(B) (K,N); beta = 0 never reads C. */
  lw_sgemm(transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    a: Ptr, lda: number, b: Ptr, ldb: number, beta: number, c: Ptr, ldc: number): void;
  /** out (batch, cols, rows, inner) = x (batch, rows, cols, inner); inner = 1 transposes the last two dims. Any 4-byte dtype. */
  lw_transpose(out: Ptr, x: Ptr, batch: number, rows: number, cols: number, inner: number): void;
  /**
   * out[sum i_d * outStrides[d]] = x[sum i_d * xStrides[d]] over every index of `shape`: a strided
   * view of x into a strided view of out (gather, expand with stride 0, scatter into a window).
   * `shape`, `outStrides`, `xStrides` point to `ndim` int32 each (elements, >= 0). ndim <= 64.
   * Any 4-byte dtype, copied as bits.
   */
  lw_strided_copy(out: Ptr, x: Ptr, ndim: number, shape: Ptr, outStrides: Ptr, xStrides: Ptr): void;

  lw_add(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  lw_sub(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  lw_mul(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  /** out[i*n + j] = a[i*n + j] (op) b[j]; a, out (rows, n), b (n). */
  lw_add_bcast(out: Ptr, a: Ptr, b: Ptr, rows: number, n: number): void;
  lw_sub_bcast(out: Ptr, a: Ptr, b: Ptr, rows: number, n: number): void;
  lw_mul_bcast(out: Ptr, a: Ptr, b: Ptr, rows: number, n: number): void;
  /** out[j] (=|+=) sum_i a[i*n + j]; accumulates when `accumulate` is 1. */
  lw_sum_rows(out: Ptr, a: Ptr, rows: number, n: number, accumulate: number): void;
  lw_add_scalar(out: Ptr, a: Ptr, scalar: number, n: number): void;
  lw_scale(out: Ptr, a: Ptr, scalar: number, n: number): void;
  /** y += alpha * x */
  lw_axpy(y: Ptr, alpha: number, x: Ptr, n: number): void;
  lw_fill(out: Ptr, value: number, n: number): void;
  /** Copies n 4-byte elements (any dtype); overlapping ranges are allowed only if dst == src. */
  lw_copy(dst: Ptr, src: Ptr, n: number): void;
  /** out float32 (n) = x int32 (n). */
  lw_cast_i32_to_f32(out: Ptr, x: Ptr, n: number): void;
  /** out int32 (n) = x float32 (n) truncated toward zero; saturates past the int32 range, NaN gives 0. */
  lw_cast_f32_to_i32(out: Ptr, x: Ptr, n: number): void;
  // Broadcasting (crate/ops/broadcast.rs): `dims` points at an int32 table of the output shape
  // (ndim, 1..16, contiguous output) then one stride row (ndim, elements, 0 = broadcast) per
  // input in argument order. Binary ops 0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 maximum, 6 minimum;
  // comparisons 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge (write 1.0 / 0.0). Backward kernels accumulate
  // at the inputs' strides (broadcast dims sum); a gradient pointer of 0 is not wanted.
  lw_binary_bcast(op: number, out: Ptr, a: Ptr, b: Ptr, ndim: number, dims: Ptr): void;
  lw_binary_bcast_backward(op: number, da: Ptr, db: Ptr, dout: Ptr, a: Ptr, b: Ptr, ndim: number, dims: Ptr): void;
  /** a, b float32, or int32 when `int32` is 1; out float32 0/1. */
  lw_compare_bcast(op: number, out: Ptr, a: Ptr, b: Ptr, int32: number, ndim: number, dims: Ptr): void;
  /** out = cond != 0 ? a : b; cond float32, or int32 when `condInt32` is 1. Table: shape, cond, a, b. */
  lw_where_bcast(out: Ptr, cond: Ptr, a: Ptr, b: Ptr, condInt32: number, ndim: number, dims: Ptr): void;
  lw_where_bcast_backward(da: Ptr, db: Ptr, dout: Ptr, cond: Ptr, condInt32: number, ndim: number, dims: Ptr): void;
  /** out = op(x; p0, p1): 0 neg, 1 exp, 2 log, 3 sqrt, 4 abs, 5 pow (x^p0), 6 clamp (p0 min, p1 max). In place ok. */
  lw_unary_forward(op: number, out: Ptr, x: Ptr, n: number, p0: number, p1: number): void;
  /** dinp += dout * op'(x), y = forward output (accumulates). */
  lw_unary_backward(op: number, dinp: Ptr, dout: Ptr, x: Ptr, y: Ptr, n: number, p0: number, p1: number): void;
  // Selections along a dim (crate/ops/selection.rs): tensors as (outer, d, inner), int32 indices
  // in [0, d); NaN is the largest value, ties go to the lower index. All overwrite, but the
  // gather backward, which accumulates (repeated indices sum).
  /** values, indices (outer, inner) = max (min when `min` is 1) over d and its first index. */
  lw_max_dim(values: Ptr, indices: Ptr, x: Ptr, outer: number, d: number, inner: number, min: number): void;
  /** values, indices (outer, k, inner): the k largest (or smallest) of each line, sorted; k <= d. */
  lw_topk(values: Ptr, indices: Ptr, x: Ptr, outer: number, d: number, inner: number, k: number, largest: number): void;
  /** out[o,j,i] = x[o, index[o,j,i], i]; out, index (outer, k, inner), x (outer, d, inner). */
  /** out = x gathered along a dim by int32 index; a bit copy of 4-byte elements (float32 or int32). */
  lw_gather(out: Ptr, x: Ptr, index: Ptr, outer: number, d: number, k: number, inner: number): void;
  /** dx[o, index[o,j,i], i] += dout[o,j,i] (accumulates). */
  lw_gather_backward(dx: Ptr, dout: Ptr, index: Ptr, outer: number, d: number, k: number, inner: number): void;
  /** Sum in f64. */
  lw_sum(a: Ptr, n: number): number;
  /** Sum of squares in f64. */
  lw_sum_sq(a: Ptr, n: number): number;

  lw_sigmoid_forward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += dout * out * (1 - out) (accumulates) */
  lw_sigmoid_backward(dinp: Ptr, dout: Ptr, out: Ptr, n: number): void;
  lw_tanh_forward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += dout * (1 - out^2) (accumulates) */
  lw_tanh_backward(dinp: Ptr, dout: Ptr, out: Ptr, n: number): void;
  lw_relu_forward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += dout where out > 0 (accumulates) */
  lw_relu_backward(dinp: Ptr, dout: Ptr, out: Ptr, n: number): void;

  /** Row-wise over (rows, n). */
  lw_softmax_forward(out: Ptr, inp: Ptr, rows: number, n: number): void;
  /** Accumulates into dinp, from the forward output. */
  lw_softmax_backward(dinp: Ptr, dout: Ptr, out: Ptr, rows: number, n: number): void;
  lw_log_softmax_forward(out: Ptr, inp: Ptr, rows: number, n: number): void;
  lw_log_softmax_backward(dinp: Ptr, dout: Ptr, out: Ptr, rows: number, n: number): void;

  /** Mean cross-entropy over rows whose target != ignoreIndex (0 if none); logits (rows, v), targets int32 (rows). */
  lw_cross_entropy_forward(logits: Ptr, targets: Ptr, rows: number, v: number, ignoreIndex: number): number;
  /** dlogits += (softmax - onehot) * dloss / count on counted rows (accumulates). */
  lw_cross_entropy_backward(dlogits: Ptr, logits: Ptr, targets: Ptr, rows: number, v: number, ignoreIndex: number, dloss: number): void;

  /** out[r,:] = table[ids[r],:]; out (rows, c), table (v, c), ids int32 (rows) in [0, v). */
  lw_embedding_forward(out: Ptr, table: Ptr, ids: Ptr, rows: number, v: number, c: number): void;
  /** dtable[ids[r],:] += dout[r,:] unless ids[r] == paddingIdx (-1: none). Accumulates. */
  lw_embedding_backward(dtable: Ptr, dout: Ptr, ids: Ptr, rows: number, v: number, c: number, paddingIdx: number): void;

  /**
   * Layer norm over the last dim: out = (x - mean) * rstd * weight + bias; out, x (rows, n); mean,
   * rstd (rows) written unless 0; weight, bias (n) or 0 (ones, zeros). Biased variance, rstd = 1/sqrt(var + eps).
   */
  lw_layer_norm_forward(out: Ptr, mean: Ptr, rstd: Ptr, x: Ptr, weight: Ptr, bias: Ptr, rows: number, n: number, eps: number): void;
  /** dx, dweight, dbias each 0 (not wanted) or accumulated into; mean, rstd from the forward; weight (n) or 0 (ones). */
  lw_layer_norm_backward(dx: Ptr, dweight: Ptr, dbias: Ptr, dout: Ptr, x: Ptr, mean: Ptr, rstd: Ptr, weight: Ptr,
    rows: number, n: number): void;

  /** torch.optim.SGD step; buf ignored (may be 0) when momentum is 0; step is 1-based. */
  lw_sgd_step(p: Ptr, g: Ptr, buf: Ptr, n: number, lr: number, momentum: number, dampening: number,
    weightDecay: number, nesterov: number, step: number): void;
  /** torch.optim.Adam step; m, v zero before step 1. */
  lw_adam_step(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number): void;
  /** torch.optim.AdamW step (decoupled weight decay). */
  lw_adamw_step(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number): void;

  // Recurrent layers: one call per layer-direction for a whole sequence (crate/rnn). Pointer 0 =
  // absent (no bias, zero initial state, no lengths, no cache = inference, no gradient wanted).
  // x (T,B,I) time-major; y/dy rows of stride ldy; backward ACCUMULATES into every gradient.
  // `*_cache_len` returns 2^32 - 1 (read it with `>>> 0`) when the cache would not fit in 4 GiB.
  // Forward and backward return a status: 0, or the bytes of scratch they could not reserve
  // (then they wrote nothing); see `kernelStatus` in ts/backend/memory.ts.
  lw_lstm_cache_len(t: number, b: number, h: number, p: number, hasProj: number): number;
  lw_lstm_forward(t: number, b: number, i: number, h: number, p: number, x: Ptr, wIh: Ptr, wHh: Ptr, bIh: Ptr, bHh: Ptr,
    wHr: Ptr, h0: Ptr, c0: Ptr, lengths: Ptr, reverse: number, y: Ptr, ldy: number, hN: Ptr, cN: Ptr, cache: Ptr): number;
  lw_lstm_backward(t: number, b: number, i: number, h: number, p: number, x: Ptr, wIh: Ptr, wHh: Ptr, wHr: Ptr,
    lengths: Ptr, reverse: number, cache: Ptr, dy: Ptr, ldy: number, dhN: Ptr, dcN: Ptr, dx: Ptr, dwIh: Ptr,
    dwHh: Ptr, dbIh: Ptr, dbHh: Ptr, dwHr: Ptr, dh0: Ptr, dc0: Ptr): number;
  lw_gru_cache_len(t: number, b: number, h: number): number;
  lw_gru_forward(t: number, b: number, i: number, h: number, x: Ptr, wIh: Ptr, wHh: Ptr, bIh: Ptr, bHh: Ptr,
    h0: Ptr, lengths: Ptr, reverse: number, y: Ptr, ldy: number, hN: Ptr, cache: Ptr): number;
  lw_gru_backward(t: number, b: number, i: number, h: number, x: Ptr, wIh: Ptr, wHh: Ptr, bHh: Ptr, lengths: Ptr,
    reverse: number, cache: Ptr, dy: Ptr, ldy: number, dhN: Ptr, dx: Ptr, dwIh: Ptr, dwHh: Ptr, dbIh: Ptr,
    dbHh: Ptr, dh0: Ptr): number;
  lw_rnn_cache_len(t: number, b: number, h: number): number;
  lw_rnn_forward(t: number, b: number, i: number, h: number, relu: number, x: Ptr, wIh: Ptr, wHh: Ptr, bIh: Ptr,
    bHh: Ptr, h0: Ptr, lengths: Ptr, reverse: number, y: Ptr, ldy: number, hN: Ptr, cache: Ptr): number;
  lw_rnn_backward(t: number, b: number, i: number, h: number, relu: number, x: Ptr, wIh: Ptr, wHh: Ptr,
    lengths: Ptr, reverse: number, cache: Ptr, dy: Ptr, ldy: number, dhN: Ptr, dx: Ptr, dwIh: Ptr, dwHh: Ptr,
    dbIh: Ptr, dbHh: Ptr, dh0: Ptr): number;

  // One decoding step of a whole stack ([Embedding ->] L unidirectional layers [-> Linear head],
  // T = 1) in one call: the kernels above composed as the module path composes them, so the same
  // numbers (crate/decode.rs). `plan` is int32 words laid out as `DECODE_PLAN` says; `input` ids
  // (B) with an embedding, else floats (B,I); hIn/cIn 0 for zeros; outputs must not overlap
  // inputs. Returns the status of the recurrent kernels.
  lw_decode_step(plan: Ptr, input: Ptr, hIn: Ptr, cIn: Ptr, hOut: Ptr, cOut: Ptr, out: Ptr): number;

  // Quantized weights (crate/quant.rs): int8 symmetric per row with f32 scales, and the float16
  // conversions of float16 checkpoints (a float16 model computes as float32). `dtype` 1 = int8 (with
  // `scales`), 0 = float32 (`QUANT_DTYPES`). int8 products quantize each row of x to int16 on the fly.
  lw_quantize_i8(q: Ptr, scales: Ptr, w: Ptr, rows: number, cols: number): void;
  lw_dequantize_i8(w: Ptr, q: Ptr, scales: Ptr, rows: number, cols: number): void;
  lw_to_f16(out: Ptr, w: Ptr, n: number): void;
  lw_from_f16(out: Ptr, h: Ptr, n: number): void;
  lw_qmatmul(dtype: number, y: Ptr, x: Ptr, w: Ptr, scales: Ptr, m: number, n: number, k: number, beta: number): number;
  lw_qembedding(dtype: number, out: Ptr, table: Ptr, scales: Ptr, ids: Ptr, rows: number, v: number, c: number): void;
  lw_qrnn_forward(kind: number, dtype: number, t: number, b: number, i: number, h: number, p: number, x: Ptr,
    wIh: Ptr, sIh: Ptr, wHh: Ptr, sHh: Ptr, bIh: Ptr, bHh: Ptr, wHr: Ptr, sHr: Ptr, h0: Ptr, c0: Ptr, lengths: Ptr,
    reverse: number, y: Ptr, ldy: number, hN: Ptr, cN: Ptr): number;
}

/** The dtype codes of the quantized kernels and of the decode plan. */
export const QUANT_DTYPES = { float32: 0, int8: 1 } as const;

/** The words of `lw_decode_step`'s plan (crate/decode.rs `PLAN_*`): a header, then LAYER_WORDS per layer. */
export const DECODE_PLAN = {
  kind: 0, layers: 1, batch: 2, input: 3, hidden: 4, proj: 5, table: 6, tableRows: 7, headWeight: 8, headBias: 9, vocab: 10,
  dtype: 11, tableScales: 12, headScales: 13,
  header: 14,
  /** Per layer: w_ih, w_hh, b_ih, b_hh, w_hr, then (int8) the scales of w_ih, w_hh, w_hr (0 when absent). */
  layerWords: 8,
  /** The kind codes. */
  kinds: { LSTM: 0, GRU: 1, RNN_TANH: 2, RNN_RELU: 3 },
} as const;

/**
 * The name of every kernel, as a table the compiler checks against `Kernels` (a name missing here,
 * or one `Kernels` does not declare, does not type-check). test/backend/kernel-table.test.ts holds
 * it equal to the crate's `lw_*` exports (less the housekeeping in `HOUSEKEEPING_EXPORTS`,
 * ts/backend/wasm.ts) and to the JS backend's kernels.
 */
const kernelTable: { readonly [K in keyof Kernels]: true } = {
  lw_sgemm: true, lw_transpose: true, lw_strided_copy: true,
  lw_add: true, lw_sub: true, lw_mul: true, lw_add_bcast: true, lw_sub_bcast: true, lw_mul_bcast: true,
  lw_sum_rows: true, lw_add_scalar: true, lw_scale: true, lw_axpy: true, lw_fill: true, lw_copy: true,
  lw_cast_i32_to_f32: true, lw_cast_f32_to_i32: true, lw_sum: true, lw_sum_sq: true,
  lw_binary_bcast: true, lw_binary_bcast_backward: true, lw_compare_bcast: true, lw_where_bcast: true,
  lw_where_bcast_backward: true, lw_unary_forward: true, lw_unary_backward: true,
  lw_max_dim: true, lw_topk: true, lw_gather: true, lw_gather_backward: true,
  lw_sigmoid_forward: true, lw_sigmoid_backward: true, lw_tanh_forward: true, lw_tanh_backward: true,
  lw_relu_forward: true, lw_relu_backward: true,
  lw_softmax_forward: true, lw_softmax_backward: true, lw_log_softmax_forward: true, lw_log_softmax_backward: true,
  lw_cross_entropy_forward: true, lw_cross_entropy_backward: true,
  lw_embedding_forward: true, lw_embedding_backward: true,
  lw_layer_norm_forward: true, lw_layer_norm_backward: true,
  lw_sgd_step: true, lw_adam_step: true, lw_adamw_step: true,
  lw_lstm_cache_len: true, lw_lstm_forward: true, lw_lstm_backward: true,
  lw_gru_cache_len: true, lw_gru_forward: true, lw_gru_backward: true,
  lw_rnn_cache_len: true, lw_rnn_forward: true, lw_rnn_backward: true,
  lw_decode_step: true,
  lw_quantize_i8: true, lw_dequantize_i8: true, lw_to_f16: true, lw_from_f16: true, lw_qmatmul: true, lw_qembedding: true,
  lw_qrnn_forward: true,
};

export const KERNEL_NAMES: readonly (keyof Kernels)[] = Object.keys(kernelTable) as (keyof Kernels)[];
