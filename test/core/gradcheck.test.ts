// Finite-difference gradient checks for every differentiable op.
//
// For each case: inputs are float32; the library computes y = op(x) and y.backward(R) with a
// fixed random R, i.e. the gradient of L = sum(op(x) * R). The numeric gradient is a central
// difference of the same L computed by an independent float64 JS reference of the forward
// (helpers.ts), so the step can be tiny (h = 1e-5) and the tolerance tight (1e-5; the worst case
// seen is below 2e-6). The library's forward is checked against the same reference first, so
// reference and library describe the same function.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  F, Generator, Tensor, concat, init, manualSeed, matmul, memory, ones, tensor, tidy, where,
} from 'lstm-wasm';
import {
  type Shape, assertClose, randomAwayFromZero, randomF32, refBinary, refConcat, refCrossEntropy, refEmbedding,
  refLayerNorm, refLogSoftmax, refMatmul, refReduce, refSigmoid, refSlice, refSoftmax, refTranspose, size,
} from './helpers';

beforeAll(async () => {
  await init();
});

interface GradInput {
  shape: Shape;
  data: Float32Array;
  /** Whether the input requires grad (default true). */
  grad?: boolean;
}

interface GradCase {
  name: string;
  inputs: GradInput[];
  /** The op under test, on the library's tensors (one per input, same order). */
  forward: (xs: Tensor[]) => Tensor;
  /** The same op in float64 on flat row-major data; returns the flat output. */
  reference: (xs: Float64Array[]) => ArrayLike<number>;
  /** The expected output shape, when the case is about it (broadcasting). */
  outShape?: Shape;
  /** Entries where the library's gradient is 0 by definition although L depends on them (padding_idx). */
  zeroGradAt?: (inputIndex: number, element: number) => boolean;
}

const H = 1e-5;
const GRAD_TOL = { atol: 1e-5, rtol: 1e-5 };
const FORWARD_TOL = { atol: 1e-5, rtol: 1e-5 };

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** dL/dx[i] by central differences of L(x) = sum(reference(x) * r), all in float64. */
function numericGradient(c: GradCase, xs: Float64Array[], i: number, r: Float32Array): Float64Array {
  const x = xs[i];
  const grad = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const saved = x[j];
    x[j] = saved + H;
    const plus = dot(c.reference(xs), r);
    x[j] = saved - H;
    const minus = dot(c.reference(xs), r);
    x[j] = saved;
    grad[j] = c.zeroGradAt?.(i, j) ? 0 : (plus - minus) / (2 * H);
  }
  return grad;
}

function checkGradients(c: GradCase, seed = 1): void {
  const liveBefore = memory().liveTensors;
  tidy(() => {
    const xs = c.inputs.map((inp) => tensor(inp.data, inp.shape, { requiresGrad: inp.grad ?? true }));
    const y = c.forward(xs);
    if (c.outShape !== undefined) expect(y.shape, `${c.name}: output shape`).toEqual(c.outShape);
    const x64 = c.inputs.map((inp) => Float64Array.from(inp.data));
    assertClose(y.toArray(), c.reference(x64), FORWARD_TOL, `${c.name}: forward`);

    const r = randomF32(y.size, 1000 + seed, -1, 1);
    y.backward(tensor(r, y.shape));
    c.inputs.forEach((inp, i) => {
      if (inp.grad === false) {
        expect(xs[i].grad, `${c.name}: input ${i} does not require grad`).toBeNull();
        return;
      }
      const g = xs[i].grad;
      expect(g, `${c.name}: input ${i} has a gradient`).not.toBeNull();
      expect(g!.shape).toEqual(inp.shape);
      assertClose(g!.toArray(), numericGradient(c, x64, i, r), GRAD_TOL, `${c.name}: d/d input ${i}`);
    });
  });
  // Every intermediate, gradient buffer and saved tensor is gone once the scope closes.
  expect(memory().liveTensors).toBe(liveBefore);
}

/** An input of the given shape with data uniform in [lo, hi) from a per-case seed. */
let nextSeed = 1;
function input(shape: Shape, options: { lo?: number; hi?: number; grad?: boolean } = {}): GradInput {
  return { shape, data: randomF32(size(shape), nextSeed++, options.lo ?? -2, options.hi ?? 2), grad: options.grad };
}

