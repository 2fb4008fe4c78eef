// Data loading (torch.utils.data): TensorDataset, DataLoader, randomSplit.
// Method: datasets whose items say where they came from (row i of x is [10i, 10i+1, 10i+2], y_i = i),
// so every batch is checked element for element against the indices it must hold. Shuffled orders
// are checked against a permutation the test derives itself from the same seeded Generator, by the
// documented contract (Fisher-Yates from the end, each draw nextUint32() % (i+1) with the biased top
// redrawn). Ownership is checked by exact live-tensor counts (memory().liveTensors).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DisposedError, F, Generator, IndexError, ShapeError, Tensor, ValueError, data, init, keep, manualSeed, memory, nn, optim, tensor, tidy,
} from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const N = 10;
const FEATURES = 3;

/** x (N, 3) with row i = [10i, 10i+1, 10i+2]; y (N) int32 with y_i = i. The caller disposes them. */
function makeXY(n = N): { x: Tensor; y: Tensor } {
  const xs = Array.from({ length: n * FEATURES }, (_, k) => 10 * Math.floor(k / FEATURES) + (k % FEATURES));
  return { x: tensor(Float32Array.from(xs), [n, FEATURES]), y: tensor(Int32Array.from({ length: n }, (_, i) => i)) };
}

/** The rows [10i, 10i+1, 10i+2] of `indices`, flat. */
function rowsOf(indices: number[]): number[] {
  return indices.flatMap((i) => [10 * i, 10 * i + 1, 10 * i + 2]);
}

/** The permutation the docs promise: Fisher-Yates from the end over nextUint32, unbiased. */
function expectedPermutation(n: number, g: Generator): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const m = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % m);
    let r = g.nextUint32();
    while (r >= limit) r = g.nextUint32();
    const j = r % m;
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The y values of every batch of one epoch, batch by batch. */
function epochLabels(loader: data.DataLoader<Tensor[]>): number[][] {
  const out: number[][] = [];
  for (const [, y] of loader) out.push(Array.from(y.toArray()));
  return out;
}

