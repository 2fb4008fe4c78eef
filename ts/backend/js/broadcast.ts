/**
 * Broadcast binary ops, comparisons, `where`, and their backward (crate/ops/broadcast.rs), and the
 * unary math ops (crate/ops/unary.rs). Same tables and op codes as the crate (see `lw_binary_bcast`
 * in kernels.ts); each float32 operation is rounded with `Math.fround` as the crate rounds it.
 * exp, log and pow are the float64 `Math` functions rounded once, so they agree with the crate's
 * float32 versions to about one ulp, not bit for bit.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

type BroadcastKernels = Pick<Kernels,
  'lw_binary_bcast' | 'lw_binary_bcast_backward' | 'lw_compare_bcast' | 'lw_where_bcast' | 'lw_where_bcast_backward' |
  'lw_unary_forward' | 'lw_unary_backward'>;

const MAX_BCAST_DIMS = 16;

/** The table's rows (shape, then one stride row per input), or null when ndim is out of range. */
function table(heap: JsHeap, ndim: number, dims: number, rows: number): number[][] | null {
  if (ndim < 1 || ndim > MAX_BCAST_DIMS) return null;
  const t = heap.i32, at = dims >>> 2;
  return Array.from({ length: rows }, (_, r) => Array.from(t.subarray(at + r * ndim, at + (r + 1) * ndim)));
}

/**
 * Calls `row(r, offsets)` for each innermost row r (row-major) with each input's element offset
 * of that row's first element.
 */
