// Every kernel of the plain-JS backend against the WASM backend, in one process: the JS backend
// from source (ts/backend/js), the crate from the built dist/lstm_wasm.wasm (lstm_wasm_relaxed.wasm
// in the `relaxed` project: the same cases and tolerances hold there). Each case writes the
// same inputs into both heaps, calls the kernel of the same name with the same arguments (its own
// pointers), and compares every output buffer and the return value. Sizes are awkward (1, 7, 65:
// not multiples of the SIMD width or the GEMM tiles) and every optional pointer is tried absent.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsBackend } from '../../ts/backend/js/index';
import { wasmBackend } from '../../ts/backend/wasm';
import type { Backend } from '../../ts/backend/backend';
import { DECODE_PLAN, QUANT_DTYPES, type Kernels } from '../../ts/backend/kernels';
import { randomF32, seededUniform } from '../core/helpers';
import { TEST_SIMD, TEST_WASM_FILE } from '../support/wasm-build';

const wasmBytes = readFileSync(TEST_WASM_FILE);
const wasm = wasmBackend(new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), {}), TEST_SIMD);
const js = jsBackend();

/** Input buffers by name; `null` passes pointer 0 (absent). Outputs are inputs too (pre-filled). */
type Bufs = Record<string, Float32Array | Int32Array | null>;
type Ptrs = Record<string, number>;

interface Result {
  ret: number | void;
  outs: Record<string, Float32Array | Int32Array>;
}

/** Copies `bufs` into `be`'s heap, runs `call`, reads back every buffer, frees everything. */
function runOn(be: Backend, bufs: Bufs, call: (k: Kernels, p: Ptrs, be: Backend) => number | void): Result {
  const p: Ptrs = {};
  for (const [name, data] of Object.entries(bufs)) {
    if (data === null) {
      p[name] = 0;
      continue;
    }
    const ptr = be.alloc(data.byteLength);
    (data instanceof Int32Array ? be.i32() : be.f32()).set(data, ptr >>> 2);
    p[name] = ptr;
  }
  const ret = call(be.k, p, be);
  const outs: Result['outs'] = {};
  for (const [name, data] of Object.entries(bufs)) {
    if (data === null) continue;
    const view = data instanceof Int32Array ? be.i32() : be.f32();
    outs[name] = view.slice(p[name] >>> 2, (p[name] >>> 2) + data.length) as Float32Array | Int32Array;
    be.free(p[name], data.byteLength);
  }
  return { ret, outs };
}

/** max |js - wasm| / max(1, max |wasm|) over a buffer (NaN/Inf must match exactly). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
      if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  return worst;
}

/**
 * Runs the case on both backends and compares: `tol` 0 demands bit-identical results, otherwise
 * the relative difference of each buffer is at most `tol`.
 */
function agree(what: string, bufs: Bufs, call: (k: Kernels, p: Ptrs, be: Backend) => number | void, tol = 1e-5): Result {
  const a = runOn(js, bufs, call);
  const b = runOn(wasm, bufs, call);
  if (typeof b.ret === 'number') {
    const d = relDiff([a.ret as number], [b.ret]);
    expect(d, `${what}: return value js ${a.ret} vs wasm ${b.ret}`).toBeLessThanOrEqual(tol);
  }
  for (const name of Object.keys(b.outs)) {
    if (tol === 0 || b.outs[name] instanceof Int32Array) {
      expect(Array.from(a.outs[name]), `${what}: ${name} bit for bit`).toEqual(Array.from(b.outs[name]));
    } else {
      expect(relDiff(a.outs[name], b.outs[name]), `${what}: ${name}`).toBeLessThanOrEqual(tol);
    }
  }
  return a;
}

let seed = 1;
const rnd = (n: number, lo = -1, hi = 1) => randomF32(n, seed++, lo, hi);
const ints = (n: number, lo: number, hi: number) => {
  const u = seededUniform(seed++);
  return Int32Array.from({ length: n }, () => lo + Math.floor(u() * (hi - lo)));
};
const SIZES = [1, 7, 65];

describe('heap', () => {
  it('hands out 16-byte aligned, zeroed, non-zero offsets and reuses freed blocks', () => {
    const be = jsBackend();
    const a = be.alloc(100);
    expect(a).toBeGreaterThan(0);
    expect(a % 16).toBe(0);
    be.f32().fill(7, a >>> 2, (a >>> 2) + 25);
    be.free(a, 100);
    const b = be.alloc(100);
    expect(b).toBe(a);
    expect(Array.from(be.f32().subarray(b >>> 2, (b >>> 2) + 25)).every((v) => v === 0)).toBe(true);
    expect(() => be.free(a + 16, 100)).toThrow(/not a live block/);
    be.free(b, 100);
    expect(() => be.free(b, 100)).toThrow(/not a live block/);
  });

  it('grows, keeps the data, and rebuilds its views', () => {
    const be = jsBackend();
    const start = be.heapBytes();
    const a = be.alloc(64);
    be.f32().set([1, 2, 3], a >>> 2);
    const big = be.alloc(4 * start);
    expect(be.heapBytes()).toBeGreaterThan(start);
    expect(Array.from(be.f32().subarray(a >>> 2, (a >>> 2) + 3))).toEqual([1, 2, 3]);
    expect(be.f32().length * 4).toBe(be.heapBytes());
    be.free(big, 4 * start);
    be.free(a, 64);
  });
});

describe('gemm', () => {
  const shapes = [[1, 1, 1], [7, 9, 13], [65, 33, 70], [4, 130, 300]];
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      it(`m=${m} n=${n} k=${k} transA=${ta} transB=${tb}, strided, alpha/beta`, () => {
        // Row strides 3 wider than needed, so the kernels must honour lda/ldb/ldc.
        const lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 3, ldc = n + 3;
        const a = rnd((ta ? k : m) * lda), b = rnd((tb ? n : k) * ldb);
        for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]]) {
          agree(`alpha=${alpha} beta=${beta}`, { a, b, c: rnd(m * ldc) }, (kk, p) =>
            kk.lw_sgemm(ta, tb, m, n, k, alpha, p.a, lda, p.b, ldb, beta, p.c, ldc), 1e-5);
        }
      });
    }
  }

  it('beta = 0 never reads C (NaN does not leak); k = 0 and alpha = 0 scale C', () => {
    const c = new Float32Array(12).fill(NaN);
    const r = agree('beta 0', { a: rnd(6), b: rnd(8), c }, (k, p) => k.lw_sgemm(0, 0, 3, 4, 2, 1, p.a, 2, p.b, 4, 0, p.c, 4));
    expect(Array.from(r.outs.c).some(Number.isNaN)).toBe(false);
    agree('k 0', { a: rnd(1), b: rnd(1), c: rnd(12) }, (k, p) => k.lw_sgemm(0, 0, 3, 4, 0, 1, p.a, 1, p.b, 4, 0.5, p.c, 4), 0);
    agree('alpha 0', { a: rnd(6), b: rnd(8), c: rnd(12) }, (k, p) => k.lw_sgemm(0, 0, 3, 4, 2, 0, p.a, 2, p.b, 4, 2, p.c, 4), 0);
  });
});