function chunks(order: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

describe('TensorDataset', () => {
  it('has one item per row: [x_i, y_i], new tensors each time, negative indices from the end', () => {
    const { x, y } = makeXY();
    const ds = new data.TensorDataset(x, y);
    expect(ds.length).toBe(N);
    expect(ds.tensors[0] === x && ds.tensors[1] === y).toBe(true);
    const live = memory().liveTensors;
    const [xi, yi] = ds.get(3);
    expect([Array.from(xi.toArray()), xi.shape, yi.item(), yi.dtype, yi.shape]).toEqual([[30, 31, 32], [3], 3, 'int32', []]);
    expect(memory().liveTensors).toBe(live + 2);
    xi.dispose();
    yi.dispose();
    const [xl, yl] = ds.get(-1);
    expect([Array.from(xl.toArray()), yl.item()]).toEqual([[90, 91, 92], 9]);
    xl.dispose();
    yl.dispose();
    expect(memory().liveTensors).toBe(live);
    // getBatch: the default collate of those items, in one copy per tensor.
    const [bx, by] = ds.getBatch([4, 0, 4]);
    expect([bx.shape, Array.from(bx.toArray()), Array.from(by.toArray()), by.dtype]).toEqual([[3, 3], rowsOf([4, 0, 4]), [4, 0, 4], 'int32']);
    bx.dispose();
    by.dispose();
    x.dispose();
    y.dispose();
  });

  it('refuses tensors of different lengths (naming which and the sizes), an array, 0-d tensors, bad indices, disposed tensors', () => {
    const { x, y } = makeXY();
    const short = tensor(new Int32Array(7));
    expect(() => new data.TensorDataset(x, short)).toThrowError(ShapeError);
    expect(() => new data.TensorDataset(x, short)).toThrowError(/tensors\[1\] has 7 rows \(shape \[7\]\), expected 10, the size of dim 0 of tensors\[0\] \[10, 3\]/);
    expect(() => new data.TensorDataset([x, y] as unknown as Tensor)).toThrowError(/pass the tensors as arguments, new TensorDataset\(x, y\)/);
    expect(() => new data.TensorDataset()).toThrowError(ValueError);
    const scalar = tensor([1], []);
    expect(() => new data.TensorDataset(scalar)).toThrowError(/tensors\[0\] is a 0-d tensor/);
    const ds = new data.TensorDataset(x, y);
    expect(() => ds.get(10)).toThrowError(IndexError);
    expect(() => ds.get(10)).toThrowError(/TensorDataset.get: index=10 is out of range for 10 items \(expected an integer in -10..9\)/);
    expect(() => ds.get(1.5)).toThrowError(IndexError);
    expect(() => ds.getBatch([0, -11])).toThrowError(/indices\[1\]=-11 is out of range/);
    const live = memory().liveTensors;
    y.dispose();
    expect(() => ds.get(0)).toThrowError(DisposedError);
    expect(() => ds.getBatch([0])).toThrowError(/TensorDataset.getBatch: tensors\[1\] .* was disposed/);
    expect(memory().liveTensors).toBe(live - 1);
    x.dispose();
    short.dispose();
    scalar.dispose();
  });
});

describe('DataLoader: batches and order', () => {
  it('gives the rows in order, batchSize at a time, the last batch short; length is the batch count', () => {
    const { x, y } = makeXY();
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const seen: { shape: number[]; xs: number[]; ys: number[] }[] = [];
    for (const [bx, by] of loader) seen.push({ shape: [...bx.shape], xs: Array.from(bx.toArray()), ys: Array.from(by.toArray()) });
    expect(seen).toEqual([
      { shape: [4, 3], xs: rowsOf([0, 1, 2, 3]), ys: [0, 1, 2, 3] },
      { shape: [4, 3], xs: rowsOf([4, 5, 6, 7]), ys: [4, 5, 6, 7] },
      { shape: [2, 3], xs: rowsOf([8, 9]), ys: [8, 9] },
    ]);
    x.dispose();
    y.dispose();
  });

  it('dropLast leaves out the short batch (and counts it out of length); batchSize 1 is the default', () => {
    const { x, y } = makeXY();
    const ds = new data.TensorDataset(x, y);
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect(epochLabels(dropped)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(new data.DataLoader(ds, { batchSize: 5, dropLast: true }).length).toBe(2);
    expect(new data.DataLoader(ds, { batchSize: 11, dropLast: true }).length).toBe(0);
    expect(epochLabels(new data.DataLoader(ds, { batchSize: 11, dropLast: true }))).toEqual([]);
    expect(epochLabels(new data.DataLoader(ds, { batchSize: 11 }))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    const single = new data.DataLoader(ds);
    expect(single.length).toBe(N);
    expect(epochLabels(single)).toEqual(Array.from({ length: N }, (_, i) => [i]));
    x.dispose();
    y.dispose();
  });

  it('shuffle: each epoch is the next permutation drawn from the generator, rows and labels kept together', () => {
    const { x, y } = makeXY();
    const ds = new data.TensorDataset(x, y);
    const loader = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(7) });
    const reference = new Generator(7);
    for (let epoch = 0; epoch < 3; epoch++) {
      const order = expectedPermutation(N, reference);
      const batches: { xs: number[]; ys: number[] }[] = [];
      for (const [bx, by] of loader) batches.push({ xs: Array.from(bx.toArray()), ys: Array.from(by.toArray()) });
      expect(batches).toEqual(chunks(order, 3).map((c) => ({ xs: rowsOf(c), ys: c })));
    }
    x.dispose();
    y.dispose();
  });

  it('the same seed gives the same orders, another seed another; without a generator the global one (manualSeed) is used', () => {
    const { x, y } = makeXY();
    const ds = new data.TensorDataset(x, y);
    const epochs = (loader: data.DataLoader<Tensor[]>): number[][][] => [epochLabels(loader), epochLabels(loader)];
    const a = epochs(new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(1) }));
    const b = epochs(new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(1) }));
    const c = epochs(new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(2) }));
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(a[0]).not.toEqual(a[1]);
    expect(a[0].flat().sort((p, q) => p - q)).toEqual(Array.from({ length: N }, (_, i) => i));
    manualSeed(5);
    const global = epochLabels(new data.DataLoader(ds, { batchSize: 4, shuffle: true }));
    expect(global).toEqual(chunks(expectedPermutation(N, new Generator(5)), 4));
    x.dispose();
    y.dispose();
  });

  it('the TensorDataset fast path gives what the default collate makes of the same items from a plain array', () => {
    const { x, y } = makeXY();
    const ds = new data.TensorDataset(x, y);
    const items = Array.from({ length: N }, (_, i) => ds.get(i));
    const fast = new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(3) });
    const slow = new data.DataLoader(items, { batchSize: 4, shuffle: true, generator: new Generator(3) });
    const read = (loader: data.DataLoader<Tensor[]>): unknown[] => Array.from(loader, ([bx, by]) => [bx.shape, bx.dtype, Array.from(bx.toArray()), by.shape, by.dtype, Array.from(by.toArray())]);
    expect(read(fast)).toEqual(read(slow));
    for (const [a, b] of items) {
      expect(a.isDisposed || b.isDisposed).toBe(false); // a plain array's own tensors stay its owner's
      a.dispose();
      b.dispose();
    }
    x.dispose();
    y.dispose();
  });

  it('batches are data: made without a graph even from tensors that require grad', () => {
    const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    for (const [bx] of new data.DataLoader(new data.TensorDataset(x), { batchSize: 2 })) {
      expect([bx.requiresGrad, bx.gradFn, Array.from(bx.toArray())]).toEqual([false, null, [1, 2, 3, 4]]);
    }
    for (const [bx] of new data.DataLoader([[x]], { batchSize: 1 })) expect(bx.requiresGrad).toBe(false);
    x.dispose();
  });
});

