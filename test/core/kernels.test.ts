// Forward values of the WASM kernels against plain-JS float64 references, on sizes that are not
// multiples of the SIMD width (4) or of the GEMM tiles (MR 4, NR 8, KC 256), so every vector body,
// scalar tail and edge tile runs. Bounds are the float32 rounding-error bounds where one is known
// (exact IEEE results for elementwise ops, K*u*sum|a||b| for inner products).
import { beforeAll, describe, expect, it } from 'vitest';
import { F, concat, init, matmul, tensor, tidy, transpose } from 'lstm-wasm';
import {
  F32_EPS, assertClose, assertWithinBound, maxAbsError, randomF32, refBinary, refCrossEntropy, refGemm,
  refLogSoftmax, refReduce, refSigmoid, refSoftmax, size,
} from './helpers';

beforeAll(async () => {
  await init();
});

const SIZES = [1, 3, 7, 63, 65, 127, 257];

/** float32 result of a float64 computation that is exact before the final rounding. */
const round = (xs: ArrayLike<number>) => Float32Array.from(xs);

describe('elementwise kernels are exactly rounded', () => {
  const ops = [
    ['add', (x: number, y: number) => x + y],
    ['sub', (x: number, y: number) => x - y],
    ['mul', (x: number, y: number) => x * y],
  ] as const;

  it.each(SIZES)('add, sub, mul, same shape, n = %i', (n) => {
    tidy(() => {
      const a = randomF32(n, n, -4, 4);
      const b = randomF32(n, n + 1, -4, 4);
      const [ta, tb] = [tensor(a), tensor(b)];
      for (const [name, f] of ops) {
        const got = name === 'add' ? ta.add(tb) : name === 'sub' ? ta.sub(tb) : ta.mul(tb);
        expect(got.toArray(), name).toEqual(round(refBinary(f, a, b)));
      }
    });
  });

  // (Shapes with a leading 1, e.g. (1, n) with (n), are covered by gradcheck.test.ts.)
  it.each(SIZES)('add, sub, mul broadcasting either operand over rows 2, 3, 7, n = %i', (n) => {
    tidy(() => {
      for (const rows of [2, 3, 7]) {
        const big = randomF32(rows * n, 10 * n + rows, -4, 4);
        const small = randomF32(n, 10 * n + rows + 5, -4, 4);
        const [tBig, tSmall] = [tensor(big, [rows, n]), tensor(small, [n])];
        for (const [name, f] of ops) {
          const lib = (x: typeof tBig, y: typeof tBig) => (name === 'add' ? x.add(y) : name === 'sub' ? x.sub(y) : x.mul(y));
          const bigFirst = lib(tBig, tSmall);
          expect(bigFirst.shape).toEqual([rows, n]);
          expect(bigFirst.toArray(), `${name} (rows, n) (n)`).toEqual(round(refBinary(f, big, small)));
          const smallFirst = lib(tSmall, tBig);
          expect(smallFirst.shape).toEqual([rows, n]);
          expect(smallFirst.toArray(), `${name} (n) (rows, n)`).toEqual(round(refBinary(f, small, big)));
        }
      }
    });
  });

  it.each(SIZES)('scalar add, sub, mul, n = %i (the scalar is rounded to float32 first)', (n) => {
    tidy(() => {
      const a = randomF32(n, 3 * n, -4, 4);
      const t = tensor(a);
      const s = 0.1; // not a float32: the kernels take it as Math.fround(0.1)
      const s32 = Math.fround(s);
      expect(t.add(s).toArray()).toEqual(round(Array.from(a, (x) => x + s32)));
      expect(t.sub(s).toArray()).toEqual(round(Array.from(a, (x) => x - s32)));
      expect(t.mul(s).toArray()).toEqual(round(Array.from(a, (x) => x * s32)));
    });
  });

  it.each(SIZES)('relu, n = %i', (n) => {
    tidy(() => {
      const a = randomF32(n, 4 * n, -4, 4);
      expect(tensor(a).relu().toArray()).toEqual(round(Array.from(a, (x) => Math.max(x, 0))));
    });
  });
});

