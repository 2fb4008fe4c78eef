// PyTorch names that were missing (issue 23, item 4): the losses and activations as modules,
// `bmm`, and softmax/logSoftmax along any dim (it was the last only).
import { beforeAll, describe, expect, it } from 'vitest';
import { F, ShapeError, ValueError, bmm, init, manualSeed, matmul, nn, randn, tensor, tidy } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const arr = (t: { toArray(): ArrayLike<number> }) => Array.from(t.toArray());

/** Plain-JS softmax of x (shape) along d. */
function softmaxRef(x: number[], shape: number[], d: number, log: boolean): number[] {
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const n = shape[d]!;
  const outer = x.length / (n * inner);
  const out = new Array<number>(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => o * n * inner + j * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x[at(j)]!);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[at(j)]! - m);
      for (let j = 0; j < n; j++) out[at(j)] = log ? x[at(j)]! - m - Math.log(s) : Math.exp(x[at(j)]! - m) / s;
    }
  }
  return out;
}

describe('softmax and logSoftmax along any dim', () => {
  it('match a plain-JS reference along each dim, and the transposed last-dim computation bit for bit, gradients included', () => {
    manualSeed(3);
    const shape = [3, 5, 4];
    const x = randn(shape, { requiresGrad: true });
    const w = randn(shape);
    for (const log of [false, true]) {
      for (const dim of [0, 1, 2, -3, -2]) {
        tidy(() => {
          const y = log ? x.logSoftmax(dim) : x.softmax(dim);
          const d = (dim + 3) % 3;
          const ref = softmaxRef(arr(x), shape, d, log);
          arr(y).forEach((v, i) => expect(Math.abs(v - ref[i]!), `${log ? 'log' : ''}softmax dim ${dim} [${i}]`).toBeLessThan(2e-6));
          y.mul(w).sum().backward();
          const gx = arr(x.grad!);
          x.grad!.dispose();
          x.grad = null;
          const via = (log ? x.transpose(d, -1).logSoftmax(-1) : x.transpose(d, -1).softmax(-1)).transpose(d, -1);
          expect(arr(via)).toEqual(arr(y));
          via.mul(w).sum().backward();
          expect(arr(x.grad!)).toEqual(gx);
          x.grad!.dispose();
          x.grad = null;
        });
      }
    }
    expect(F.softmax(x, 0).shape).toEqual(shape);
    x.dispose();
    w.dispose();
  });
});

describe('activation and loss modules', () => {
  it('ReLU, Tanh, Sigmoid, Softmax(dim) and LogSoftmax(dim) are their functions, in a Sequential too', () => {
    manualSeed(4);
    const x = randn([4, 6]);
    tidy(() => {
      expect(arr(new nn.ReLU().forward(x))).toEqual(arr(x.relu()));
      expect(arr(new nn.Tanh().forward(x))).toEqual(arr(x.tanh()));
      expect(arr(new nn.Sigmoid().forward(x))).toEqual(arr(x.sigmoid()));
      expect(arr(new nn.Softmax(0).forward(x))).toEqual(arr(x.softmax(0)));
      expect(arr(new nn.LogSoftmax({ dim: 1 }).forward(x))).toEqual(arr(x.logSoftmax(1)));
      const net = new nn.Sequential(new nn.Linear(6, 3), new nn.ReLU(), new nn.Linear(3, 2), new nn.LogSoftmax(-1));
      expect(net.forward(x).shape).toEqual([4, 2]);
      net.dispose();
    });
    expect(() => new nn.Softmax(undefined as never)).toThrow(/Softmax: give the dim, as PyTorch's Softmax\(dim=-1\): new nn.Softmax\(-1\)/);
    expect(() => new nn.LogSoftmax({ dim: 1, axis: 2 } as never)).toThrow(ValueError);
    x.dispose();
  });

  it('CrossEntropyLoss, NLLLoss, MSELoss and BCEWithLogitsLoss are their functions with the options given, checked when made', () => {
    manualSeed(5);
    const logits = randn([4, 3]);
    const y = tensor(new Int32Array([0, 2, 1, 0]));
    const t = randn([4, 3]);
    tidy(() => {
      const w = tensor([1, 2, 0.5]);
      expect(new nn.CrossEntropyLoss({ labelSmoothing: 0.1, weight: w }).forward(logits, y).item())
        .toBe(F.crossEntropy(logits, y, { labelSmoothing: 0.1, weight: w }).item());
      expect(new nn.NLLLoss({ ignoreIndex: 2 }).forward(logits.logSoftmax(1), y).item())
        .toBe(F.nllLoss(logits.logSoftmax(1), y, { ignoreIndex: 2 }).item());
      expect(new nn.MSELoss({ reduction: 'sum' }).forward(logits, t).item()).toBe(F.mseLoss(logits, t, { reduction: 'sum' }).item());
      const targets = t.sigmoid();
      expect(new nn.BCEWithLogitsLoss().forward(logits, targets).item()).toBe(F.binaryCrossEntropyWithLogits(logits, targets).item());
    });
    expect(() => new nn.CrossEntropyLoss({ ignore_index: 0 } as never)).toThrow(/ignoreIndex/);
    expect(() => new nn.MSELoss({ size_average: true } as never)).toThrow(ValueError);
    [logits, y, t].forEach((x) => x.dispose());
  });
});

describe('bmm', () => {
  it('is matmul of two 3-D tensors with the same batch; anything else is a ShapeError that points to matmul', () => {
    manualSeed(6);
    const a = randn([2, 3, 4]);
    const b = randn([2, 4, 5]);
    tidy(() => {
      expect(arr(bmm(a, b))).toEqual(arr(matmul(a, b)));
      expect(a.bmm(b).shape).toEqual([2, 3, 5]);
      expect(() => bmm(a, randn([1, 4, 5]))).toThrow(/^bmm: expected \(B, n, m\) and \(B, m, p\) with the same B, got \[2, 3, 4\] and \[1, 4, 5\] \(matmul broadcasts\)/);
      expect(() => bmm(randn([3, 4]), randn([4, 5]))).toThrow(ShapeError);
    });
    [a, b].forEach((x) => x.dispose());
  });
});
