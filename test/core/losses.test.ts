// Losses against PyTorch 1.13 (test/fixtures/losses.json, made by
// scripts/fixtures/make_loss_fixtures.py): F.crossEntropy, F.nllLoss and
// F.binaryCrossEntropyWithLogits, every shape, reduction and option the fixture covers. For each
// entry the output is compared, then the gradient of sum(output * lossWeights) for the input (and
// the target, for BCE). Tolerance: |got - want| <= 2e-5 * max(1, |want|) forward, 1e-4 gradients
// (float32 against float32, different summation orders). Also: typed errors that leak nothing,
// and the live-tensor count after repeated training-like steps.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DTypeError, F, IndexError, ShapeError, Tensor, ValueError, init, memory, tensor, tidy, zeros,
} from 'lstm-wasm';
import { type FixtureTensor, assertClose, expectFailure, fixtureF32, fixtureI32, readFixture } from './helpers';

const FORWARD_TOL = { atol: 2e-5, rtol: 2e-5 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };

interface Entry {
  name: string;
  snippet: string;
  input: FixtureTensor;
  target: FixtureTensor;
  weight?: FixtureTensor;
  posWeight?: FixtureTensor;
  options: { reduction: 'mean' | 'sum' | 'none'; ignoreIndex?: number; labelSmoothing?: number; weight?: boolean; posWeight?: boolean };
  output: FixtureTensor;
  lossWeights: FixtureTensor | null;
  gradInput: FixtureTensor;
  gradTarget?: FixtureTensor;
}

const fx = readFixture<{ torch_version: string; cross_entropy: Entry[]; nll_loss: Entry[]; bce_logits: Entry[] }>('losses.json');

beforeAll(async () => {
  await init();
});

const f32 = (t: FixtureTensor, requiresGrad = false): Tensor => tensor(fixtureF32(t), t.shape, { requiresGrad });
const i32 = (t: FixtureTensor): Tensor => tensor(fixtureI32(t), t.shape);

/** Compares output and gradients; `run` builds the loss from the fixture's tensors. */
function checkEntry(e: Entry, run: (input: Tensor, target: Tensor) => Tensor, targetIsFloat: boolean): void {
  const before = memory().liveTensors;
  tidy(() => {
    const input = f32(e.input, true);
    const target = targetIsFloat ? f32(e.target, true) : i32(e.target);
    const y = run(input, target);
    expect(y.shape, `${e.name}: output shape`).toEqual(e.output.shape);
    assertClose(y.toArray(), fixtureF32(e.output), FORWARD_TOL, `${e.name}: output`);
    if (e.lossWeights === null) y.backward();
    else y.backward(f32(e.lossWeights));
    assertClose(input.grad!.toArray(), fixtureF32(e.gradInput), GRAD_TOL, `${e.name}: gradInput`);
    if (e.gradTarget) assertClose(target.grad!.toArray(), fixtureF32(e.gradTarget), GRAD_TOL, `${e.name}: gradTarget`);
  });
  expect(memory().liveTensors, `${e.name}: nothing outlives tidy`).toBe(before);
}

it('losses.json comes from PyTorch 1.13 and covers the shapes and options', () => {
  expect(fx.torch_version).toMatch(/^1\.13/);
  const names = fx.cross_entropy.map((e) => e.name);
  for (const part of ['nc', 'unbatched', 'ncd', 'mean', 'sum', 'none', 'ignore_class', 'weight_smooth']) {
    expect(names.some((n) => n.includes(`_${part}`)), part).toBe(true);
  }
  expect(fx.nll_loss.length).toBeGreaterThan(10);
  expect(fx.bce_logits.some((e) => e.name.endsWith('_large'))).toBe(true);
});

describe('crossEntropy vs PyTorch', () => {
  it.each(fx.cross_entropy.map((e) => [e.name, e] as const))('%s', (_, e) => {
    checkEntry(e, (x, t) => F.crossEntropy(x, t, {
      reduction: e.options.reduction,
      ignoreIndex: e.options.ignoreIndex,
      labelSmoothing: e.options.labelSmoothing,
      weight: e.weight ? f32(e.weight) : null,
    }), false);
  });
});

describe('nllLoss vs PyTorch', () => {
  it.each(fx.nll_loss.map((e) => [e.name, e] as const))('%s', (_, e) => {
    checkEntry(e, (x, t) => F.nllLoss(x, t, {
      reduction: e.options.reduction,
      ignoreIndex: e.options.ignoreIndex,
      weight: e.weight ? f32(e.weight) : null,
    }), false);
  });
});

describe('binaryCrossEntropyWithLogits vs PyTorch', () => {
  it.each(fx.bce_logits.map((e) => [e.name, e] as const))('%s', (_, e) => {
    checkEntry(e, (x, t) => F.binaryCrossEntropyWithLogits(x, t, {
      reduction: e.options.reduction,
      weight: e.weight ? f32(e.weight) : null,
      posWeight: e.posWeight ? f32(e.posWeight) : null,
    }), true);
  });
});

