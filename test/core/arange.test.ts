// arange as torch.arange (torch 1.13 printed the expected values; int64 there is int32 here), and gather on int32 data.
import { beforeAll, describe, expect, it } from 'vitest';
import { OutOfMemoryError, ValueError, arange, init, pow, tensor, tidy } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

describe('arange', () => {
  it('matches torch.arange, with int32 for integer arguments', () => {
    tidy(() => {
      const cases: [(number | object)[], string, number[]][] = [
        [[5], 'int32', [0, 1, 2, 3, 4]],
        [[1, 2.5, 0.5], 'float32', [1, 1.5, 2]],
        [[10, 0, -3], 'int32', [10, 7, 4, 1]],
        [[0, 1, 0.1], 'float32', [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]],
        [[-2, 3], 'int32', [-2, -1, 0, 1, 2]],
        [[3, { dtype: 'float32' }], 'float32', [0, 1, 2]],
      ];
      for (const [args, dtype, values] of cases) {
        const t = arange(...(args as number[]));
        expect(t.dtype, JSON.stringify(args)).toBe(dtype);
        Array.from(t.toArray()).forEach((v, i) => expect(v).toBeCloseTo(values[i], 6));
        expect(t.size).toBe(values.length);
      }
      expect(arange(0).size).toBe(0);
    });
  });

  it('refuses what it cannot make', () => {
    expect(() => arange(0, 5, 0)).toThrowError(/step must not be 0/);
    expect(() => arange(0, 5, -1)).toThrowError(ValueError);
    expect(() => arange(0, 1e12)).toThrowError(OutOfMemoryError);
    expect(() => arange(5, { dtyp: 'int32' } as never)).toThrowError(/unknown option 'dtyp'/);
    expect(() => arange(0.5, 3, { dtype: 'int32' })).toThrowError(/integer start and step/);
  });
});

describe('gather on int32 data', () => {
  it('gathers token ids bit for bit, int32 in, int32 out (as torch.gather on a long tensor)', () => {
    tidy(() => {
      const ids = tensor(new Int32Array([10, 11, 12, 13, 20, 21, 22, 23, 2147483647, -2147483648, 7, 8]), [3, 4]);
      const reversed = ids.gather(1, arange(3, -1, -1).unsqueeze(0).expand(3, 4));
      expect(reversed.dtype).toBe('int32');
      expect(Array.from(reversed.toArray())).toEqual([13, 12, 11, 10, 23, 22, 21, 20, 8, 7, -2147483648, 2147483647]);
      expect(reversed.requiresGrad).toBe(false);
    });
  });
});

describe('dtype conversion: to, float, int, long', () => {
  it('converts as PyTorch does, truncating toward zero (saturating, NaN to 0)', () => {
    tidy(() => {
      const x = tensor([1.9, -1.9, 0.5, -0.5, NaN, 3e9, -3e9, 16777217]);
      expect(Array.from(x.int().toArray())).toEqual([1, -1, 0, 0, 0, 2147483647, -2147483648, 16777216]);
      expect(x.long().dtype).toBe('int32');
      expect(x.to('int32').dtype).toBe('int32');
      const ids = tensor(new Int32Array([0, -5, 16777217, 2147483647]));
      expect(Array.from(ids.float().toArray())).toEqual([0, -5, 16777216, 2147483648]);
      expect(ids.float().requiresGrad).toBe(false);
      expect(() => x.to('int64' as never)).toThrowError(/int64 tensors are int32 here/);
      // Same dtype: a clone that stays in the graph.
      const w = tensor([1, 2], undefined, { requiresGrad: true });
      w.float().mul(3).sum().backward();
      expect(Array.from(w.grad!.toArray())).toEqual([3, 3]);
      w.grad!.dispose();
    });
  });
});

describe('pow with a number base', () => {
  it('is torch.pow(2, x), differentiable in the exponent (torch 1.13 values)', () => {
    tidy(() => {
      const x = tensor([0.5, -1, 3], undefined, { requiresGrad: true });
      const y = pow(2, x);
      Array.from(y.toArray()).forEach((v, i) => expect(v).toBeCloseTo([1.4142135381698608, 0.5, 8][i], 6));
      y.sum().backward();
      Array.from(x.grad!.toArray()).forEach((v, i) => expect(v).toBeCloseTo([0.9802581667900085, 0.3465735912322998, 5.545177459716797][i], 5));
      expect(() => pow(2, 3 as never)).toThrowError(/Math.pow/);
    });
  });
});
