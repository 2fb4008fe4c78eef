/**
 * PyTorch-parity API: nothing silently wrong (issue 11, options / nn / optim parts).
 *
 * - Options objects are checked: an unknown key is a ValueError naming it, a snake_case key names
 *   its camelCase spelling. PyTorch's positional arguments that are accepted: nn.LSTM/GRU/RNN's
 *   third (numLayers), the optimizers' second (lr); SGD without lr is refused as in PyTorch.
 * - Clipping takes a module, a tensor or any iterable of tensors.
 * - A Module finds the submodules and parameters held in its fields (PyTorch's attribute
 *   registration), lazily, with PyTorch's dotted names.
 * - nn.Sequential, nn.ModuleList, nn.Dropout, nn.Identity.
 *
 * Names and numbers come from test/fixtures/api_parity.json (scripts/fixtures/make_api_fixtures.py,
 * PyTorch 1.13): the weights are loaded by name into the lstm-wasm twin, so a naming difference
 * fails; forward outputs agree to 2e-5 relative (float32, different summation order).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, memory, nn, optim, tensor, tidy, zeros, randn, grad, F, Module, Generator, DTypeError, ValueError,
  LanguageModel, LMBatcher, LMTrainer, CharTokenizer, WordTokenizer, buildTokenizer, sampleFromLogits, type Tensor,
} from 'lstm-wasm';
import { expectClose, readFixture, toTensor, type FixtureTensor } from './fixture-helpers';

const TOL = 2e-5;

interface ModelFixture {
  snippet: string;
  names: string[];
  params: Record<string, FixtureTensor>;
  input: FixtureTensor;
  output: FixtureTensor;
}
interface ClipFixture {
  params: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
  cases: { normType: number | 'inf'; maxNorm: number; total: number; clipped: Record<string, FixtureTensor> }[];
}
const fixture = readFixture<{ models: Record<string, ModelFixture>; clip: ClipFixture }>('api_parity.json');

beforeAll(async () => {
  await init();
});

function loadFixture(m: Module, f: ModelFixture): void {
  m.loadStateDict(Object.fromEntries(Object.entries(f.params).map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
}

/** A parameter list with gradients, for optimizer and clipping checks. */
function withGrads(m: Module, fill = 1): Tensor[] {
  const ps = m.parameters();
  tidy(() => {
    const loss = ps.map((p) => p.mul(fill).sum()).reduce((a, b) => a.add(b));
    loss.backward();
  });
  return ps;
}

