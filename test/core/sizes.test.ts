// Sizes as separate numbers (issue 23, item 7): PyTorch takes torch.zeros(1, 128) as well as
// torch.zeros((1, 128)); so do zeros, ones, rand and randn here. full keeps PyTorch's one shape
// argument; what cannot be a shape says so, naming the op called (ones(5) used to blame `full:`,
// randn(5) `tensor:`).
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, ShapeError, full, init, ones, rand, randn, zeros } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

describe('shapes given as separate numbers', () => {
  it('zeros, ones, rand and randn take (2, 3) as they take ([2, 3]), options last', () => {
    const a = zeros(1, 128);
    expect(a.shape).toEqual([1, 128]);
    const b = ones(5);
    expect(Array.from(b.toArray())).toEqual([1, 1, 1, 1, 1]);
    const c = zeros(2, 3, { dtype: 'int32' });
    expect([c.shape, c.dtype]).toEqual([[2, 3], 'int32']);
    const d = ones(2, 2, { requiresGrad: true });
    expect(d.requiresGrad).toBe(true);
    const e = randn(5);
    expect(e.shape).toEqual([5]);
    // The same samples either way, from the same generator state.
    const r1 = rand(2, 3, { generator: new Generator(4) });
    const r2 = rand([2, 3], { generator: new Generator(4) });
    expect(Array.from(r1.toArray())).toEqual(Array.from(r2.toArray()));
    const n1 = randn(3, 2, { generator: new Generator(9) });
    const n2 = randn([3, 2], { generator: new Generator(9) });
    expect(Array.from(n1.toArray())).toEqual(Array.from(n2.toArray()));
    [a, b, c, d, e, r1, r2, n1, n2].forEach((t) => t.dispose());
  });

  it('what is not a shape is a ShapeError naming the op and both spellings', () => {
    expect(() => ones()).toThrow(ShapeError);
    expect(() => ones()).toThrow(/^ones: expected a shape, as an array \(\[2, 3\]\) or as numbers \(2, 3\), got no shape$/);
    expect(() => randn('5' as never)).toThrow(/^randn: expected a shape.*got string 5 as size 0$/);
    expect(() => (zeros as (...a: unknown[]) => unknown)([2], 3, {})).toThrow(/^zeros: give the shape as one array or as separate numbers, not both/);
    expect(() => zeros([2], [3] as never)).toThrow(/^zeros: options must be a plain object/);
    expect(() => zeros(2, 3, [4] as never)).toThrow(ShapeError);
    expect(() => full(5 as never, 1)).toThrow(/^full: the shape must be an array, as PyTorch's full\(\(2, 3\), value\): full\(\[2, 3\], value\), got number 5$/);
    expect(() => zeros(2, -1)).toThrow(ShapeError);
    expect(() => zeros(2, 3, { dtype: 'float64' } as never)).toThrow(/^zeros: dtype must be 'float32' or 'int32', got "float64"/);
  });
});