describe('reductions', () => {
  const shapes = [[257], [7, 65], [3, 63, 5], [65, 3, 1], [1, 127, 3]];

  it.each(shapes.map((s) => [JSON.stringify(s), s] as const))('sum and mean over %s, every dim and all', (_, shape) => {
    tidy(() => {
      const x = randomF32(size(shape), size(shape), -3, 3);
      const t = tensor(x, shape);
      const absX = Float64Array.from(x, Math.abs);
      for (const isMean of [false, true]) {
        const name = isMean ? 'mean' : 'sum';
        // The whole-tensor sum runs in f64: only the final rounding (and the 1/n scale) remains.
        const all = isMean ? t.mean() : t.sum();
        const ref = refReduce(x, shape, undefined, isMean)[0];
        const scale = refReduce(absX, shape, undefined, isMean)[0];
        expect(Math.abs(all.item() - ref), `${name} all`).toBeLessThanOrEqual(2 * F32_EPS * scale + 1e-30);
        for (let dim = 0; dim < shape.length; dim++) {
          const got = isMean ? t.mean(dim) : t.sum(dim);
          const want = refReduce(x, shape, dim, isMean);
          const d = shape[dim];
          const bound = refReduce(absX, shape, dim, isMean).map((v) => (d + 2) * F32_EPS * v + 1e-30);
          assertWithinBound(got.toArray(), want, bound, `${name} dim ${dim}`);
        }
      }
    });
  });
});

describe('matmul (sgemm) against float64, all four layouts', () => {
  const small = [1, 3, 7, 65];
  const shapes: [number, number, number][] = [];
  for (const m of small) for (const k of small) for (const n of small) shapes.push([m, k, n]);
  shapes.push(
    [257, 65, 127], [127, 257, 65], [65, 127, 257], [63, 257, 1], [1, 127, 257], [257, 1, 63], [257, 257, 7],
  );

  /**
   * C = A @ B built four ways (A or its transpose stored, B or its transpose stored, transposed
   * back by `transpose`); then the backward, which runs sgemm's NT (dA = G B^T) and TN
   * (dB = A^T G) variants on the same sizes.
   */
  function checkLayouts(m: number, k: number, n: number): void {
    tidy(() => {
      const seed = m * 1_000_003 + k * 1009 + n;
      const a = randomF32(m * k, seed, -1, 1);
      const b = randomF32(k * n, seed + 1, -1, 1);
      const { c, absC } = refGemm(a, b, m, k, n);
      const bound = absC.map((v) => (k + 2) * F32_EPS * v + 1e-30);
      const ta = tensor(a, [m, k], { requiresGrad: true });
      const tb = tensor(b, [k, n], { requiresGrad: true });
      const at = transpose(ta).detach(); // A stored as (K, M)
      const bt = transpose(tb).detach(); // B stored as (N, K)
      const layouts = {
        'A @ B': () => matmul(ta, tb),
        'transpose(A^T) @ B': () => matmul(transpose(at), tb),
        'A @ transpose(B^T)': () => matmul(ta, transpose(bt)),
        'transpose(A^T) @ transpose(B^T)': () => transpose(at).matmul(transpose(bt)),
      };
      for (const [name, f] of Object.entries(layouts)) {
        const y = f();
        expect(y.shape).toEqual([m, n]);
        assertWithinBound(y.toArray(), c, bound, `${m}x${k}x${n} ${name}`);
      }

      const g = randomF32(m * n, seed + 2, -1, 1);
      matmul(ta, tb).backward(tensor(g, [m, n]));
      const da = refGemm(g, b, m, n, k, false, true); // (M,N) @ (K,N)^T
      const db = refGemm(a, g, k, m, n, true, false); // (M,K)^T @ (M,N)
      assertWithinBound(ta.grad!.toArray(), da.c, da.absC.map((v) => (n + 2) * F32_EPS * v + 1e-30), `${m}x${k}x${n} dA = G B^T`);
      assertWithinBound(tb.grad!.toArray(), db.c, db.absC.map((v) => (m + 2) * F32_EPS * v + 1e-30), `${m}x${k}x${n} dB = A^T G`);
    });
  }

  it.each(shapes)('M=%i K=%i N=%i', (m, k, n) => checkLayouts(m, k, n));

  it('batched a (3, 65, 7) @ shared b (7, 63) and @ batched b (3, 7, 63)', () => {
    tidy(() => {
      const [batch, m, k, n] = [3, 65, 7, 63];
      const a = randomF32(batch * m * k, 91, -1, 1);
      const b = randomF32(k * n, 92, -1, 1);
      const bb = randomF32(batch * k * n, 93, -1, 1);
      const shared = matmul(tensor(a, [batch, m, k]), tensor(b, [k, n]));
      const batched = matmul(tensor(a, [batch, m, k]), tensor(bb, [batch, k, n]));
      expect(shared.shape).toEqual([batch, m, n]);
      expect(batched.shape).toEqual([batch, m, n]);
      for (let i = 0; i < batch; i++) {
        const ai = a.subarray(i * m * k, (i + 1) * m * k);
        const s = refGemm(ai, b, m, k, n);
        const t = refGemm(ai, bb.subarray(i * k * n, (i + 1) * k * n), m, k, n);
        const slab = (y: Float32Array | Int32Array) => y.subarray(i * m * n, (i + 1) * m * n);
        assertWithinBound(slab(shared.toArray()), s.c, s.absC.map((v) => (k + 2) * F32_EPS * v), `shared b, batch ${i}`);
        assertWithinBound(slab(batched.toArray()), t.c, t.absC.map((v) => (k + 2) * F32_EPS * v), `batched b, batch ${i}`);
      }
    });
  });
});