describe('options are checked', () => {
  it('nn.LSTM with snake_case options names the camelCase spelling instead of building a 1-layer time-major LSTM', () => {
    expect(() => new nn.LSTM(100, 128, { num_layers: 2, batch_first: true } as never)).toThrow(ValueError);
    expect(() => new nn.LSTM(100, 128, { num_layers: 2 } as never)).toThrow(/unknown option 'num_layers'.*num_layers -> numLayers/);
    expect(() => new nn.LSTM(10, 8, { batch_first: true } as never)).toThrow(/batch_first -> batchFirst/);
    expect(() => new nn.GRU(10, 8, { bidirectionnal: true } as never)).toThrow(/unknown option 'bidirectionnal' \(did you mean bidirectional\?\)/);
    expect(() => new nn.GRU(10, 8, { layers: 2 } as never)).toThrow(/unknown option 'layers' \(known options: numLayers, bias/);
    expect(() => new nn.RNN(10, 8, { proj_size: 2 } as never)).toThrow(/unknown option 'proj_size'/);
    expect(() => new nn.LSTMCell(3, 4, { Bias: false } as never)).toThrow(/did you mean bias/);
    expect(() => new nn.Linear(3, 4, { use_bias: false } as never)).toThrow(ValueError);
    expect(() => new nn.Embedding(3, 4, { padding_idx: 0 } as never)).toThrow(/padding_idx -> paddingIdx/);
  });

  it('options must be an object, and flags booleans', () => {
    expect(() => new nn.Linear(3, 4, false as never)).toThrow(/Linear: options must be an object.*got boolean false/);
    expect(() => new nn.Linear(3, 4, { bias: 0 as never })).toThrow(/bias must be true or false/);
    expect(() => new nn.LSTM(3, 4, { batchFirst: 'yes' as never })).toThrow(/batchFirst must be true or false/);
    expect(() => new nn.Dropout(0.5, new Generator(1) as never)).toThrow(/options must be a plain object like \{ generator \}, got a Generator/);
    expect(() => tidy(() => F.crossEntropy(randn([2, 3]), tensor(Int32Array.of(0, 1)), [] as never))).toThrow(/got an array/);
    expect(() => new nn.GRU(3, 4, { projSize: 2 } as never)).toThrow(/projSize is only supported by LSTM/);
    expect(() => new nn.GRU(3, 4, 2, { projSize: 2 } as never)).toThrow(/GRU: projSize is only supported by LSTM/);
    expect(() => new nn.RNN(3, 4, 2, { projSize: 2 } as never)).toThrow(/RNN: projSize is only supported by LSTM/);
    new nn.GRU(3, 4, { projSize: 0 } as never).dispose(); // PyTorch accepts proj_size=0 for every kind
  });

  it('nn.LSTM / GRU / RNN take numLayers as PyTorch\'s third positional argument, and nothing after it positionally', () => {
    const lstm = new nn.LSTM(5, 4, 2);
    expect(lstm.numLayers).toBe(2);
    expect(Object.keys(lstm.stateDict())).toContain('weight_ih_l1');
    const bf = new nn.LSTM(5, 4, 2, { batchFirst: true, dropout: 0.1 });
    expect([bf.numLayers, bf.batchFirst, bf.dropout]).toEqual([2, true, 0.1]);
    expect(new nn.GRU(5, 4, 3).numLayers).toBe(3);
    const rnn = new nn.RNN(5, 4, 2, { nonlinearity: 'relu' });
    expect([rnn.numLayers, rnn.nonlinearity]).toEqual([2, 'relu']);
    expect(() => new nn.LSTM(5, 4, 2, true as never)).toThrow(/only numLayers may be given positionally.*input_size, hidden_size, num_layers.*batchFirst/);
    expect(() => new (nn.LSTM as any)(5, 4, 2, true, true)).toThrow(/only numLayers may be given positionally/);
    expect(() => new nn.GRU(5, 4, true as never)).toThrow(/third argument is numLayers/);
    expect(() => new nn.LSTM(5, 4, 2, { numLayers: 3 })).toThrow(/numLayers given twice/);
    expect(() => new nn.LSTM(5, 4, 2, { num_layers: 3 } as never)).toThrow(/num_layers -> numLayers/);
    for (const m of [lstm, bf, rnn]) m.dispose();
  });

  it('optimizers take lr as PyTorch\'s second positional argument; SGD requires lr', () => {
    const m = new nn.Linear(3, 2);
    const adam = new optim.Adam(m.parameters(), 0.01);
    expect(adam.lr).toBe(0.01);
    const adamw = new optim.AdamW(m.parameters(), 0.02);
    expect([adamw.lr, adamw.weightDecay]).toEqual([0.02, 0.01]);
    expect(new optim.SGD(m.parameters(), 0.1).lr).toBe(0.1);
    expect(new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }).momentum).toBe(0.9);
    expect(() => new (optim.SGD as any)(m.parameters())).toThrow(ValueError);
    expect(() => new (optim.SGD as any)(m.parameters())).toThrow(/SGD: lr is required/);
    expect(() => new optim.SGD(m.parameters(), { momentum: 0.9 } as never)).toThrow(/lr is required/);
    expect(() => new optim.Adam(m.parameters(), { lr: 0.01, weight_decay: 0.1 } as never)).toThrow(/weight_decay -> weightDecay/);
    expect(() => new optim.SGD(m.parameters(), { lr: 0.1, nestrov: true } as never)).toThrow(/unknown option 'nestrov'/);
    expect(() => new optim.Adam(m.parameters(), { betas: [0.9] as never })).toThrow(/betas must be \[beta1, beta2\]/);
    expect(() => new optim.Adam(m as never)).toThrow(/pass module.parameters\(\)/);
    m.dispose();
  });

  it('schedulers and grad() share the same check', () => {
    const m = new nn.Linear(2, 2);
    const o = new optim.SGD(m.parameters(), 0.1);
    expect(() => new optim.lrScheduler.StepLR(o, { step_size: 3 } as never)).toThrow(/step_size -> stepSize/);
    expect(() => new optim.lrScheduler.ReduceLROnPlateau(o, { min_lr: 0 } as never)).toThrow(/min_lr -> minLr/);
    tidy(() => {
      const x = tensor([1, 2], [2], { requiresGrad: true });
      expect(() => grad(x.mul(x).sum(), x, { allow_unused: true } as never)).toThrow(/allow_unused -> allowUnused/);
    });
    o.dispose();
    m.dispose();
  });

  it('weightDecay given in camelCase is applied (Adam with decay moves weights differently)', () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    b.loadStateDict(a.stateDict());
    // Zero gradients: only the decay term (weightDecay * p, added to the gradient) moves b.
    const oa = new optim.Adam(withGrads(a, 0), { lr: 0.1 });
    const ob = new optim.Adam(withGrads(b, 0), { lr: 0.1, weightDecay: 0.5 });
    oa.step();
    ob.step();
    expect(Array.from(a.weight.toArray())).not.toEqual(Array.from(b.weight.toArray()));
    for (const x of [oa, ob, a, b]) x.dispose();
  });

  it('F functions: crossEntropy, mseLoss, dropout', () => {
    tidy(() => {
      const logits = randn([3, 4]);
      const targets = tensor(Int32Array.from([0, -1, 2]));
      expect(() => F.crossEntropy(logits, targets, { ignore_index: -1 } as never)).toThrow(/ignore_index -> ignoreIndex/);
      // ignoreIndex in camelCase is applied: row 1 is skipped (not an out-of-range class).
      expect(Number.isFinite(F.crossEntropy(logits, targets, { ignoreIndex: -1 }).item())).toBe(true);
      expect(() => F.mseLoss(logits, logits, { reduction: 'none' as never })).toThrow(/reduction must be 'mean' or 'sum'/);
      expect(() => F.mseLoss(logits, logits, { reduce: false } as never)).toThrow(/unknown option 'reduce'/);
      expect(F.dropout(logits, { p: 0.5, training: false })).toBe(logits);
      expect(() => F.dropout(logits, { prob: 0.5 } as never)).toThrow(/unknown option 'prob'/);
      expect(() => F.dropout(logits, { p: 0.5 }, false)).toThrow(/pass training and generator in it/);
      const g1 = F.dropout(logits, { p: 0.5, generator: new Generator(3) }).toArray();
      const g2 = F.dropout(logits, 0.5, true, new Generator(3)).toArray();
      expect(Array.from(g1)).toEqual(Array.from(g2));
    });
  });

  it('text: LanguageModel config and options, sampling, generation, trainer, tokenizers', async () => {
    expect(() => new LanguageModel({ vocabSize: 5, num_layers: 2 } as never)).toThrow(/num_layers -> numLayers/);
    expect(() => new LanguageModel({ vocabSize: 5, hidden_size: 8 } as never)).toThrow(/hidden_size -> hiddenSize/);
    expect(() => new LanguageModel({ vocabSize: 5 }, { seed: 1 } as never)).toThrow(/unknown option 'seed'/);
    const model = new LanguageModel({ vocabSize: 5, embedDim: 4, hiddenSize: 6 });
    expect(() => [...model.sample([1], { length: 2, top_k: 2 } as never)]).toThrow(/top_k -> topK/);
    expect(() => [...model.sample([1], { length: 2, yieldEvery: 2 } as never)]).toThrow(/unknown option 'yieldEvery'/);
    await expect((async () => {
      for await (const id of model.generate([1], { length: 2, temprature: 0 } as never)) void id;
    })()).rejects.toThrow(/unknown option 'temprature'/);
    const ids: number[] = [];
    for await (const id of model.generate([1], { length: 3, seed: 1, yieldEvery: 1, temperature: 0 })) ids.push(id);
    expect(ids.length).toBe(3);
    expect(() => sampleFromLogits([0, 1], { top_p: 0.5 } as never, new Generator(1))).toThrow(/top_p -> topP/);
    const batcher = new LMBatcher(Int32Array.from({ length: 200 }, (_, i) => i % 5), 2, 8);
    expect(() => new LMTrainer(model, batcher, null, { learning_rate: 0.1 } as never)).toThrow(/unknown option 'learning_rate'/);
    expect(() => new LMTrainer(model, batcher, null, { eval_windows: 2 } as never)).toThrow(/eval_windows -> evalWindows/);
    const trainer = new LMTrainer(model, batcher, null, { lr: 0.01 });
    await expect(trainer.run({ max_steps: 1 } as never)).rejects.toThrow(/unknown option 'max_steps'/);
    expect(() => WordTokenizer.fromText('a b c', { max_size: 10 } as never)).toThrow(/max_size -> maxSize/);
    expect(() => buildTokenizer('word', 'a b', { lower_case: true } as never)).toThrow(/lower_case -> lowercase/);
    expect(() => new WordTokenizer(['<unk>', '<pad>', '<bos>', '<eos>'], { lower: true } as never)).toThrow(/unknown option 'lower'/);
    expect(CharTokenizer.fromText('ab').size).toBeGreaterThan(0);
    trainer.dispose();
    model.dispose();
  });

  it('creation, random and init options', async () => {
    expect(() => zeros([2], { requires_grad: true } as never)).toThrow(/requires_grad -> requiresGrad/);
    expect(() => tensor([1, 2], [2], { dType: 'int32' } as never)).toThrow(/did you mean dtype/);
    expect(() => tensor([1, 2], { requiresGrad: true } as never)).toThrow(/shape must be an array.*options are the third argument/);
    expect(() => randn([2], { dtype: 'int32' })).toThrow(DTypeError);
    expect(() => randn([2], { seed: 1 } as never)).toThrow(/unknown option 'seed'.*generator/);
    await expect(init({ backends: 'js' } as never)).rejects.toThrow(/unknown option 'backends' \(did you mean backend\?\)/);
  });
});

