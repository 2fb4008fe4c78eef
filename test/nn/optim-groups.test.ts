// Parameter groups and state dicts of the optimizers, against PyTorch 1.13 (fixtures by
// scripts/fixtures/make_optim_group_fixtures.py): three parameters in two groups with their own
// hyperparameters, 6 steps on fixed gradients; parameters must match torch within 1e-6 (float32
// kernels, the same formulas). torch's state_dict after 3 steps loads and continues to torch's
// result; our own stateDict round trip continues bit-identically to an uninterrupted run.
import { beforeAll, describe, expect, it } from 'vitest';
import { DisposedError, ShapeError, ValueError, init, memory, nn, optim, tensor, tidy, type Tensor } from 'lstm-wasm';
import { readFixture, type FixtureTensor } from './fixture-helpers';
import { expectFailure } from '../core/helpers';

const { StepLR, CosineAnnealingLR, LinearLR, ExponentialLR, ReduceLROnPlateau } = optim.lrScheduler;

interface OptimCase {
  init: FixtureTensor[];
  grads: FixtureTensor[][];
  after: FixtureTensor[][];
  state_dict: optim.OptimizerStateDict<FixtureTensor>;
}
interface Fixture {
  steps: number;
  saveAt: number;
  optimizers: Record<string, OptimCase>;
  schedSteps: number;
  metrics: number[];
  schedulers: Record<string, number[][]>;
}
const fixture = readFixture<Fixture>('optim_groups.json');
const TOL = 1e-6;

beforeAll(async () => {
  await init();
});

type Maker = (p: Tensor[]) => optim.Optimizer;
const makers: Record<string, Maker> = {
  'Adam lr 3e-3; [{p0, lr 1e-2}, {p1 p2, weightDecay 0.1}]': (p) =>
    new optim.Adam([{ params: [p[0]], lr: 1e-2 }, { params: [p[1], p[2]], weightDecay: 0.1 }], { lr: 3e-3 }),
  'AdamW lr 3e-3; [{p0 p2, weightDecay 0.05, betas 0.8 0.99}, {p1, lr 2e-2, eps 1e-6}]': (p) =>
    new optim.AdamW([{ params: [p[0], p[2]], weightDecay: 0.05, betas: [0.8, 0.99] }, { params: [p[1]], lr: 2e-2, eps: 1e-6 }], { lr: 3e-3 }),
  'SGD lr 0.1 momentum 0.9; [{p0, nesterov, weightDecay 0.01}, {p1 p2, lr 0.05, dampening 0.5}]': (p) =>
    new optim.SGD([{ params: [p[0]], nesterov: true, weightDecay: 0.01 }, { params: [p[1], p[2]], lr: 0.05, dampening: 0.5 }], { lr: 0.1, momentum: 0.9 }),
  'SGD lr 0.1; [{p0 p1}, {p2, momentum 0.5}]': (p) =>
    new optim.SGD([{ params: [p[0], p[1]] }, { params: [p[2]], momentum: 0.5 }], { lr: 0.1 }),
};

function params(from: FixtureTensor[]): Tensor[] {
  return from.map((f) => tensor(Float32Array.from(f.data), f.shape, { requiresGrad: true }));
}

/** Sets each parameter's gradient to `grads` (d/dp sum(p * g) = g) and steps. */
function stepWith(opt: optim.Optimizer, ps: Tensor[], grads: FixtureTensor[]): void {
  tidy(() => {
    opt.zeroGrad();
    ps.forEach((p, i) => p.mul(tensor(Float32Array.from(grads[i].data), grads[i].shape)).sum().backward());
    opt.step();
  });
}

function expectNear(got: Tensor, want: FixtureTensor, what: string): void {
  expect(got.shape).toEqual(want.shape);
  const a = got.toArray() as Float32Array;
  a.forEach((v, i) => expect(Math.abs(v - want.data[i]), `${what}[${i}]: ${v} vs ${want.data[i]}`).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(want.data[i]))));
}

function cleanup(opt: optim.Optimizer, ps: Tensor[]): void {
  opt.dispose();
  ps.forEach((p) => p.dispose());
}

