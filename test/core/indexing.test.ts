// Python indexing (issue 23, item 2): `x.at(':, -1')` is PyTorch's `x[:, -1]`, `t[i]` is `x[i]`,
// `x.slice(dim, start, stop, step)` slices as Python does, `F.oneHot` is `F.one_hot`. Values and
// gradients are torch 1.13's (test/fixtures/indexing.json, scripts/fixtures/make_indexing_fixtures.py).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, DisposedError, F, IndexError, ShapeError, Tensor, ValueError, arange, init, memory, tensor, tidy, type Index } from 'lstm-wasm';

interface Result {
  shape: number[];
  data: number[];
  grad: number[];
}
interface SliceCase extends Result {
  dim: number;
  start: number | null;
  stop: number | null;
  step: number;
}
interface OneHotCase {
  ids: number[] | number[][];
  num_classes: number;
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/indexing.json', import.meta.url), 'utf8')) as {
  shape: number[];
  cases: Record<string, Result>;
  slices: SliceCase[];
  flips: (Result & { dims: number[] })[];
  one_hot: OneHotCase[];
};

beforeAll(async () => {
  await init();
});

/** x = arange(...).reshape(shape) requiring grad, as the fixture's. */
function source(): Tensor {
  const n = fixture.shape.reduce((a, b) => a * b, 1);
  return arange(n).reshape(fixture.shape).detach().float().requiresGrad_();
}

/** Runs `index` on a fresh x, then (y * w).sum().backward() with w = 1..n: y's shape and data, x's grad. */
function run(index: (x: Tensor) => Tensor): Result {
  return tidy(() => {
    const x = source();
    const y = index(x);
    const w = arange(1, y.size + 1).float().reshape([...y.shape]);
    y.mul(w).sum().backward();
    const out = { shape: [...y.shape], data: Array.from(y.toArray()), grad: Array.from(x.grad!.toArray()) };
    x.dispose();
    return out;
  });
}

/** The same index written as arguments instead of one string: integers, { start, stop, step }, null, '...'. */
function asArguments(text: string): Index[] {
  return text.split(',').map((part) => {
    const s = part.trim();
    if (s === 'None') return null;
    if (s === '...') return '...';
    if (/^-?\d+$/.test(s)) return Number(s);
    const [start, stop, step] = s.split(':').map((v) => (v === '' || v === undefined ? null : Number(v)));
    return { start, stop, step: step ?? null };
  });
}

describe('x.at(...) against torch', () => {
  for (const [text, want] of Object.entries(fixture.cases)) {
    it(`x[${text}]`, () => {
      expect(run((x) => x.at(text))).toEqual(want);
      expect(run((x) => x.at(...asArguments(text)))).toEqual(want);
    });
  }

  it('t[i] reads dim 0 as x[i] does, negative too, and chains', () => {
    expect(run((x) => x[0])).toEqual(fixture.cases['0']);
    expect(run((x) => x[-1])).toEqual(fixture.cases['-1']);
    expect(run((x) => x[1])).toEqual(fixture.cases['1']);
    expect(run((x) => x[0][1][2][3])).toEqual(fixture.cases['0, 1, 2, 3']);
    expect(run((x) => x[-1][-1][-1][-1])).toEqual(fixture.cases['-1, -1, -1, -1']);
  });

  it('t[i] out of range, and t[i] = v, are typed errors; other missing properties stay undefined', () => {
    tidy(() => {
      const x = arange(6).reshape(2, 3);
      expect(() => x[2]).toThrowError(IndexError);
      expect(() => x[2]).toThrowError(/index 2 is out of range for dim 0 of size 2 in \[2, 3\] \(expected -2\.\.1\)/);
      expect(() => x[-3]).toThrowError(IndexError);
      expect(() => {
        (x as unknown as Record<number, number>)[0] = 5;
      }).toThrowError(ValueError);
      expect(() => {
        (x as unknown as Record<number, number>)[0] = 5;
      }).toThrowError(/not assigned in place by index.*where\(mask, a, b\)/);
      expect((x as unknown as Record<string, unknown>).then).toBeUndefined();
      expect((x as unknown as Record<string, unknown>).length).toBeUndefined();
      expect(0 in x).toBe(false);
      // A scalar has no dim 0.
      expect(() => tensor([3], [])[0]).toThrowError(/too many indices for a 0-D tensor/);
    });
  });

  it('a 0-D tensor: at() and at(...) copy it, at(null) makes it 1-D', () => {
    tidy(() => {
      const s = tensor([2.5], []);
      expect(s.at().item()).toBe(2.5);
      expect(s.at('...').shape).toEqual([]);
      expect(s.at(null).shape).toEqual([1]);
      expect(s.at('None, None').tolist()).toEqual([[2.5]]);
    });
  });

  it('int32 tensors index too, keeping their dtype', () => {
    tidy(() => {
      const ids = tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype: 'int32' });
      const last = ids.at(':, -1');
      expect(last.dtype).toBe('int32');
      expect(last.tolist()).toEqual([3, 6]);
      expect(ids[1].tolist()).toEqual([4, 5, 6]);
    });
  });
});