const ints = (values: number[], shape = [values.length]): Tensor => tensor(Int32Array.from(values), shape);

describe('typed errors name the op, the argument and both values, and leak nothing', () => {
  it('shape mismatches', () => {
    expectFailure(ShapeError, ['crossEntropy', 'targets has shape [2, 3]', 'expected [2, 4]', 'without its class dim'], () =>
      F.crossEntropy(zeros([2, 5, 4]), ints([0, 1, 2, 3, 4, 0], [2, 3])));
    expectFailure(ShapeError, ['crossEntropy', 'targets has shape [1]', 'expected []'], () => F.crossEntropy(zeros([5]), ints([0])));
    expectFailure(ShapeError, ['crossEntropy', '0-d'], () => F.crossEntropy(zeros([]), ints([0])));
    expectFailure(ShapeError, ['nllLoss', 'targets has shape [3]', 'expected [2]'], () => F.nllLoss(zeros([2, 5]), ints([0, 1, 2])));
    expectFailure(ShapeError, ['crossEntropy', 'weight has shape [4]', 'expected [5]'], () =>
      F.crossEntropy(zeros([2, 5]), ints([0, 1]), { weight: zeros([4]) }));
    expectFailure(ShapeError, ['nllLoss', 'weight has shape [1, 5]', 'expected [5]'], () =>
      F.nllLoss(zeros([2, 5]), ints([0, 1]), { weight: zeros([1, 5]) }));
    expectFailure(ShapeError, ['binaryCrossEntropyWithLogits', 'target has shape [3, 2]', 'expected [2, 3]'], () =>
      F.binaryCrossEntropyWithLogits(zeros([2, 3]), zeros([3, 2])));
    expectFailure(ShapeError, ['binaryCrossEntropyWithLogits', 'posWeight has shape [2, 2, 3]', 'broadcasts to input [2, 3]'], () =>
      F.binaryCrossEntropyWithLogits(zeros([2, 3]), zeros([2, 3]), { posWeight: zeros([2, 2, 3]) }));
    expectFailure(ShapeError, ['binaryCrossEntropyWithLogits', 'weight', '[4]'], () =>
      F.binaryCrossEntropyWithLogits(zeros([2, 3]), zeros([2, 3]), { weight: zeros([4]) }));
  });

  it('targets out of range name their position and the class count', () => {
    expectFailure(IndexError, ['crossEntropy', 'targets[1, 2, 0] = 7', '5 classes'], () =>
      F.crossEntropy(zeros([2, 5, 3, 2], { requiresGrad: true }), ints([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 7, 0], [2, 3, 2])));
    expectFailure(IndexError, ['crossEntropy', 'targets = 5', '5 classes'], () => F.crossEntropy(zeros([5]), ints([5], [])));
    expectFailure(IndexError, ['crossEntropy', 'targets[0] = -1'], () =>
      F.crossEntropy(zeros([2, 5]), ints([-1, 0]), { reduction: 'none' }));
    expectFailure(IndexError, ['nllLoss', 'targets[2] = -3', '4 classes'], () => F.nllLoss(zeros([3, 4]), ints([0, 1, -3])));
    // -100 is only skipped while it is the ignoreIndex.
    expectFailure(IndexError, ['nllLoss', 'targets[0] = -100'], () => F.nllLoss(zeros([3, 4]), ints([-100, 1, 2]), { ignoreIndex: 1 }));
  });

  it('dtypes', () => {
    expectFailure(DTypeError, ['crossEntropy', 'targets', 'int32'], () => F.crossEntropy(zeros([2, 3]), zeros([2]), { reduction: 'none' }));
    expectFailure(DTypeError, ['crossEntropy', 'logits', 'float32'], () => F.crossEntropy(ints([0, 1, 2], [1, 3]), ints([0])));
    expectFailure(DTypeError, ['crossEntropy', 'weight', 'float32'], () => F.crossEntropy(zeros([2, 3]), ints([0, 1]), { weight: ints([1, 1, 1]) }));
    expectFailure(DTypeError, ['nllLoss', 'logProbs', 'float32'], () => F.nllLoss(ints([0, 1, 2], [1, 3]), ints([0])));
    expectFailure(DTypeError, ['binaryCrossEntropyWithLogits', 'target', 'float32'], () => F.binaryCrossEntropyWithLogits(zeros([2]), ints([0, 1])));
    expectFailure(DTypeError, ['binaryCrossEntropyWithLogits', 'posWeight', 'float32'], () =>
      F.binaryCrossEntropyWithLogits(zeros([2]), zeros([2]), { posWeight: ints([1]) }));
  });

  it('options', () => {
    expectFailure(ValueError, ['crossEntropy', 'labelSmoothing', '1.5'], () => F.crossEntropy(zeros([2, 3]), ints([0, 1]), { labelSmoothing: 1.5 }));
    expectFailure(ValueError, ['crossEntropy', 'label_smoothing -> labelSmoothing'], () =>
      F.crossEntropy(zeros([2, 3]), ints([0, 1]), { label_smoothing: 0.1 } as never));
    expectFailure(ValueError, ['nllLoss', 'unknown option', 'labelSmoothing'], () => F.nllLoss(zeros([2, 3]), ints([0, 1]), { labelSmoothing: 0.1 } as never));
    expectFailure(ValueError, ['nllLoss', "'mean', 'sum' or 'none'", 'avg'], () => F.nllLoss(zeros([2, 3]), ints([0, 1]), { reduction: 'avg' as 'sum' }));
    expectFailure(ValueError, ['binaryCrossEntropyWithLogits', 'pos_weight -> posWeight'], () =>
      F.binaryCrossEntropyWithLogits(zeros([2]), zeros([2]), { pos_weight: zeros([2]) } as never));
    expectFailure(ValueError, ['nllLoss', 'ignoreIndex', '1.5'], () => F.nllLoss(zeros([2, 3]), ints([0, 1]), { ignoreIndex: 1.5 }));
  });
});

