// Golden tests for broadcasting and element-wise math against PyTorch 1.13 numbers in
// test/fixtures/math.json, written by scripts/fixtures/make_fixtures.py (`gen_math`; each case
// carries its PyTorch snippet). Each case: forward values, then the gradient of every float input
// of sum(out * lossWeights), broadcast inputs included (their gradient is summed back to their
// shape); max/min along a dim and topk also their int32 indices, argmax/argmin exactly. Tolerances relative to max(1, |reference|): 2e-6 forward (1e-5 for pow and log, whose
// float32 implementations differ from PyTorch's by an ulp or two), 1e-5 gradients.
// test/backend/js-suites.test.ts re-runs this file on the JS backend.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Tensor, abs, clamp, div, eq, exp, ge, gt, init, le, log, lt, maskedFill, maximum, memory, minimum, ne, neg, pow,
  sqrt, tensor, tidy, where, add, sub, mul, max, argmax, topk, gather,
} from 'lstm-wasm';
import { type FixtureTensor, assertClose, fixtureF32, fixtureI32, readFixture } from './helpers';

beforeAll(async () => {
  await init();
});

interface MathCase {
  name: string;
  op: string;
  snippet: string;
  args: {
    exponent?: number; min?: number | null; max?: number | null; value?: number;
    dim?: number | null; keepdim?: boolean; k?: number; largest?: boolean;
  };
  inputs: FixtureTensor[];
  dtypes: ('float32' | 'int32')[];
  output: FixtureTensor;
  /** int32 indices of max/min along a dim and of topk. */
  indices?: FixtureTensor;
  lossWeights?: FixtureTensor;
  grads?: (FixtureTensor | null)[];
}

const fixture = readFixture<{ torch_version: string; cases: MathCase[] }>('math.json');

/** The op under test: its output, or values and indices. */
const OPS: Record<string, (xs: Tensor[], args: MathCase['args']) => Tensor | { values: Tensor; indices: Tensor }> = {
  add: ([a, b]) => add(a, b),
  sub: ([a, b]) => sub(a, b),
  mul: ([a, b]) => mul(a, b),
  div: ([a, b]) => div(a, b),
  pow: ([a, b]) => pow(a, b),
  maximum: ([a, b]) => maximum(a, b),
  minimum: ([a, b]) => minimum(a, b),
  neg: ([x]) => neg(x),
  exp: ([x]) => exp(x),
  log: ([x]) => log(x),
  sqrt: ([x]) => sqrt(x),
  abs: ([x]) => abs(x),
  powScalar: ([x], { exponent }) => x.pow(exponent!),
  clamp: ([x], { min, max }) => clamp(x, min, max),
  divScalar: ([x], { value }) => x.div(value!),
  eq: ([a, b]) => eq(a, b),
  ne: ([a, b]) => ne(a, b),
  lt: ([a, b]) => lt(a, b),
  le: ([a, b]) => le(a, b),
  gt: ([a, b]) => gt(a, b),
  ge: ([a, b]) => ge(a, b),
  where: ([c, a, b]) => where(c, a, b),
  maskedFill: ([x, m], { value }) => maskedFill(x, m, value!),
  max: ([x], { dim, keepdim }) => (dim == null ? max(x) : max(x, dim, keepdim)),
  min: ([x], { dim, keepdim }) => (dim == null ? x.min() : x.min(dim, keepdim)),
  argmax: ([x], { dim, keepdim }) => argmax(x, dim ?? undefined, keepdim),
  argmin: ([x], { dim, keepdim }) => x.argmin(dim ?? undefined, keepdim),
  topk: ([x], { k, dim, largest }) => topk(x, k!, dim!, largest),
  gather: ([x, index], { dim }) => gather(x, dim!, index),
};

