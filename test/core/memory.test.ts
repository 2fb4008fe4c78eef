// Leaks are bugs with tests: long training loops inside tidy() must hold the live-tensor count and
// the WASM heap size constant, and the scope rules (tidy, nesting, keep, dispose) must hold.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  F, type MemoryInfo, Tensor, concat, init, keep, memory, noGrad, optim, tensor, tidy, zeros,
} from 'lstm-wasm';
import { randomF32, seededUniform } from './helpers';

beforeAll(async () => {
  await init();
});

function parameter(shape: number[], seed: number, scale: number): Tensor {
  return tensor(randomF32(shape.reduce((a, b) => a * b, 1), seed, -scale, scale), shape, { requiresGrad: true });
}

/**
 * Runs `steps` training steps, each `step()` inside its own tidy, and records memory() after
 * step `probe` and after the last one, plus the first and last losses.
 */
function train(steps: number, probe: number, step: () => number) {
  const losses: number[] = [];
  let atProbe: MemoryInfo | null = null;
  for (let i = 1; i <= steps; i++) {
    losses.push(tidy(step));
    if (i === probe) atProbe = memory();
  }
  return { losses, atProbe: atProbe!, atEnd: memory() };
}

describe('training loops do not leak', () => {
  it('1000 Adam steps of a 2-layer tanh MLP with MSE: constant live tensors and heap, loss decreases', () => {
    const before = memory().liveTensors;
    // x (64, 4) -> tanh(x W1 + b1) (64, 16) -> W2 + b2 (64, 1), fit y = sin(x0 + x1) * x2 - 0.5 x3.
    const [n, inputs, hidden] = [64, 4, 16];
    const xData = randomF32(n * inputs, 1, -1, 1);
    const yData = Float32Array.from({ length: n }, (_, i) => {
      const [a, b, c, d] = xData.subarray(i * inputs, (i + 1) * inputs);
      return Math.sin(a + b) * c - 0.5 * d;
    });
    const x = tensor(xData, [n, inputs]);
    const y = tensor(yData, [n, 1]);
    const params = [
      parameter([inputs, hidden], 2, 0.5), parameter([hidden], 3, 0.1),
      parameter([hidden, 1], 4, 0.5), parameter([1], 5, 0.1),
    ];
    const [w1, b1, w2, b2] = params;
    const opt = new optim.Adam(params, { lr: 0.01 });

    const { losses, atProbe, atEnd } = train(1000, 10, () => {
      const h = x.matmul(w1).add(b1).tanh();
      const loss = F.mseLoss(h.matmul(w2).add(b2), y);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });

    expect(atEnd.liveTensors).toBe(atProbe.liveTensors);
    expect(atEnd.tensorBytes).toBe(atProbe.tensorBytes);
    expect(atEnd.heapBytes).toBe(atProbe.heapBytes);
    // Parameters, their gradients, Adam's m and v, x and y: nothing else is alive between steps.
    expect(atEnd.liveTensors - before).toBe(4 * 4 + 2);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[999]).toBeLessThan(0.05 * losses[0]);

    opt.dispose();
    for (const t of [...params, x, y]) t.dispose();
    expect(memory().liveTensors).toBe(before);
  });

  it('300 SGD steps through embedding, dropout, relu, slice, concat, transpose, logSoftmax and crossEntropy', () => {
    const before = memory().liveTensors;
    const [vocab, dim, rows] = [11, 8, 24];
    const u = seededUniform(6);
    const ids = tensor(Int32Array.from({ length: rows }, () => Math.floor(u() * vocab)));
    const targets = tensor(Int32Array.from({ length: rows }, (_, i) => (i % 5 === 4 ? -100 : (i * 3) % vocab)));
    const params = [parameter([vocab, dim], 7, 0.5), parameter([2 * dim, vocab], 8, 0.3), parameter([vocab], 9, 0.1)];
    const [embed, w, b] = params;
    const opt = new optim.SGD(params, { lr: 0.2, momentum: 0.9 });

    const { losses, atProbe, atEnd } = train(300, 10, () => {
      const e = F.dropout(F.embedding(ids, embed, 0), 0.1, true); // (rows, dim)
      const centered = e.relu().sub(e.mean(0)); // (rows, dim)
      const swapped = concat([e.slice(1, dim / 2), e.slice(1, 0, dim / 2)], 1); // (rows, dim)
      const features = concat([centered, swapped.transpose().sigmoid().transpose()], -1); // (rows, 2*dim)
      const logits = features.matmul(w).add(b); // (rows, vocab)
      const loss = F.crossEntropy(logits, targets).sub(logits.logSoftmax().mean().mul(1e-3));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });

    expect(atEnd.liveTensors).toBe(atProbe.liveTensors);
    expect(atEnd.tensorBytes).toBe(atProbe.tensorBytes);
    expect(atEnd.heapBytes).toBe(atProbe.heapBytes);
    const average = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    expect(average(losses.slice(-20))).toBeLessThan(0.5 * average(losses.slice(0, 20)));

    opt.dispose();
    for (const t of [...params, ids, targets]) t.dispose();
    expect(memory().liveTensors).toBe(before);
  });
});