describe('parameter groups match PyTorch 1.13', () => {
  it('covers every fixture case', () => {
    expect(Object.keys(makers).sort()).toEqual(Object.keys(fixture.optimizers).sort());
  });

  for (const [name, make] of Object.entries(makers)) {
    it(`${name}: ${fixture.steps} steps`, () => {
      const fx = fixture.optimizers[name];
      const ps = params(fx.init);
      const opt = make(ps);
      for (let k = 0; k < fixture.steps; k++) {
        stepWith(opt, ps, fx.grads[k]);
        ps.forEach((p, i) => expectNear(p, fx.after[k][i], `step ${k + 1} p${i}`));
      }
      cleanup(opt, ps);
    });

    it(`${name}: torch's state_dict after ${fixture.saveAt} steps loads and continues to torch's parameters`, () => {
      const fx = fixture.optimizers[name];
      const ps = params(fx.after[fixture.saveAt - 1]);
      const opt = make(ps);
      opt.loadStateDict(fx.state_dict);
      for (let k = fixture.saveAt; k < fixture.steps; k++) stepWith(opt, ps, fx.grads[k]);
      ps.forEach((p, i) => expectNear(p, fx.after[fixture.steps - 1][i], `p${i}`));
      cleanup(opt, ps);
    });

    it(`${name}: stateDict has torch's structure and values`, () => {
      const fx = fixture.optimizers[name];
      const ps = params(fx.init);
      const opt = make(ps);
      for (let k = 0; k < fixture.saveAt; k++) stepWith(opt, ps, fx.grads[k]);
      const sd = opt.stateDict();
      const want = fx.state_dict;
      expect(Object.keys(sd.state)).toEqual(Object.keys(want.state));
      expect(sd.param_groups.length).toBe(want.param_groups.length);
      sd.param_groups.forEach((g, i) => {
        const w = want.param_groups[i] as Record<string, unknown>;
        for (const [k, v] of Object.entries(g)) expect(v, `param_groups[${i}].${k}`).toEqual(w[k]);
      });
      for (const [id, entry] of Object.entries(sd.state)) {
        const w = (want.state as Record<string, Record<string, unknown>>)[id];
        for (const [k, v] of Object.entries(w)) {
          if (v === null || typeof v === 'number') expect((entry as Record<string, unknown>)[k], `state[${id}].${k}`).toEqual(v);
          else {
            const t = entry[k] as optim.SavedTensor;
            tidy(() => expectNear(tensor(t.data, t.shape), v as FixtureTensor, `state[${id}].${k}`));
          }
        }
        expect(entry.step).toBe(fixture.saveAt);
      }
      cleanup(opt, ps);
    });

    it(`${name}: stateDict round trip continues bit-identically (fresh optimizer, tensors as Tensors)`, () => {
      const fx = fixture.optimizers[name];
      const full = params(fx.init);
      const o1 = make(full);
      fx.grads.forEach((g) => stepWith(o1, full, g));
      const want = full.map((p) => p.toArray());
      cleanup(o1, full);

      const ps = params(fx.init);
      const o2 = make(ps);
      for (let k = 0; k < fixture.saveAt; k++) stepWith(o2, ps, fx.grads[k]);
      const saved = o2.stateDict();
      o2.dispose();
      const before = memory().liveTensors;
      // A fresh optimizer with other hyperparameters: the dict carries the groups' own.
      const o3 = make(ps);
      o3.paramGroups.forEach((g) => (g.lr = 0.5));
      const asTensors = Object.fromEntries(Object.entries(saved.state).map(([id, e]) => [id, Object.fromEntries(Object.entries(e).map(
        ([k, v]) => [k, v !== null && typeof v === 'object' ? tensor(v.data, v.shape) : v],
      ))]));
      o3.loadStateDict({ state: asTensors as optim.OptimizerStateDict<Tensor>['state'], param_groups: saved.param_groups });
      for (const e of Object.values(asTensors)) for (const v of Object.values(e)) if (v !== null && typeof v === 'object') (v as Tensor).dispose();
      expect(o3.stateDict()).toEqual(saved);
      for (let k = fixture.saveAt; k < fixture.steps; k++) stepWith(o3, ps, fx.grads[k]);
      ps.forEach((p, i) => expect(p.toArray(), `p${i}`).toEqual(want[i]));
      o3.dispose();
      expect(memory().liveTensors, "the loaded state is freed with the optimizer").toBe(before);
      ps.forEach((p) => p.dispose());
    });
  }
});