describe(`math fixtures (PyTorch ${fixture.torch_version})`, () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.snippet}`, () => {
      const before = memory().liveTensors;
      tidy(() => {
        const xs = c.inputs.map((t, i) => c.dtypes[i] === 'int32'
          ? tensor(fixtureI32(t), t.shape, { dtype: 'int32' })
          : tensor(fixtureF32(t), t.shape, { requiresGrad: c.grads?.[i] != null }));
        const result = OPS[c.op](xs, c.args);
        const y = result instanceof Tensor ? result : result.values;
        expect(y.shape).toEqual(c.output.shape);
        if (c.op === 'argmax' || c.op === 'argmin') {
          expect(y.dtype).toBe('int32');
          expect(Array.from(y.toArray())).toEqual(Array.from(fixtureI32(c.output)));
          return;
        }
        expect(y.dtype).toBe('float32');
        if (c.indices !== undefined) {
          const indices = (result as { indices: Tensor }).indices;
          expect(indices.dtype).toBe('int32');
          expect(indices.shape).toEqual(c.indices.shape);
          expect(Array.from(indices.toArray()), `${c.name}: indices`).toEqual(Array.from(fixtureI32(c.indices)));
        }
        const fwdTol = c.op === 'pow' || c.op === 'powScalar' || c.op === 'log' ? 1e-5 : 2e-6;
        assertClose(y.toArray(), fixtureF32(c.output), { atol: fwdTol, rtol: fwdTol }, `${c.name}: output`);
        if (c.grads === undefined) return;
        y.backward(tensor(fixtureF32(c.lossWeights!), y.shape));
        c.grads.forEach((g, i) => {
          if (g === null) {
            expect(xs[i].grad, `${c.name}: input ${i} has no gradient`).toBeNull();
            return;
          }
          expect(xs[i].grad!.shape).toEqual(g.shape);
          assertClose(xs[i].grad!.toArray(), fixtureF32(g), { atol: 1e-5, rtol: 1e-5 }, `${c.name}: grad of input ${i}`);
        });
      });
      expect(memory().liveTensors).toBe(before);
    });
  }
});

describe('regressions', () => {
  it('x.div(tensor) divides (it returned NaN: div took only a number)', () => {
    tidy(() => {
      const y = tensor([2, 9, -4]).div(tensor([4, 3, 8]));
      expect(Array.from(y.toArray())).toEqual([0.5, 3, -0.5]);
      // True division, as PyTorch: 0.3 / 3 rounds once, not as 0.3 * (1/3).
      const z = tensor([0.3]).div(3);
      expect(z.item()).toBe(Math.fround(Math.fround(0.3) / 3));
    });
  });

  it('comparisons return float32 0/1 masks that average into an accuracy', () => {
    tidy(() => {
      const pred = tensor([1, 2, 3, 4], [4], { dtype: 'int32' });
      const target = tensor([1, 0, 3, 0], [4], { dtype: 'int32' });
      const hits = pred.eq(target);
      expect(hits.dtype).toBe('float32');
      expect(hits.mean().item()).toBe(0.5);
      expect(hits.requiresGrad).toBe(false);
    });
  });

  it('where takes numbers and an int32 condition; maskedFill keeps x\'s shape', () => {
    tidy(() => {
      const c = tensor([[1], [0]], undefined, { dtype: 'int32' });
      expect(where(c, 5, tensor([1, 2, 3])).tolist()).toEqual([[5, 5, 5], [1, 2, 3]]);
      const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      const y = x.maskedFill(tensor([1, 0]), 0);
      expect(y.tolist()).toEqual([[0, 2], [0, 4]]);
      y.sum().backward();
      expect(x.grad!.tolist()).toEqual([[0, 1], [0, 1]]);
    });
  });

  it('special values: log(0) = -inf, sqrt(-1) = NaN, maximum propagates NaN, clamp keeps NaN', () => {
    tidy(() => {
      expect(Array.from(tensor([0, -1, 1]).log().toArray())).toEqual([-Infinity, NaN, 0]);
      expect(Number.isNaN(tensor([-1]).sqrt().item())).toBe(true);
      expect(Array.from(tensor([NaN, 1]).maximum(tensor([0, NaN])).toArray())).toEqual([NaN, NaN]);
      expect(Number.isNaN(tensor([NaN]).clamp(0, 1).item())).toBe(true);
      expect(Array.from(tensor([-1, 0, 2]).pow(0).toArray())).toEqual([1, 1, 1]);
    });
  });
});