describe('DataLoader: collate', () => {
  it('tuples of a tensor and a number: an array of a stacked tensor and an int32 tensor', () => {
    const items: [Tensor, number][] = [0, 1, 2].map((i) => [tensor([i, i + 5]), i * 2]);
    const seen: unknown[] = [];
    for (const [bx, by] of new data.DataLoader(items, { batchSize: 3 })) seen.push([bx.tolist(), by.dtype, Array.from(by.toArray())]);
    expect(seen).toEqual([[[[0, 5], [1, 6], [2, 7]], 'int32', [0, 2, 4]]]);
    for (const [t] of items) t.dispose();
  });

  it('numbers: int32 when all are integers, float32 otherwise; strings stay an array; typed arrays stack', () => {
    const seen: unknown[] = [];
    for (const batch of new data.DataLoader([1, 2, 3, 4.5], { batchSize: 2 })) seen.push([batch.dtype, Array.from(batch.toArray())]);
    expect(seen).toEqual([['int32', [1, 2]], ['float32', [3, 4.5]]]);
    const words = Array.from(new data.DataLoader(['a', 'b', 'c'], { batchSize: 2 }));
    expect(words).toEqual([['a', 'b'], ['c']]);
    const rows = Array.from(new data.DataLoader([new Float32Array([1, 2]), new Float32Array([3, 4])], { batchSize: 2 }), (t) => [t.shape, t.dtype, Array.from(t.toArray())]);
    expect(rows).toEqual([[[2, 2], 'float32', [1, 2, 3, 4]]]);
    const ids = Array.from(new data.DataLoader([Int32Array.of(5), Int32Array.of(6)], { batchSize: 2 }), (t) => [t.shape, t.dtype]);
    expect(ids).toEqual([[[2, 1], 'int32']]);
  });

  it('plain objects: an object of collated fields, nested structures too', () => {
    const items = [0, 1, 2, 3].map((i) => ({ input: { ids: Int32Array.of(i, i + 1) }, target: i / 2, name: `s${i}`, pair: [i, tensor([i])] as [number, Tensor] }));
    const batches: unknown[] = [];
    for (const b of new data.DataLoader(items, { batchSize: 2 })) {
      batches.push([b.input.ids.tolist(), b.target.dtype, Array.from(b.target.toArray()), b.name, Array.from(b.pair[0].toArray()), b.pair[1].shape]);
    }
    expect(batches).toEqual([
      [[[0, 1], [1, 2]], 'float32', [0, 0.5], ['s0', 's1'], [0, 1], [2, 1]],
      [[[2, 3], [3, 4]], 'float32', [1, 1.5], ['s2', 's3'], [2, 3], [2, 1]],
    ]);
    for (const item of items) item.pair[1].dispose();
  });

  it('refuses items of different shapes (suggesting padSequence), structures or kinds it cannot stack', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([1, 2]);
    const live = memory().liveTensors;
    expect(() => Array.from(new data.DataLoader([a, b], { batchSize: 2 }))).toThrowError(ShapeError);
    expect(() => Array.from(new data.DataLoader([a, b], { batchSize: 2 }))).toThrowError(/item 1 is \[2\] float32, item 0 is \[3\] float32: .*nn.utils.rnn.padSequence/);
    expect(() => Array.from(new data.DataLoader([[a, 1], [a, 'x']], { batchSize: 2 }))).toThrowError(/item 1 at \[1\] is a string, item 0 at \[1\] is a number/);
    expect(() => Array.from(new data.DataLoader([{ p: 1 }, { q: 1 }], { batchSize: 2 }))).toThrowError(/item 1 has keys q, item 0 has p/);
    expect(() => Array.from(new data.DataLoader([[1, 2], [1]], { batchSize: 2 }))).toThrowError(/item 1 has 1 elements, item 0 has 2/);
    expect(() => Array.from(new data.DataLoader([true, false], { batchSize: 2 }))).toThrowError(/item 0 is a boolean; the default collate takes tensors, numbers/);
    expect(() => data.defaultCollate([])).toThrowError(/items must be a non-empty array, got an empty array/);
    expect(memory().liveTensors).toBe(live);
    a.dispose();
    b.dispose();
  });

  it('a collateFn gets the items of each batch; what it makes is freed with the batch, what existed before is not', () => {
    const closedOver = tensor([42]);
    const sizes: number[] = [];
    const seqs = [3, 1, 2, 2, 4].map((L, i) => tensor(Float32Array.from({ length: L }, (_, t) => 10 * i + t), [L, 1]));
    const labels = [0, 1, 0, 1, 1];
    const dataset = seqs.map((s, i) => [s, labels[i]] as [Tensor, number]);
    const loader = new data.DataLoader(dataset, {
      batchSize: 2,
      collateFn: (items) => {
        sizes.push(items.length);
        const temporary = tensor([0]).add(1); // made and not returned: freed with the batch's making
        temporary.add(1);
        return {
          x: nn.utils.rnn.padSequence(items.map(([s]) => s), { paddingValue: -1 }),
          lengths: nn.utils.rnn.sequenceLengths(items.map(([s]) => s)),
          y: tensor(Int32Array.from(items.map(([, label]) => label))),
          constant: closedOver,
        };
      },
    });
    const live = memory().liveTensors;
    const got: unknown[] = [];
    let previous: Tensor[] = [];
    for (const batch of loader) {
      expect(previous.every((t) => t.isDisposed)).toBe(true);
      expect(memory().liveTensors).toBe(live + 2);
      got.push([batch.x.tolist(), batch.lengths, Array.from(batch.y.toArray()), batch.constant === closedOver]);
      previous = [batch.x, batch.y];
    }
    expect(previous.every((t) => t.isDisposed)).toBe(true);
    expect(memory().liveTensors).toBe(live);
    expect(closedOver.isDisposed).toBe(false);
    expect(seqs.every((s) => !s.isDisposed)).toBe(true);
    expect(sizes).toEqual([2, 2, 1]);
    expect(got).toEqual([
      [[[[0], [10]], [[1], [-1]], [[2], [-1]]], [3, 1], [0, 1], true],
      [[[[20], [30]], [[21], [31]]], [2, 2], [0, 1], true],
      [[[[40]], [[41]], [[42]], [[43]]], [4], [1], true],
    ]);
    closedOver.dispose();
    for (const s of seqs) s.dispose();
  });
});

