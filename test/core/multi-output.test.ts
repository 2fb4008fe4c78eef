// An autograd node may have several outputs (the recurrent op returns output, hN and cN): each
// output gets its own gradient, an output nothing used counts as zero, and the buffers the node
// saved for backward live until the last of its outputs is disposed.
import { beforeAll, describe, expect, it } from 'vitest';
import { type Tensor, init, manualSeed, memory, nn, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from './helpers';

beforeAll(async () => {
  await init();
});

const [T, B, I, H] = [5, 3, 4, 6];

function gradsOf(lstm: nn.LSTM): number[][] {
  return lstm.parameters().map((p) => Array.from(p.grad!.toArray()));
}

describe('a node with several outputs', () => {
  it('routes each output its own gradient; an unused output contributes nothing', () => {
    manualSeed(1);
    const lstm = new nn.LSTM(I, H);
    const x = tensor(randomF32(T * B * I, 2, -1, 1), [T, B, I]);
    const run = (loss: (o: Tensor, h: Tensor, c: Tensor) => Tensor): number[][] => {
      lstm.zeroGrad();
      tidy(() => {
        const [out, [h, c]] = lstm.forward(x);
        loss(out, h, c).backward();
      });
      return gradsOf(lstm);
    };
    const viaH = run((_o, h) => h.sum());
    const viaHAndZeroOutput = run((o, h) => h.sum().add(o.sum().mul(0)));
    expect(viaH).toEqual(viaHAndZeroOutput);
    // Linearity: d(out + 2 hN + 3 cN) = d(out) + 2 d(hN) + 3 d(cN), each taken alone.
    const dOut = run((o) => o.sum());
    const dH = run((_o, h) => h.sum());
    const dC = run((_o, _h, c) => c.sum());
    const together = run((o, h, c) => o.sum().add(h.sum().mul(2)).add(c.sum().mul(3)));
    together.forEach((g, i) => {
      g.forEach((v, j) => expect(v).toBeCloseTo(dOut[i][j] + 2 * dH[i][j] + 3 * dC[i][j], 5));
    });
    x.dispose();
    lstm.dispose();
  });

  it('keeps its saved activations until the last output is disposed', () => {
    const lstm = new nn.LSTM(I, H);
    const x = tensor(randomF32(T * B * I, 3, -1, 1), [T, B, I]);
    const before = memory();
    const [out, [h, c]] = lstm.forward(x);
    out.dispose();
    c.dispose();
    // The cache lives on with h: backward through h still works (retaining the graph, so the
    // cache is still there afterwards: without it backward frees it, see autograd-api.test.ts).
    const loss = h.sum();
    loss.backward({ retainGraph: true });
    expect(lstm.parameters().every((p) => p.grad !== null)).toBe(true);
    loss.dispose();
    lstm.zeroGrad();
    const withGrads = memory().liveTensors;
    h.dispose();
    expect(memory().liveTensors, 'h and the cache it kept alive are gone').toBeLessThan(withGrads - 1);
    expect(memory().tensorBytes - before.tensorBytes, 'only the new .grad buffers remain').toBe(
      lstm.parameters().reduce((n, p) => n + p.size * 4, 0),
    );
    x.dispose();
    lstm.dispose();
  });
});

describe('names that say what they do', () => {
  it('view(...shape) reshapes as PyTorch does; heapView() is the typed array over the data', () => {
    const x = tensor([1, 2, 3, 4, 5, 6]);
    const v = x.view(2, -1);
    expect(v.shape).toEqual([2, 3]);
    expect(Array.from(v.heapView())).toEqual([1, 2, 3, 4, 5, 6]);
    const w = x.view([3, 2]);
    expect(w.shape).toEqual([3, 2]);
    x.heapView()[0] = 10; // writes the tensor's own data
    expect(x.toArray()[0]).toBe(10);
    for (const t of [x, v, w]) t.dispose();
  });
});