describe('semantics beyond the fixtures', () => {
  it("'mean' over only ignored targets is 0 with a zero gradient (PyTorch: NaN), on every path", () => {
    tidy(() => {
      const x = zeros([2, 3, 2], { requiresGrad: true });
      const fast = zeros([2, 3], { requiresGrad: true });
      for (const [l, input] of [
        [F.crossEntropy(x, ints([-100, -100, -100, -100], [2, 2])), x],
        [F.crossEntropy(fast, ints([-100, -100])), fast],
        [F.crossEntropy(fast, ints([-100, -100]), { labelSmoothing: 0.1 }), fast],
        [F.nllLoss(fast, ints([-100, -100]), { weight: tensor([1, 2, 3]) }), fast],
      ] as const) {
        expect(l.item()).toBe(0);
        l.backward();
        expect(Array.from(input.grad!.toArray()).every((g) => g === 0)).toBe(true);
        input.grad?.dispose();
        input.grad = null;
      }
    });
  });

  it('BCE with logits stays finite and exact-ish at |x| = 100 (no overflow in exp)', () => {
    tidy(() => {
      const x = tensor([100, -100, 100, -100], [4], { requiresGrad: true });
      const t = tensor([1, 0, 0, 1]);
      const l = F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' });
      assertClose(l.toArray(), [0, 0, 100, 100], { atol: 1e-6, rtol: 1e-6 }, 'losses');
      l.sum().backward();
      assertClose(x.grad!.toArray(), [0, 0, 1, -1], { atol: 1e-6, rtol: 1e-6 }, 'gradient');
    });
  });
});

describe('memory', () => {
  it('no tensor outlives 50 steps of each loss outside tidy once the losses are disposed', () => {
    const x = tensor(new Float32Array(2 * 4 * 3).map((_, i) => Math.sin(i)), [2, 4, 3], { requiresGrad: true });
    const t = ints([0, 3, -100, 1, 2, 2], [2, 3]);
    const w = tensor([0.5, 1, 2, 1.5]);
    const y = tensor(new Float32Array(24).map((_, i) => (i % 3) / 2), [2, 4, 3]);
    const pw = tensor([1, 2, 3]);
    const before = memory().liveTensors;
    for (let i = 0; i < 50; i++) {
      const losses = [
        F.crossEntropy(x, t, { labelSmoothing: 0.1, weight: w }),
        F.crossEntropy(x, t, { reduction: 'none' }),
        F.nllLoss(x, t, { reduction: 'sum' }),
        F.binaryCrossEntropyWithLogits(x, y, { posWeight: pw, weight: pw }),
      ];
      for (const l of losses) {
        const s = l.sum();
        s.backward();
        s.dispose();
        l.dispose();
      }
    }
    // Only x's gradient is new.
    expect(memory().liveTensors).toBe(before + 1);
  });

  it('without a gradient no intermediate survives: one live tensor per loss', () => {
    const x = tensor(new Float32Array(12).map((_, i) => Math.cos(i)), [2, 3, 2]);
    const t = ints([0, 2, -100, 1], [2, 2]);
    const y = tensor(new Float32Array(12).fill(0.25), [2, 3, 2]);
    const before = memory().liveTensors;
    const made = [
      F.crossEntropy(x, t, { labelSmoothing: 0.2, weight: tensor([1, 2, 3]) }),
      F.nllLoss(x, t, { reduction: 'none' }),
      F.binaryCrossEntropyWithLogits(x, y, { posWeight: tensor([2, 3]) }),
    ];
    // Each line above also made its weight/posWeight tensor (2) besides the 3 losses.
    expect(memory().liveTensors).toBe(before + 3 + 2);
    for (const l of made) l.dispose();
  });
});
