// Golden tests against PyTorch 1.13 numbers in test/fixtures/ops.json, written by
// scripts/fixtures/make_fixtures.py (each entry carries the PyTorch snippet that produced it).
// Tolerances are relative to max(1, |reference|): 2e-5 for forward values and optimizer
// trajectories, 1e-4 for gradients.
//
// Not covered here: cross_entropy with reduction 'none' (the API has only 'mean' and 'sum').
import { beforeAll, describe, expect, it } from 'vitest';
import { F, Tensor, init, nn, optim, tensor, tidy } from 'lstm-wasm';
import { type FixtureTensor, fixtureF32, fixtureI32, readFixture } from './helpers';

interface SoftmaxFixture {
  snippet: string;
  input: FixtureTensor;
  output: FixtureTensor;
  lossWeights: FixtureTensor;
  gradInput: FixtureTensor;
}

interface CrossEntropyFixture {
  reduction: 'mean' | 'sum' | 'none';
  ignoreIndex: number;
  snippet: string;
  logits: FixtureTensor;
  targets: FixtureTensor;
  loss: number | FixtureTensor;
  lossWeights: FixtureTensor | null;
  gradLogits: FixtureTensor;
}

interface EmbeddingFixture {
  snippet: string;
  numEmbeddings: number;
  embeddingDim: number;
  paddingIdx: number | null;
  weight: FixtureTensor;
  ids: FixtureTensor;
  output: FixtureTensor;
  lossWeights: FixtureTensor;
  gradWeight: FixtureTensor;
}

interface OptimizerFixture {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  hyper: {
    lr: number;
    momentum?: number;
    dampening?: number;
    weightDecay: number;
    nesterov?: boolean;
    betas?: [number, number];
    eps?: number;
    amsgrad?: boolean;
  };
  snippet: string;
  initial: FixtureTensor;
  grads: FixtureTensor[];
  paramsAfterStep: FixtureTensor[];
}

interface MseFixture {
  reduction: 'mean' | 'sum';
  snippet: string;
  input: FixtureTensor;
  target: FixtureTensor;
  loss: number;
  gradInput: FixtureTensor;
}

interface ClipFixture {
  snippet: string;
  maxNorm: number;
  normType: number;
  grads: FixtureTensor[];
  totalNorm: number;
  clippedGrads: FixtureTensor[];
}

interface OpsFixtures {
  torch_version: string;
  softmax: SoftmaxFixture;
  log_softmax: SoftmaxFixture;
  cross_entropy: CrossEntropyFixture[];
  embedding: EmbeddingFixture;
  embedding_nopad: EmbeddingFixture;
  optimizers: OptimizerFixture[];
  mse_loss: MseFixture[];
  clip_grad_norm: ClipFixture[];
}

const ops = readFixture<OpsFixtures>('ops.json');

const FORWARD_TOL = 2e-5;
const GRAD_TOL = 1e-4;

beforeAll(async () => {
  await init();
});

/** |got - want| <= tol * max(1, |want|) elementwise, with the worst element in the message. */
function expectMatches(got: ArrayLike<number>, want: FixtureTensor | number, tol: number, label: string): void {
  const ref = typeof want === 'number' ? [Math.fround(want)] : fixtureF32(want);
  expect(got.length, `${label}: length`).toBe(ref.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < ref.length; i++) {
    const excess = Math.abs(got[i] - ref[i]) / (tol * Math.max(1, Math.abs(ref[i])));
    if (!(excess <= worst)) [worst, at] = [Number.isNaN(excess) ? Infinity : excess, i];
  }
  expect(worst, `${label}: element ${at} is ${got[at]}, PyTorch ${ref[at]}`).toBeLessThanOrEqual(1);
}

function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(fixtureF32(t), t.shape, { requiresGrad });
}

it('ops.json comes from PyTorch 1.13', () => {
  expect(ops.torch_version).toMatch(/^1\.13/);
});

describe.each([
  ['softmax', ops.softmax, (x: Tensor) => x.softmax(-1)],
  ['log_softmax', ops.log_softmax, (x: Tensor) => F.logSoftmax(x)],
] as const)('%s', (name, fx, op) => {
  it(`forward and gradient of sum(out * lossWeights) (${fx.snippet})`, () => {
    tidy(() => {
      const x = fromFixture(fx.input, true);
      const y = op(x);
      expect(y.shape).toEqual(fx.output.shape);
      expectMatches(y.toArray(), fx.output, FORWARD_TOL, `${name} output`);
      y.mul(fromFixture(fx.lossWeights)).sum().backward();
      expectMatches(x.grad!.toArray(), fx.gradInput, GRAD_TOL, `${name} gradInput`);
    });
  });
});