describe('DataLoader: each batch is freed when the loop moves on (a loop leaks nothing)', () => {
  /** A model, an optimizer and a loader over 12 rows of 3 features with 2 classes. */
  function setup(): { model: nn.Linear; opt: optim.SGD; loader: data.DataLoader<Tensor[]>; dispose: () => void } {
    manualSeed(0);
    const { x, y } = makeXY(12);
    const labels = tensor(Int32Array.from({ length: 12 }, (_, i) => (i < 6 ? 0 : 1)));
    const xs = x.div(100);
    x.dispose();
    y.dispose();
    const model = new nn.Linear(FEATURES, 2);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const loader = new data.DataLoader(new data.TensorDataset(xs, labels), { batchSize: 5, shuffle: true, generator: new Generator(9) });
    return { model, opt, loader, dispose: () => [xs, labels, model, opt].forEach((o) => o.dispose()) };
  }

  /** One training step on a batch, inside tidy; returns the loss. */
  function step(model: nn.Linear, opt: optim.SGD, bx: Tensor, by: Tensor): number {
    return tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(bx), by);
      loss.backward();
      opt.step();
      return loss.item();
    });
  }

  it('a full epoch with a training step in tidy: live tensors unchanged, and the loss goes down over epochs', () => {
    const { model, opt, loader, dispose } = setup();
    const epochLoss = (): number => {
      let total = 0;
      for (const [bx, by] of loader) total += step(model, opt, bx, by);
      return total;
    };
    const first = epochLoss(); // makes the gradients: they live with the parameters from here on
    const live = memory().liveTensors;
    let last = first;
    for (let e = 0; e < 20; e++) {
      last = epochLoss();
      expect(memory().liveTensors).toBe(live);
    }
    expect(last).toBeLessThan(first);
    dispose();
  });

  it('the batch lives through the loop body (tidy there does not free it) and is freed at the next batch', () => {
    const { model, opt, loader, dispose } = setup();
    for (const [bx, by] of loader) {
      step(model, opt, bx, by); // warm-up: makes the gradients
      break;
    }
    const live = memory().liveTensors;
    const batches: Tensor[][] = [];
    for (const batch of loader) {
      if (batches.length > 0) expect(batches[batches.length - 1].every((t) => t.isDisposed)).toBe(true);
      tidy(() => {
        batch[0].mul(2).sum();
      });
      expect(batch.every((t) => !t.isDisposed)).toBe(true);
      step(model, opt, batch[0], batch[1]);
      expect(memory().liveTensors).toBe(live + 2);
      batches.push(batch);
    }
    expect(batches.length).toBe(3);
    expect(batches.flat().every((t) => t.isDisposed)).toBe(true);
    expect(memory().liveTensors).toBe(live);
    dispose();
  });

  it('a break half-way, a throw in the body, a return from inside: the current batch is freed', () => {
    const { model, opt, loader, dispose } = setup();
    for (const [bx, by] of loader) step(model, opt, bx, by);
    const live = memory().liveTensors;
    let k = 0;
    for (const [bx, by] of loader) {
      step(model, opt, bx, by);
      if (++k === 2) break;
    }
    expect(memory().liveTensors).toBe(live);
    expect(() => {
      for (const [bx] of loader) {
        bx.mul(1).dispose();
        throw new Error('stop');
      }
    }).toThrowError('stop');
    expect(memory().liveTensors).toBe(live);
    const firstRow = (): number[] => {
      for (const [bx] of loader) return Array.from(bx.toArray()).slice(0, 3);
      return [];
    };
    expect(firstRow()).toHaveLength(3);
    expect(memory().liveTensors).toBe(live);
    dispose();
  });

  it('a tidy around the whole loop does not free a batch early, nor twice; keep() does not hold one (clone() does)', () => {
    const { loader, dispose } = setup();
    const live = memory().liveTensors;
    const cloned = tidy(() => {
      let copy: Tensor | null = null;
      for (const [bx] of loader) {
        const doubled = bx.mul(2);
        expect(bx.isDisposed).toBe(false);
        doubled.dispose();
        keep(bx); // changes nothing: the batch is the loader's
        if (copy === null) copy = keep(bx.clone());
      }
      return copy;
    });
    expect(memory().liveTensors).toBe(live + 1);
    expect(cloned!.shape).toEqual([5, 3]);
    cloned!.dispose();
    expect(memory().liveTensors).toBe(live);
    dispose();
  });

  it('a batch tensor disposed by the user is skipped; the iterator driven by hand frees on next() and return()', () => {
    const { loader, dispose } = setup();
    const live = memory().liveTensors;
    for (const [bx] of loader) bx.dispose();
    expect(memory().liveTensors).toBe(live);
    const iter = loader[Symbol.iterator]();
    const first = iter.next().value as Tensor[];
    expect(memory().liveTensors).toBe(live + 2);
    const second = iter.next().value as Tensor[];
    expect([first.every((t) => t.isDisposed), second.some((t) => t.isDisposed)]).toEqual([true, false]);
    expect(iter.return!().done).toBe(true);
    expect(second.every((t) => t.isDisposed)).toBe(true);
    expect(iter.next().done).toBe(true);
    expect(memory().liveTensors).toBe(live);
    dispose();
  });

  it('a collate that throws part-way leaves nothing behind', () => {
    const live = memory().liveTensors;
    const loader = new data.DataLoader([1, 2, 3], {
      batchSize: 2,
      collateFn: (items) => {
        const t = tensor(items);
        if (items.length < 2) throw new Error('short batch');
        return t;
      },
    });
    const seen: number[][] = [];
    expect(() => {
      for (const t of loader) seen.push(Array.from(t.toArray()));
    }).toThrowError('short batch');
    expect(seen).toEqual([[1, 2]]);
    expect(memory().liveTensors).toBe(live);
  });
});

