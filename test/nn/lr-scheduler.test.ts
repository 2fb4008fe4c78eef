// Learning-rate schedulers against PyTorch 1.13 (fixtures by scripts/fixtures/make_scheduler_fixtures.py):
// an SGD optimizer at lr 0.1, the rate after construction and after each of 30 steps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValueError, init, optim, tensor, type Tensor } from 'lstm-wasm';
import { fixturesDir } from './fixture-helpers';

const { StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ReduceLROnPlateau } = optim.lrScheduler;

interface Fixture {
  steps: number;
  metrics: number[];
  cases: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(join(fixturesDir, 'lr_schedulers.json'), 'utf8')) as Fixture;

let param: Tensor;
beforeAll(async () => {
  await init();
  param = tensor([0], undefined, { requiresGrad: true });
});

function sgd(): optim.SGD {
  return new optim.SGD([param], { lr: 0.1 });
}

type Stepper = { step(metric?: number): void };

function schedule(make: (o: optim.SGD) => Stepper | Stepper[], metrics = false): number[] {
  const o = sgd();
  const made = make(o);
  const all = Array.isArray(made) ? made : [made];
  const lrs = [o.lr];
  for (let i = 0; i < fixture.steps; i++) {
    for (const s of all) s.step(metrics ? fixture.metrics[i] : undefined);
    lrs.push(o.lr);
  }
  o.dispose();
  return lrs;
}

const cases: [string, (o: optim.SGD) => Stepper | Stepper[], boolean?][] = [
  ['StepLR(stepSize 7, gamma 0.5)', (o) => new StepLR(o, { stepSize: 7, gamma: 0.5 })],
  ['StepLR(stepSize 3)', (o) => new StepLR(o, 3)],
  ['ExponentialLR(gamma 0.9)', (o) => new ExponentialLR(o, { gamma: 0.9 })],
  ['CosineAnnealingLR(tMax 10, etaMin 0.001)', (o) => new CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 })],
  ['CosineAnnealingLR(tMax 7)', (o) => new CosineAnnealingLR(o, 7)],
  ['LinearLR(startFactor 0.25, totalIters 8)', (o) => new LinearLR(o, { startFactor: 0.25, totalIters: 8 })],
  ['LinearLR()', (o) => new LinearLR(o)],
  ['LinearLR(startFactor 1, endFactor 0.1, totalIters 20)', (o) => new LinearLR(o, { startFactor: 1, endFactor: 0.1, totalIters: 20 })],
  ['LinearLR warm-up then CosineAnnealingLR(tMax 30)', (o) => [new LinearLR(o, { startFactor: 0.1, totalIters: 5 }), new CosineAnnealingLR(o, 30)]],
  ['ReduceLROnPlateau(patience 2, factor 0.5)', (o) => new ReduceLROnPlateau(o, { patience: 2, factor: 0.5 }), true],
  ['ReduceLROnPlateau(max, patience 1, cooldown 2, thresholdMode abs, threshold 0.01, minLr 0.02)',
    (o) => new ReduceLROnPlateau(o, { mode: 'max', patience: 1, cooldown: 2, thresholdMode: 'abs', threshold: 0.01, minLr: 0.02 }), true],
];

describe('lr schedulers match PyTorch 1.13', () => {
  it('covers every fixture case', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(fixture.cases).sort());
  });
  for (const [name, make, metrics] of cases) {
    it(name, () => {
      const got = schedule(make, metrics);
      const want = fixture.cases[name];
      expect(got.length).toBe(want.length);
      // Same formulas in the same order; Math.cos may differ from C's cos in the last bit.
      got.forEach((v, i) => expect(Math.abs(v - want[i]), `step ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-15 + 1e-12 * Math.abs(want[i])));
    });
  }
});

describe('scheduler state and options', () => {
  it('stateDict / loadStateDict resume a schedule exactly', () => {
    const full = schedule((o) => new CosineAnnealingLR(o, { tMax: 10 }));
    const o1 = sgd();
    const s1 = new CosineAnnealingLR(o1, { tMax: 10 });
    for (let i = 0; i < 12; i++) s1.step();
    const saved = s1.stateDict();
    const lrAt12 = o1.lr;
    o1.dispose();
    const o2 = sgd();
    const s2 = new CosineAnnealingLR(o2, { tMax: 10 });
    s2.loadStateDict(saved);
    o2.lr = lrAt12; // the optimizer's own state carries its rate
    const rest = [];
    for (let i = 12; i < fixture.steps; i++) {
      s2.step();
      rest.push(o2.lr);
    }
    expect(rest).toEqual(full.slice(13));
    expect(s2.getLastLr()).toEqual([o2.lr]);
    o2.dispose();
  });

  it('refuses unknown and snake_case options with the camelCase spelling, and bad values', () => {
    const o = sgd();
    expect(() => new StepLR(o, { step_size: 3 } as never)).toThrowError(/unknown option 'step_size' \(did you mean stepSize\?/);
    expect(() => new CosineAnnealingLR(o, { T_max: 3 } as never)).toThrowError(/did you mean tMax/);
    expect(() => new StepLR(o, { stepSize: 0 })).toThrowError(ValueError);
    expect(() => new ExponentialLR(o, {} as never)).toThrowError(/gamma must be/);
    expect(() => new LinearLR(o, { startFactor: 2 })).toThrowError(/startFactor must be in \[0, 1\]/);
    expect(() => new ReduceLROnPlateau(o, { mode: 'up' as never })).toThrowError(/mode must be 'min' or 'max'/);
    expect(() => new StepLR({} as never, 3)).toThrowError(/must be an optimizer/);
    o.dispose();
  });
});