function forEachRow(shape: number[], strides: number[][], row: (r: number, offsets: number[]) => void): void {
  if (shape.some((d) => d === 0)) return;
  const outer = shape.length - 1;
  const idx = new Array<number>(outer).fill(0);
  const offsets = strides.map(() => 0);
  let rows = 1;
  for (let d = 0; d < outer; d++) rows *= shape[d];
  for (let r = 0; r < rows; r++) {
    row(r, offsets.slice());
    // Odometer increment over the outer dims, updating each input's offset.
    for (let d = outer - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < strides.length; k++) offsets[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (let k = 0; k < strides.length; k++) offsets[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

function maximum(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? b : a;
}
function minimum(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : b < a ? b : a;
}

/** op(a, b) by code (crate `BinOp::scalar`). */
export function binaryScalar(op: number, a: number, b: number): number {
  switch (op) {
    case 0: return f32(a + b);
    case 1: return f32(a - b);
    case 2: return f32(a * b);
    case 3: return f32(a / b);
    case 4: return f32(Math.pow(a, b));
    case 5: return maximum(a, b);
    case 6: return minimum(a, b);
    default: return NaN;
  }
}

/** [d/da, d/db] of g * op(a, b) (crate `BinOp::grads`). */
function binaryGrads(op: number, g: number, a: number, b: number): [number, number] {
  switch (op) {
    case 0: return [g, g];
    case 1: return [g, -g];
    case 2: return [f32(g * b), f32(g * a)];
    case 3: return [f32(g / b), f32(-g * f32(f32(a / b) / b))];
    case 4: {
      const da = b === 0 ? 0 : f32(g * f32(b * f32(Math.pow(a, f32(b - 1)))));
      const db = a === 0 && b >= 0 ? 0 : f32(g * f32(f32(Math.pow(a, b)) * f32(Math.log(a))));
      return [da, db];
    }
    case 5:
    case 6: {
      if (a === b) return [f32(g / 2), f32(g / 2)];
      const aWins = op === 5 ? a > b : a < b;
      const bWins = op === 5 ? b > a : b < a;
      return [aWins ? g : 0, bWins ? g : 0];
    }
    default: return [0, 0];
  }
}

function compareScalar(op: number, a: number, b: number): boolean {
  switch (op) {
    case 0: return a === b;
    case 1: return a !== b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return a > b;
    case 5: return a >= b;
    default: return false;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  if (Number.isNaN(x)) return x;
  const v = x < lo ? lo : x;
  return v > hi ? hi : v;
}

/** op(x; p0, p1) by code (crate `UnaryOp::scalar`). */
function unaryScalar(op: number, x: number, p0: number, p1: number): number {
  switch (op) {
    case 0: return -x;
    case 1: return f32(Math.exp(x));
    case 2: return f32(Math.log(x));
    case 3: return f32(Math.sqrt(x));
    case 4: return Math.abs(x);
    case 5: return f32(Math.pow(x, p0));
    case 6: return clamp(x, p0, p1);
    default: return NaN;
  }
}

/** d/dx of g * op(x), y = op(x) (crate `UnaryOp::grad`). */
function unaryGrad(op: number, g: number, x: number, y: number, p0: number, p1: number): number {
  switch (op) {
    case 0: return -g;
    case 1: return f32(g * y);
    case 2: return f32(g / x);
    case 3: return f32(g / f32(2 * y));
    case 4: return x > 0 ? g : x < 0 ? -g : 0;
    case 5: return p0 === 0 ? 0 : f32(g * f32(p0 * f32(Math.pow(x, f32(p0 - 1)))));
    case 6: return x >= p0 && x <= p1 ? g : 0;
    default: return 0;
  }
}

export function broadcastKernels(heap: JsHeap): BroadcastKernels {
  return {
    lw_binary_bcast(op, out, a, b, ndim, dims) {
      const t = table(heap, ndim, dims, 3);
      if (t === null || op < 0 || op > 6) return;
      const [shape, sa, sb] = t;
      const h = heap.f32, o = out >>> 2, x = a >>> 2, y = b >>> 2;
      const n = shape[ndim - 1], ia = sa[ndim - 1], ib = sb[ndim - 1];
      forEachRow(shape, [sa, sb], (r, [oa, ob]) => {
        for (let j = 0; j < n; j++) h[o + r * n + j] = binaryScalar(op, h[x + oa + j * ia], h[y + ob + j * ib]);
      });
    },
    lw_binary_bcast_backward(op, da, db, dout, a, b, ndim, dims) {
      const t = table(heap, ndim, dims, 3);
      if (t === null || op < 0 || op > 6) return;
      const [shape, sa, sb] = t;
      const h = heap.f32, g = dout >>> 2, x = a >>> 2, y = b >>> 2, pa = da >>> 2, pb = db >>> 2;
      const n = shape[ndim - 1], ia = sa[ndim - 1], ib = sb[ndim - 1];
      forEachRow(shape, [sa, sb], (r, [oa, ob]) => {
        for (let j = 0; j < n; j++) {
          const ea = oa + j * ia, eb = ob + j * ib;
          const [ga, gb] = binaryGrads(op, h[g + r * n + j], h[x + ea], h[y + eb]);
          if (da !== 0) h[pa + ea] += ga;
          if (db !== 0) h[pb + eb] += gb;
        }
      });
    },
    lw_compare_bcast(op, out, a, b, int32, ndim, dims) {
      const t = table(heap, ndim, dims, 3);
      if (t === null || op < 0 || op > 5) return;
      const [shape, sa, sb] = t;
      const h = heap.f32, v = int32 ? heap.i32 : heap.f32, o = out >>> 2, x = a >>> 2, y = b >>> 2;
      const n = shape[ndim - 1], ia = sa[ndim - 1], ib = sb[ndim - 1];
      forEachRow(shape, [sa, sb], (r, [oa, ob]) => {
        for (let j = 0; j < n; j++) h[o + r * n + j] = compareScalar(op, v[x + oa + j * ia], v[y + ob + j * ib]) ? 1 : 0;
      });
    },
    lw_where_bcast(out, cond, a, b, condInt32, ndim, dims) {
      const t = table(heap, ndim, dims, 4);
      if (t === null) return;
      const [shape, sc, sa, sb] = t;
      const h = heap.f32, cv = condInt32 ? heap.i32 : heap.f32, o = out >>> 2, c = cond >>> 2, x = a >>> 2, y = b >>> 2;
      const n = shape[ndim - 1], ic = sc[ndim - 1], ia = sa[ndim - 1], ib = sb[ndim - 1];
      forEachRow(shape, [sc, sa, sb], (r, [oc, oa, ob]) => {
        for (let j = 0; j < n; j++) h[o + r * n + j] = cv[c + oc + j * ic] !== 0 ? h[x + oa + j * ia] : h[y + ob + j * ib];
      });
    },
    lw_where_bcast_backward(da, db, dout, cond, condInt32, ndim, dims) {
      const t = table(heap, ndim, dims, 4);
      if (t === null) return;
      const [shape, sc, sa, sb] = t;
      const h = heap.f32, cv = condInt32 ? heap.i32 : heap.f32, g = dout >>> 2, c = cond >>> 2, pa = da >>> 2, pb = db >>> 2;
      const n = shape[ndim - 1], ic = sc[ndim - 1], ia = sa[ndim - 1], ib = sb[ndim - 1];
      forEachRow(shape, [sc, sa, sb], (r, [oc, oa, ob]) => {
        for (let j = 0; j < n; j++) {
          const gv = h[g + r * n + j];
          if (cv[c + oc + j * ic] !== 0) {
            if (da !== 0) h[pa + oa + j * ia] += gv;
          } else if (db !== 0) {
            h[pb + ob + j * ib] += gv;
          }
        }
      });
    },
    // out, x (n); in place ok.
    lw_unary_forward(op, out, x, n, p0, p1) {
      const h = heap.f32, o = out >>> 2, i0 = x >>> 2, q0 = f32(p0), q1 = f32(p1);
      for (let i = 0; i < n; i++) h[o + i] = unaryScalar(op, h[i0 + i], q0, q1);
    },
    lw_unary_backward(op, dinp, dout, x, y, n, p0, p1) {
      const h = heap.f32, d = dinp >>> 2, g = dout >>> 2, xi = x >>> 2, yi = y >>> 2, q0 = f32(p0), q1 = f32(p1);
      for (let i = 0; i < n; i++) h[d + i] += unaryGrad(op, h[g + i], h[xi + i], h[yi + i], q0, q1);
    },
  };
}
