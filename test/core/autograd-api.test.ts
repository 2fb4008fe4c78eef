// PyTorch's autograd conveniences: retainGrad() on a non-leaf, a one-time warning when the .grad
// of a non-leaf is read, grad(outputs, inputs) that leaves .grad alone, and a hint (plus a debug
// mode) when a loop leaks tensors outside tidy.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LstmWasmError, ValueError, grad, init, memory, memoryReport, nn, setDebugMemory, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from './helpers';

beforeAll(async () => {
  await init();
});

afterEach(() => {
  vi.restoreAllMocks();
  setDebugMemory(false);
});

describe('retainGrad and the .grad of non-leaves', () => {
  it('keeps a non-leaf gradient when asked; reading one that is not kept warns once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    tidy(() => {
      const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
      const h = x.mul(x); // dL/dh = 2 for L = sum(2h)
      const kept = h.retainGrad();
      expect(kept).toBe(h);
      const other = x.mul(3);
      h.mul(2).add(other).sum().backward();
      expect(Array.from(h.grad!.toArray())).toEqual([2, 2, 2]);
      expect(Array.from(x.grad!.toArray())).toEqual([2 * 2 * 1 + 3, 2 * 2 * 2 + 3, 2 * 2 * 3 + 3]);
      expect(other.grad).toBeNull();
      expect(other.grad).toBeNull();
    });
    const mentions = warn.mock.calls.filter((c) => String(c[0]).includes('not a leaf'));
    expect(mentions.length).toBeLessThanOrEqual(1); // once per process: an earlier test may have used it up
  });

  it('refuses retainGrad on a tensor that gets no gradient', () => {
    tidy(() => {
      expect(() => tensor([1, 2]).retainGrad()).toThrowError(ValueError);
    });
  });
});

describe('grad(outputs, inputs)', () => {
  it('returns the same gradients backward() would, without touching .grad', () => {
    const lstm = new nn.LSTM(3, 4);
    const x = tensor(randomF32(5 * 2 * 3, 1, -1, 1), [5, 2, 3], { requiresGrad: true });
    const viaBackward = tidy(() => {
      lstm.forward(x)[0].sum().backward();
      const gx = Array.from(x.grad!.toArray());
      const gw = Array.from(lstm.parameters()[0].grad!.toArray());
      return { gx, gw };
    });
    x.grad!.dispose();
    x.grad = null;
    lstm.zeroGrad();
    const zeroed = Array.from(lstm.parameters()[0].grad!.toArray());
    tidy(() => {
      const before = memory().liveTensors;
      const out = lstm.forward(x)[0].sum();
      const [gx, gw] = grad(out, [x, lstm.parameters()[0]]);
      expect(Array.from(gx!.toArray())).toEqual(viaBackward.gx);
      expect(Array.from(gw!.toArray())).toEqual(viaBackward.gw);
      expect(x.grad).toBeNull();
      expect(Array.from(lstm.parameters()[0].grad!.toArray())).toEqual(zeroed);
      expect(memory().liveTensors).toBeGreaterThan(before); // the results belong to this tidy
    });
    x.dispose();
    lstm.dispose();
  });

  it('differentiates through a non-leaf input, sums several outputs, and handles unused inputs as asked', () => {
    tidy(() => {
      const x = tensor([1, 2], undefined, { requiresGrad: true });
      const h = x.mul(3);
      const y1 = h.mul(h).sum(); // d/dh = 2h
      const y2 = h.sum(); // d/dh = 1
      const [gh] = grad([y1, y2], h);
      expect(Array.from(gh!.toArray())).toEqual([2 * 3 + 1, 2 * 6 + 1]);
      const unused = tensor([5], undefined, { requiresGrad: true });
      expect(() => grad(y2, [x, unused])).toThrowError(/inputs\[1\] was not used/);
      const [gx, none] = grad(y2, [x, unused], { allowUnused: true });
      expect(Array.from(gx!.toArray())).toEqual([3, 3]);
      expect(none).toBeNull();
      const [seeded] = grad(h, x, { gradOutputs: tensor([1, 10]) });
      expect(Array.from(seeded!.toArray())).toEqual([3, 30]);
      expect(() => grad(h, x)).toThrowError(/implicit only for a scalar/);
      expect(() => grad(y2, x, { retain_graph: true } as never)).toThrowError(/unknown option 'retain_graph'/);
      expect(() => grad(y2, tensor([1]))).toThrowError(LstmWasmError);
    });
  });
});