describe('x.slice(dim, start, stop, step) as Python slices', () => {
  for (const c of fixture.slices) {
    it(`dim ${c.dim}, ${c.start ?? ''}:${c.stop ?? ''}:${c.step}`, () => {
      expect(run((x) => x.slice(c.dim, c.start, c.stop, c.step))).toEqual({ shape: c.shape, data: c.data, grad: c.grad });
    });
  }

  it('refuses a zero or negative step and a non-integer bound', () => {
    tidy(() => {
      const x = arange(5);
      expect(() => x.slice(0, 0, 5, 0)).toThrowError(ValueError);
      expect(() => x.slice(0, 0, 5, -1)).toThrowError(/slice: step of range 0:5:-1 is -1; steps must be positive/);
      expect(() => x.slice(0, 1.5)).toThrowError(/slice: start of range 1\.5: must be an integer or null, got 1\.5/);
      expect(() => x.slice(1, 0)).toThrowError(IndexError);
    });
  });
});

describe('x.flip(dims) against torch', () => {
  for (const c of fixture.flips) {
    it(`flip([${c.dims.join(', ')}])`, () => {
      expect(run((x) => x.flip(c.dims))).toEqual({ shape: c.shape, data: c.data, grad: c.grad });
    });
  }

  it('takes dims as numbers too, keeps int32, and names a bad or repeated dim', () => {
    tidy(() => {
      const ids = tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype: 'int32' });
      expect(ids.flip(1).tolist()).toEqual([[3, 2, 1], [6, 5, 4]]);
      expect(ids.flip(0, 1).tolist()).toEqual([[6, 5, 4], [3, 2, 1]]);
      expect(ids.flip(1).dtype).toBe('int32');
      expect(() => ids.flip(2)).toThrowError(/flip: dims=2 is out of range for a 2-D tensor/);
      expect(() => ids.flip([1, -1])).toThrowError(/flip: dim 1 appears more than once in dims \[1, -1\]/);
    });
  });
});