describe('parameter groups: API', () => {
  const three = (): Tensor[] => [tensor([1, 2], undefined, { requiresGrad: true }), tensor([3], undefined, { requiresGrad: true }), tensor([4, 5, 6], undefined, { requiresGrad: true })];

  it('groups take the constructor options as defaults; paramGroups is readable and writable', () => {
    const ps = three();
    const opt = new optim.Adam([{ params: [ps[0]], lr: 1e-3 }, { params: ps.slice(1), weightDecay: 0.01 }], { lr: 3e-3 });
    expect(opt.paramGroups.map((g) => [g.lr, g.betas, g.eps, g.weightDecay])).toEqual([[1e-3, [0.9, 0.999], 1e-8, 0], [3e-3, [0.9, 0.999], 1e-8, 0.01]]);
    expect(opt.paramGroups[1].params).toEqual(ps.slice(1));
    expect(opt.params).toEqual(ps);
    opt.paramGroups[1].lr = 0.5;
    expect(opt.paramGroups[1].lr).toBe(0.5);
    opt.paramGroups[0].betas[0] = 0.8;
    expect([opt.paramGroups[1].betas[0], opt.defaults.betas[0]], 'groups do not share the defaults\' betas').toEqual([0.9, 0.9]);
    cleanup(opt, ps);
  });

  it('one group: optimizer.lr reads and writes group 0 (single-group code keeps working)', () => {
    const ps = three();
    const opt = new optim.SGD(ps, { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.length).toBe(1);
    expect([opt.lr, opt.momentum]).toEqual([0.1, 0.9]);
    opt.lr = 0.2;
    expect(opt.paramGroups[0].lr).toBe(0.2);
    opt.paramGroups[0].lr = 0.3;
    expect(opt.lr).toBe(0.3);
    expect(() => (opt.lr = -1)).toThrow(/SGD: lr must be a finite number >= 0, got -1/);
    cleanup(opt, ps);
  });

  it('several groups: optimizer.lr (and the other hyperparameters) are errors pointing to paramGroups', () => {
    const ps = three();
    const opt = new optim.AdamW([{ params: [ps[0]] }, { params: [ps[1], ps[2]] }]);
    expect(() => opt.lr).toThrow(ValueError);
    expect(() => opt.lr).toThrow(/AdamW\.lr: the optimizer has 2 parameter groups; use optimizer\.paramGroups\[i\]\.lr/);
    expect(() => (opt.lr = 0.1)).toThrow(/paramGroups\[i\]\.lr/);
    expect(() => opt.betas).toThrow(/paramGroups\[i\]\.betas/);
    expect(() => opt.weightDecay).toThrow(/paramGroups\[i\]\.weightDecay/);
    cleanup(opt, ps);
  });

  it('addParamGroup adds a group with the defaults, checked as the constructor checks', () => {
    const ps = three();
    const opt = new optim.SGD([ps[0]], 0.1);
    opt.addParamGroup({ params: [ps[1]], lr: 0.01 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    expect(() => opt.addParamGroup({ params: [ps[0], ps[2]] })).toThrow(/paramGroups\[2\]\.params\[0\] is already in paramGroups\[0\]/);
    expect(() => opt.addParamGroup({ params: [ps[2]], weight_decay: 1 } as never)).toThrow(/SGD: paramGroups\[2\]: unknown option 'weight_decay' \(did you mean weightDecay/);
    expect(opt.paramGroups.length).toBe(2);
    cleanup(opt, ps);
  });

  it('refuses a parameter in two groups, bad group options, and mixed lists', () => {
    const ps = three();
    expectFailure(ValueError, ['Adam: paramGroups[1].params[0] is already in paramGroups[0] (a parameter may be in one group only)'],
      () => new optim.Adam([{ params: [ps[0], ps[1]] }, { params: [ps[1]] }]));
    expectFailure(ValueError, ['Adam: paramGroups[1].lr must be a finite number >= 0, got -1'], () => new optim.Adam([{ params: [ps[0]] }, { params: [ps[1]], lr: -1 }]));
    expectFailure(ValueError, ['Adam: paramGroups[0].betas must be in [0, 1)'], () => new optim.Adam([{ params: [ps[0]], betas: [0.9, 1] }]));
    expectFailure(ValueError, ['SGD: paramGroups[0]: nesterov momentum requires a momentum and zero dampening'],
      () => new optim.SGD([{ params: [ps[0]], nesterov: true }], { lr: 0.1 }));
    expectFailure(ValueError, ['paramGroups[1] must be a parameter group { params, ... }', 'got a Tensor'], () => new optim.Adam([{ params: [ps[0]] }, ps[1]] as never));
    expectFailure(ValueError, ['Adam: paramGroups[0].params must be an iterable of tensors, got 3'], () => new optim.Adam([{ params: 3 }] as never));
    const linear = new nn.Linear(2, 2);
    expectFailure(ValueError, ['Adam: paramGroups[0].params must be an iterable of tensors, got a module (pass module.parameters())'],
      () => new optim.Adam([{ params: linear }] as never));
    linear.dispose();
    expectFailure(ValueError, ['a parameter appears more than once in paramGroups[0].params'], () => new optim.Adam([{ params: [ps[0], ps[0]] }]));
    ps.forEach((p) => p.dispose());
  });

  it('SGD: lr may be left out of the options when every group gives it (PyTorch\'s required lr)', () => {
    const ps = three();
    const opt = new optim.SGD([{ params: [ps[0]], lr: 0.1 }, { params: [ps[1]], lr: 0.2, momentum: 0.9 }]);
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.2, 0.9]]);
    expectFailure(ValueError, ['SGD: paramGroups[1].lr is required (PyTorch has no default learning rate for SGD)'],
      () => new optim.SGD([{ params: [ps[2]], lr: 0.1 }, { params: [ps[1].detach().requiresGrad_()] }]));
    expect(() => opt.addParamGroup({ params: [ps[2]] })).toThrow(/SGD: paramGroups\[2\]\.lr is required/);
    expect(() => new (optim.SGD as any)([ps[2]])).toThrow(/SGD: lr is required/);
    cleanup(opt, ps);
  });

  it('step checks every group before updating any (a bad lr set on a group changes nothing)', () => {
    const ps = three();
    const opt = new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]] }], 0.1);
    tidy(() => ps.slice(0, 2).forEach((p) => p.sum().backward()));
    opt.paramGroups[1].lr = Number.NaN;
    const values = ps.map((p) => p.toArray());
    expect(() => opt.step()).toThrow(/SGD: paramGroups\[1\]\.lr must be a finite number >= 0, got NaN/);
    expect(ps.map((p) => p.toArray())).toEqual(values);
    cleanup(opt, ps);
  });
});