describe('softmax and logSoftmax', () => {
  /** Rows of n logits mixing +-1000, +-999 and uniform [-1000, 1000) values. */
  function bigLogits(rows: number, n: number, seed: number): Float32Array {
    const x = randomF32(rows * n, seed, -1000, 1000);
    const specials = [1000, -1000, 999, -999];
    for (let i = 0; i < x.length; i += 3) x[i] = specials[(i / 3) % 4];
    return x;
  }

  it.each(SIZES)('rows of big logits (+-1000), n = %i', (n) => {
    tidy(() => {
      const rows = 3;
      const x = bigLogits(rows, n, 50 + n);
      const t = tensor(x, [rows, n]);
      const p = t.softmax().toArray();
      assertClose(p, refSoftmax(x, n), { atol: 1e-6, rtol: 5e-6 }, `softmax n=${n}`);
      assertClose(t.logSoftmax().toArray(), refLogSoftmax(x, n), { atol: 2e-6, rtol: 1e-6 }, `logSoftmax n=${n}`);
      for (let r = 0; r < rows; r++) {
        const rowSum = Array.from(p.subarray(r * n, (r + 1) * n)).reduce((s, v) => s + v, 0);
        expect(Math.abs(rowSum - 1)).toBeLessThan(1e-5);
      }
    });
  });

  it.each(SIZES)('moderate logits in [-8, 8), 7 rows, n = %i', (n) => {
    tidy(() => {
      const x = randomF32(7 * n, 60 + n, -8, 8);
      const t = tensor(x, [7, n]);
      assertClose(t.softmax().toArray(), refSoftmax(x, n), { atol: 1e-7, rtol: 5e-6 }, `softmax n=${n}`);
      assertClose(t.logSoftmax().toArray(), refLogSoftmax(x, n), { atol: 2e-6, rtol: 1e-6 }, `logSoftmax n=${n}`);
    });
  });

  it('known rows: [1000, 999, -1000], equal huge logits, -Infinity entries', () => {
    tidy(() => {
      const x = tensor([[1000, 999, -1000], [1e30, 1e30, -1e30], [-Infinity, 0, -Infinity]]);
      const p = x.softmax().toArray();
      assertClose(p, [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1)), 0, 0.5, 0.5, 0, 0, 1, 0], { atol: 1e-7, rtol: 1e-6 }, 'softmax');
      const lp = x.logSoftmax().toArray();
      const lse = Math.log1p(Math.exp(-1));
      assertClose(lp.subarray(0, 3), [-lse, -1 - lse, -2000 - lse], { atol: 1e-6, rtol: 1e-6 }, 'logSoftmax [1000, 999, -1000]');
      expect(Array.from(lp.subarray(6))).toEqual([-Infinity, 0, -Infinity]);
    });
  });
});