describe('x.at(...) refuses what it cannot read, naming it', () => {
  const cases: [string, (x: Tensor) => unknown, RegExp, typeof IndexError | typeof ValueError][] = [
    ['too many indices', (x) => x.at('0, 0, 0, 0, 0'), /too many indices for a 4-D tensor \[2, 3, 4, 5\]: 5 dims are indexed/, IndexError],
    ['an integer out of range', (x) => x.at(':, 3'), /index 3 is out of range for dim 1 of size 3 in \[2, 3, 4, 5\] \(expected -3\.\.2\)/, IndexError],
    ['a negative one out of range', (x) => x.at(-3), /index -3 is out of range for dim 0 of size 2/, IndexError],
    ['two ellipses', (x) => x.at('..., 0, ...'), /single ellipsis \('\.\.\.'\), got 2/, IndexError],
    ['a zero step', (x) => x.at('::0'), /step of range ::0 is 0; steps must be positive/, ValueError],
    ['a negative step', (x) => x.at('::-1'), /step of range ::-1 is -1; steps must be positive .*x\.flip\(dims\)/, ValueError],
    ['text it cannot parse', (x) => x.at(':, x'), /cannot read 'x' in index ':, x'/, IndexError],
    ['an empty part', (x) => x.at('0,,1'), /cannot read '' in index '0,,1'/, IndexError],
    ['a non-integer', (x) => x.at(0.5), /index 0\.5 is not an integer/, IndexError],
    ['undefined', (x) => x.at(undefined as unknown as Index), /an index is undefined \(use null for a new dim of size 1/, IndexError],
    ['an array (advanced indexing)', (x) => x.at([0, 1] as unknown as Index), /indexing with an array \(PyTorch's advanced indexing\) is not supported: use x\.gather/, IndexError],
    ['a tensor (masks, index tensors)', (x) => x.at(x as unknown as Index), /indexing with a Tensor .*maskedFill/, IndexError],
    ['a boolean', (x) => x.at(true as unknown as Index), /an index must be an integer, a string like ':, -1'.*got boolean/, IndexError],
    ["a range with 'end'", (x) => x.at({ start: 0, end: 2 } as unknown as Index), /unknown range key 'end' \(Python's slice calls it stop\)/, IndexError],
    ['a range with a string bound', (x) => x.at({ start: '1' } as unknown as Index), /start of range .* must be an integer or null, got the string '1'/, IndexError],
  ];
  for (const [what, call, message, type] of cases) {
    it(what, () => {
      tidy(() => {
        const x = source();
        const before = memory().liveTensors;
        expect(() => call(x)).toThrowError(type);
        expect(() => call(x)).toThrowError(message);
        expect(memory().liveTensors).toBe(before);
      });
    });
  }

  it('a disposed tensor is a DisposedError', () => {
    const x = arange(3);
    x.dispose();
    expect(() => x.at(0)).toThrowError(DisposedError);
    expect(() => x[0]).toThrowError(DisposedError);
  });
});

describe('F.oneHot against torch', () => {
  for (const c of fixture.one_hot) {
    it(`one_hot(${JSON.stringify(c.ids)}, ${c.num_classes})`, () => {
      tidy(() => {
        const got = F.oneHot(tensor(c.ids, undefined, { dtype: 'int32' }), c.num_classes);
        expect(got.dtype).toBe('int32');
        expect(got.shape).toEqual(c.shape);
        expect(Array.from(got.toArray())).toEqual(c.data);
      });
    });
  }

  it('refuses float ids, negative ids, ids past numClasses and an empty tensor without numClasses', () => {
    tidy(() => {
      const ids = tensor([0, 3, 1], undefined, { dtype: 'int32' });
      expect(() => F.oneHot(tensor([0, 1]))).toThrowError(DTypeError);
      expect(() => F.oneHot(ids, 3)).toThrowError(/oneHot: token id 3 at position 1 is out of range for 3 classes/);
      expect(() => F.oneHot(tensor([1, -1], undefined, { dtype: 'int32' }))).toThrowError(/oneHot: id -1 at position 1 is negative/);
      expect(() => F.oneHot(tensor([], [0], { dtype: 'int32' }))).toThrowError(/cannot infer numClasses from an empty ids tensor/);
      expect(() => F.oneHot(ids, 2.5)).toThrowError(IndexError);
      expect(F.oneHot(tensor([], [0], { dtype: 'int32' }), 4).shape).toEqual([0, 4]);
    });
  });
});

describe('item() on one-element tensors', () => {
  it('reads float and int scalars and one-element tensors of any rank; more elements is a ShapeError', () => {
    tidy(() => {
      const x = source();
      expect(x.at('1, 2, 3, 4').item()).toBe(fixture.cases['-1, -1, -1, -1'].data[0]);
      expect(tensor([[7]], undefined, { dtype: 'int32' }).item()).toBe(7);
      expect(x.at('0:1, 0:1, 0:1, 1:2').item()).toBe(1);
      expect(() => x[0].item()).toThrowError(ShapeError);
      expect(() => x[0].item()).toThrowError(/item: tensor has 60 elements \[3, 4, 5\], expected 1/);
    });
  });
});

describe('memory', () => {
  it('indexing in a loop inside tidy leaves nothing; the graph frees its window after backward', () => {
    const x = source();
    const step = (i: number) => tidy(() => x.at(':, -1').mul(x[i % 2].at(-1)).sum().backward());
    step(0); // makes x.grad
    const before = memory().liveTensors;
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        x.at(':, -1').mul(x[i % 2].at(-1)).sum().backward();
      });
    }
    expect(memory().liveTensors).toBe(before);
    x.grad!.dispose();
    x.dispose();
  });
});