describe('loadStateDict: validation (typed errors; nothing changes on error)', () => {
  function trained(): { opt: optim.Adam; ps: Tensor[]; saved: optim.OptimizerStateDict } {
    const ps = [tensor([1, 2, 3], undefined, { requiresGrad: true }), tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true })];
    const opt = new optim.Adam([{ params: [ps[0]], lr: 0.01 }, { params: [ps[1]] }]);
    tidy(() => ps.forEach((p) => p.mul(p).sum().backward()));
    opt.step();
    opt.step();
    return { opt, ps, saved: opt.stateDict() };
  }
  const clone = (sd: optim.OptimizerStateDict): any => ({
    state: Object.fromEntries(Object.entries(sd.state).map(([k, e]) => [k, Object.fromEntries(Object.entries(e).map(([n, v]) => [n, v !== null && typeof v === 'object' ? { shape: [...(v as any).shape], data: Float32Array.from((v as any).data) } : v]))])),
    param_groups: sd.param_groups.map((g) => ({ ...g, params: [...g.params], betas: [...(g.betas as number[])] })),
  });

  const cases: [string, typeof ValueError, (sd: any) => unknown, (string | RegExp)[]][] = [
    ['another number of groups', ValueError, (sd) => sd.param_groups.pop(), ['Adam.loadStateDict: the state dict has 1 parameter group(s), the optimizer has 2']],
    ['another number of parameters in a group', ValueError, (sd) => sd.param_groups[0].params.push(7), ['param_groups[0] has 2 parameter(s), the optimizer\'s paramGroups[0] has 1']],
    ['a state tensor of another shape', ShapeError, (sd) => (sd.state[1].exp_avg.shape = [4]), ['Adam.loadStateDict: state[1].exp_avg has shape [4], expected [2, 2]']],
    ['too few values', ShapeError, (sd) => (sd.state[0].exp_avg_sq.data = new Float32Array(2)), ['state[0].exp_avg_sq has 2 values, expected 3']],
    ['a missing buffer', ValueError, (sd) => delete sd.state[0].exp_avg, ['state[0].exp_avg must be a Tensor or { shape, data }, got undefined']],
    ['an unknown state key', ValueError, (sd) => (sd.state[0].max_exp_avg_sq = sd.state[0].exp_avg), ["state[0] has unknown key 'max_exp_avg_sq'"]],
    ['a bad step', ValueError, (sd) => (sd.state[1].step = -1), ['state[1].step must be an integer >= 0, got -1']],
    ['state for no parameter', ValueError, (sd) => (sd.state[5] = sd.state[0]), ['state[5] is for no parameter in param_groups']],
    ['a duplicate index', ValueError, (sd) => (sd.param_groups[1].params = [0]), ['parameter index 0 appears more than once']],
    ['a bad hyperparameter', ValueError, (sd) => (sd.param_groups[1].lr = -2), ['Adam: param_groups[1].lr must be a finite number >= 0, got -2']],
    ['a missing hyperparameter', ValueError, (sd) => delete sd.param_groups[0].eps, ["param_groups[0] has no 'eps'"]],
    ['an unknown group key', ValueError, (sd) => (sd.param_groups[0].momentum = 0.9), ["param_groups[0] has unknown key 'momentum'"]],
    ['amsgrad on', ValueError, (sd) => (sd.param_groups[0].amsgrad = true), ["param_groups[0].amsgrad is true; lstm-wasm's Adam does not have amsgrad"]],
    ['not an object', ValueError, () => 5, ['the state dict must be an object { state, param_groups }, got 5']],
  ];
  for (const [what, type, edit, patterns] of cases) {
    it(what, () => {
      const { opt, ps, saved } = trained();
      const dict = clone(saved);
      const replaced = edit(dict);
      expectFailure(type, patterns, () => opt.loadStateDict((what === 'not an object' ? replaced : dict) as never));
      expect(opt.stateDict(), 'nothing changed').toEqual(saved);
      cleanup(opt, ps);
    });
  }

  it('PyTorch keys for features that are off (amsgrad false, foreach null, ...) are accepted', () => {
    const { opt, ps, saved } = trained();
    const dict = clone(saved);
    for (const g of dict.param_groups) Object.assign(g, { amsgrad: false, maximize: false, foreach: null, capturable: false, differentiable: false, fused: false });
    opt.loadStateDict(dict);
    expect(opt.stateDict()).toEqual(saved);
    cleanup(opt, ps);
  });

  it('a disposed optimizer refuses stateDict and loadStateDict', () => {
    const { opt, ps, saved } = trained();
    opt.dispose();
    expect(() => opt.stateDict()).toThrow(DisposedError);
    expect(() => opt.loadStateDict(saved)).toThrow(DisposedError);
    ps.forEach((p) => p.dispose());
  });

  it('a parameter not in state loses its state on load (PyTorch replaces the whole state)', () => {
    const { opt, ps, saved } = trained();
    const dict = clone(saved);
    delete dict.state[1];
    const before = memory().liveTensors;
    opt.loadStateDict(dict);
    expect(Object.keys(opt.stateDict().state)).toEqual(['0']);
    expect(memory().liveTensors).toBe(before - 2);
    cleanup(opt, ps);
  });
});