describe('leaks get a hint', () => {
  it('warns once when backward() outside tidy leaves more live tensors every time', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const w = tensor(randomF32(16, 2, -1, 1), [4, 4], { requiresGrad: true });
    const x = tensor(randomF32(8, 3, -1, 1), [2, 4]);
    const start = memory().liveTensors;
    for (let i = 0; i < 10; i++) x.matmul(w).tanh().sum().backward(); // never freed: a leak
    const hints = warn.mock.calls.filter((c) => String(c[0]).includes('tidy('));
    expect(hints.length).toBe(1);
    expect(String(hints[0][0])).toMatch(/setDebugMemory/);
    expect(memory().liveTensors).toBeGreaterThan(start + 20);
    // Inside tidy the same loop is silent (and frees everything).
    warn.mockClear();
    for (let i = 0; i < 10; i++) tidy(() => x.matmul(w).tanh().sum().backward());
    expect(warn).not.toHaveBeenCalled();
    w.dispose();
    x.dispose();
  });

  it('debug mode groups live tensors by the line that made them', () => {
    setDebugMemory(true);
    const leaked = [1, 2, 3].map((i) => tensor([i, i]));
    const report = memoryReport();
    expect(report.length).toBeGreaterThan(0);
    expect(report[0].count).toBe(3);
    expect(report[0].site).toMatch(/autograd-api\.test\.ts/);
    expect(report[0].shapes).toEqual([[2], [2], [2]]);
    for (const t of leaked) t.dispose();
    expect(memoryReport().find((g) => g.site === report[0].site)).toBeUndefined();
    setDebugMemory(false);
    expect(memoryReport()).toEqual([]);
    expect(() => setDebugMemory('yes' as unknown as boolean)).toThrowError(ValueError);
  });
});

describe('a second backward through the same graph (issue 23, item 7)', () => {
  it('throws as PyTorch does, after the first freed the saved buffers; { retainGraph: true } keeps them', async () => {
    const lw = await import('lstm-wasm');
    await lw.init();
    const { nn, tensor, memory, manualSeed, LstmWasmError, ValueError } = lw;
    manualSeed(1);
    const lstm = new nn.LSTM(3, 4);
    const x = tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 4, 3]);
    const [out] = lstm.forward(x);
    const loss = out.sum();
    const before = memory().tensorBytes;
    loss.backward({ retainGraph: true });
    const g1 = Array.from(lstm.parameters()[0]!.grad!.toArray());
    loss.backward(); // accumulates: twice the gradient; frees the graph's saved buffers
    Array.from(lstm.parameters()[0]!.grad!.toArray()).forEach((v, i) => expect(v).toBeCloseTo(2 * g1[i]!, 5));
    expect(memory().tensorBytes, 'the LSTM cache was freed by the backward without retainGraph').toBeLessThan(before);
    expect(() => loss.backward()).toThrow(LstmWasmError);
    expect(() => loss.backward()).toThrow(/second time.*\{ retainGraph: true \}/);
    expect(() => loss.backward(undefined, { retain_graph: true } as never)).toThrow(/retainGraph/);
    expect(() => loss.backward({ retainGraph: 1 } as never)).toThrow(ValueError);
    // grad() never frees: the graph can be differentiated again.
    const [y] = lstm.forward(x);
    const l2 = y.sum();
    const [gx] = lw.grad(l2, lstm.parameters()[0]!);
    l2.backward();
    gx!.dispose();
    [x, out, loss, y, l2].forEach((t) => t.dispose());
    lstm.dispose();
  });
});