describe('transcendentals: tanh and sigmoid to 5e-7 absolute over the float32 range', () => {
  /**
   * About 1e5 float32 points: a strided walk over the bit patterns of both signs (every binade
   * from subnormals to MAX), a dense grid over [-20, 20], and the special values.
   */
  function sweep(): Float32Array {
    const pts: number[] = [];
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let b = 0; b < 0x7f800000; b += 65_521) {
      bits[0] = b;
      pts.push(asFloat[0], -asFloat[0]);
    }
    for (let x = -20; x <= 20; x += 1 / 1024) pts.push(x);
    pts.push(
      0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 1e-45, 20, -20, 90, -90, 1e30, -1e30,
      0.625, -0.625, 88.72283, -88.72283, 103.9, -103.9, 3.4028234663852886e38, -3.4028234663852886e38,
    );
    return Float32Array.from(pts);
  }

  const x = sweep();

  function check(name: 'tanh' | 'sigmoid', reference: (v: number) => number): void {
    tidy(() => {
      const y = (name === 'tanh' ? tensor(x).tanh() : F.sigmoid(tensor(x))).toArray();
      const want = Float64Array.from(x, reference);
      const nan = x.map((v) => (Number.isNaN(v) ? 1 : 0));
      for (let i = 0; i < x.length; i++) {
        if (nan[i]) expect(y[i], `${name}(NaN)`).toBeNaN();
      }
      const finite = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => !nan[i]);
      const { error, index } = maxAbsError(finite(y), finite(want));
      const worstX = finite(x)[index];
      expect(error, `${name} max abs error ${error} at x = ${worstX}`).toBeLessThanOrEqual(5e-7);
    });
  }

  it(`tanh vs Math.tanh over ${x.length} points`, () => {
    expect(x.length).toBeGreaterThan(90_000);
    check('tanh', Math.tanh);
  });

  it(`sigmoid vs 1/(1+exp(-x)) over ${x.length} points`, () => check('sigmoid', refSigmoid));

  it('special values: signed zeros, tiny, saturation, infinities', () => {
    tidy(() => {
      const inp = [0, -0, 1e-30, -1e-30, 20, -20, 90, -90, 1e30, -1e30, Infinity, -Infinity];
      const th = tensor(inp).tanh().toArray();
      expect(Object.is(th[0], 0) && Object.is(th[1], -0), 'tanh keeps the sign of zero').toBe(true);
      expect(Array.from(th.subarray(2))).toEqual([Math.fround(1e-30), Math.fround(-1e-30), 1, -1, 1, -1, 1, -1, 1, -1]);
      const sg = tensor(inp).sigmoid().toArray();
      expect(Array.from(sg.subarray(0, 2))).toEqual([0.5, 0.5]);
      expect(Array.from(sg.subarray(6))).toEqual([1, 0, 1, 0, 1, 0]);
    });
  });

  it('the scalar tail gives the same bits as the vector body', () => {
    tidy(() => {
      const base = randomF32(65, 71, -6, 6);
      const want = { tanh: tensor(base).tanh().toArray(), sigmoid: tensor(base).sigmoid().toArray() };
      for (const shift of [1, 2, 3]) {
        // Shifting moves every value to another lane, and values from the tail into the body.
        const shifted = concat([tensor(new Float32Array(shift)), tensor(base)], 0);
        expect(shifted.tanh().toArray().subarray(shift), `tanh shift ${shift}`).toEqual(want.tanh);
        expect(shifted.sigmoid().toArray().subarray(shift), `sigmoid shift ${shift}`).toEqual(want.sigmoid);
      }
    });
  });

  // exp is not exported. softmax([0, x]) = [1, e^x] / (1 + e^x) runs the crate's exp on x - max,
  // so its second entry checks exp's relative accuracy down to the smallest normal results.
  it('exp (through softmax of [0, x]) has relative error < 2e-6 for x in [-87, 0]', () => {
    tidy(() => {
      const xs: number[] = [];
      for (let v = -87; v <= 0; v += 1 / 256) xs.push(Math.fround(v));
      const rows = tensor(xs.flatMap((v) => [0, v]), [xs.length, 2]);
      const p = rows.softmax().toArray();
      let worst = 0;
      let at = 0;
      xs.forEach((v, i) => {
        const want = Math.exp(v) / (1 + Math.exp(v));
        const rel = Math.abs(p[2 * i + 1] - want) / want;
        if (rel > worst) [worst, at] = [rel, v];
      });
      expect(worst, `worst relative error ${worst} at x = ${at}`).toBeLessThan(2e-6);
    });
  });
});

describe('embedding and crossEntropy forward', () => {
  it.each(SIZES)('embedding gathers rows exactly, dim = %i', (dim) => {
    tidy(() => {
      const count = 9;
      const w = randomF32(count * dim, 80 + dim);
      const ids = Int32Array.from({ length: 13 }, (_, i) => (i * 5 + 3) % count);
      const y = F.embedding(tensor(ids), tensor(w, [count, dim]));
      expect(y.shape).toEqual([13, dim]);
      const want = new Float32Array(13 * dim);
      ids.forEach((id, r) => want.set(w.subarray(id * dim, (id + 1) * dim), r * dim));
      expect(y.toArray()).toEqual(want);
    });
  });

  it.each(SIZES)('crossEntropy with ignored rows, classes = %i', (classes) => {
    tidy(() => {
      const rows = 7;
      const logits = randomF32(rows * classes, 90 + classes, -10, 10);
      const targets = Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? -100 : (r * 7919 + 3) % classes));
      const t = tensor(logits, [rows, classes]);
      for (const reduction of ['mean', 'sum'] as const) {
        const got = F.crossEntropy(t, tensor(Int32Array.from(targets)), { reduction }).item();
        const want = refCrossEntropy(logits, targets, classes, -100, reduction);
        expect(Math.abs(got - want), `${reduction}: ${got} vs ${want}`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want)));
      }
    });
  });
});
