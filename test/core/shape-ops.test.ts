// Shape ops with PyTorch semantics (transpose, mT, T, permute, unsqueeze, squeeze, flatten, expand,
// repeat, select, narrow, cat, stack):
// - golden: forward and the gradient of sum(out * lossWeights) against PyTorch 1.13 numbers in
//   test/fixtures/shape_ops.json (scripts/fixtures/make_fixtures.py, gen_shape_ops; each case
//   carries its snippet). Shape ops only move values, so the forward must match bit for bit and
//   the gradients to 1e-6 relative (a gradient entry is a sum of a few products).
// - gradient check: the same cases and larger awkward ones, against an independent float64 JS
//   reference (each output element's source written out per op), central differences (h = 1e-3;
//   the ops are linear, so the difference is exact up to rounding), tolerance 1e-5.
// - the transpose(0, 1) regression, negative dims, typed errors naming op, argument, expected and
//   actual, disposed inputs, and no leaks.
// test/backend/js-suites.test.ts runs this file again on the JS backend.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DisposedError, IndexError, LstmWasmError, ShapeError, Tensor, ValueError, cat, concat, expand, flatten, init, memory,
  narrow, permute, repeat, select, squeeze, stack, tensor, tidy, transpose, unsqueeze,
} from 'lstm-wasm';
import { type FixtureTensor, type Shape, assertClose, expectFailure, fixtureF32, randomF32, readFixture, size } from './helpers';

beforeAll(async () => {
  await init();
});

interface ShapeOpCase {
  name: string;
  op: string;
  args: number[];
  snippet: string;
  inputs: FixtureTensor[];
  output: FixtureTensor;
  lossWeights: FixtureTensor;
  gradInputs: FixtureTensor[];
}

const fixtures = readFixture<{ torch_version: string; cases: ShapeOpCase[] }>('shape_ops.json');

/** The op as a user writes it: a Tensor method (`x.transpose(0, 1)`, `x.mT`) or, for the list ops, a function. */
function callMethod(op: string, args: number[], xs: Tensor[]): Tensor {
  if (op === 'cat') return cat(xs, args[0]);
  if (op === 'stack') return stack(xs, args[0]);
  if (op === 'mT') return xs[0].mT;
  if (op === 'T') return xs[0].T;
  const method = (xs[0] as unknown as Record<string, (...a: number[]) => Tensor>)[op];
  return method.apply(xs[0], args);
}