describe('layout and copies', () => {
  it('transpose, inner 1 and 3, bit for bit on int32 (NaN bit patterns survive)', () => {
    for (const [batch, rows, cols, inner] of [[1, 1, 1, 1], [2, 7, 65, 1], [1, 33, 40, 1], [2, 5, 3, 3]]) {
      const x = ints(batch * rows * cols * inner, -5, 5);
      x[0] = -1; // 0xffffffff: a NaN as float32
      agree(`transpose ${[batch, rows, cols, inner]}`, { x, out: new Int32Array(x.length) }, (k, p) =>
        k.lw_transpose(p.out, p.x, batch, rows, cols, inner), 0);
    }
  });

  it('strided copy: permutations, expand (stride 0), windows in and out, 0-d; bit for bit on int32', () => {
    // [shape, out strides, x strides, out offset, x offset]; buffers sized to the largest offset reached.
    const cases: [number[], number[], number[], number, number][] = [
      [[65, 7], [7, 1], [1, 65], 0, 0], [[3, 5, 7], [35, 7, 1], [1, 21, 3], 0, 0], [[2, 1, 63, 3], [189, 189, 3, 1], [189, 189, 1, 63], 0, 0],
      [[4, 7], [7, 1], [1, 0], 0, 0], [[3, 1, 65], [65, 65, 1], [0, 0, 1], 0, 0], [[2, 3, 63], [189, 63, 1], [100, 0, 1], 0, 5],
      [[5], [1], [3], 0, 2], [[], [], [], 1, 4], [[3, 0, 2], [2, 2, 1], [1, 1, 1], 0, 0],
      [[3, 5, 7], [84, 7, 1], [35, 7, 1], 14, 0], [[7, 63], [1, 7], [63, 1], 0, 0],
    ];
    const reach = (shape: number[], strides: number[]) => 1 + shape.reduce((acc, d, i) => acc + Math.max(d - 1, 0) * strides[i], 0);
    for (const [shape, os, xs, outAt, xAt] of cases) {
      const x = ints(xAt + reach(shape, xs), -5, 5);
      x[xAt] = -1; // 0xffffffff: a NaN as float32
      const table = Int32Array.from([...shape, ...os, ...xs, 0]);
      const n = shape.length;
      agree(`strided ${shape} / ${os} / ${xs}`, { x, table, out: ints(outAt + reach(shape, os), 6, 9) }, (k, p) =>
        k.lw_strided_copy(p.out + 4 * outAt, p.x + 4 * xAt, n, p.table, p.table + 4 * n, p.table + 8 * n), 0);
    }
  });

  it('copy (also overlapping, any dtype) and fill', () => {
    const x = ints(70, -3, 3);
    agree('copy', { x, y: new Int32Array(70) }, (k, p) => k.lw_copy(p.y, p.x, 70), 0);
    agree('copy overlap forward', { x }, (k, p) => k.lw_copy(p.x + 8, p.x, 60), 0);
    agree('copy overlap backward', { x }, (k, p) => k.lw_copy(p.x, p.x + 8, 60), 0);
    agree('fill', { x: rnd(65) }, (k, p) => k.lw_fill(p.x, 0.1, 65), 0);
  });
});

describe('elementwise and reductions', () => {
  for (const n of SIZES) {
    it(`n = ${n}: exactly rounded maps, broadcasts, axpy; sums`, () => {
      const [a, b] = [rnd(n * 3, -4, 4), rnd(n * 3, -4, 4)];
      for (const op of ['lw_add', 'lw_sub', 'lw_mul'] as const) {
        agree(op, { a, b, out: rnd(n * 3) }, (k, p) => k[op](p.out, p.a, p.b, n * 3), 0);
        agree(`${op} in place`, { a, b }, (k, p) => k[op](p.a, p.a, p.b, n * 3), 0);
      }
      for (const op of ['lw_add_bcast', 'lw_sub_bcast', 'lw_mul_bcast'] as const) {
        agree(op, { a, b: rnd(n), out: rnd(n * 3) }, (k, p) => k[op](p.out, p.a, p.b, 3, n), 0);
      }
      agree('add_scalar', { a, out: rnd(n * 3) }, (k, p) => k.lw_add_scalar(p.out, p.a, 0.3, n * 3), 0);
      agree('scale', { a }, (k, p) => k.lw_scale(p.a, p.a, -0.7, n * 3), 0);
      agree('axpy', { y: a, x: b }, (k, p) => k.lw_axpy(p.y, 0.1, p.x, n * 3), 0);
      agree('sum_rows', { a, out: rnd(n) }, (k, p) => k.lw_sum_rows(p.out, p.a, 3, n, 0), 1e-6);
      agree('sum_rows accumulate', { a, out: rnd(n) }, (k, p) => k.lw_sum_rows(p.out, p.a, 3, n, 1), 1e-6);
      agree('sum', { a }, (k, p) => k.lw_sum(p.a, n * 3), 1e-6);
      agree('sum_sq', { a }, (k, p) => k.lw_sum_sq(p.a, n * 3), 1e-6);
    });
  }
});

describe('activations', () => {
  for (const n of SIZES) {
    it(`n = ${n}: sigmoid, tanh, relu forward (also in place) and accumulating backward`, () => {
      const x = rnd(n, -6, 6), g = rnd(n), d0 = rnd(n);
      for (const act of ['sigmoid', 'tanh', 'relu'] as const) {
        const fwd = `lw_${act}_forward` as const, bwd = `lw_${act}_backward` as const;
        const y = agree(fwd, { x, y: rnd(n) }, (k, p) => k[fwd](p.y, p.x, n), 1e-6).outs.y as Float32Array;
        agree(`${fwd} in place`, { x }, (k, p) => k[fwd](p.x, p.x, n), 1e-6);
        // Backward from the same y on both sides, so only the backward kernel is compared.
        agree(bwd, { d: d0, g, y }, (k, p) => k[bwd](p.d, p.g, p.y, n), act === 'relu' ? 0 : 1e-6);
      }
    });
  }
});

describe('softmax and cross-entropy', () => {
  for (const n of SIZES) {
    it(`rows 3, n = ${n}: softmax, log-softmax forward/backward`, () => {
      const x = rnd(3 * n, -8, 8), g = rnd(3 * n);
      for (const kind of ['softmax', 'log_softmax'] as const) {
        const fwd = `lw_${kind}_forward` as const, bwd = `lw_${kind}_backward` as const;
        const y = agree(fwd, { x, y: rnd(3 * n) }, (k, p) => k[fwd](p.y, p.x, 3, n), 2e-6).outs.y as Float32Array;
        agree(`${fwd} in place`, { x }, (k, p) => k[fwd](p.x, p.x, 3, n), 2e-6);
        agree(bwd, { d: rnd(3 * n), g, y }, (k, p) => k[bwd](p.d, p.g, p.y, 3, n), 2e-6);
      }
    });

    it(`rows 7, v = ${n}: cross-entropy forward and backward, with ignore index`, () => {
      const x = rnd(7 * n, -10, 10);
      const t = ints(7, 0, n);
      t[1] = -100;
      t[4] = -100;
      const none = new Int32Array(7).fill(-100);
      for (const targets of [t, none]) {
        agree('forward', { x, t: targets }, (k, p) => k.lw_cross_entropy_forward(p.x, p.t, 7, n, -100), 2e-6);
        agree('backward', { d: rnd(7 * n), x, t: targets }, (k, p) => k.lw_cross_entropy_backward(p.d, p.x, p.t, 7, n, -100, 0.5), 2e-6);
      }
    });
  }
});

describe('layer norm', () => {
  for (const n of SIZES) {
    it(`rows 3, n = ${n}: forward and backward, every optional buffer absent in turn`, () => {
      // An offset of 5 checks both sides center before squaring.
      const x = rnd(3 * n, 4, 6), w = rnd(n, 0.5, 1.5), b = rnd(n), g = rnd(3 * n);
      for (const affine of [true, false]) {
        const fw = affine ? w : null;
        const stats = agree(`forward affine=${affine}`, { y: rnd(3 * n), mean: rnd(3), rstd: rnd(3), x, w: fw, b: affine ? b : null },
          (k, p) => k.lw_layer_norm_forward(p.y, p.mean, p.rstd, p.x, p.w, p.b, 3, n, 1e-5), 2e-5).outs;
        agree('forward without statistics', { y: rnd(3 * n), mean: null, rstd: null, x, w: fw, b: null },
          (k, p) => k.lw_layer_norm_forward(p.y, p.mean, p.rstd, p.x, p.w, p.b, 3, n, 1e-5), 2e-5);
        const { mean, rstd } = stats as { mean: Float32Array; rstd: Float32Array };
        for (const want of ['all', 'dx', 'params'] as const) {
          agree(`backward affine=${affine} ${want}`, {
            dx: want !== 'params' ? rnd(3 * n) : null, dw: want !== 'dx' ? rnd(n) : null, db: want !== 'dx' ? rnd(n) : null,
            g, x, mean, rstd, w: fw,
          }, (k, p) => k.lw_layer_norm_backward(p.dx, p.dw, p.db, p.g, p.x, p.mean, p.rstd, p.w, 3, n), 2e-5);
        }
      }
    });
  }
});