/** PyTorch's broadcast shape of two shapes (aligned at the right; here only 1s or equal dims). */
function broadcastShape(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

const add = (x: number, y: number) => x + y;
const sub = (x: number, y: number) => x - y;
const mul = (x: number, y: number) => x * y;

function binaryCases(): GradCase[] {
  const ops = [
    ['add', add, (a: Tensor, b: Tensor) => a.add(b)],
    ['sub', sub, (a: Tensor, b: Tensor) => a.sub(b)],
    ['mul', mul, (a: Tensor, b: Tensor) => a.mul(b)],
  ] as const;
  // [a shape, b shape]: same shape, b repeating over a's leading dims, a repeating over b's.
  const layouts: [Shape, Shape][] = [
    [[3, 4], [3, 4]],
    [[2, 3, 4], [4]],
    [[2, 3, 4], [3, 4]],
    [[2, 3, 4], [1, 4]],
    [[5], [2, 5]],
    [[3, 4], [2, 3, 4]],
    [[1, 4], [3, 4]],
    // Equal sizes, different ranks: the result has the broadcast shape (1, 4) whatever the order.
    [[4], [1, 4]],
    [[1, 4], [4]],
  ];
  const cases: GradCase[] = [];
  for (const [name, f, lib] of ops) {
    for (const [as, bs] of layouts) {
      cases.push({
        name: `${name} ${JSON.stringify(as)} ${JSON.stringify(bs)}`,
        inputs: [input(as), input(bs)],
        forward: ([a, b]) => lib(a, b),
        reference: ([a, b]) => refBinary(f, a, b),
        outShape: broadcastShape(as, bs),
      });
    }
    // Only one side requires grad: the other gets none, and the broadcast one still reduces.
    cases.push({
      name: `${name} [2, 3] [3], only b requires grad`,
      inputs: [input([2, 3], { grad: false }), input([3])],
      forward: ([a, b]) => lib(a, b),
      reference: ([a, b]) => refBinary(f, a, b),
    });
  }
  const scalar = (name: string, s: number, lib: (a: Tensor) => Tensor, f: (x: number) => number): GradCase => ({
    name,
    inputs: [input([2, 5])],
    forward: ([a]) => lib(a),
    reference: ([a]) => a.map(f),
  });
  cases.push(
    scalar('add scalar 2.5', 2.5, (a) => a.add(2.5), (x) => x + 2.5),
    scalar('sub scalar 1.5', 1.5, (a) => a.sub(1.5), (x) => x - 1.5),
    scalar('mul scalar -0.75', -0.75, (a) => a.mul(-0.75), (x) => x * -0.75),
    scalar('div scalar 4', 4, (a) => a.div(4), (x) => x / 4),
    scalar('neg', -1, (a) => a.neg(), (x) => -x),
    // The same tensor on both sides: gradients from both operands accumulate.
    scalar('mul x * x', 0, (a) => a.mul(a), (x) => x * x),
    scalar('add x + x', 0, (a) => a.add(a), (x) => 2 * x),
    scalar('sub x - x * 3', 0, (a) => a.sub(a.mul(3)), (x) => -2 * x),
    scalar('clone', 0, (a) => a.clone(), (x) => x),
  );
  return cases;
}

function matmulCases(): GradCase[] {
  const layouts: [string, Shape, Shape][] = [
    ['2-D', [3, 4], [4, 5]],
    ['2-D row times column', [1, 6], [6, 1]],
    ['2-D outer product', [5, 1], [1, 3]],
    ['batched a, shared 2-D b', [2, 3, 4], [4, 5]],
    ['4-D a, shared 2-D b', [2, 2, 3, 4], [4, 2]],
    ['batched a, batched b', [2, 3, 4], [2, 4, 5]],
    ['4-D batched a, batched b', [2, 3, 2, 5], [2, 3, 5, 2]],
  ];
  const cases: GradCase[] = layouts.map(([name, as, bs]) => ({
    name: `matmul ${name} ${JSON.stringify(as)} @ ${JSON.stringify(bs)}`,
    inputs: [input(as), input(bs)],
    forward: ([a, b]) => matmul(a, b),
    reference: ([a, b]) => refMatmul(a, as, b, bs),
  }));
  cases.push({
    name: 'matmul, only a requires grad',
    inputs: [input([3, 4]), input([4, 2], { grad: false })],
    forward: ([a, b]) => a.matmul(b),
    reference: ([a, b]) => refMatmul(a, [3, 4], b, [4, 2]),
  });
  return cases;
}

function reduceCases(): GradCase[] {
  const shape = [2, 3, 4];
  const cases: GradCase[] = [];
  for (const isMean of [false, true]) {
    const name = isMean ? 'mean' : 'sum';
    const lib = (x: Tensor, dim?: number, keepdim?: boolean) => (isMean ? x.mean(dim, keepdim) : x.sum(dim, keepdim));
    cases.push({
      name: `${name} all`,
      inputs: [input(shape)],
      forward: ([x]) => lib(x),
      reference: ([x]) => refReduce(x, shape, undefined, isMean),
    });
    cases.push({
      name: `${name} all keepdim`,
      inputs: [input(shape)],
      forward: ([x]) => {
        const y = lib(x, undefined, true);
        expect(y.shape).toEqual([1, 1, 1]);
        return y;
      },
      reference: ([x]) => refReduce(x, shape, undefined, isMean),
    });
    for (const dim of [0, 1, 2, -1, -3]) {
      for (const keepdim of [false, true]) {
        cases.push({
          name: `${name} dim ${dim}${keepdim ? ' keepdim' : ''}`,
          inputs: [input(shape)],
          forward: ([x]) => {
            const y = lib(x, dim, keepdim);
            const d0 = dim < 0 ? dim + 3 : dim;
            expect(y.shape).toEqual(keepdim ? shape.map((s, i) => (i === d0 ? 1 : s)) : shape.filter((_, i) => i !== d0));
            return y;
          },
          reference: ([x]) => refReduce(x, shape, dim, isMean),
        });
      }
    }
    cases.push({
      name: `${name} of a 1-D tensor along dim 0`,
      inputs: [input([7])],
      forward: ([x]) => lib(x, 0),
      reference: ([x]) => refReduce(x, [7], 0, isMean),
    });
  }
  return cases;
}

function shapeCases(): GradCase[] {
  const cases: GradCase[] = [
    {
      name: 'reshape [2, 3, 4] -> [4, 6]',
      inputs: [input([2, 3, 4])],
      forward: ([x]) => x.reshape(4, 6),
      reference: ([x]) => x,
    },
    {
      name: 'reshape [2, 3, 4] -> [6, -1]',
      inputs: [input([2, 3, 4])],
      forward: ([x]) => x.reshape([6, -1]),
      reference: ([x]) => x,
    },
    {
      name: 'transpose [3, 5]',
      inputs: [input([3, 5])],
      forward: ([x]) => x.transpose(),
      reference: ([x]) => refTranspose(x, [3, 5]),
    },
    {
      name: 'transpose [2, 3, 5] (last two dims)',
      inputs: [input([2, 3, 5])],
      forward: ([x]) => x.mT,
      reference: ([x]) => refTranspose(x, [2, 3, 5]),
    },
  ];
  const shape = [3, 4, 5];
  const slices: [number, number, number][] = [[0, 1, 3], [1, 0, 2], [1, 1, 4], [2, 2, 5], [-1, 0, 1], [-2, 3, 4]];
  for (const [dim, start, end] of slices) {
    cases.push({
      name: `slice dim ${dim} [${start}, ${end})`,
      inputs: [input(shape)],
      forward: ([x]) => x.slice(dim, start, end),
      reference: ([x]) => refSlice(x, shape, dim, start, end),
    });
  }
  cases.push({
    name: 'slice dim 1 from 2 to the end (end omitted)',
    inputs: [input(shape)],
    forward: ([x]) => x.slice(1, 2),
    reference: ([x]) => refSlice(x, shape, 1, 2, 4),
  });
  // Parts that differ only in the concat dim; the middle part does not require grad.
  for (const dim of [0, 1, 2, -1]) {
    const d0 = dim < 0 ? dim + 3 : dim;
    const shapes = [1, 3, 2].map((len) => [2, 3, 4].map((s, i) => (i === d0 ? len : s)));
    cases.push({
      name: `concat dim ${dim} of ${shapes.map((s) => JSON.stringify(s)).join(', ')}`,
      inputs: [input(shapes[0]), input(shapes[1], { grad: false }), input(shapes[2])],
      forward: (xs) => concat(xs, dim),
      reference: (xs) => refConcat(xs, shapes, dim),
    });
  }
  // slice and concat undo each other: the gradient flows through both.
  cases.push({
    name: 'concat of slices (swap halves along dim 1)',
    inputs: [input([2, 6])],
    forward: ([x]) => concat([x.slice(1, 3, 6), x.slice(1, 0, 3)], 1),
    reference: ([x]) => refConcat([refSlice(x, [2, 6], 1, 3, 6), refSlice(x, [2, 6], 1, 0, 3)], [[2, 3], [2, 3]], 1),
  });
  return cases;
}

function activationCases(): GradCase[] {
  const shape = [3, 7];
  return [
    {
      name: 'tanh',
      inputs: [input(shape, { lo: -3, hi: 3 })],
      forward: ([x]) => x.tanh(),
      reference: ([x]) => x.map(Math.tanh),
    },
    {
      name: 'sigmoid',
      inputs: [input(shape, { lo: -5, hi: 5 })],
      forward: ([x]) => x.sigmoid(),
      reference: ([x]) => x.map(refSigmoid),
    },
    {
      // Inputs at least 0.1 away from 0, so x +- h never crosses the kink.
      name: 'relu',
      inputs: [{ shape, data: randomAwayFromZero(size(shape), 77, 0.1) }],
      forward: ([x]) => x.relu(),
      reference: ([x]) => x.map((v) => Math.max(v, 0)),
    },
    {
      name: 'F.tanh(F.sigmoid(x))',
      inputs: [input(shape)],
      forward: ([x]) => F.tanh(F.sigmoid(x)),
      reference: ([x]) => x.map((v) => Math.tanh(refSigmoid(v))),
    },
  ];
}

function softmaxCases(): GradCase[] {
  const big = input([3, 5]);
  // One row far from 0 (the kernels subtract the row max).
  for (let j = 0; j < 5; j++) big.data[5 + j] += 40;
  return [
    { name: 'softmax [3, 5]', inputs: [big], forward: ([x]) => x.softmax(-1), reference: ([x]) => refSoftmax(x, 5) },
    { name: 'logSoftmax [3, 5]', inputs: [big], forward: ([x]) => x.logSoftmax(), reference: ([x]) => refLogSoftmax(x, 5) },
    { name: 'softmax [2, 3, 7]', inputs: [input([2, 3, 7])], forward: ([x]) => F.softmax(x, 2), reference: ([x]) => refSoftmax(x, 7) },
    { name: 'logSoftmax [2, 3, 7]', inputs: [input([2, 3, 7])], forward: ([x]) => F.logSoftmax(x, -1), reference: ([x]) => refLogSoftmax(x, 7) },
    { name: 'softmax of a single class [4, 1]', inputs: [input([4, 1])], forward: ([x]) => x.softmax(), reference: ([x]) => refSoftmax(x, 1) },
  ];
}

function layerNormCases(): GradCase[] {
  // Weights away from 0 keep every path alive; one row offset by 30 checks the centering.
  const off = input([3, 7]);
  for (let j = 0; j < 7; j++) off.data[7 + j] += 30;
  return [
    {
      name: 'layerNorm [3, 7] over [7], weight and bias', inputs: [off, input([7], { lo: 0.5, hi: 1.5 }), input([7])],
      forward: ([x, w, b]) => F.layerNorm(x, [7], w, b), reference: ([x, w, b]) => refLayerNorm(x, 7, w, b),
    },
    {
      name: 'layerNorm [2, 3, 5] over [3, 5], weight and bias', inputs: [input([2, 3, 5]), input([3, 5], { lo: 0.5, hi: 1.5 }), input([3, 5])],
      forward: ([x, w, b]) => F.layerNorm(x, [3, 5], w, b), reference: ([x, w, b]) => refLayerNorm(x, 15, w, b),
    },
    {
      name: 'layerNorm [4, 9] over 9, no affine, eps 1e-3', inputs: [input([4, 9])],
      forward: ([x]) => F.layerNorm(x, 9, null, null, 1e-3), reference: ([x]) => refLayerNorm(x, 9, null, null, 1e-3),
    },
    {
      name: 'layerNorm [2, 6] over 6, weight only (x constant: no grad)', inputs: [input([2, 6], { grad: false }), input([6], { lo: 0.5, hi: 1.5 })],
      forward: ([x, w]) => F.layerNorm(x, [6], w), reference: ([x, w]) => refLayerNorm(x, 6, w, null),
    },
    {
      name: 'layerNorm [5, 1] over 1 (output is the bias)', inputs: [input([5, 1]), input([1]), input([1])],
      forward: ([x, w, b]) => F.layerNorm(x, 1, w, b), reference: ([x, w, b]) => refLayerNorm(x, 1, w, b),
    },
  ];
}

function lossCases(): GradCase[] {
  const cases: GradCase[] = [];
  const [rows, classes] = [6, 5];
  const configs: { targets: number[]; ignoreIndex?: number; reduction?: 'mean' | 'sum' }[] = [
    { targets: [1, -100, 4, 0, -100, 2] },
    { targets: [1, -100, 4, 0, -100, 2], reduction: 'sum' },
    { targets: [3, 3, 0, 4, 1, 2] },
    // A valid class used as the ignore index.
    { targets: [2, 1, 2, 0, 4, 2], ignoreIndex: 2 },
    { targets: [2, 1, 2, 0, 4, 2], ignoreIndex: 2, reduction: 'sum' },
  ];
  for (const { targets, ignoreIndex, reduction } of configs) {
    cases.push({
      name: `crossEntropy targets ${JSON.stringify(targets)} ignoreIndex ${ignoreIndex ?? 'default'} ${reduction ?? 'mean'}`,
      inputs: [input([rows, classes], { lo: -3, hi: 3 })],
      forward: ([logits]) => F.crossEntropy(logits, tensor(Int32Array.from(targets)), { ignoreIndex, reduction }),
      reference: ([logits]) => [refCrossEntropy(logits, targets, classes, ignoreIndex ?? -100, reduction ?? 'mean')],
    });
  }
  const sq = (x: number, y: number) => (x - y) * (x - y);
  for (const reduction of ['mean', 'sum'] as const) {
    cases.push({
      name: `mseLoss ${reduction}, gradient to input and target`,
      inputs: [input([3, 4]), input([3, 4])],
      forward: ([a, b]) => F.mseLoss(a, b, { reduction }),
      reference: ([a, b]) => refReduce(refBinary(sq, a, b), [3, 4], undefined, reduction === 'mean'),
    });
  }
  cases.push({
    name: 'mseLoss mean, target without grad',
    inputs: [input([2, 5]), input([2, 5], { grad: false })],
    forward: ([a, b]) => F.mseLoss(a, b),
    reference: ([a, b]) => refReduce(refBinary(sq, a, b), [2, 5], undefined, true),
  });
  return cases;
}

function embeddingCases(): GradCase[] {
  const [count, dim] = [6, 3];
  const ids = [[1, 0, 3, 3], [5, 0, 1, 1]]; // repeats accumulate; 0 is the padding row below
  const flatIds = ids.flat();
  return [
    {
      name: 'embedding with repeated ids',
      inputs: [input([count, dim])],
      forward: ([w]) => F.embedding(tensor(ids, undefined, { dtype: 'int32' }), w),
      reference: ([w]) => refEmbedding(w, dim, flatIds),
    },
    {
      // The padding row is still gathered in the forward pass, but gets no gradient.
      name: 'embedding with paddingIdx 0',
      inputs: [input([count, dim])],
      forward: ([w]) => {
        const y = F.embedding(tensor(ids, undefined, { dtype: 'int32' }), w, 0);
        expect(y.shape).toEqual([2, 4, dim]);
        return y;
      },
      reference: ([w]) => refEmbedding(w, dim, flatIds),
      zeroGradAt: (_, j) => Math.floor(j / dim) === 0,
    },
    {
      name: 'embedding with paddingIdx 3 (a repeated id)',
      inputs: [input([count, dim])],
      forward: ([w]) => F.embedding(tensor(Int32Array.from(flatIds)), w, 3),
      reference: ([w]) => refEmbedding(w, dim, flatIds),
      zeroGradAt: (_, j) => Math.floor(j / dim) === 3,
    },
    {
      // PyTorch F.embedding: a negative padding_idx counts from the end (-1 is the last row).
      name: 'embedding with paddingIdx -1 (the last row, as in PyTorch)',
      inputs: [input([count, dim])],
      forward: ([w]) => F.embedding(tensor(Int32Array.from(flatIds)), w, -1),
      reference: ([w]) => refEmbedding(w, dim, flatIds),
      zeroGradAt: (_, j) => Math.floor(j / dim) === count - 1,
    },
  ];
}

function compositeCases(): GradCase[] {
  // A tiny network: every intermediate is used once more than its consumers need (fan-out).
  const [xs, ws, bs] = [[4, 3], [3, 5], [5]] as Shape[];
  return [
    {
      name: 'tanh(x @ w + b) times its sum over dim 0, plus itself',
      inputs: [input(xs), input(ws, { lo: -1, hi: 1 }), input(bs)],
      forward: ([x, w, b]) => {
        const h = x.matmul(w).add(b).tanh();
        return h.mul(h.sum(0)).add(h);
      },
      reference: ([x, w, b]) => {
        const h = refBinary(add, refMatmul(x, xs, w, ws), b).map(Math.tanh);
        const s = refReduce(h, [4, 5], 0, false);
        return h.map((v, i) => v * s[i % 5] + v);
      },
    },
  ];
}

describe('gradcheck: add, sub, mul', () => {
  for (const c of binaryCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: matmul', () => {
  for (const c of matmulCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: sum, mean', () => {
  for (const c of reduceCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: reshape, transpose, slice, concat', () => {
  for (const c of shapeCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: tanh, sigmoid, relu', () => {
  for (const c of activationCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: softmax, logSoftmax', () => {
  for (const c of softmaxCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: layerNorm', () => {
  for (const c of layerNormCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: crossEntropy, mseLoss', () => {
  for (const c of lossCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: embedding', () => {
  for (const c of embeddingCases()) it(c.name, () => checkGradients(c));
});

describe('gradcheck: composite graph', () => {
  for (const c of compositeCases()) it(c.name, () => checkGradients(c));
});

/** op(a, b) with NumPy broadcasting over any dims, in float64 (coordinates decoded per element). */
function refBroadcast(f: (x: number, y: number) => number, a: Float64Array, as: Shape, b: Float64Array, bs: Shape): Float64Array {
  const out = broadcastAnyShape(as, bs);
  const n = out.length;
  const offset = (shape: Shape, flat: number): number => {
    let off = 0, stride = 1, rem = flat;
    for (let d = n - 1; d >= 0; d--) {
      const i = rem % out[d];
      rem = Math.floor(rem / out[d]);
      const sd = shape[d - (n - shape.length)] ?? 1;
      if (sd !== 1) off += i * stride;
      stride *= sd;
    }
    return off;
  };
  return Float64Array.from({ length: size(out) }, (_, i) => f(a[offset(as, i)], b[offset(bs, i)]));
}

/** The broadcast shape of any two broadcastable shapes. */
function broadcastAnyShape(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => Math.max(a[i - (n - a.length)] ?? 1, b[i - (n - b.length)] ?? 1));
}

/** Broadcasting over any dims (issue 11), div/pow/maximum/minimum, and the unary math ops. */
function broadcastMathCases(): GradCase[] {
  const layouts: [Shape, Shape][] = [[[4, 1], [4, 5]], [[2, 1, 3], [4, 3]], [[3], [2, 1]], [[1, 4], [3, 1]], [[2, 3], [2, 3]], [[2, 3], []]];
  const ops: [string, (x: number, y: number) => number, (a: Tensor, b: Tensor) => Tensor, { lo: number; hi: number }, { lo: number; hi: number } | 'away'][] = [
    ['add', (x, y) => x + y, (a, b) => a.add(b), { lo: -2, hi: 2 }, { lo: -2, hi: 2 }],
    ['sub', (x, y) => x - y, (a, b) => a.sub(b), { lo: -2, hi: 2 }, { lo: -2, hi: 2 }],
    ['mul', (x, y) => x * y, (a, b) => a.mul(b), { lo: -2, hi: 2 }, { lo: -2, hi: 2 }],
    ['div', (x, y) => x / y, (a, b) => a.div(b), { lo: -2, hi: 2 }, 'away'],
    ['pow', (x, y) => Math.pow(x, y), (a, b) => a.pow(b), { lo: 0.5, hi: 2 }, { lo: -2, hi: 2 }],
    ['maximum', (x, y) => Math.max(x, y), (a, b) => a.maximum(b), { lo: -2, hi: 2 }, { lo: -2, hi: 2 }],
    ['minimum', (x, y) => Math.min(x, y), (a, b) => a.minimum(b), { lo: -2, hi: 2 }, { lo: -2, hi: 2 }],
  ];
  const cases: GradCase[] = [];
  for (const [name, f, lib, ra, rb] of ops) {
    for (const [as, bs] of layouts) {
      const b: GradInput = rb === 'away'
        ? { shape: bs, data: randomAwayFromZero(size(bs), nextSeed++, 0.5) }
        : input(bs, rb);
      cases.push({
        name: `${name} ${JSON.stringify(as)} ${JSON.stringify(bs)}`,
        inputs: [input(as, ra), b],
        forward: ([x, y]) => lib(x, y),
        reference: ([x, y]) => refBroadcast(f, x, as, y, bs),
        outShape: broadcastAnyShape(as, bs),
      });
    }
  }
  const unary = (name: string, lib: (x: Tensor) => Tensor, f: (x: number) => number, range = { lo: -2, hi: 2 }): GradCase => ({
    name,
    inputs: [input([3, 5], range)],
    forward: ([x]) => lib(x),
    reference: ([x]) => x.map(f),
  });
  const positive = { lo: 0.2, hi: 3 };
  cases.push(
    unary('neg', (x) => x.neg(), (x) => -x),
    unary('exp', (x) => x.exp(), Math.exp),
    unary('log', (x) => x.log(), Math.log, positive),
    unary('sqrt', (x) => x.sqrt(), Math.sqrt, positive),
    unary('abs', (x) => x.abs(), Math.abs),
    unary('pow 3', (x) => x.pow(3), (x) => x ** 3),
    unary('pow -1.5', (x) => x.pow(-1.5), (x) => x ** -1.5, positive),
    unary('clamp(-0.5, 1)', (x) => x.clamp(-0.5, 1), (x) => Math.min(Math.max(x, -0.5), 1)),
    unary('clamp(min 0)', (x) => x.clamp(0), (x) => Math.max(x, 0)),
    unary('div scalar by a tensor-free number 3', (x) => x.div(3), (x) => x / 3),
    unary('maskedFill by a fixed mask', (x) => x.maskedFill(tensor([1, 0, 0, 1, 0]), 7), (x) => x),
  );
  // maskedFill's reference: the filled entries are constants.
  const mf = cases[cases.length - 1];
  mf.reference = ([x]) => x.map((v, i) => ([0, 3].includes(i % 5) ? 7 : v));
  cases.push({
    name: 'where (3,1) cond, a (3,4), b (4)',
    inputs: [input([3, 4]), input([4])],
    forward: ([a, b]) => where(tensor([[1], [0], [1]]), a, b),
    reference: ([a, b]) => Float64Array.from({ length: 12 }, (_, i) => (Math.floor(i / 4) === 1 ? b[i % 4] : a[i])),
  });
  return cases;
}

describe('gradcheck: broadcasting and element-wise math', () => {
  for (const c of broadcastMathCases()) it(c.name, () => checkGradients(c));
});

/** Selections along a dim: the gradient reaches the selected elements (values distinct: no ties). */
function selectionCases(): GradCase[] {
  const shape: Shape = [3, 4, 5];
  const distinct = (seed: number): GradInput => {
    // A shuffled 0..59 scaled: distinct values, far apart compared with the step h.
    const u = randomF32(60, seed, 0, 1);
    const order = Array.from({ length: 60 }, (_, i) => i).sort((a, b) => u[a] - u[b]);
    return { shape, data: Float32Array.from(order, (v) => v / 10 - 3) };
  };
  const along = (x: Float64Array, dim: number, pick: (line: number[]) => number[]): number[] => {
    const [outer, d, inner] = [shape.slice(0, dim).reduce((a, b) => a * b, 1), shape[dim], shape.slice(dim + 1).reduce((a, b) => a * b, 1)];
    const lines: number[][] = [];
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) lines.push(pick(Array.from({ length: d }, (_, j) => x[(o * d + j) * inner + i])));
    }
    // Back to row-major (outer, k, inner).
    const k = lines[0].length;
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (let j = 0; j < k; j++) for (let i = 0; i < inner; i++) out.push(lines[o * inner + i][j]);
    return out;
  };
  const cases: GradCase[] = [];
  for (const dim of [0, 1, 2]) {
    cases.push({
      name: `max dim ${dim}`, inputs: [distinct(dim + 1)], forward: ([x]) => x.max(dim).values,
      reference: ([x]) => along(x, dim, (l) => [Math.max(...l)]),
    });
    cases.push({
      name: `min dim ${dim} keepdim`, inputs: [distinct(dim + 11)], forward: ([x]) => x.min(dim, true).values,
      reference: ([x]) => along(x, dim, (l) => [Math.min(...l)]),
    });
    cases.push({
      name: `topk 2 dim ${dim}`, inputs: [distinct(dim + 21)], forward: ([x]) => x.topk(2, dim).values,
      reference: ([x]) => along(x, dim, (l) => [...l].sort((a, b) => b - a).slice(0, 2)),
    });
    cases.push({
      name: `topk 2 dim ${dim} smallest`, inputs: [distinct(dim + 31)], forward: ([x]) => x.topk(2, dim, false).values,
      reference: ([x]) => along(x, dim, (l) => [...l].sort((a, b) => a - b).slice(0, 2)),
    });
  }
  cases.push({
    name: 'max of the whole tensor', inputs: [distinct(41)], forward: ([x]) => x.max(),
    reference: ([x]) => [Math.max(...x)],
  });
  const index = Int32Array.from({ length: 3 * 2 * 5 }, (_, i) => (i * 7) % 4);
  cases.push({
    name: 'gather dim 1 (repeated indices)', inputs: [input([3, 4, 5])],
    forward: ([x]) => x.gather(1, tensor(index, [3, 2, 5])),
    reference: ([x]) => Float64Array.from(index, (v, i) => {
      const o = Math.floor(i / 10), col = i % 5;
      return x[(o * 4 + v) * 5 + col];
    }),
  });
  return cases;
}

describe('gradcheck: max, min, topk, gather', () => {
  for (const c of selectionCases()) it(c.name, () => checkGradients(c));
});

describe('dropout gradient', () => {
  const shape = [40, 50];
  const p = 0.3;
  const keepScale = Math.fround(1 / (1 - p));

  /** The mask F.dropout draws from a generator in this state: 1/(1-p) where kept, else 0. */
  function expectedMask(seed: number): Float32Array {
    const twin = new Generator(seed);
    return Float32Array.from({ length: size(shape) }, () => (twin.uniform() >= p ? keepScale : 0));
  }

  it('training: the output is x * mask and the gradient equals the mask', () => {
    tidy(() => {
      const data = randomF32(size(shape), 5, -2, 2);
      const x = tensor(data, shape, { requiresGrad: true });
      const y = F.dropout(x, p, true, new Generator(42));
      const mask = expectedMask(42);
      expect(y.toArray()).toEqual(data.map((v, i) => Math.fround(v * mask[i])));
      y.backward(ones(shape));
      expect(x.grad!.toArray()).toEqual(mask);
      const dropped = mask.filter((m) => m === 0).length / mask.length;
      expect(dropped).toBeGreaterThan(p - 0.05);
      expect(dropped).toBeLessThan(p + 0.05);
    });
  });

  it('training: the gradient is the upstream gradient times the mask', () => {
    tidy(() => {
      const x = tensor(randomF32(size(shape), 6), shape, { requiresGrad: true });
      const r = randomF32(size(shape), 7);
      F.dropout(x, p, true, new Generator(9)).backward(tensor(r, shape));
      const mask = expectedMask(9);
      expect(x.grad!.toArray()).toEqual(r.map((v, i) => Math.fround(v * mask[i])));
    });
  });

  it('training without a generator draws from the default generator (manualSeed)', () => {
    tidy(() => {
      const x = tensor(randomF32(size(shape), 8), shape);
      manualSeed(123);
      const first = F.dropout(x, p).toArray();
      manualSeed(123);
      expect(F.dropout(x, p).toArray()).toEqual(first);
    });
  });

  it('eval mode and p = 0 are the identity, gradient included', () => {
    for (const [training, prob] of [[false, p], [false, 0.9], [true, 0]] as const) {
      tidy(() => {
        const data = randomF32(size(shape), 10);
        const x = tensor(data, shape, { requiresGrad: true });
        const y = F.dropout(x, prob, training, new Generator(1));
        expect(y.toArray()).toEqual(data);
        const r = randomF32(size(shape), 11);
        y.backward(tensor(r, shape));
        expect(x.grad!.toArray()).toEqual(r);
      });
    }
  });

  it('p = 1 zeroes the output and the gradient', () => {
    tidy(() => {
      const x = tensor(randomF32(12, 12), [3, 4], { requiresGrad: true });
      const y = F.dropout(x, 1, true);
      // x * 0 is -0 for negative x; both zeros are fine.
      expect(y.toArray().every((v) => v === 0)).toBe(true);
      y.backward(ones([3, 4]));
      expect(x.grad!.toArray().every((v) => v === 0)).toBe(true);
    });
  });
});

describe('backward bookkeeping', () => {
  it('a second backward accumulates into .grad', () => {
    tidy(() => {
      const data = randomF32(6, 13);
      const x = tensor(data, [2, 3], { requiresGrad: true });
      x.tanh().sum().backward();
      const once = x.grad!.toArray();
      x.tanh().sum().backward();
      assertClose(x.grad!.toArray(), once.map((v) => 2 * v), { atol: 1e-7, rtol: 1e-6 }, 'accumulated');
    });
  });

  it('a scalar loss built from sum(y * R) gives the same gradient as y.backward(R)', () => {
    tidy(() => {
      const data = randomF32(12, 14);
      const r = tensor(randomF32(12, 15), [3, 4]);
      const a = tensor(data, [3, 4], { requiresGrad: true });
      a.sigmoid().mul(r).sum().backward();
      const b = tensor(data, [3, 4], { requiresGrad: true });
      b.sigmoid().backward(r);
      assertClose(a.grad!.toArray(), b.grad!.toArray(), { atol: 1e-7, rtol: 1e-6 }, 'sum(y*R) vs backward(R)');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// losses of issue 11: crossEntropy's composed path, nllLoss, binaryCrossEntropyWithLogits
// ---------------------------------------------------------------------------------------------

interface ClassLossRef {
  logSoftmax: boolean;
  reduction: 'mean' | 'sum' | 'none';
  ignoreIndex: number;
  weight: number[] | null;
  smoothing: number;
}

/** PyTorch 1.13 cross_entropy / nll_loss in float64 on (C), (N, C) or (N, C, d...) data. */
function refClassLoss(x: Float64Array, shape: Shape, targets: readonly number[], o: ClassLossRef): Float64Array {
  const classes = shape.length === 1 ? shape[0] : shape[1];
  const batch = shape.length === 1 ? 1 : shape[0];
  const inner = size(shape.slice(2));
  const rows: number[] = [];
  let den = 0;
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < inner; j++) {
      const z = Array.from({ length: classes }, (_, c) => x[(n * classes + c) * inner + j]);
      let lp = z;
      if (o.logSoftmax) {
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
        lp = z.map((v) => v - lse);
      }
      const t = targets[n * inner + j];
      if (t === o.ignoreIndex) {
        rows.push(0);
        continue;
      }
      const w = (c: number) => (o.weight === null ? 1 : o.weight[c]);
      const smooth = lp.reduce((s, v, c) => s + w(c) * v, 0);
      rows.push(-(1 - o.smoothing) * w(t) * lp[t] - (o.smoothing / classes) * smooth);
      den += w(t);
    }
  }
  if (o.reduction === 'none') return Float64Array.from(rows);
  const total = rows.reduce((s, v) => s + v, 0);
  return Float64Array.of(o.reduction === 'sum' ? total : den === 0 ? 0 : total / den);
}

/** PyTorch's binary_cross_entropy_with_logits in float64; weight has x's shape, posWeight its last dim. */
function refBCEWithLogits(x: Float64Array, t: Float64Array, last: number, reduction: 'mean' | 'sum' | 'none', weight: number[] | null, posWeight: number[] | null): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const softplus = Math.max(-x[i], 0) + Math.log1p(Math.exp(-Math.abs(x[i]))); // log(1 + e^-x)
    const lw = posWeight === null ? 1 : 1 + (posWeight[i % last] - 1) * t[i];
    out[i] = ((1 - t[i]) * x[i] + lw * softplus) * (weight === null ? 1 : weight[i]);
  }
  if (reduction === 'none') return out;
  const total = out.reduce((s, v) => s + v, 0);
  return Float64Array.of(reduction === 'sum' ? total : total / x.length);
}

function issue11LossCases(): GradCase[] {
  const cases: GradCase[] = [];
  const classCases: { shape: Shape; targets: number[]; o: ClassLossRef }[] = [
    { shape: [2, 4, 3], targets: [0, 3, -100, 1, 2, 2], o: { logSoftmax: true, reduction: 'none', ignoreIndex: -100, weight: null, smoothing: 0 } },
    { shape: [2, 4, 3], targets: [0, 3, -100, 1, 2, 2], o: { logSoftmax: true, reduction: 'mean', ignoreIndex: -100, weight: [0.5, 1, 2, 1.5], smoothing: 0.2 } },
    { shape: [4], targets: [2], o: { logSoftmax: true, reduction: 'sum', ignoreIndex: -100, weight: null, smoothing: 0.3 } },
    { shape: [5, 4], targets: [1, 2, 3, 2, 0], o: { logSoftmax: true, reduction: 'mean', ignoreIndex: 2, weight: [0.5, 1, 2, 1.5], smoothing: 0 } },
    { shape: [3, 4, 2], targets: [0, 3, -100, 1, 2, 2], o: { logSoftmax: false, reduction: 'mean', ignoreIndex: -100, weight: [0.5, 1, 2, 1.5], smoothing: 0 } },
    { shape: [3, 4], targets: [0, 3, -100], o: { logSoftmax: false, reduction: 'none', ignoreIndex: -100, weight: null, smoothing: 0 } },
  ];
  for (const { shape, targets, o } of classCases) {
    const op = o.logSoftmax ? 'crossEntropy' : 'nllLoss';
    const tShape = shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
    cases.push({
      name: `${op} ${JSON.stringify(shape)} ${o.reduction} ignoreIndex ${o.ignoreIndex} weight ${o.weight !== null} smoothing ${o.smoothing}`,
      inputs: [input(shape)],
      forward: ([x]) => {
        const t = tensor(Int32Array.from(targets), tShape);
        const weight = o.weight === null ? null : tensor(o.weight);
        const common = { reduction: o.reduction, ignoreIndex: o.ignoreIndex, weight };
        return o.logSoftmax ? F.crossEntropy(x, t, { ...common, labelSmoothing: o.smoothing }) : F.nllLoss(x, t, common);
      },
      reference: ([x]) => refClassLoss(x, shape, targets, o),
    });
  }
  const shape = [3, 4];
  const weight = Array.from(randomF32(12, 4242, 0.25, 1.25));
  const posWeight = [0.5, 1, 2, 3];
  for (const [reduction, w, pw] of [['mean', weight, posWeight], ['none', null, null], ['sum', null, posWeight]] as const) {
    cases.push({
      name: `binaryCrossEntropyWithLogits ${reduction} weight ${w !== null} posWeight ${pw !== null}, gradient to input and target`,
      inputs: [input(shape, { lo: -4, hi: 4 }), input(shape, { lo: 0, hi: 1 })],
      forward: ([x, t]) => F.binaryCrossEntropyWithLogits(x, t, {
        reduction,
        weight: w === null ? null : tensor(Float32Array.from(w), shape),
        posWeight: pw === null ? null : tensor(Float32Array.from(pw)),
      }),
      reference: ([x, t]) => refBCEWithLogits(x, t, 4, reduction, w === null ? null : Array.from(Float32Array.from(w)), pw === null ? null : [...pw]),
    });
  }
  return cases;
}

describe('gradcheck: crossEntropy (composed path), nllLoss, binaryCrossEntropyWithLogits', () => {
  for (const c of issue11LossCases()) it(c.name, () => checkGradients(c));
});