/** The same op through the package-root function (cat through its other name, concat); null for mT and T. */
function callFunction(op: string, args: number[], xs: Tensor[]): Tensor | null {
  const [x] = xs;
  switch (op) {
    case 'transpose': return transpose(x, args[0], args[1]);
    case 'permute': return permute(x, args);
    case 'unsqueeze': return unsqueeze(x, args[0]);
    case 'squeeze': return squeeze(x, args[0]);
    case 'flatten': return flatten(x, ...args);
    case 'expand': return expand(x, args);
    case 'repeat': return repeat(x, args);
    case 'select': return select(x, args[0], args[1]);
    case 'narrow': return narrow(x, args[0], args[1], args[2]);
    case 'cat': return concat(xs, args[0]);
    case 'stack': return stack(xs, args[0]);
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------
// An independent float64 reference: for every output element, which input element it copies.
// ---------------------------------------------------------------------------------------------

const norm = (d: number, n: number) => (d < 0 ? d + n : d);

/** Output shape and source map ([input, flat index] per output multi-index) of `op` on `shapes`. */
function referenceMap(op: string, args: number[], shapes: Shape[]): { shape: number[]; source: (j: number[]) => [number, number[]] } {
  const s = shapes[0] as number[];
  const n = s.length;
  switch (op) {
    case 'transpose':
    case 'mT':
    case 'T':
    case 'permute': {
      const perm = s.map((_, i) => i);
      if (op === 'permute') args.forEach((a, i) => (perm[i] = norm(a, n)));
      else if (op === 'T') perm.reverse();
      else {
        const [a, b] = op === 'mT' ? [n - 2, n - 1] : [norm(args[0], n), norm(args[1], n)];
        [perm[a], perm[b]] = [perm[b], perm[a]];
      }
      return {
        shape: perm.map((p) => s[p]),
        source: (j) => {
          const x = new Array<number>(n);
          perm.forEach((p, i) => (x[p] = j[i]));
          return [0, x];
        },
      };
    }
    case 'unsqueeze':
    case 'squeeze':
    case 'flatten': {
      let shape: number[];
      if (op === 'unsqueeze') {
        const d = norm(args[0], n + 1);
        shape = [...s.slice(0, d), 1, ...s.slice(d)];
      } else if (op === 'squeeze') {
        shape = args.length === 0 ? s.filter((v) => v !== 1) : s.filter((v, i) => i !== norm(args[0], n) || v !== 1);
      } else {
        const [a, b] = [norm(args[0] ?? 0, n), norm(args[1] ?? -1, n)];
        shape = [...s.slice(0, a), size(s.slice(a, b + 1)), ...s.slice(b + 1)];
      }
      return { shape, source: (j) => [0, unflatten(flatIndex(j, shape), s)] };
    }
    case 'expand':
    case 'repeat': {
      const lead = args.length - n;
      const padded = [...new Array<number>(lead).fill(1), ...s];
      const shape = args.map((a, i) => (op === 'repeat' ? a * padded[i] : a === -1 ? padded[i] : a));
      return { shape, source: (j) => [0, j.slice(lead).map((v, i) => (op === 'repeat' ? v % s[i] : s[i] === 1 ? 0 : v))] };
    }
    case 'select': {
      const d = norm(args[0], n);
      const index = norm(args[1], s[d]);
      return { shape: s.filter((_, i) => i !== d), source: (j) => [0, [...j.slice(0, d), index, ...j.slice(d)]] };
    }
    case 'narrow': {
      const d = norm(args[0], n);
      const start = norm(args[1], s[d]);
      return { shape: s.map((v, i) => (i === d ? args[2] : v)), source: (j) => [0, j.map((v, i) => (i === d ? v + start : v))] };
    }
    case 'cat': {
      const d = norm(args[0], n);
      const shape = s.map((v, i) => (i === d ? shapes.reduce((acc, t) => acc + t[d], 0) : v));
      return {
        shape,
        source: (j) => {
          let k = 0;
          let at = j[d];
          while (at >= shapes[k][d]) at -= shapes[k++][d];
          return [k, j.map((v, i) => (i === d ? at : v))];
        },
      };
    }
    case 'stack': {
      const d = norm(args[0], n + 1);
      return { shape: [...s.slice(0, d), shapes.length, ...s.slice(d)], source: (j) => [j[d], j.filter((_, i) => i !== d)] };
    }
    default:
      throw new Error(`no reference for ${op}`);
  }
}

function flatIndex(j: number[], shape: readonly number[]): number {
  return j.reduce((acc, v, i) => acc * shape[i] + v, 0);
}

function unflatten(flat: number, shape: readonly number[]): number[] {
  const j = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    j[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return j;
}

function reference(op: string, args: number[], shapes: Shape[], xs: Float64Array[]): { shape: number[]; data: Float64Array } {
  const { shape, source } = referenceMap(op, args, shapes);
  const data = new Float64Array(size(shape));
  for (let o = 0; o < data.length; o++) {
    const [k, x] = source(unflatten(o, shape));
    data[o] = xs[k][flatIndex(x, shapes[k])];
  }
  return { shape, data };
}

// ---------------------------------------------------------------------------------------------

it('shape_ops.json comes from PyTorch 1.13 and covers every op', () => {
  expect(fixtures.torch_version).toMatch(/^1\.13/);
  const ops = new Set(fixtures.cases.map((c) => c.op));
  for (const op of ['transpose', 'mT', 'T', 'permute', 'unsqueeze', 'squeeze', 'flatten', 'expand', 'repeat', 'select', 'narrow', 'cat', 'stack']) {
    expect(ops.has(op), op).toBe(true);
  }
});

describe('PyTorch fixtures: forward bit for bit, gradient of sum(out * lossWeights)', () => {
  for (const c of fixtures.cases) {
    for (const [form, call] of [['method', callMethod], ['function', callFunction]] as const) {
      if (form === 'function' && (c.op === 'mT' || c.op === 'T')) continue; // properties only
      it(`${c.name} as ${form} (${c.snippet.split('; ')[2]})`, () => {
        const before = memory().liveTensors;
        tidy(() => {
          const xs = c.inputs.map((t) => tensor(fixtureF32(t), t.shape, { requiresGrad: true }));
          const y = form === 'method' ? callMethod(c.op, c.args, xs) : callFunction(c.op, c.args, xs)!;
          expect(y.shape).toEqual(c.output.shape);
          expect(y.toArray()).toEqual(fixtureF32(c.output));
          y.backward(tensor(fixtureF32(c.lossWeights), c.lossWeights.shape));
          xs.forEach((x, i) => {
            expect(x.grad!.shape).toEqual(c.gradInputs[i].shape);
            assertClose(x.grad!.toArray(), fixtureF32(c.gradInputs[i]), { atol: 1e-6, rtol: 1e-6 }, `${c.name}: grad of input ${i}`);
          });
        });
        expect(memory().liveTensors).toBe(before);
      });
    }
  }
});

describe('gradient check against a float64 reference', () => {
  const extra: [string, number[], Shape[]][] = [
    ['transpose', [0, 1], [[7, 65, 3]]],
    ['transpose', [-1, -2], [[2, 63, 65]]],
    ['transpose', [0, 2], [[5, 1, 7, 3]]],
    ['permute', [3, 1, 2, 0], [[3, 2, 5, 7]]],
    ['expand', [2, 7, -1, 65], [[7, 1, 65]]],
    ['repeat', [2, 1, 3], [[7, 1, 5]]],
    ['select', [-2, 3], [[3, 65, 7]]],
    ['narrow', [-2, -40, 33], [[3, 65, 7]]],
    ['cat', [-2], [[2, 7, 3], [2, 65, 3], [2, 1, 3]]],
    ['stack', [-2], [[3, 65], [3, 65]]],
    ['flatten', [1, -1], [[2, 3, 5, 7]]],
  ];
  const cases = [...fixtures.cases.map((c) => [c.op, c.args, c.inputs.map((t) => t.shape)] as const), ...extra];
  let seed = 100;
  for (const [op, args, shapes] of cases) {
    it(`${op}(${args.join(', ')}) of ${shapes.map((s) => JSON.stringify(s)).join(', ')}`, () => {
      const before = memory().liveTensors;
      tidy(() => {
        const data = shapes.map((s) => randomF32(size(s), seed++, -2, 2));
        const xs = shapes.map((s, i) => tensor(data[i], s as number[], { requiresGrad: true }));
        const x64 = data.map((d) => Float64Array.from(d));
        const want = reference(op, args as number[], shapes as Shape[], x64);
        const y = callMethod(op, args as number[], xs);
        expect(y.shape).toEqual(want.shape);
        assertClose(y.toArray(), want.data, { atol: 0, rtol: 0 }, 'forward');
        const r = randomF32(y.size, seed++, -1, 1);
        y.backward(tensor(r, y.shape));
        const h = 1e-3;
        x64.forEach((x, k) => {
          const numeric = new Float64Array(x.length);
          for (let e = 0; e < x.length; e++) {
            const saved = x[e];
            x[e] = saved + h;
            const plus = reference(op, args as number[], shapes as Shape[], x64).data.reduce((acc, v, i) => acc + v * r[i], 0);
            x[e] = saved - h;
            const minus = reference(op, args as number[], shapes as Shape[], x64).data.reduce((acc, v, i) => acc + v * r[i], 0);
            x[e] = saved;
            numeric[e] = (plus - minus) / (2 * h);
          }
          assertClose(xs[k].grad!.toArray(), numeric, { atol: 1e-5, rtol: 1e-5 }, `d/d input ${k}`);
        });
      });
      expect(memory().liveTensors).toBe(before);
    });
  }
});

describe('transpose takes its dims (regression: it ignored them and swapped the last two)', () => {
  it('x.transpose(0, 1) of a (2, 3, 4) tensor is (3, 2, 4) with out[j][i][k] = x[i][j][k]', () => {
    tidy(() => {
      const x = tensor(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
      for (const y of [x.transpose(0, 1), transpose(x, 0, 1), x.transpose(-3, -2)]) {
        expect(y.shape).toEqual([3, 2, 4]);
        expect(y.tolist()).toEqual([
          [[0, 1, 2, 3], [12, 13, 14, 15]],
          [[4, 5, 6, 7], [16, 17, 18, 19]],
          [[8, 9, 10, 11], [20, 21, 22, 23]],
        ]);
      }
    });
  });

  it('without dims: the 2-D transpose; any other rank is a ValueError pointing at mT', () => {
    tidy(() => {
      expect(tensor([[1, 2, 3], [4, 5, 6]]).transpose().tolist()).toEqual([[1, 4], [2, 5], [3, 6]]);
      const x3 = tensor(new Float32Array(24), [2, 3, 4]);
      expectFailure(ValueError, ['transpose', 'dim0 and dim1 are required', '3-D', '[2, 3, 4]', 'x.mT', 'transpose(-2, -1)'], () => x3.transpose());
      expectFailure(ValueError, ['transpose', 'both dim0 and dim1', 'dim1=undefined'], () => x3.transpose(0));
    });
  });

  it('mT swaps the last two dims of any rank >= 2; T is the 2-D transpose and refuses more dims', () => {
    tidy(() => {
      const x = tensor(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
      expect(x.mT.shape).toEqual([2, 4, 3]);
      expect(x.mT.toArray()).toEqual(x.transpose(-2, -1).toArray());
      expectFailure(ShapeError, ['T', '3-D', '[2, 3, 4]', 'x.mT', 'x.permute(2, 1, 0)'], () => x.T);
      expectFailure(ShapeError, ['mT', 'at least 2 dims', '1-D'], () => tensor([1, 2]).mT);
      expect(tensor([1, 2, 3]).T.tolist()).toEqual([1, 2, 3]);
      expect(tensor([[1, 2]]).t().tolist()).toEqual([[1], [2]]);
    });
  });

  it('int32 tensors move bit for bit', () => {
    tidy(() => {
      const ids = tensor(Int32Array.from({ length: 24 }, (_, i) => (i === 5 ? -1 : i * 1000003)), [2, 3, 4]);
      const y = ids.permute(2, 0, 1);
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.permute(1, 2, 0).toArray())).toEqual(Array.from(ids.toArray()));
      expect(ids.expand(2, 2, 3, 4).select(0, 1).toArray()).toEqual(ids.toArray());
    });
  });

  it('0-D tensors: transpose(0, -1), unsqueeze, flatten, stack and T as PyTorch; select has no dim to take', () => {
    tidy(() => {
      const s = tensor([3], []);
      expect(s.transpose(0, -1).shape).toEqual([]);
      expect(s.T.shape).toEqual([]);
      expect(s.unsqueeze(-1).shape).toEqual([1]);
      expect(s.flatten().shape).toEqual([1]);
      expect(s.squeeze().shape).toEqual([]);
      expect(stack([s, s]).tolist()).toEqual([3, 3]);
      expectFailure(IndexError, ['select', 'dim=0', '0-D', 'has no dims'], () => s.select(0, 0));
    });
  });

  it('empty dims pass through', () => {
    tidy(() => {
      const x = tensor(new Float32Array(0), [2, 0, 3]);
      expect(x.transpose(0, 2).shape).toEqual([3, 0, 2]);
      expect(x.repeat(1, 2, 2).shape).toEqual([2, 0, 6]);
      expect(stack([x, x], 1).shape).toEqual([2, 2, 0, 3]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------


describe('bad arguments are typed errors naming op, argument, expected and actual', () => {
  it.each([
    ['transpose dim1 out of range', IndexError, ['transpose', 'dim1=3', '3-D', '-3..2'], (x: Tensor) => x.transpose(0, 3)],
    ['permute wrong count', ShapeError, ['permute', '[1, 0]', '3 dims'], (x: Tensor) => x.permute(1, 0)],
    ['permute repeated dim', ShapeError, ['permute', '[0, 0, 1]', 'repeat'], (x: Tensor) => x.permute(0, 0, 1)],
    ['permute dim out of range', IndexError, ['permute', 'dims[2]=5'], (x: Tensor) => x.permute(0, 1, 5)],
    ['unsqueeze out of range', IndexError, ['unsqueeze', 'dim=4', '-4..3'], (x: Tensor) => x.unsqueeze(4)],
    ['squeeze out of range', IndexError, ['squeeze', 'dim=-4'], (x: Tensor) => x.squeeze(-4)],
    ['flatten start after end', IndexError, ['flatten', 'startDim=2', 'endDim=1'], (x: Tensor) => x.flatten(2, 1)],
    ['expand a dim that is not 1', ShapeError, ['expand', 'sizes[1] is 5', 'has 3 there'], (x: Tensor) => x.expand(2, 5, 4)],
    ['expand fewer dims', ShapeError, ['expand', 'at least 3'], (x: Tensor) => x.expand(3, 4)],
    ['expand -1 on a new dim', ShapeError, ['expand', 'sizes[0] is -1', 'new'], (x: Tensor) => x.expand(-1, 2, 3, 4)],
    ['repeat fewer dims', ShapeError, ['repeat', 'at least 3'], (x: Tensor) => x.repeat(2, 2)],
    ['repeat negative', ShapeError, ['repeat', 'sizes[1] is -1'], (x: Tensor) => x.repeat(1, -1, 1)],
    ['select index out of range', IndexError, ['select', 'index=-4', 'size 3', '-3..2'], (x: Tensor) => x.select(1, -4)],
    ['select dim out of range', IndexError, ['select', 'dim=3'], (x: Tensor) => x.select(3, 0)],
    ['narrow past the end', IndexError, ['narrow', 'length=3', 'size 4', '0..2'], (x: Tensor) => x.narrow(2, -2, 3)],
    ['narrow start out of range', IndexError, ['narrow', 'start=-5'], (x: Tensor) => x.narrow(2, -5, 1)],
    ['stack of different shapes', ShapeError, ['stack', 'tensors[1]', '[3, 4]', '[2, 3, 4]'], (x: Tensor) => stack([x, x.select(0, 0)])],
    ['stack dim out of range', IndexError, ['stack', 'dim=4'], (x: Tensor) => stack([x, x], 4)],
    ['cat dim out of range', IndexError, ['concat', 'dim -4'], (x: Tensor) => cat([x, x], -4)],
  ] as const)('%s', (_, type, patterns, call) => {
    const x = tensor(new Float32Array(24), [2, 3, 4]);
    expectFailure(type, [...patterns], () => call(x));
    x.dispose();
  });

  it('a disposed input is a DisposedError naming the op and the argument', () => {
    const x = tensor(new Float32Array(6), [2, 3], { requiresGrad: true });
    x.dispose();
    const calls: [string, () => unknown][] = [
      ['transpose: x', () => x.transpose(0, 1)], ['mT: x', () => x.mT], ['transpose: x', () => x.T], ['permute: x', () => x.permute(1, 0)],
      ['unsqueeze: x', () => x.unsqueeze(0)], ['squeeze: x', () => x.squeeze()], ['flatten: x', () => x.flatten()],
      ['expand: x', () => x.expand(2, 2, 3)], ['repeat: x', () => x.repeat(1, 2)], ['select: x', () => x.select(0, 0)],
      ['narrow: x', () => x.narrow(1, 0, 1)], ['stack: tensors[0]', () => stack([x])], ['concat: tensors[0]', () => cat([x])],
    ];
    for (const [what, call] of calls) expectFailure(DisposedError, [`${what} (tensor #`], call);
  });
});
