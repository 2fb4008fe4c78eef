// PyTorch's tuple results, the JavaScript way (issue 23, item 3): `values, indices = x.topk(1)`
// ports as `const [values, indices] = x.topk(1)`, and `output, (h_n, c_n) = lstm(x)` as
// `const [output, [hN, cN]] = lstm.forward(x)`; both also destructure by name. And `sort`, which
// was missing: checked against a plain-JS stable sort, NaN last, with its gradient.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, memory, nn, randn, sort, tensor, tidy, ValueError, IndexError } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const arr = (t: { toArray(): ArrayLike<number> }) => Array.from(t.toArray());

describe('results that destructure by position and by name', () => {
  it('topk, max(dim) and min(dim) are [values, indices] with the same tensors as .values and .indices', () => {
    const x = tensor([3, 1, 4, 1, 5, 9, 2, 6], [2, 4]);
    const top = x.topk(2);
    const [values, indices] = top;
    expect(values).toBe(top.values);
    expect(indices).toBe(top.indices);
    expect(arr(values)).toEqual([4, 3, 9, 6]);
    expect(arr(indices)).toEqual([2, 0, 1, 3]);
    const [maxV, maxI] = x.max(1);
    expect([arr(maxV), arr(maxI)]).toEqual([[4, 9], [2, 1]]);
    const { values: minV, indices: minI } = x.min(1);
    expect([arr(minV), arr(minI)]).toEqual([[1, 2], [1, 2]]);
    const one = x.topk(1);
    expect(one).toHaveLength(2);
    for (const t of [x, ...one, values, indices, maxV, maxI, minV, minI]) t.dispose();
  });

  it('tidy keeps both tensors of a returned pair, once', () => {
    const before = memory().liveTensors;
    const x = tensor([1, 5, 3], [3]);
    const [v, i] = tidy(() => x.mul(2).topk(2));
    expect(memory().liveTensors).toBe(before + 3);
    expect([arr(v), arr(i)]).toEqual([[10, 6], [1, 2]]);
    [x, v, i].forEach((t) => t.dispose());
  });

  it('LSTM, GRU and RNN forward: [output, state] by position, { output, hN, cN } by name', () => {
    manualSeed(1);
    const x = randn([5, 2, 3]);
    const lstm = new nn.LSTM(3, 4);
    const result = lstm.forward(x);
    const [output, [hN, cN]] = result;
    expect(result.output).toBe(output);
    expect(result.hN).toBe(hN);
    expect(result.cN).toBe(cN);
    expect(output.shape).toEqual([5, 2, 4]);
    expect(cN.shape).toEqual([1, 2, 4]);
    for (const Kind of [nn.GRU, nn.RNN]) {
      const m = new Kind(3, 4);
      const r = m.forward(x);
      const [o, h] = r;
      expect(r.output).toBe(o);
      expect(r.hN).toBe(h);
      expect(h.shape).toEqual([1, 2, 4]);
      [o, h].forEach((t) => t.dispose());
      m.dispose();
    }
    [x, output, hN, cN].forEach((t) => t.dispose());
    lstm.dispose();
  });
});

describe('sort', () => {
  /** Plain-JS stable sort of one line: indices, NaN larger than every number. */
  function reference(line: number[], descending: boolean): number[] {
    const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
    return line.map((_, j) => j).sort((a, b) => {
      const na = Number.isNaN(line[a]!), nb = Number.isNaN(line[b]!);
      if (na || nb) return na === nb ? 0 : (na ? 1 : -1) * (descending ? -1 : 1);
      return (key(line[a]!) - key(line[b]!)) * (descending ? -1 : 1);
    });
  }

  it('sorts along any dim, ascending or descending, ties in their order, NaN last (first when descending)', () => {
    const rows = [[3, NaN, 1, 3, -0, 0, 2], [5, 5, 5, -1, NaN, NaN, 7]];
    const x = tensor(rows.flat(), [2, 7]);
    for (const descending of [false, true]) {
      const [values, indices] = x.sort(-1, descending);
      const got = arr(indices);
      rows.forEach((line, r) => {
        const want = reference(line, descending);
        expect(got.slice(r * 7, r * 7 + 7), `row ${r} descending ${descending}`).toEqual(want);
        expect(arr(values).slice(r * 7, r * 7 + 7)).toEqual(want.map((j) => line[j]));
      });
      [values, indices].forEach((t) => t.dispose());
    }
    // dim 0 of the same tensor: each column sorted on its own.
    const { values, indices } = sort(x, 0);
    const cols = rows[0]!.map((_, c) => reference([rows[0]![c]!, rows[1]![c]!], false));
    expect(arr(indices)).toEqual([...cols.map((o) => o[0]), ...cols.map((o) => o[1])]);
    [x, values, indices].forEach((t) => t.dispose());
  });

  it('sends the gradient of each sorted value back to where it came from', () => {
    const x = tensor([0.5, -2, 3, 1], [4], { requiresGrad: true });
    const w = tensor([1, 10, 100, 1000], [4]);
    const [values, indices] = x.sort(0, true);
    const loss = values.mul(w).sum();
    loss.backward();
    // descending: 3 (index 2), 1 (3), 0.5 (0), -2 (1) take weights 1, 10, 100, 1000.
    expect(arr(indices)).toEqual([2, 3, 0, 1]);
    expect(arr(x.grad!)).toEqual([100, 1000, 1, 10]);
    [x, w, values, indices, loss].forEach((t) => t.dispose());
  });

  it('refuses what PyTorch refuses, and a descending that is not a boolean', () => {
    const x = tensor([1, 2], [2]);
    expect(() => x.sort(1)).toThrow(IndexError);
    expect(() => x.sort(0, 1 as unknown as boolean)).toThrow(ValueError);
    expect(() => sort(tensor([1], [1], { dtype: 'int32' }))).toThrow(/sort/);
    x.dispose();
  });
});