describe('lr schedulers drive every group, as PyTorch 1.13', () => {
  type Stepper = { step(metric?: number): void; getLastLr(): number[] };
  const cases: Record<string, [(o: optim.SGD) => Stepper | Stepper[], boolean?]> = {
    'StepLR(stepSize 4, gamma 0.5)': [(o) => new StepLR(o, { stepSize: 4, gamma: 0.5 })],
    'CosineAnnealingLR(tMax 8, etaMin 0.001)': [(o) => new CosineAnnealingLR(o, { tMax: 8, etaMin: 0.001 })],
    'LinearLR warm-up then ExponentialLR(gamma 0.9)': [(o) => [new LinearLR(o, { startFactor: 0.25, totalIters: 4 }), new ExponentialLR(o, 0.9)]],
    'ReduceLROnPlateau(patience 1, factor 0.5, minLr [0.02, 0.004])': [(o) => new ReduceLROnPlateau(o, { patience: 1, factor: 0.5, minLr: [0.02, 0.004] }), true],
    'ReduceLROnPlateau(patience 1, factor 0.5, minLr 0.01)': [(o) => new ReduceLROnPlateau(o, { patience: 1, factor: 0.5, minLr: 0.01 }), true],
  };
  const twoGroups = (): { o: optim.SGD; ps: Tensor[] } => {
    const ps = [tensor([0], undefined, { requiresGrad: true }), tensor([0], undefined, { requiresGrad: true })];
    return { o: new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]], lr: 0.02 }], { lr: 0.1 }), ps };
  };

  it('covers every fixture case', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(fixture.schedulers).sort());
  });
  for (const [name, [make, metrics]] of Object.entries(cases)) {
    it(name, () => {
      const { o, ps } = twoGroups();
      const made = make(o);
      const all = Array.isArray(made) ? made : [made];
      const got = [o.paramGroups.map((g) => g.lr)];
      for (let i = 0; i < fixture.schedSteps; i++) {
        for (const s of all) s.step(metrics ? fixture.metrics[i] : undefined);
        got.push(o.paramGroups.map((g) => g.lr));
        expect(all[all.length - 1].getLastLr()).toEqual(got[got.length - 1]);
      }
      const want = fixture.schedulers[name];
      expect(got.length).toBe(want.length);
      got.forEach((lrs, i) => lrs.forEach((v, j) => expect(Math.abs(v - want[i][j]), `step ${i} group ${j}: ${v} vs ${want[i][j]}`).toBeLessThanOrEqual(1e-15 + 1e-12 * Math.abs(want[i][j]))));
      cleanup(o, ps);
    });
  }

  it('baseLrs one per group (each group\'s initial lr); stateDict round trip with groups', () => {
    const { o, ps } = twoGroups();
    const s = new CosineAnnealingLR(o, { tMax: 8 });
    expect(s.baseLrs).toEqual([0.1, 0.02]);
    expect(s.baseLr).toBe(0.1);
    for (let i = 0; i < 5; i++) s.step();
    const saved = s.stateDict();
    expect(saved.baseLrs).toEqual([0.1, 0.02]);
    expect(saved.lastLrs).toEqual(s.getLastLr());
    const lrs = o.paramGroups.map((g) => g.lr);
    const rest: number[][] = [];
    for (let i = 0; i < 4; i++) {
      s.step();
      rest.push(s.getLastLr());
    }
    const b = twoGroups();
    const s2 = new CosineAnnealingLR(b.o, { tMax: 8 });
    s2.loadStateDict(saved);
    b.o.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    for (let i = 0; i < 4; i++) {
      s2.step();
      expect(s2.getLastLr()).toEqual(rest[i]);
    }
    expect(() => s2.loadStateDict({ ...saved, baseLrs: [0.1] })).toThrow(/baseLrs has 1 entries, the optimizer has 2 parameter groups/);
    const { baseLrs: _b, lastLrs: _l, ...old } = saved;
    expect(() => s2.loadStateDict(old)).toThrow(/baseLrs is missing \(the optimizer has 2 parameter groups\)/);
    cleanup(o, ps);
    cleanup(b.o, b.ps);
  });

  it('the optimizer state dict carries each group\'s initial_lr (as PyTorch\'s), so a new scheduler after loading keeps the base rates', () => {
    const { o, ps } = twoGroups();
    const s = new StepLR(o, { stepSize: 2, gamma: 0.5 });
    for (let i = 0; i < 3; i++) s.step();
    const saved = o.stateDict();
    expect(saved.param_groups.map((g) => [g.initial_lr, g.lr])).toEqual([[0.1, 0.05], [0.02, 0.01]]);
    const b = twoGroups();
    b.o.loadStateDict(saved);
    expect(b.o.paramGroups.map((g) => g.lr)).toEqual([0.05, 0.01]);
    expect(new CosineAnnealingLR(b.o, 4).baseLrs).toEqual([0.1, 0.02]);
    const bad = { ...saved, param_groups: saved.param_groups.map((g) => ({ ...g, initial_lr: 'x' })) };
    expect(() => b.o.loadStateDict(bad)).toThrow(/param_groups\[0\]\.initial_lr must be a finite number >= 0, got a string "x"/);
    cleanup(o, ps);
    cleanup(b.o, b.ps);
  });

  it('ReduceLROnPlateau: minLr array must have one entry per group', () => {
    const { o, ps } = twoGroups();
    expect(() => new ReduceLROnPlateau(o, { minLr: [0.1] })).toThrow(/ReduceLROnPlateau: minLr has 1 entries, expected one per parameter group \(2\)/);
    expect(() => new ReduceLROnPlateau(o, { minLr: [0.1, -1] })).toThrow(/minLr\[1\] must be a number >= 0/);
    const r = new ReduceLROnPlateau(o, { minLr: [0.01, 0.002] });
    expect(r.minLrs).toEqual([0.01, 0.002]);
    const st = r.stateDict();
    expect(st.lastLrs).toEqual([0.1, 0.02]);
    r.loadStateDict(st);
    cleanup(o, ps);
  });
});