describe('embedding', () => {
  it('forward gathers, backward scatter-adds (repeats sum, padding skipped)', () => {
    const [v, c, rows] = [11, 7, 20];
    const table = rnd(v * c);
    const ids = ints(rows, 0, v);
    ids[3] = ids[5] = ids[9] = 2;
    agree('forward', { out: rnd(rows * c), table, ids }, (k, p) => k.lw_embedding_forward(p.out, p.table, p.ids, rows, v, c), 0);
    for (const pad of [-1, 2]) {
      agree(`backward pad ${pad}`, { d: rnd(v * c), g: rnd(rows * c), ids }, (k, p) =>
        k.lw_embedding_backward(p.d, p.g, p.ids, rows, v, c, pad), 1e-6);
    }
  });
});

describe('optimizers agree bit for bit over steps', () => {
  for (const n of [1, 7, 65]) {
    it(`SGD configs, n = ${n}`, () => {
      for (const [mom, damp, wd, nest] of [[0, 0, 0, 0], [0, 0, 0.01, 0], [0.9, 0, 0, 0], [0.9, 0.1, 1e-3, 0], [0.9, 0, 1e-2, 1]]) {
        let state: Bufs = { p: rnd(n), buf: new Float32Array(n).fill(NaN) };
        for (let step = 1; step <= 4; step++) {
          const r = agree(`sgd ${[mom, damp, wd, nest]} step ${step}`, { ...state, g: rnd(n) }, (k, p) =>
            k.lw_sgd_step(p.p, p.g, mom !== 0 ? p.buf : 0, n, 0.05, mom, damp, wd, nest, step), 0);
          state = { p: r.outs.p as Float32Array, buf: r.outs.buf as Float32Array };
        }
      }
    });

    it(`Adam and AdamW, n = ${n}`, () => {
      for (const kernel of ['lw_adam_step', 'lw_adamw_step'] as const) {
        for (const [b1, b2, wd] of [[0.9, 0.999, 0], [0.9, 0.999, 0.01], [0.3, 0.99, 0.1]]) {
          let state: Bufs = { p: rnd(n), m: new Float32Array(n), v: new Float32Array(n) };
          for (let step = 1; step <= 5; step++) {
            const r = agree(`${kernel} ${[b1, b2, wd]} step ${step}`, { ...state, g: rnd(n) }, (k, p) =>
              k[kernel](p.p, p.g, p.m, p.v, n, 1e-2, b1, b2, 1e-8, wd, step), 0);
            state = { p: r.outs.p as Float32Array, m: r.outs.m as Float32Array, v: r.outs.v as Float32Array };
          }
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// recurrent layers
// ---------------------------------------------------------------------------------------------

type Kind = 'lstm' | 'lstm_proj' | 'gru' | 'rnn_tanh' | 'rnn_relu';

interface RnnCase {
  kind: Kind;
  t: number; b: number; i: number; h: number;
  reverse: number;
  lengths: boolean;
  bias: boolean;
  init: boolean;
  /** y/dy row stride 2P with this direction's rows at offset `half` * P (a bidirectional buffer). */
  half: 0 | 1;
}

function rnnCase(c: RnnCase, tol: number): void {
  const { kind, t, b, i, h } = c;
  const p = kind === 'lstm_proj' ? Math.max(1, h - 2) : h;
  const g = kind.startsWith('lstm') ? 4 * h : kind === 'gru' ? 3 * h : h;
  const hasProj = kind === 'lstm_proj';
  const relu = kind === 'rnn_relu' ? 1 : 0;
  const ldy = 2 * p, yOff = c.half * p * 4; // byte offset of this direction's half
  const lengths = c.lengths ? Int32Array.from({ length: b }, (_, k) => (k === 0 ? t : 1 + ((k * 5) % t))) : null;
  const cacheLen = (k: Kernels) =>
    kind.startsWith('lstm') ? k.lw_lstm_cache_len(t, b, h, p, hasProj ? 1 : 0) : kind === 'gru' ? k.lw_gru_cache_len(t, b, h) : k.lw_rnn_cache_len(t, b, h);
  const n = cacheLen(js.k);
  expect(n).toBe(cacheLen(wasm.k));
  const x = rnd(t * b * i);
  const w: Bufs = {
    x, wIh: rnd(g * i, -0.5, 0.5), wHh: rnd(g * p, -0.5, 0.5),
    bIh: c.bias ? rnd(g, -0.5, 0.5) : null, bHh: c.bias ? rnd(g, -0.5, 0.5) : null,
    wHr: hasProj ? rnd(p * h, -0.5, 0.5) : null,
    h0: c.init ? rnd(b * p) : null, c0: c.init && kind.startsWith('lstm') ? rnd(b * h) : null,
    lengths,
  };
  const fwdOuts: Bufs = {
    y: new Float32Array(t * b * ldy).fill(9), hN: rnd(b * p), cN: kind.startsWith('lstm') ? rnd(b * h) : null,
    cache: new Float32Array(n).fill(NaN),
  };
  const forward = (k: Kernels, q: Ptrs, cache: number) => {
    if (kind.startsWith('lstm')) {
      k.lw_lstm_forward(t, b, i, h, p, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.wHr, q.h0, q.c0, q.lengths, c.reverse,
        q.y + yOff, ldy, q.hN, q.cN, cache);
    } else if (kind === 'gru') {
      k.lw_gru_forward(t, b, i, h, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.h0, q.lengths, c.reverse, q.y + yOff, ldy, q.hN, cache);
    } else {
      k.lw_rnn_forward(t, b, i, h, relu, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.h0, q.lengths, c.reverse, q.y + yOff, ldy, q.hN, cache);
    }
  };
  const fwd = agree('forward', { ...w, ...fwdOuts }, (k, q) => forward(k, q, q.cache), tol);
  // Without a cache (inference) the outputs are the same.
  const inf = agree('forward without cache', { ...w, ...fwdOuts, cache: null }, (k, q) => forward(k, q, 0), tol);
  for (const name of ['y', 'hN', 'cN']) {
    if (fwd.outs[name]) expect(relDiff(inf.outs[name], fwd.outs[name]), `inference ${name}`).toBeLessThanOrEqual(1e-6);
  }

  // Backward from the JS cache on both sides (so only backward is compared), gradients pre-filled
  // (they accumulate), dhN/dcN present or absent with the initial states.
  const grads: Bufs = {
    cache: fwd.outs.cache as Float32Array,
    dy: rnd(t * b * ldy), dhN: c.init ? rnd(b * p) : null, dcN: c.init && kind.startsWith('lstm') ? rnd(b * h) : null,
    dx: rnd(t * b * i), dwIh: rnd(g * i), dwHh: rnd(g * p), dbIh: c.bias ? rnd(g) : null, dbHh: rnd(g),
    dwHr: hasProj ? rnd(p * h) : null, dh0: rnd(b * p), dc0: kind.startsWith('lstm') && c.init ? rnd(b * h) : null,
  };
  agree('backward', { ...w, ...grads }, (k, q) => {
    if (kind.startsWith('lstm')) {
      k.lw_lstm_backward(t, b, i, h, p, q.x, q.wIh, q.wHh, q.wHr, q.lengths, c.reverse, q.cache, q.dy + yOff, ldy,
        q.dhN, q.dcN, q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dwHr, q.dh0, q.dc0);
    } else if (kind === 'gru') {
      k.lw_gru_backward(t, b, i, h, q.x, q.wIh, q.wHh, q.bHh, q.lengths, c.reverse, q.cache, q.dy + yOff, ldy, q.dhN,
        q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dh0);
    } else {
      k.lw_rnn_backward(t, b, i, h, relu, q.x, q.wIh, q.wHh, q.lengths, c.reverse, q.cache, q.dy + yOff, ldy, q.dhN,
        q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dh0);
    }
  }, tol);
  // dy absent (0): only dhN drives the gradient.
  agree('backward without dy', { ...w, ...grads, dy: null }, (k, q) => {
    if (kind.startsWith('lstm')) {
      k.lw_lstm_backward(t, b, i, h, p, q.x, q.wIh, q.wHh, q.wHr, q.lengths, c.reverse, q.cache, 0, ldy,
        q.dhN, q.dcN, q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dwHr, q.dh0, q.dc0);
    } else if (kind === 'gru') {
      k.lw_gru_backward(t, b, i, h, q.x, q.wIh, q.wHh, q.bHh, q.lengths, c.reverse, q.cache, 0, ldy, q.dhN,
        q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dh0);
    } else {
      k.lw_rnn_backward(t, b, i, h, relu, q.x, q.wIh, q.wHh, q.lengths, c.reverse, q.cache, 0, ldy, q.dhN,
        q.dx, q.dwIh, q.dwHh, q.dbIh, q.dbHh, q.dh0);
    }
  }, tol);
}

describe('recurrent layers: forward, inference, backward', () => {
  const kinds: Kind[] = ['lstm', 'lstm_proj', 'gru', 'rnn_tanh', 'rnn_relu'];
  for (const kind of kinds) {
    for (const [t, b, i, h] of [[1, 1, 1, 1], [5, 3, 4, 7], [9, 4, 6, 5]]) {
      it(`${kind} T=${t} B=${b} I=${i} H=${h}: both directions, lengths, bias, initial state`, () => {
        for (const reverse of [0, 1]) {
          for (const [lengths, bias, init] of [[false, true, false], [true, true, true], [true, false, true], [false, false, true]]) {
            rnnCase({ kind, t, b, i, h, reverse, lengths, bias, init, half: reverse as 0 | 1 }, 2e-5);
          }
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// quantized weights (crate/quant.rs, crate/decode.rs; the JS twins ts/backend/js/quant.ts, decode.ts)
// ---------------------------------------------------------------------------------------------

/** int8 values as the kernels store them: bytes in an Int32Array of ceil(n / 4) words. */
function packI8(q: ArrayLike<number>): Int32Array {
  const out = new Int32Array(Math.max(1, Math.ceil(q.length / 4)));
  new Int8Array(out.buffer).set(q);
  return out;
}
const unpackI8 = (words: Int32Array, n: number): Int8Array => new Int8Array(words.buffer, words.byteOffset, n).slice();
const i8Words = (n: number) => new Int32Array(Math.max(1, Math.ceil(n / 4)));
/** The float32 bits of values (or of a buffer read back), to compare bit for bit. */
const bitsOf = (v: ArrayLike<number>): Int32Array => new Int32Array(Float32Array.from(v).buffer);

/** `w` (rows, cols) quantized by the JS twin (held to the crate bit for bit below): what both backends then read. */
function quantizeJs(w: Float32Array, rows: number, cols: number): { q: Int32Array; s: Float32Array; deq: Float32Array } {
  const r = runOn(js, { q: i8Words(rows * cols), s: new Float32Array(rows), w }, (k, p) => k.lw_quantize_i8(p.q, p.s, p.w, rows, cols));
  const q = r.outs.q as Int32Array, s = r.outs.s as Float32Array;
  // Dequantized here, not by the kernel: q * scale of its row, one float32 rounding.
  const qb = unpackI8(q, rows * cols);
  const deq = Float32Array.from(qb, (v, i) => Math.fround(v * s[Math.floor(i / cols)]));
  return { q, s, deq };
}

/** The exact value of float16 bits `h` (from the format's definition). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25));
}

/** Rust's f32::round (and the twin's): halves away from zero. */
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

/**
 * The float16 value nearest to the float32 `v` (ties to even; past 65520 infinity), computed in
 * float64 from the definition, independently of both conversions: the quantum of v's binade (or
 * of the subnormals, 2^-24), v in quanta rounded half to even, times the quantum.
 */
function nearestHalf(v: number): number {
  if (Number.isNaN(v)) return NaN;
  const a = Math.abs(v);
  if (a === Infinity) return v;
  let e = a === 0 ? -14 : Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 rounding at binade edges
  else if (2 ** (e + 1) <= a) e++;
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const units = a / quantum; // exact: a float32 over a power of two
  const f = Math.floor(units);
  const rounded = units - f > 0.5 || (units - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  const r = rounded * quantum;
  return (v < 0 || Object.is(v, -0) ? -1 : 1) * (r >= 65520 ? Infinity : r);
}

describe('quantized weights', () => {
  const KINDS = { lstm: 0, lstm_proj: 0, gru: 1, rnn_tanh: 2, rnn_relu: 3 } as const;

  it('lw_quantize_i8: bit for bit; scale = max|row| / 127, q = round(w / scale) within half a step; a zero row, one huge value, ties', () => {
    for (const cols of [1, 7, 65]) {
      const rows = 6;
      const w = rnd(rows * cols, -3, 3);
      w.fill(0, cols, 2 * cols); // row 1: zeros (scale 0, q 0)
      w[2 * cols + (cols >> 1)] = 3e38; // row 2: one huge value, next to which the rest is 0
      for (let c = 0; c < cols; c++) w[3 * cols + c] = c === 0 ? -127 : ((c % 9) - 4) + 0.5; // row 3: scale 1, halves
      for (let c = 0; c < cols; c++) w[4 * cols + c] = -Math.abs(w[4 * cols + c]) - 1e-3; // row 4: all negative
      for (let c = 0; c < cols; c++) w[5 * cols + c] *= 1e-3; // row 5: small values
      const r = agree(`quantize cols=${cols}`, { q: i8Words(rows * cols).fill(0x5a5a5a5a), s: rnd(rows), w }, (k, p) =>
        k.lw_quantize_i8(p.q, p.s, p.w, rows, cols), 0);
      const q = unpackI8(r.outs.q as Int32Array, rows * cols), s = r.outs.s as Float32Array;
      for (let row = 0; row < rows; row++) {
        const vals = w.subarray(row * cols, (row + 1) * cols);
        const max = vals.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(s[row], `cols ${cols} row ${row}: scale`).toBe(Math.fround(max / 127));
        for (let c = 0; c < cols; c++) {
          const qv = q[row * cols + c];
          expect(Math.abs(qv), `row ${row} col ${c}`).toBeLessThanOrEqual(127);
          const err = Math.abs(Math.fround(qv * s[row]) - vals[c]);
          expect(err, `cols ${cols} row ${row} col ${c}: ${vals[c]} -> ${qv} * ${s[row]}`).toBeLessThanOrEqual((s[row] / 2) * (1 + 1e-6));
        }
      }
      expect(Array.from(q.subarray(cols, 2 * cols)).every((v) => v === 0), 'zero row').toBe(true);
      expect(s[1]).toBe(0);
      expect(q[2 * cols + (cols >> 1)], 'the huge value').toBe(127);
      expect(Array.from(q.subarray(2 * cols, 3 * cols)).filter((v) => v !== 0), 'the rest of its row').toEqual([127]);
      expect(s[3]).toBe(1);
      for (let c = 0; c < cols; c++) expect(q[3 * cols + c], `tie ${w[3 * cols + c]}`).toBe(roundAway(w[3 * cols + c]));
      expect(Math.min(...q.subarray(4 * cols, 5 * cols)), 'the largest magnitude of a negative row').toBe(-127);
    }
  });

  // Fixed bug, kept as a regression test (crate/quant.rs quantize_i8, and its twin lw_quantize_i8 in ts/backend/js/quant.ts): q is
  // computed as w * (1 / scale) in float32, and for a row whose largest magnitude is below
  // 127 / f32::MAX (about 3.7e-37) 1 / scale overflows to infinity, so every non-zero value of the
  // row becomes +-127 (5e-39 in a row of max 1e-38 dequantizes to 1e-38), against the documented
  // q = round(w / scale) and its half-step bound. Harmless in practice (such a row is zero for
  // any model), but quantize() accepts it without a word.
  it('lw_quantize_i8: a row of tiny values (max|row| < 3.7e-37) is still within half a step', () => {
    const w = Float32Array.of(1e-38, 5e-39, 0, -2e-39);
    for (const be of [js, wasm]) {
      const r = runOn(be, { q: i8Words(4), s: new Float32Array(1), w }, (k, p) => k.lw_quantize_i8(p.q, p.s, p.w, 1, 4));
      const q = unpackI8(r.outs.q as Int32Array, 4), s = (r.outs.s as Float32Array)[0];
      for (let c = 0; c < 4; c++) {
        expect(Math.abs(Math.fround(q[c] * s) - w[c]), `${be.name}: ${w[c]} -> ${q[c]} * ${s}`).toBeLessThanOrEqual((s / 2) * (1 + 1e-6));
      }
    }
  });

  it('lw_dequantize_i8: q * scale of its row, bit for bit (zero and huge scales, -127..127)', () => {
    for (const cols of [1, 7, 65]) {
      const rows = 5;
      const q = Int8Array.from(ints(rows * cols, -127, 128));
      q[0] = -127;
      if (q.length > 1) q[q.length - 1] = 127;
      const s = rnd(rows, 0, 0.1);
      s[1] = 0;
      s[2] = 2e36;
      const r = agree(`dequantize cols=${cols}`, { w: new Int32Array(rows * cols).fill(7), q: packI8(q), s }, (k, p) =>
        k.lw_dequantize_i8(p.w, p.q, p.s, rows, cols), 0);
      expect(Array.from(r.outs.w)).toEqual(Array.from(bitsOf(Array.from(q, (v, i) => Math.fround(v * s[Math.floor(i / cols)])))));
    }
  });

  it('lw_to_f16 then lw_from_f16: bit for bit, nearest even (ties, subnormals, +-0, 65504, overflow to infinity), every half exact', () => {
    // [value, its float16 bits], worked out by hand.
    const known: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-(1 + 2 ** -11), 0xbc00], // ties to even, down and up
      [65504, 0x7bff], [-65504, 0xfbff], [65519, 0x7bff], [65519.99609375, 0x7bff], // the largest half, and below the midpoint
      [65520, 0x7c00], [-65520, 0xfc00], [65536, 0x7c00], [1e6, 0x7c00], [3.4e38, 0x7c00], // round to infinity
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00],
      [2 ** -24, 0x0001], [-(2 ** -24), 0x8001], [2 ** -25, 0x0000], [-(2 ** -25), 0x8000], // the smallest subnormal; its half ties to 0
      [3 * 2 ** -25, 0x0002], [5 * 2 ** -25, 0x0002], [7 * 2 ** -25, 0x0004], // subnormal ties to even
      [2 ** -25 + 2 ** -40, 0x0001], [2 ** -26, 0x0000], [1e-40, 0x0000], [-1e-40, 0x8000], // float32 subnormals underflow
      [2 ** -14, 0x0400], [2 ** -14 - 2 ** -24, 0x03ff], [2 ** -14 - 2 ** -25, 0x0400], // subnormal/normal edge
      [6.1e-5, 0x03ff], [0.1, 0x2e66], [-3.140625, 0xc248],
    ];
    // Random values over every binade of float16 and past it, and exact ties between neighbouring halves.
    const u = seededUniform(seed++);
    const values: number[] = known.map(([v]) => v);
    for (let e = -27; e <= 17; e++) for (let j = 0; j < 40; j++) values.push((u() < 0.5 ? -1 : 1) * (1 + u()) * 2 ** e);
    for (let j = 0; j < 400; j++) {
      const h = Math.floor(u() * 0x7bff);
      const lo = halfValue(h), hi = halfValue(h + 1);
      values.push((lo + hi) / 2);
    }
    const w = Float32Array.from(values);
    const n = w.length;
    const halves = agree('to_f16', { out: new Int32Array(Math.ceil(n / 2)).fill(-1), w }, (k, p) => k.lw_to_f16(p.out, p.w, n), 0).outs.out as Int32Array;
    const h16 = new Uint16Array(halves.buffer, 0, n);
    known.forEach(([v, bits], i) => expect(h16[i], `${v} -> 0x${bits.toString(16)}`).toBe(bits));
    const back = agree('from_f16', { out: new Int32Array(n), h: halves }, (k, p) => k.lw_from_f16(p.out, p.h, n), 0).outs.out as Int32Array;
    const got = new Float32Array(back.buffer);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(w[i])) {
        expect(Number.isNaN(got[i])).toBe(true);
        continue;
      }
      // The independent nearest-even reference, sign of zero included.
      expect(Object.is(got[i], nearestHalf(w[i])), `${w[i]}: ${got[i]} vs ${nearestHalf(w[i])}`).toBe(true);
    }

    // Every finite half widens exactly and comes back as itself.
    const all = Uint16Array.from({ length: 0x10000 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
    const m = all.length;
    const widened = agree('from_f16, every finite half', { out: new Int32Array(m), h: new Int32Array(all.buffer.slice(0)) }, (k, p) =>
      k.lw_from_f16(p.out, p.h, m), 0).outs.out as Int32Array;
    const wf = new Float32Array(widened.buffer);
    for (let j = 0; j < m; j++) if (!Object.is(wf[j], halfValue(all[j]))) expect(wf[j], `half 0x${all[j].toString(16)}`).toBe(halfValue(all[j]));
    const again = agree('to_f16, every finite half', { out: new Int32Array(m / 2), w: wf }, (k, p) => k.lw_to_f16(p.out, p.w, m), 0).outs.out as Int32Array;
    expect(Array.from(new Uint16Array(again.buffer, 0, m)).findIndex((h, j) => h !== all[j]), 'first half not kept').toBe(-1);
  });

  it('lw_from_f16: infinities widen to infinities and every NaN half to a NaN', () => {
    const special = Uint16Array.from({ length: 0x10000 }, (_, h) => h).filter((h) => (h & 0x7c00) === 0x7c00);
    const n = special.length;
    for (const be of [js, wasm]) {
      const r = runOn(be, { out: new Float32Array(n), h: new Int32Array(special.buffer.slice(0)) }, (k, p) => k.lw_from_f16(p.out, p.h, n));
      const out = r.outs.out as Float32Array;
      special.forEach((h, j) => {
        const want = (h & 0x3ff) === 0 ? (h & 0x8000 ? -Infinity : Infinity) : NaN;
        expect(Object.is(out[j], want), `${be.name}: half 0x${h.toString(16)} -> ${out[j]}`).toBe(true);
      });
    }
  });

  for (const k of [1, 15, 17, 65, 1100]) {
    it(`lw_qmatmul K=${k}: int8 and float32 weights, M 1/2/5, N 1/7/65, beta 0 and 1`, () => {
      for (const m of [1, 2, 5]) {
        for (const n of [1, 7, 65]) {
          const w = rnd(n * k), x = rnd(m * k, -2, 2);
          const { q, s } = quantizeJs(w, n, k);
          for (const beta of [0, 1]) {
            // beta 0 must not read y: NaN there must not leak.
            const y = beta === 0 ? new Float32Array(m * n).fill(NaN) : rnd(m * n);
            const what = `M=${m} N=${n} K=${k} beta=${beta}`;
            // Below 16 columns the crate sums in its integer tail alone, exactly as the twin: bit for bit.
            const r = agree(`int8 ${what}`, { y, x, q, s }, (kk, p) => kk.lw_qmatmul(1, p.y, p.x, p.q, p.s, m, n, k, beta), k < 16 ? 0 : 1e-5);
            expect(r.ret).toBe(0);
            expect(Array.from(r.outs.y).some(Number.isNaN), `int8 ${what}: NaN`).toBe(false);
            const f = agree(`float32 ${what}`, { y, x, w }, (kk, p) => kk.lw_qmatmul(0, p.y, p.x, p.w, 0, m, n, k, beta), 1e-5);
            expect(Array.from(f.outs.y).some(Number.isNaN), `float32 ${what}: NaN`).toBe(false);
          }
        }
      }
    });
  }

  it('lw_qmatmul int8 against float64 sums over the dequantized weights: within s_x/2 * sum|w| (the activations\' rounding)', () => {
    const [m, n, k] = [4, 9, 1100]; // K past one block of 1024 columns
    const x = rnd(m * k, -2, 2);
    for (let c = 0; c < k; c++) x[k + c] *= 50; // rows of x with other scales
    x.fill(0, 3 * k, 4 * k); // a zero row of x: s_x = 0
    const w = rnd(n * k);
    w.fill(0, 2 * k, 3 * k); // a zero row of W: scale 0
    const { q, s, deq } = quantizeJs(w, n, k);
    for (const beta of [0, 1]) {
      const y0 = rnd(m * n);
      for (const be of [js, wasm]) {
        const y = runOn(be, { y: y0, x, q, s }, (kk, p) => kk.lw_qmatmul(1, p.y, p.x, p.q, p.s, m, n, k, beta)).outs.y as Float32Array;
        for (let i = 0; i < m; i++) {
          let xmax = 0;
          for (let c = 0; c < k; c++) xmax = Math.max(xmax, Math.abs(x[i * k + c]));
          const sx = Math.fround(xmax / 32767);
          for (let r = 0; r < n; r++) {
            let ref = beta * y0[i * n + r], absW = 0, absXW = 0;
            for (let c = 0; c < k; c++) {
              ref += x[i * k + c] * deq[r * k + c];
              absW += Math.abs(deq[r * k + c]);
              absXW += Math.abs(x[i * k + c] * deq[r * k + c]);
            }
            // |x - x_q| <= s_x / 2 per element; the rest is float32 rounding of the block sums and scales.
            const bound = (sx / 2) * absW + 2e-6 * absXW + 2 ** -23 * Math.abs(beta * y0[i * n + r]);
            const d = Math.abs(y[i * n + r] - ref);
            expect(d, `${be.name} beta ${beta} (${i}, ${r}): ${y[i * n + r]} vs ${ref}, bound ${bound}`).toBeLessThanOrEqual(bound);
            if (i === 3 || r === 2) expect(y[i * n + r], 'a zero row gives beta * y').toBe(beta === 0 ? 0 : y0[i * n + r]);
          }
        }
      }
    }
  });

  it('lw_qembedding: int8 rows widened (q * scale), float32 rows copied, bit for bit', () => {
    const [v, rows] = [11, 20];
    for (const c of [1, 7, 65]) {
      const table = rnd(v * c, -2, 2);
      const { q, s, deq } = quantizeJs(table, v, c);
      const ids = ints(rows, 0, v);
      ids[3] = ids[5] = ids[9] = 2;
      ids[0] = v - 1;
      const a = agree(`int8 C=${c}`, { out: rnd(rows * c), q, s, ids }, (k, p) => k.lw_qembedding(1, p.out, p.q, p.s, p.ids, rows, v, c), 0);
      const b = agree(`float32 C=${c}`, { out: rnd(rows * c), table, ids }, (k, p) => k.lw_qembedding(0, p.out, p.table, 0, p.ids, rows, v, c), 0);
      const want = (src: Float32Array) => bitsOf(Array.from(ids).flatMap((id) => Array.from(src.subarray(id * c, (id + 1) * c))));
      expect(Array.from(bitsOf(a.outs.out))).toEqual(Array.from(want(deq)));
      expect(Array.from(bitsOf(b.outs.out))).toEqual(Array.from(want(table)));
    }
  });

  for (const kind of Object.keys(KINDS) as Kind[]) {
    for (const [t, b, i, h] of [[1, 1, 1, 1], [5, 3, 4, 7], [9, 4, 6, 5]]) {
      it(`lw_qrnn_forward ${kind} T=${t} B=${b} I=${i} H=${h}: int8 and float32, both directions, lengths, initial states, no bias`, () => {
        const p = kind === 'lstm_proj' ? Math.max(1, h - 2) : h;
        const isLstm = kind.startsWith('lstm');
        const g = (isLstm ? 4 : kind === 'gru' ? 3 : 1) * h;
        const code = KINDS[kind];
        const ldy = 2 * p;
        const wIh = rnd(g * i, -0.5, 0.5), wHh = rnd(g * p, -0.5, 0.5), wHr = kind === 'lstm_proj' ? rnd(p * h, -0.5, 0.5) : null;
        const qIh = quantizeJs(wIh, g, i), qHh = quantizeJs(wHh, g, p), qHr = wHr && quantizeJs(wHr, p, h);
        for (const reverse of [0, 1]) {
          for (const [lengths, bias, init] of [[false, true, false], [true, true, true], [true, false, true], [false, false, false]]) {
            const what = `reverse ${reverse} lengths ${lengths} bias ${bias} init ${init}`;
            const common: Bufs = {
              x: rnd(t * b * i), bIh: bias ? rnd(g, -0.5, 0.5) : null, bHh: bias ? rnd(g, -0.5, 0.5) : null,
              h0: init ? rnd(b * p) : null, c0: init && isLstm ? rnd(b * h) : null,
              lengths: lengths ? Int32Array.from({ length: b }, (_, k) => (k === 0 ? t : 1 + ((k * 5) % t))) : null,
              y: new Float32Array(t * b * ldy).fill(9), hN: rnd(b * p), cN: isLstm ? rnd(b * h) : null,
            };
            const yOff = reverse * p * 4;
            const int8: Bufs = { ...common, wIh: qIh.q, sIh: qIh.s, wHh: qHh.q, sHh: qHh.s, wHr: qHr?.q ?? null, sHr: qHr?.s ?? null };
            const f32: Bufs = { ...common, wIh, sIh: null, wHh, sHh: null, wHr, sHr: null };
            const deq: Bufs = { ...common, wIh: qIh.deq, wHh: qHh.deq, wHr: qHr?.deq ?? null };
            const qcall = (dtype: number) => (k: Kernels, q: Ptrs) => k.lw_qrnn_forward(code, dtype, t, b, i, h, p, q.x, q.wIh, q.sIh, q.wHh, q.sHh,
              q.bIh, q.bHh, q.wHr, q.sHr, q.h0, q.c0, q.lengths, reverse, q.y + yOff, ldy, q.hN, q.cN);
            // The float32 layer kernels, without a cache (inference).
            const fcall = (k: Kernels, q: Ptrs) => {
              if (isLstm) return k.lw_lstm_forward(t, b, i, h, p, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.wHr, q.h0, q.c0, q.lengths, reverse, q.y + yOff, ldy, q.hN, q.cN, 0);
              if (kind === 'gru') return k.lw_gru_forward(t, b, i, h, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.h0, q.lengths, reverse, q.y + yOff, ldy, q.hN, 0);
              return k.lw_rnn_forward(t, b, i, h, code === 3 ? 1 : 0, q.x, q.wIh, q.wHh, q.bIh, q.bHh, q.h0, q.lengths, reverse, q.y + yOff, ldy, q.hN, 0);
            };
            const ri = agree(`int8 ${what}`, int8, qcall(1), 2e-5);
            expect(ri.ret, what).toBe(0);
            agree(`float32 ${what}`, f32, qcall(0), 2e-5);
            for (const be of [js, wasm]) {
              // dtype 0 is the float32 kernel, bit for bit (a float16 model's numbers are a float32 model's).
              const a = runOn(be, f32, qcall(0)), c = runOn(be, f32, fcall);
              for (const name of ['y', 'hN', 'cN']) {
                if (c.outs[name]) expect(Array.from(bitsOf(a.outs[name])), `${be.name} ${what}: float32 ${name} bit for bit`).toEqual(Array.from(bitsOf(c.outs[name])));
              }
              // int8 against the float32 kernel on the dequantized weights: only the activations'
              // int16 rounding differs (2^-16 of max|x| per element), far below 1e-3.
              const qi = runOn(be, int8, qcall(1)), d = runOn(be, deq, fcall);
              for (const name of ['y', 'hN', 'cN']) {
                if (d.outs[name]) expect(relDiff(qi.outs[name], d.outs[name]), `${be.name} ${what}: int8 ${name} vs dequantized float32`).toBeLessThanOrEqual(1e-3);
              }
            }
          }
        }
      });
    }
  }

  describe('lw_decode_step with a plan written per DECODE_PLAN', () => {
    const [V_IN, V, I, H] = [11, 13, 5, 7];
    const planKinds: [Kind, number][] = [['lstm', 0], ['lstm_proj', 0], ['gru', 1], ['rnn_tanh', 2], ['rnn_relu', 3]];
    for (const [kind, code] of planKinds) {
      for (const layers of [1, 2]) {
        it(`${kind}, ${layers} layer(s): float32 and int8 stacks, ids through embedding and head, floats without; batch 1 and 3`, () => {
          const P = kind === 'lstm_proj' ? 4 : H;
          const isLstm = kind.startsWith('lstm');
          const G = (isLstm ? 4 : kind === 'gru' ? 3 : 1) * H;
          for (const embedded of [true, false]) {
            // Matrices as float32, their int8 storage, and the float32 values that storage stands for.
            const mats: Record<string, { rows: number; cols: number; w: Float32Array; q: Int32Array; s: Float32Array; deq: Float32Array }> = {};
            const mat = (name: string, rows: number, cols: number) => {
              const w = rnd(rows * cols, -0.6, 0.6);
              mats[name] = { rows, cols, w, ...quantizeJs(w, rows, cols) };
            };
            if (embedded) {
              mat('table', V_IN, I);
              mat('head', V, P);
            }
            for (let l = 0; l < layers; l++) {
              mat(`wIh${l}`, G, l === 0 ? I : P);
              mat(`wHh${l}`, G, P);
              if (kind === 'lstm_proj') mat(`wHr${l}`, P, H);
            }
            const biases: Bufs = {};
            for (let l = 0; l < layers; l++) {
              biases[`bIh${l}`] = embedded ? rnd(G, -0.5, 0.5) : null;
              biases[`bHh${l}`] = embedded ? rnd(G, -0.5, 0.5) : null;
            }
            if (embedded) biases.headB = rnd(V);
            for (const B of [1, 3]) {
              const input = embedded ? ints(B, 0, V_IN) : rnd(B * I, -1.5, 1.5);
              const outLen = B * (embedded ? V : P);
              for (const fromZeros of [true, false]) {
                const state: Bufs = {
                  hIn: fromZeros ? null : rnd(layers * B * P), cIn: fromZeros || !isLstm ? null : rnd(layers * B * H),
                  hOut: new Float32Array(layers * B * P).fill(9), cOut: isLstm ? new Float32Array(layers * B * H).fill(9) : null,
                  out: new Float32Array(outLen).fill(9),
                };
                // The plan holds each backend's own addresses: written inside the call, in a block of its own.
                const run = (dtype: 0 | 1) => {
                  return (k: Kernels, p: Ptrs, be: Backend) => {
                    const D = DECODE_PLAN;
                    const words = D.header + D.layerWords * layers;
                    const plan = be.alloc(4 * words);
                    try {
                      const w = be.i32().subarray(plan >>> 2, (plan >>> 2) + words);
                      w[D.kind] = code;
                      w[D.layers] = layers;
                      w[D.batch] = B;
                      w[D.input] = I;
                      w[D.hidden] = H;
                      w[D.proj] = P;
                      w[D.table] = embedded ? p.table : 0;
                      w[D.tableRows] = embedded ? V_IN : 0;
                      w[D.headWeight] = embedded ? p.head : 0;
                      w[D.headBias] = embedded ? p.headB : 0;
                      w[D.vocab] = embedded ? V : 0;
                      w[D.dtype] = dtype === 1 ? QUANT_DTYPES.int8 : QUANT_DTYPES.float32;
                      w[D.tableScales] = embedded ? p.tableS : 0;
                      w[D.headScales] = embedded ? p.headS : 0;
                      for (let l = 0; l < layers; l++) {
                        const at = D.header + l * D.layerWords;
                        [p[`wIh${l}`], p[`wHh${l}`], p[`bIh${l}`], p[`bHh${l}`], p[`wHr${l}`] ?? 0, p[`wIh${l}S`], p[`wHh${l}S`], p[`wHr${l}S`] ?? 0]
                          .forEach((v, j) => { w[at + j] = v; });
                      }
                      return k.lw_decode_step(plan, p.input, p.hIn, p.cIn, p.hOut, p.cOut, p.out);
                    } finally {
                      be.free(plan, 4 * words);
                    }
                  };
                };
                const bufsOf = (dtype: 0 | 1, values: 'w' | 'deq'): Bufs => {
                  const bufs: Bufs = { input, ...state, ...biases };
                  for (const [name, m] of Object.entries(mats)) {
                    bufs[name] = dtype === 1 ? m.q : m[values];
                    bufs[`${name}S`] = dtype === 1 ? m.s : null;
                  }
                  return bufs;
                };
                const what = `embedded ${embedded} B ${B} zeros ${fromZeros}`;
                const f = agree(`float32 ${what}`, bufsOf(0, 'w'), run(0), 2e-5);
                expect(f.ret, what).toBe(0);
                const q = agree(`int8 ${what}`, bufsOf(1, 'w'), run(1), 2e-5);
                expect(q.ret, what).toBe(0);
                for (const r of [f, q]) expect(Array.from(r.outs.out).includes(9), `${what}: out written`).toBe(false);
                // int8 against the float32 stack of the dequantized weights (only the activations' rounding differs).
                for (const be of [js, wasm]) {
                  const d = runOn(be, bufsOf(0, 'deq'), run(0));
                  const qi = be === js ? q : runOn(be, bufsOf(1, 'w'), run(1));
                  for (const name of ['out', 'hOut', 'cOut']) {
                    if (d.outs[name]) expect(relDiff(qi.outs[name], d.outs[name]), `${be.name} ${what}: int8 ${name} vs dequantized`).toBeLessThanOrEqual(1e-3);
                  }
                }
              }
            }
          }
        });
      }
    }
  });
});

describe('broadcast binary ops, comparisons, where, unary math', () => {
  // [shape, then one stride row per input] as the kernels' int32 table: contiguous inner, row and
  // column broadcasts, both sides broadcast, a scalar, inner lengths off the SIMD width.
  const layouts: { shape: number[]; sa: number[]; sb: number[]; la: number; lb: number }[] = [
    { shape: [65], sa: [1], sb: [1], la: 65, lb: 65 },
    { shape: [7], sa: [1], sb: [0], la: 7, lb: 1 },
    { shape: [7], sa: [0], sb: [1], la: 1, lb: 7 },
    { shape: [4, 5], sa: [1, 0], sb: [5, 1], la: 4, lb: 20 },
    { shape: [2, 3, 7], sa: [7, 0, 1], sb: [0, 7, 1], la: 14, lb: 21 },
    { shape: [2, 3, 4], sa: [0, 0, 1], sb: [3, 1, 0], la: 4, lb: 6 },
  ];
  const table = (...rows: number[][]) => Int32Array.from(rows.flat());
  it('maximum and minimum of NaN and of +0/-0 pairs, bit for bit (the SIMD lanes and the scalar tail)', () => {
    // In the relaxed build LLVM compiles these selects as f32x4.relaxed_max/min plus a NaN check
    // (crate/simd.rs): the sign of a zero from a +0/-0 pair is what could differ. 20 = 5 vectors.
    const pairs = [[0, -0], [-0, 0], [NaN, 1], [1, NaN], [-0, -0], [0, 0], [NaN, NaN], [2, -3], [-1, -0], [0, 1]];
    const a = Float32Array.from([...pairs, ...pairs].map((q) => q[0]));
    const b = Float32Array.from([...pairs, ...pairs].map((q) => q[1]));
    const dims = table([20], [1], [1]);
    for (const op of [5, 6]) {
      const r = agree(`binary ${op} specials`, { a, b, dims, out: rnd(20) }, (k, p) => k.lw_binary_bcast(op, p.out, p.a, p.b, 1, p.dims), 0);
      // As the crate documents (crate/ops/broadcast.rs): NaN from either side, else a unless b wins strictly.
      const want = Array.from(a, (x, i) => (Number.isNaN(x) || Number.isNaN(b[i]) ? NaN : (op === 5 ? x < b[i] : b[i] < x) ? b[i] : x));
      expect(Array.from(r.outs.out as Float32Array).map((v) => Object.is(v, -0) ? '-0' : String(v)))
        .toEqual(want.map((v) => Object.is(v, -0) ? '-0' : String(v)));
    }
  });
  for (const { shape, sa, sb, la, lb } of layouts) {
    const n = shape.reduce((x, y) => x * y, 1);
    const nd = shape.length;
    it(`shape ${JSON.stringify(shape)} strides ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => {
      const a = rnd(la, 0.1, 3), b = rnd(lb, -2, 2);
      b[0] = a[0]; // a tie
      const dims = table(shape, sa, sb);
      for (let op = 0; op <= 6; op++) {
        // + - * / max min are exactly rounded on both sides; pow is powf vs Math.pow, within an ulp.
        const tol = op === 4 ? 1e-6 : 0;
        agree(`binary ${op}`, { a, b, dims, out: rnd(n) }, (k, p) => k.lw_binary_bcast(op, p.out, p.a, p.b, nd, p.dims), tol);
        agree(`binary backward ${op}`, { a, b, dims, g: rnd(n), da: rnd(la), db: rnd(lb) }, (k, p) =>
          k.lw_binary_bcast_backward(op, p.da, p.db, p.g, p.a, p.b, nd, p.dims), 1e-6);
        agree(`binary backward ${op}, da absent`, { a, b, dims, g: rnd(n), db: rnd(lb) }, (k, p) =>
          k.lw_binary_bcast_backward(op, 0, p.db, p.g, p.a, p.b, nd, p.dims), 1e-6);
      }
      const ai = ints(la, -2, 3), bi = ints(lb, -2, 3);
      for (let op = 0; op <= 5; op++) {
        agree(`compare ${op}`, { a, b, dims, out: rnd(n) }, (k, p) => k.lw_compare_bcast(op, p.out, p.a, p.b, 0, nd, p.dims), 0);
        agree(`compare ${op} int32`, { a: ai, b: bi, dims, out: rnd(n) }, (k, p) => k.lw_compare_bcast(op, p.out, p.a, p.b, 1, nd, p.dims), 0);
      }
      // where: cond read like a (int32 and float), a like b, b a scalar.
      const wdims = table(shape, sa, sb, shape.map(() => 0));
      const cf = Float32Array.from(ai, (v) => (v > 0 ? 1 : 0));
      for (const [cond, ci] of [[ai, 1], [cf, 0]] as const) {
        agree(`where ${ci}`, { cond, a: b, s: rnd(1), wdims, out: rnd(n) }, (k, p) =>
          k.lw_where_bcast(p.out, p.cond, p.a, p.s, ci, nd, p.wdims), 0);
        agree(`where backward ${ci}`, { cond, g: rnd(n), da: rnd(lb), db: rnd(1), wdims }, (k, p) =>
          k.lw_where_bcast_backward(p.da, p.db, p.g, p.cond, ci, nd, p.wdims), 1e-6);
      }
    });
  }
  for (const n of SIZES) {
    it(`n = ${n}: unary forward (also in place) and accumulating backward`, () => {
      const x = rnd(n, -3, 3), pos = rnd(n, 0.1, 4);
      x[0] = 0;
      for (let op = 0; op <= 6; op++) {
        const input = op === 2 || op === 3 || op === 5 ? pos : x;
        const [p0, p1] = op === 5 ? [-1.5, 0] : op === 6 ? [-0.5, 1] : [0, 0];
        const y = agree(`unary ${op}`, { x: input, y: rnd(n) }, (k, p) => k.lw_unary_forward(op, p.y, p.x, n, p0, p1), 1e-6).outs.y;
        agree(`unary ${op} in place`, { x: input }, (k, p) => k.lw_unary_forward(op, p.x, p.x, n, p0, p1), 1e-6);
        agree(`unary backward ${op}`, { d: rnd(n), g: rnd(n), x: input, y }, (k, p) =>
          k.lw_unary_backward(op, p.d, p.g, p.x, p.y, n, p0, p1), 1e-6);
      }
    });
  }
});

describe('selections along a dim', () => {
  for (const [outer, d, inner] of [[1, 1, 1], [2, 7, 3], [3, 65, 1], [1, 5, 7]]) {
    it(`(${outer}, ${d}, ${inner}): max/min, topk, gather and its backward, bit for bit`, () => {
      const x = rnd(outer * d * inner, -2, 2);
      x[0] = x[Math.min(inner, x.length - 1)]; // a tie
      if (x.length > 5) x[5] = NaN;
      const n = outer * inner;
      for (const min of [0, 1]) {
        agree(`max_dim min=${min}`, { x, v: rnd(n), i: new Int32Array(n) }, (k, p) => k.lw_max_dim(p.v, p.i, p.x, outer, d, inner, min), 0);
      }
      for (const kk of [1, Math.ceil(d / 2), d]) {
        for (const largest of [0, 1]) {
          const m = outer * kk * inner;
          agree(`topk k=${kk} largest=${largest}`, { x, v: rnd(m), i: new Int32Array(m) }, (k, p) =>
            k.lw_topk(p.v, p.i, p.x, outer, d, inner, kk, largest), 0);
        }
      }
      const kk = 3;
      const index = ints(outer * kk * inner, 0, d);
      agree('gather', { x, index, out: rnd(outer * kk * inner) }, (k, p) => k.lw_gather(p.out, p.x, p.index, outer, d, kk, inner), 0);
      agree('gather_backward', { dx: rnd(x.length), g: rnd(outer * kk * inner), index }, (k, p) =>
        k.lw_gather_backward(p.dx, p.g, p.index, outer, d, kk, inner), 1e-6);
    });
  }
});