describe('cross_entropy', () => {
  const cases = ops.cross_entropy.filter((c) => c.reduction !== 'none');

  it('has the mean and sum cases, with ignored targets', () => {
    expect(cases.map((c) => c.reduction).sort()).toEqual(['mean', 'sum']);
    for (const c of cases) expect(c.targets.data).toContain(c.ignoreIndex);
  });

  it.each(cases.map((c) => [c.reduction, c] as const))('reduction %s: loss and gradLogits', (reduction, c) => {
    tidy(() => {
      const logits = fromFixture(c.logits, true);
      const loss = F.crossEntropy(logits, tensor(fixtureI32(c.targets)), {
        ignoreIndex: c.ignoreIndex,
        reduction: reduction as 'mean' | 'sum',
      });
      expect(loss.shape).toEqual([]);
      expectMatches([loss.item()], c.loss as number, FORWARD_TOL, `cross_entropy ${reduction} loss`);
      loss.backward();
      const grad = logits.grad!.toArray();
      expectMatches(grad, c.gradLogits, GRAD_TOL, `cross_entropy ${reduction} gradLogits`);
      // Ignored rows get exactly zero gradient.
      const classes = c.logits.shape[1];
      c.targets.data.forEach((t, r) => {
        if (t === c.ignoreIndex) expect(Array.from(grad.subarray(r * classes, (r + 1) * classes))).toEqual(new Array(classes).fill(0));
      });
    });
  });
});

describe.each([
  ['embedding (padding_idx 0)', ops.embedding],
  ['embedding (no padding)', ops.embedding_nopad],
] as const)('%s', (name, fx) => {
  it(`forward and gradWeight (${fx.snippet})`, () => {
    tidy(() => {
      const weight = fromFixture(fx.weight, true);
      const ids = tensor(fixtureI32(fx.ids), fx.ids.shape);
      const y = F.embedding(ids, weight, fx.paddingIdx ?? undefined);
      expect(y.shape).toEqual(fx.output.shape);
      expectMatches(y.toArray(), fx.output, FORWARD_TOL, `${name} output`);
      y.mul(fromFixture(fx.lossWeights)).sum().backward();
      expectMatches(weight.grad!.toArray(), fx.gradWeight, GRAD_TOL, `${name} gradWeight`);
      if (fx.paddingIdx !== null) {
        const d = fx.embeddingDim;
        const row = weight.grad!.toArray().subarray(fx.paddingIdx * d, (fx.paddingIdx + 1) * d);
        expect(Array.from(row)).toEqual(new Array(d).fill(0));
      }
    });
  });
});

describe('optimizers: 3-step trajectories', () => {
  function makeOptimizer(fx: OptimizerFixture, p: Tensor): optim.Optimizer {
    const h = fx.hyper;
    if (fx.optimizer === 'SGD') {
      return new optim.SGD([p], {
        lr: h.lr, momentum: h.momentum, dampening: h.dampening, weightDecay: h.weightDecay, nesterov: h.nesterov,
      });
    }
    expect(h.amsgrad ?? false, 'amsgrad is not implemented').toBe(false);
    const options = { lr: h.lr, betas: h.betas, eps: h.eps, weightDecay: h.weightDecay };
    return fx.optimizer === 'Adam' ? new optim.Adam([p], options) : new optim.AdamW([p], options);
  }

  it('has every optimizer variant the generator writes', () => {
    expect(ops.optimizers.map((o) => o.name)).toEqual([
      'sgd_plain', 'sgd_momentum', 'sgd_nesterov', 'sgd_momentum_wd_dampening', 'adam', 'adam_wd', 'adamw',
    ]);
  });

  it.each(ops.optimizers.map((o) => [o.name, o] as const))('%s', (name, fx) => {
    const p = fromFixture(fx.initial, true);
    const opt = makeOptimizer(fx, p);
    try {
      fx.grads.forEach((g, step) => {
        tidy(() => {
          opt.zeroGrad();
          // d/dp sum(p * g) = g exactly.
          p.mul(fromFixture(g)).sum().backward();
          expect(p.grad!.toArray()).toEqual(fixtureF32(g));
          opt.step();
        });
        expectMatches(p.toArray(), fx.paramsAfterStep[step], FORWARD_TOL, `${name} params after step ${step + 1}`);
      });
    } finally {
      opt.dispose();
      p.dispose();
    }
  });
});

describe('mse_loss', () => {
  it.each(ops.mse_loss.map((c) => [c.reduction, c] as const))('reduction %s: loss and gradInput', (reduction, c) => {
    tidy(() => {
      const input = fromFixture(c.input, true);
      const loss = F.mseLoss(input, fromFixture(c.target), { reduction });
      expectMatches([loss.item()], c.loss, FORWARD_TOL, `mse_loss ${reduction} loss`);
      loss.backward();
      expectMatches(input.grad!.toArray(), c.gradInput, GRAD_TOL, `mse_loss ${reduction} gradInput`);
    });
  });
});

describe('clip_grad_norm', () => {
  it('has one case that clips and one that does not', () => {
    expect(ops.clip_grad_norm.map((c) => c.totalNorm > c.maxNorm)).toEqual([true, false]);
  });

  it.each(ops.clip_grad_norm.map((c) => [c.maxNorm, c] as const))('maxNorm %d: total norm and clipped grads', (_, c) => {
    expect(c.normType).toBe(2);
    const params = c.grads.map((g) => tensor(new Float32Array(g.data.length), g.shape, { requiresGrad: true }));
    try {
      tidy(() => {
        params.forEach((p, i) => p.mul(fromFixture(c.grads[i])).sum().backward());
      });
      const total = nn.utils.clipGradNorm(params, c.maxNorm);
      expectMatches([total], c.totalNorm, FORWARD_TOL, 'total norm (before clipping)');
      params.forEach((p, i) => expectMatches(p.grad!.toArray(), c.clippedGrads[i], GRAD_TOL, `clipped grad ${i}`));
    } finally {
      for (const p of params) p.dispose();
    }
  });
});