describe('scopes', () => {
  it('tidy disposes what it creates and keeps what it returns (tensor, array, object)', () => {
    const before = memory().liveTensors;
    let inner: Tensor | null = null;
    const out = tidy(() => {
      inner = zeros([3]).add(1);
      return inner.mul(2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(Array.from(out.toArray())).toEqual([2, 2, 2]);
    expect(memory().liveTensors).toBe(before + 1);
    out.dispose();

    const { a, list } = tidy(() => ({ a: zeros([2]), list: [zeros([1]), zeros([4])], n: 3 }));
    expect([a, ...list].every((t) => !t.isDisposed)).toBe(true);
    expect(memory().liveTensors).toBe(before + 3);
    for (const t of [a, ...list]) t.dispose();
    expect(tidy(() => zeros([5]).sum().item())).toBe(0);
    expect(memory().liveTensors).toBe(before);
  });

  it('tensors a nested tidy returns move to the outer scope, which disposes them unless returned', () => {
    const before = memory().liveTensors;
    let fromInner: Tensor | null = null;
    let innerTemp: Tensor | null = null;
    const kept = tidy(() => {
      fromInner = tidy(() => {
        innerTemp = zeros([2]);
        return innerTemp.add(3);
      });
      expect(innerTemp!.isDisposed).toBe(true);
      expect(fromInner.isDisposed).toBe(false);
      const survivor = tidy(() => fromInner!.mul(2));
      return survivor;
    });
    expect(fromInner!.isDisposed, 'the outer tidy disposed the inner result').toBe(true);
    expect(Array.from(kept.toArray())).toEqual([6, 6]);
    kept.dispose();
    expect(memory().liveTensors).toBe(before);
  });

  it('keep() saves a tensor from every enclosing scope until it is disposed', () => {
    const before = memory().liveTensors;
    let kept: Tensor | null = null;
    let dropped: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        kept = keep(tensor([1, 2]));
        dropped = tensor([3]);
      });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
    expect(Array.from(kept!.toArray())).toEqual([1, 2]);
    expect(memory().liveTensors).toBe(before + 1);
    kept!.dispose();
    expect(memory().liveTensors).toBe(before);
  });

  it('a tensor created outside any scope survives a tidy that uses it', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    tidy(() => {
      x.tanh().sum().backward();
    });
    expect(x.isDisposed).toBe(false);
    expect(x.grad).not.toBeNull();
    expect(x.grad!.isDisposed, 'gradients belong to their leaf, not to the scope').toBe(false);
    const live = memory().liveTensors;
    x.dispose();
    expect(x.grad).toBeNull();
    expect(memory().liveTensors, 'dispose() releases the leaf and its gradient').toBe(live - 2);
  });

  it('memory() counts bytes of live tensors', () => {
    const before = memory();
    const t = zeros([10, 3]);
    const i = tensor(new Int32Array(5));
    expect(memory().tensorBytes - before.tensorBytes).toBe(4 * 35);
    expect(memory().liveTensors - before.liveTensors).toBe(2);
    expect(memory().heapBytes).toBeGreaterThanOrEqual(before.heapBytes);
    t.dispose();
    i.dispose();
    expect(memory()).toMatchObject({ liveTensors: before.liveTensors, tensorBytes: before.tensorBytes });
  });

  it('noGrad builds no graph', () => {
    const x = tensor([0.5, -1], undefined, { requiresGrad: true });
    const before = memory().liveTensors;
    tidy(() => {
      const y = noGrad(() => F.mseLoss(x.tanh(), zeros([2])));
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(x.tanh().requiresGrad, 'recording is back on after noGrad').toBe(true);
    });
    expect(memory().liveTensors).toBe(before);
    x.dispose();
  });
});