describe('clipping takes a module, a tensor or any iterable of tensors', () => {
  const f = fixture.clip;
  const build = (): nn.Linear => {
    const m = new nn.Linear(3, 2);
    m.loadStateDict(Object.fromEntries(Object.entries(f.params).map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
    for (const [k, p] of m.namedParameters()) {
      p.grad?.dispose();
      p.grad = toTensor(f.grads[k]);
    }
    return m;
  };

  for (const c of f.cases) {
    it(`clipGradNorm(module, ${c.maxNorm}, normType ${c.normType}) matches clip_grad_norm_`, () => {
      const m = build();
      const normType = c.normType === 'inf' ? Infinity : c.normType;
      const total = nn.utils.clipGradNorm(m, c.maxNorm, normType);
      expect(Math.abs(total - c.total) / c.total).toBeLessThan(1e-6);
      for (const [k, p] of m.namedParameters()) expectClose(p.grad, c.clipped[k], 1e-6, k);
      m.dispose();
    });
  }

  it('before: clipGradNorm(module, 1) returned 0 and clipped nothing; now the module, a Set, a generator and options all clip', () => {
    const m = build();
    expect(nn.utils.clipGradNorm(m, 1)).toBeCloseTo(f.cases[0].total, 4);
    const norm = (): number => Math.hypot(...m.parameters().flatMap((p) => Array.from(p.grad!.toArray())));
    expect(norm()).toBeCloseTo(1, 4);
    expect(nn.utils.clipGradNorm(new Set(m.parameters()), 0.5)).toBeCloseTo(1, 4);
    expect(nn.utils.clipGradNorm((function* () { yield* m.parameters(); })(), 0.25, { normType: 2 })).toBeCloseTo(0.5, 4);
    expect(nn.utils.clipGradNorm(m.weight, 1)).toBeGreaterThan(0);
    nn.utils.clipGradValue(m, 0.01);
    for (const p of m.parameters()) for (const v of p.grad!.toArray()) expect(Math.abs(v)).toBeLessThanOrEqual(0.01);
    m.dispose();
  });

  it('anything else is a typed error', () => {
    const m = build();
    expect(() => nn.utils.clipGradNorm(5 as never, 1)).toThrow(ValueError);
    expect(() => nn.utils.clipGradNorm({} as never, 1)).toThrow(/params must be a Module, a Tensor or an iterable of tensors/);
    expect(() => nn.utils.clipGradNorm([m.weight, 3] as never, 1)).toThrow(/params\[1\] must be a Tensor/);
    expect(() => nn.utils.clipGradValue(null as never, 1)).toThrow(ValueError);
    expect(() => nn.utils.clipGradNorm(m, 1, { norm_type: 1 } as never)).toThrow(/norm_type -> normType/);
    expect(() => nn.utils.clipGradNorm(m, 1, -1)).toThrow(/normType must be a number > 0/);
    m.parameters()[0].grad!.f32()[0] = NaN;
    expect(() => nn.utils.clipGradNorm(m, 1, { errorIfNonfinite: true })).toThrow(/total norm of order 2.*NaN/);
    m.dispose();
  });
});

describe('a Module finds its children in its fields', () => {
  class Fields extends Module {
    encoder = new nn.LSTM(3, 5, 2, { batchFirst: true });
    head = new nn.Linear(5, 2);
    forward(x: Tensor): Tensor {
      const [out] = this.encoder.forward(x);
      return this.head.forward(out);
    }
  }

  it('class fields (no addModule): PyTorch names and forward on shared weights', () => {
    const f = fixture.models.fields;
    const m = new Fields();
    expect(Object.keys(m.stateDict())).toEqual(f.names);
    expect(m.namedParameters().map(([n]) => n)).toEqual(f.names);
    loadFixture(m, f);
    m.eval();
    tidy(() => expectClose(m.forward(toTensor(f.input)), f.output, TOL, 'fields output'));
    m.dispose();
  });

  it('fields assigned in a subclass constructor after super(), in field-definition order; the optimizer sees them', () => {
    class Net extends Module {
      readonly encoder: nn.LSTM;
      readonly head: nn.Linear;
      constructor() {
        super();
        this.encoder = new nn.LSTM(3, 5, { numLayers: 2, batchFirst: true });
        this.head = new nn.Linear(5, 2);
      }
    }
    const m = new Net();
    expect(Object.keys(m.stateDict())).toEqual(fixture.models.fields.names);
    const opt = new optim.Adam(m.parameters(), 0.01);
    expect(opt.params.length).toBe(10);
    opt.dispose();
    m.dispose();
  });

  it('a module registered both ways counts once, under its registered name; explicit ones come first', () => {
    class Both extends Module {
      readonly a: nn.Linear;
      readonly b: nn.Linear;
      constructor() {
        super();
        this.a = new nn.Linear(2, 2);
        this.b = this.addModule('bee', new nn.Linear(2, 2));
      }
    }
    const m = new Both();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['bee.weight', 'bee.bias', 'a.weight', 'a.bias']);
    expect(m.parameters().length).toBe(4);
    expect(m.namedChildren().map(([n]) => n)).toEqual(['bee', 'a']);
    m.dispose();
  });

  it('nn.Parameter in a field is an own parameter, before the children; other tensors are not', () => {
    class Scaled extends Module {
      inner = new nn.Linear(2, 2);
      scale = nn.Parameter(tensor([1, 2]));
      cache = zeros([2]);
    }
    const before = memory().liveTensors;
    const m = tidy(() => new Scaled()); // the parameter leaves the scope; the cache does not
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale', 'inner.weight', 'inner.bias']);
    expect(m.scale.requiresGrad).toBe(true);
    expect(nn.isParameter(m.scale)).toBe(true);
    expect(m.cache.isDisposed).toBe(true);
    m.dispose();
    expect(m.scale.isDisposed).toBe(true);
    expect(memory().liveTensors).toBe(before);
    expect(() => nn.Parameter(tensor(Int32Array.from([1])))).toThrow(DTypeError);
  });

  it('shared modules: namedParameters lists each once, stateDict under every name (as PyTorch); cycles terminate', () => {
    class Tied extends Module {
      first = new nn.Linear(2, 2);
      second = this.first;
    }
    const m = new Tied();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['first.weight', 'first.bias']);
    expect(Object.keys(m.stateDict())).toEqual(['first.weight', 'first.bias', 'second.weight', 'second.bias']);
    class Child extends Module {
      lin = new nn.Linear(2, 2);
      parent: Module | null = null;
    }
    class Parent extends Module {
      child = new Child();
    }
    const p = new Parent();
    p.child.parent = p; // a back reference: a cycle through fields
    expect(p.namedParameters().map(([n]) => n)).toEqual(['child.lin.weight', 'child.lin.bias']);
    expect(p.namedModules().map(([n]) => n)).toEqual(['', 'child', 'child.lin']);
    p.eval();
    expect(p.child.lin.training).toBe(false);
    p.dispose();
    expect(() => p.child.parameters()).toThrow(/disposed/);
    m.dispose();
  });

  it('train/eval and dispose reach field children; plain arrays are not searched (use ModuleList)', () => {
    class WithDrop extends Module {
      drop = new nn.Dropout(0.5);
      layers = [new nn.Linear(2, 2)];
    }
    const m = new WithDrop();
    m.eval();
    expect(m.drop.training).toBe(false);
    expect(m.parameters()).toEqual([]);
    expect(() => new optim.SGD(m.parameters(), 0.1)).toThrow(/empty parameter list.*ModuleList/);
    m.layers[0].dispose();
    m.dispose();
    // A child's own train() override runs, as PyTorch's recursive train(mode).
    class Noting extends Module {
      calls: boolean[] = [];
      override train(mode = true): this {
        this.calls.push(mode);
        return super.train(mode);
      }
    }
    class Holder extends Module {
      inner = new Noting();
    }
    const h = new Holder();
    h.eval();
    h.train();
    expect(h.inner.calls).toEqual([false, true]);
    h.dispose();
  });

  it('nested: a ModuleList and a Sequential in fields', () => {
    const f = fixture.models.nested;
    class Nested extends Module {
      layers = new nn.ModuleList([new nn.Linear(3, 3), new nn.Linear(3, 3)]);
      out = new nn.Sequential(new nn.Linear(3, 2));
      forward(x: Tensor): Tensor {
        const l0 = this.layers[0] as nn.Linear;
        const l1 = this.layers.at(1) as nn.Linear;
        return this.out.forward(l1.forward(l0.forward(x).tanh()));
      }
    }
    const m = new Nested();
    expect(Object.keys(m.stateDict())).toEqual(f.names);
    loadFixture(m, f);
    tidy(() => expectClose(m.forward(toTensor(f.input)), f.output, TOL, 'nested output'));
    m.dispose();
  });
});