describe('randomSplit', () => {
  it('counts: subsets of those sizes, disjoint, covering the dataset, cut from the generator\'s permutation', () => {
    const items = Array.from({ length: N }, (_, i) => `item${i}`);
    const [train, valid] = data.randomSplit(items, [7, 3], new Generator(11));
    expect([train.length, valid.length]).toEqual([7, 3]);
    const order = expectedPermutation(N, new Generator(11));
    expect([train.indices, valid.indices]).toEqual([order.slice(0, 7), order.slice(7)]);
    expect([...train.indices, ...valid.indices].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(train.get(0)).toBe(`item${order[0]}`);
    expect(valid.get(-1)).toBe(`item${order[9]}`);
    expect(() => valid.get(3)).toThrowError(IndexError);
    expect(() => valid.get(3)).toThrowError(/Subset.get: index=3 is out of range for 3 items/);
  });

  it('fractions: floor(n * f) each, the remainder one each from the first (PyTorch\'s rule)', () => {
    const items = Array.from({ length: N }, (_, i) => i);
    const sizes = (lengths: number[]): number[] => data.randomSplit(items, lengths, new Generator(1)).map((s) => s.length);
    expect(sizes([0.25, 0.25, 0.25, 0.25])).toEqual([3, 3, 2, 2]);
    expect(sizes([0.8, 0.2])).toEqual([8, 2]);
    expect(sizes([0.1, 0.2, 0.7])).toEqual([1, 2, 7]);
    expect(sizes([0.05, 0.95])).toEqual([1, 9]);
    expect(sizes([1, 0])).toEqual([10, 0]);
    const parts = data.randomSplit(items, [0.3, 0.3, 0.4], new Generator(2));
    expect(parts.flatMap((p) => Array.from({ length: p.length }, (_, i) => p.get(i))).sort((a, b) => a - b)).toEqual(items);
    manualSeed(4);
    expect(data.randomSplit(items, [5, 5])[0].indices).toEqual(expectedPermutation(N, new Generator(4)).slice(0, 5));
  });

  it('a DataLoader over a Subset of a TensorDataset gives its rows (the fast path through the subset)', () => {
    const { x, y } = makeXY();
    const [part] = data.randomSplit(new data.TensorDataset(x, y), [4, 6], new Generator(8));
    const labels = epochLabels(new data.DataLoader(part, { batchSize: 3 }));
    expect(labels).toEqual(chunks([...part.indices], 3));
    for (const [bx, by] of new data.DataLoader(part, { batchSize: 4 })) expect(Array.from(bx.toArray())).toEqual(rowsOf(Array.from(by.toArray())));
    x.dispose();
    y.dispose();
  });

  it('refuses sums that do not fit, negatives, non-integer counts, an empty list, a bad generator', () => {
    const items = Array.from({ length: N }, (_, i) => i);
    expect(() => data.randomSplit(items, [5, 4])).toThrowError(ValueError);
    expect(() => data.randomSplit(items, [5, 4])).toThrowError(/the lengths sum to 9, expected 10 \(the dataset's length\), or fractions that sum to 1/);
    expect(() => data.randomSplit(items, [0.5, 0.4])).toThrowError(/lengths\[0\] = 0.5 is not an integer; give item counts that sum to 10/);
    expect(() => data.randomSplit(items, [12, -2])).toThrowError(/lengths\[1\] must be a number >= 0, got -2/);
    expect(() => data.randomSplit(items, [1.5, -0.5])).toThrowError(/lengths\[1\] must be a number >= 0/);
    expect(() => data.randomSplit(items, [NaN, 10])).toThrowError(/lengths\[0\] must be a number >= 0, got NaN/);
    expect(() => data.randomSplit(items, [])).toThrowError(/lengths must be a non-empty array/);
    expect(() => data.randomSplit(items, [5, 5], 42 as never)).toThrowError(/randomSplit: generator must be a Generator/);
    expect(() => data.randomSplit({} as never, [1])).toThrowError(/randomSplit: dataset must be an array or a Dataset/);
    expect(() => new data.Subset(items, [0, 10])).toThrowError(/Subset: indices\[1\]=10 is out of range for 10 items/);
  });
});

describe('DataLoader: options and arguments', () => {
  const items = [1, 2, 3];

  it('refuses snake_case with the camelCase spelling, unknown options, bad values', () => {
    for (const [key, camel] of [['batch_size', 'batchSize'], ['drop_last', 'dropLast'], ['collate_fn', 'collateFn']]) {
      expect(() => new data.DataLoader(items, { [key]: 2 } as never)).toThrowError(ValueError);
      expect(() => new data.DataLoader(items, { [key]: 2 } as never)).toThrowError(`DataLoader: unknown option '${key}' (did you mean ${camel}? options are camelCase: ${key} -> ${camel})`);
    }
    expect(() => new data.DataLoader(items, { num_workers: 2 } as never)).toThrowError(/DataLoader: unknown option 'num_workers' \(known options: batchSize, shuffle, generator, dropLast, collateFn\)/);
    for (const bad of [0, 1.5, -2, NaN]) {
      expect(() => new data.DataLoader(items, { batchSize: bad })).toThrowError(ValueError);
      expect(() => new data.DataLoader(items, { batchSize: bad })).toThrowError(`DataLoader: batchSize must be a positive integer, got ${bad}`);
    }
    expect(() => new data.DataLoader(items, { batchSize: '4' as never })).toThrowError(/batchSize must be a positive integer, got the string '4'/);
    expect(() => new data.DataLoader(items, { shuffle: 'yes' as never })).toThrowError(/DataLoader: shuffle must be a boolean, got the string 'yes'/);
    expect(() => new data.DataLoader(items, { dropLast: 1 as never })).toThrowError(/DataLoader: dropLast must be a boolean, got 1/);
    expect(() => new data.DataLoader(items, { shuffle: true, generator: 42 as never })).toThrowError(/DataLoader: generator must be a Generator \(new Generator\(seed\)\), got number 42/);
    expect(() => new data.DataLoader(items, { collateFn: 'stack' as never })).toThrowError(/DataLoader: collateFn must be a function, got string/);
    expect(() => new data.DataLoader(items, 4 as never)).toThrowError(/DataLoader: options must be an object/);
  });

  it('refuses what is not a dataset', () => {
    expect(() => new data.DataLoader(null as never)).toThrowError(/DataLoader: dataset must be an array or a Dataset \(an object with length and get\(index\)\), got null/);
    expect(() => new data.DataLoader(tensor([1, 2]) as never)).toThrowError(/dataset must be an array or a Dataset .*got a Tensor \(make it a dataset of its rows: new TensorDataset\(t\)\)/);
    expect(() => new data.DataLoader({ length: -1, get: () => 0 })).toThrowError(/dataset.length must be an integer >= 0, got -1/);
  });

  it('takes any Dataset (length and get); an empty one has no batches', () => {
    const squares: data.Dataset<number> = { length: 5, get: (i) => i * i };
    expect(Array.from(new data.DataLoader(squares, { batchSize: 2 }), (t) => Array.from(t.toArray()))).toEqual([[0, 1], [4, 9], [16]]);
    const empty = new data.DataLoader([] as number[], { batchSize: 2 });
    expect([empty.length, Array.from(empty)]).toEqual([0, []]);
  });
});