describe('containers and simple modules', () => {
  it('nn.Sequential: names "0", "2" as PyTorch, forward chains, Dropout in eval passes through', () => {
    const f = fixture.models.sequential;
    const seq = new nn.Sequential(new nn.Linear(4, 6), new nn.Dropout(0.5), new nn.Linear(6, 3));
    expect(Object.keys(seq.stateDict())).toEqual(f.names);
    loadFixture(seq, f);
    seq.eval();
    tidy(() => expectClose(seq.forward(toTensor(f.input)), f.output, TOL, 'sequential output'));
    expect(seq.length).toBe(3);
    expect(seq[1]).toBeInstanceOf(nn.Dropout);
    expect(seq.at(-1)).toBe(seq[2]);
    expect([...seq].map((m) => m.constructor.name)).toEqual(['Linear', 'Dropout', 'Linear']);
    expect(() => seq.at(3)).toThrow(/index 3 is out of range for 3 modules/);
    expect(() => new nn.Sequential(new nn.Linear(2, 2), 3 as never)).toThrow(/item 1 must be a Module/);
    seq.dispose();
  });

  it('nn.ModuleList: indexable, iterable, append, names "0", "1"', () => {
    const list = new nn.ModuleList([new nn.Linear(2, 3)]);
    list.append(new nn.GRU(3, 4));
    expect(list.length).toBe(2);
    expect(list[1]).toBeInstanceOf(nn.GRU);
    expect([...list].length).toBe(2);
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '1.weight_ih_l0', '1.weight_hh_l0', '1.bias_ih_l0', '1.bias_hh_l0']);
    expect(() => list.append({} as never)).toThrow(ValueError);
    list.dispose();
  });

  it('nn.Dropout: drops in train mode with its generator, identity in eval', () => {
    tidy(() => {
      const x = randn([4, 8]);
      const a = new nn.Dropout(0.5, { generator: new Generator(7) });
      const b = new nn.Dropout(0.5, { generator: new Generator(7) });
      const ya = a.forward(x).toArray();
      expect(Array.from(ya)).toEqual(Array.from(b.forward(x).toArray()));
      expect(ya.filter((v) => v === 0).length).toBeGreaterThan(0);
      a.eval();
      expect(a.forward(x)).toBe(x);
      expect(() => new nn.Dropout(1.5)).toThrow(/p must be a number in \[0, 1\]/);
      expect(() => new nn.Dropout(0.5, { seed: 1 } as never)).toThrow(/unknown option 'seed'/);
      expect(new nn.Identity().forward(x)).toBe(x);
      expect(a.parameters()).toEqual([]);
    });
  });
});
