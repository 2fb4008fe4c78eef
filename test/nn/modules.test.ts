/**
 * Module behaviour beyond the PyTorch numeric fixtures: default initialization, seeding,
 * state-dict names and shapes, strict loading, inter-layer dropout, input layouts (unbatched,
 * batchFirst), constant memory when streaming, and how bad input fails (including NaN, which
 * must stay inside the sequence that holds it).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, memory, nn, noGrad, randn, tensor, tidy, zeros, Module,
  DTypeError, IndexError, ShapeError, ValueError, type Tensor,
} from 'lstm-wasm';
import {
  buildRnn, dims, expectBitEqual, expectNear, forwardRnn, loadValues, paramValues, randomF32, type RnnSpec,
} from './rnn-testkit';

const FORWARD_TOL = 2e-5;

type ErrorClass = new (...args: any[]) => Error;

beforeAll(async () => {
  await init();
});

function stats(v: ArrayLike<number>): { min: number; max: number; mean: number; std: number } {
  let min = Infinity;
  let max = -Infinity;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    min = Math.min(min, v[i]);
    max = Math.max(max, v[i]);
    s += v[i];
  }
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(q / v.length) };
}

/** Every value in [-bound, bound], spread over the range, mean ~0 and variance ~bound^2/3 (uniform). */
function expectUniformInit(name: string, v: Float32Array, bound: number): void {
  const s = stats(v);
  expect(s.min, `${name}: min`).toBeGreaterThanOrEqual(-bound);
  expect(s.max, `${name}: max`).toBeLessThanOrEqual(bound);
  expect(s.min, `${name}: min spreads to -bound`).toBeLessThan(-0.8 * bound);
  expect(s.max, `${name}: max spreads to +bound`).toBeGreaterThan(0.8 * bound);
  if (v.length >= 1000) {
    expect(Math.abs(s.mean), `${name}: mean`).toBeLessThan(0.05 * bound);
    expect(s.std / (bound / Math.sqrt(3)), `${name}: std relative to a uniform's`).toBeGreaterThan(0.95);
    expect(s.std / (bound / Math.sqrt(3)), `${name}: std relative to a uniform's`).toBeLessThan(1.05);
  }
}

describe('PyTorch default initialization', () => {
  const H = 64;
  const modules: [string, () => Module][] = [
    ['LSTM(10, 64, 2 layers, bi, projSize=16)', () => new nn.LSTM(10, H, { numLayers: 2, bidirectional: true, projSize: 16 })],
    ['GRU(10, 64, 2 layers)', () => new nn.GRU(10, H, { numLayers: 2 })],
    ['RNN(10, 64, relu, bi)', () => new nn.RNN(10, H, { nonlinearity: 'relu', bidirectional: true })],
    ['LSTMCell(10, 64)', () => new nn.LSTMCell(10, H)],
    ['GRUCell(10, 64)', () => new nn.GRUCell(10, H)],
    ['RNNCell(10, 64)', () => new nn.RNNCell(10, H)],
  ];
  for (const [name, make] of modules) {
    it(`${name}: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))`, () => {
      manualSeed(2024);
      const m = make();
      const named = m.namedParameters();
      expect(named.length).toBeGreaterThan(0);
      for (const [n, p] of named) expectUniformInit(n, p.toArray() as Float32Array, 1 / Math.sqrt(H));
      m.dispose();
    });
  }

  it('Linear(200, 50): weight and bias ~ U(-1/sqrt(in), 1/sqrt(in))', () => {
    manualSeed(3);
    const lin = new nn.Linear(200, 50);
    for (const [n, p] of lin.namedParameters()) expectUniformInit(n, p.toArray() as Float32Array, 1 / Math.sqrt(200));
    expect(lin.namedParameters().map(([n, p]) => [n, Array.from(p.shape)])).toEqual([['weight', [50, 200]], ['bias', [50]]]);
    const noBias = new nn.Linear(200, 50, { bias: false });
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
    lin.dispose();
    noBias.dispose();
  });

  it('Embedding(1000, 64): weights ~ N(0, 1)', () => {
    manualSeed(4);
    const emb = new nn.Embedding(1000, 64);
    const s = stats(emb.weight.toArray());
    // 64000 samples: the standard error of the mean is 0.004, of the std about 0.003.
    expect(Math.abs(s.mean)).toBeLessThan(0.02);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.02);
    expect(s.max).toBeGreaterThan(3.5);
    expect(s.min).toBeLessThan(-3.5);
    emb.dispose();
  });

  for (const [pad, row] of [[3, 3], [-1, 999]] as const) {
    it(`Embedding paddingIdx=${pad}: row ${row} is zero and gets no gradient`, () => {
      manualSeed(5);
      const emb = new nn.Embedding(1000, 8, { paddingIdx: pad });
      expect(emb.paddingIdx).toBe(row);
      const w = emb.weight.toArray();
      expect(Array.from(w.subarray(row * 8, row * 8 + 8))).toEqual(new Array(8).fill(0));
      expect(stats(w.subarray(0, 8)).std).toBeGreaterThan(0); // other rows are not zero
      tidy(() => {
        const ids = tensor(Int32Array.from([row, 7, row, 2, 7, row]), [2, 3]);
        const out = emb.forward(ids);
        expect(Array.from(out.shape)).toEqual([2, 3, 8]);
        const o = out.toArray();
        expect(Array.from(o.subarray(0, 8))).toEqual(new Array(8).fill(0));
        out.mul(tensor(randomF32(48, 6), [2, 3, 8])).sum().backward();
      });
      const g = (emb.weight.grad as Tensor).toArray();
      expect(Array.from(g.subarray(row * 8, row * 8 + 8)), 'padding row gradient').toEqual(new Array(8).fill(0));
      expect(stats(g.subarray(7 * 8, 8 * 8)).std, 'used row 7 has a gradient').toBeGreaterThan(0);
      expect(Array.from(g.subarray(5 * 8, 6 * 8)), 'unused row 5').toEqual(new Array(8).fill(0));
      emb.dispose();
    });
  }
});

describe('seeding', () => {
  const makers: [string, () => Module][] = [
    ['LSTM', () => new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2 })],
    ['GRU', () => new nn.GRU(3, 5)],
    ['RNNCell', () => new nn.RNNCell(3, 5)],
    ['Linear', () => new nn.Linear(3, 5)],
    ['Embedding', () => new nn.Embedding(7, 5)],
  ];
  for (const [name, make] of makers) {
    it(`${name}: manualSeed(s) twice gives identical parameters; another seed differs`, () => {
      manualSeed(123);
      const a = make();
      manualSeed(123);
      const b = make();
      manualSeed(124);
      const c = make();
      const va = paramValues(a);
      const vb = paramValues(b);
      const vc = paramValues(c);
      for (const [n, v] of va) {
        expectBitEqual(vb.get(n) as Float32Array, v, `${name}.${n} same seed`);
        const other = vc.get(n) as Float32Array;
        let diff = 0;
        for (let i = 0; i < v.length; i++) if (v[i] !== other[i]) diff++;
        expect(diff, `${name}.${n}: values that differ under another seed`).toBeGreaterThan(v.length / 2);
      }
      for (const m of [a, b, c]) m.dispose();
    });
  }
});

describe('state dict: PyTorch names, order and shapes', () => {
  it('LSTM(5, 7, numLayers=2, bidirectional, projSize=3)', () => {
    const lstm = new nn.LSTM(5, 7, { numLayers: 2, bidirectional: true, projSize: 3 });
    const expected: [string, number[]][] = [];
    for (const l of [0, 1]) {
      for (const sfx of ['', '_reverse']) {
        expected.push(
          [`weight_ih_l${l}${sfx}`, [28, l === 0 ? 5 : 6]],
          [`weight_hh_l${l}${sfx}`, [28, 3]],
          [`bias_ih_l${l}${sfx}`, [28]],
          [`bias_hh_l${l}${sfx}`, [28]],
          [`weight_hr_l${l}${sfx}`, [3, 7]],
        );
      }
    }
    const sd = lstm.stateDict();
    expect(Object.entries(sd).map(([n, t]) => [n, Array.from(t.shape)])).toEqual(expected);
    expect(Array.from(sd.weight_hr_l1_reverse.shape)).toEqual([3, 7]);
    lstm.dispose();
  });

  it('GRU(5, 7, numLayers=2, bidirectional, bias=false) and RNN(5, 7)', () => {
    const gru = new nn.GRU(5, 7, { numLayers: 2, bidirectional: true, bias: false });
    expect(Object.entries(gru.stateDict()).map(([n, t]) => [n, Array.from(t.shape)])).toEqual([
      ['weight_ih_l0', [21, 5]], ['weight_hh_l0', [21, 7]], ['weight_ih_l0_reverse', [21, 5]], ['weight_hh_l0_reverse', [21, 7]],
      ['weight_ih_l1', [21, 14]], ['weight_hh_l1', [21, 7]], ['weight_ih_l1_reverse', [21, 14]], ['weight_hh_l1_reverse', [21, 7]],
    ]);
    const rnn = new nn.RNN(5, 7);
    expect(Object.entries(rnn.stateDict()).map(([n, t]) => [n, Array.from(t.shape)])).toEqual([
      ['weight_ih_l0', [7, 5]], ['weight_hh_l0', [7, 7]], ['bias_ih_l0', [7]], ['bias_hh_l0', [7]],
    ]);
    const cell = new nn.LSTMCell(5, 7);
    expect(Object.entries(cell.stateDict()).map(([n, t]) => [n, Array.from(t.shape)])).toEqual([
      ['weight_ih', [28, 5]], ['weight_hh', [28, 7]], ['bias_ih', [28]], ['bias_hh', [28]],
    ]);
    for (const m of [gru, rnn, cell]) m.dispose();
  });

  it('a composed module prefixes child names (PyTorch dotted keys)', () => {
    class Model extends Module {
      embed = this.addModule('embed', new nn.Embedding(10, 4));
      rnn = this.addModule('rnn', new nn.GRU(4, 6));
      head = this.addModule('head', new nn.Linear(6, 10));
    }
    const m = new Model();
    expect(Object.keys(m.stateDict())).toEqual([
      'embed.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias',
    ]);
    m.dispose();
  });
});

describe('loadStateDict is strict and atomic', () => {
  const make = () => new nn.LSTM(3, 4, { numLayers: 2, projSize: 2 });
  const validDict = (m: Module) => Object.fromEntries(
    m.namedParameters().map(([n, p]) => [n, { shape: p.shape.slice(), data: randomF32(p.size, n.length) }]),
  );
  const failures: [string, (d: Record<string, any>) => void, ErrorClass, RegExp][] = [
    ['a missing key', (d) => delete d.bias_hh_l1, ValueError, /missing key\(s\): bias_hh_l1/],
    ['two missing keys', (d) => {
      delete d.weight_hr_l0;
      delete d.weight_ih_l1;
    }, ValueError, /missing key\(s\): weight_hr_l0, weight_ih_l1/],
    ['an unexpected key', (d) => {
      d.weight_ih_l2 = { shape: [16, 2], data: new Float32Array(32) };
    }, ValueError, /unexpected key\(s\): weight_ih_l2/],
    ['a mis-shaped key (last in order)', (d) => {
      d.weight_hr_l1 = { shape: [4, 2], data: new Float32Array(8) };
    }, ShapeError, /weight_hr_l1 has shape \[4, 2\], expected \[2, 4\]/],
    ['a key with too few values', (d) => {
      d.bias_ih_l1 = { shape: [16], data: new Float32Array(15) };
    }, ShapeError, /bias_ih_l1 has 15 values, expected 16/],
    ['an int32 tensor', (d) => {
      d.bias_ih_l0 = tensor(new Int32Array(16), [16]);
    }, ValueError, /bias_ih_l0 is int32, expected float32/],
  ];
  for (const [what, corrupt, error, message] of failures) {
    it(`${what}: throws naming it, and the module is unchanged`, () => {
      manualSeed(8);
      const m = make();
      const before = paramValues(m);
      const dict = validDict(m);
      corrupt(dict);
      let caught: unknown = null;
      try {
        m.loadStateDict(dict);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(error);
      expect((caught as Error).message).toMatch(message);
      const after = paramValues(m);
      for (const [n, v] of before) expectBitEqual(after.get(n) as Float32Array, v, `${n} after a failed load`);
      for (const v of Object.values(dict) as unknown[]) if (v instanceof Object && 'dispose' in v) (v as Tensor).dispose();
      // A valid dict still loads afterwards.
      const good = validDict(m);
      m.loadStateDict(good);
      expectBitEqual(m.stateDict().weight_hr_l1.toArray(), good.weight_hr_l1.data, 'weight_hr_l1 after a good load');
      m.dispose();
    });
  }

  it('loading another module\'s stateDict() copies values (no aliasing)', () => {
    manualSeed(9);
    const a = make();
    const b = make();
    b.loadStateDict(a.stateDict());
    expectBitEqual(b.stateDict().weight_ih_l0.toArray(), a.stateDict().weight_ih_l0.toArray(), 'copied');
    a.stateDict().weight_ih_l0.f32()[0] += 1;
    expect(b.stateDict().weight_ih_l0.toArray()[0]).not.toBe(a.stateDict().weight_ih_l0.toArray()[0]);
    a.dispose();
    b.dispose();
  });
});

describe('dropout between layers', () => {
  const T = 5;
  const B = 3;
  const run = (m: nn.RNNBase, x: Float32Array) => noGrad(() => tidy(() => {
    const r = forwardRnn(m, tensor(x, [T, B, 4]), null, null);
    return { output: r.output.toArray(), hN: r.hN.toArray() };
  }));
  const x = randomF32(T * B * 4, 71);

  for (const kind of ['LSTM', 'GRU', 'RNN_TANH'] as const) {
    it(`${kind} 2 layers, dropout=0.5: eval is deterministic and equals dropout=0; train differs`, () => {
      manualSeed(10);
      const m = buildRnn({ kind, inputSize: 4, hiddenSize: 6, numLayers: 2, dropout: 0.5 });
      const ref = buildRnn({ kind, inputSize: 4, hiddenSize: 6, numLayers: 2 });
      loadValues(ref, paramValues(m));
      m.eval();
      const e1 = run(m, x);
      const e2 = run(m, x);
      expectBitEqual(e2.output, e1.output, 'eval output twice');
      expectNear(e1.output, run(ref, x).output, 0, 'eval output vs dropout=0');
      m.train();
      const t1 = run(m, x);
      const t2 = run(m, x);
      let changed = 0;
      for (let i = 0; i < e1.output.length; i++) if (t1.output[i] !== e1.output[i]) changed++;
      expect(changed, 'train-mode outputs that differ from eval').toBeGreaterThan(e1.output.length / 2);
      let fresh = 0;
      for (let i = 0; i < t1.output.length; i++) if (t1.output[i] !== t2.output[i]) fresh++;
      expect(fresh, 'a new mask every call').toBeGreaterThan(0);
      // The masks come from the global generator: reseeding reproduces them.
      manualSeed(55);
      const s1 = run(m, x);
      manualSeed(55);
      const s2 = run(m, x);
      expectBitEqual(s2.output, s1.output, 'train output after the same seed');
      m.dispose();
      ref.dispose();
    });
  }

  it('1-layer LSTM with dropout=0.5: no effect even in train mode (as PyTorch)', () => {
    manualSeed(11);
    const m = new nn.LSTM(4, 6, { dropout: 0.5 });
    const ref = new nn.LSTM(4, 6);
    loadValues(ref, paramValues(m));
    m.train();
    expectBitEqual(run(m, x).output, run(ref, x).output, 'train output vs no dropout');
    m.dispose();
    ref.dispose();
  });

  it('dropout=1 in train mode: layer 2 sees zeros (equals a 1-layer LSTM with layer-2 weights on zero input)', () => {
    manualSeed(12);
    const m = new nn.LSTM(4, 6, { numLayers: 2, dropout: 1 });
    const top = new nn.LSTM(6, 6);
    const v = paramValues(m);
    loadValues(top, new Map([...v].filter(([n]) => n.endsWith('_l1')).map(([n, d]) => [n.replace('_l1', '_l0'), d])));
    m.train();
    const got = run(m, x);
    const want = noGrad(() => tidy(() => {
      const r = forwardRnn(top, zeros([T, B, 6]), null, null);
      return r.output.toArray();
    }));
    expectNear(got.output, want, FORWARD_TOL, 'output');
    m.dispose();
    top.dispose();
  });
});

describe('input layouts', () => {
  const specs: RnnSpec[] = [
    { kind: 'LSTM', inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2 },
    { kind: 'GRU', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true },
    { kind: 'RNN_RELU', inputSize: 3, hiddenSize: 4 },
  ];
  for (const spec of specs) {
    it(`${spec.kind}: unbatched (T, I) equals batched (T, 1, I)`, () => {
      manualSeed(20);
      const m = buildRnn(spec);
      const { LD, P, H, D } = dims(spec);
      const T = 4;
      const x = randomF32(T * 3, 21);
      const h0 = randomF32(LD * P, 22);
      const c0 = randomF32(LD * H, 23);
      const isLstm = spec.kind === 'LSTM';
      tidy(() => {
        const u = forwardRnn(m, tensor(x, [T, 3]), tensor(h0, [LD, P]), isLstm ? tensor(c0, [LD, H]) : null);
        const b = forwardRnn(m, tensor(x, [T, 1, 3]), tensor(h0, [LD, 1, P]), isLstm ? tensor(c0, [LD, 1, H]) : null);
        expect(Array.from(u.output.shape)).toEqual([T, D * P]);
        expect(Array.from(u.hN.shape)).toEqual([LD, P]);
        expectNear(u.output.toArray(), b.output.toArray(), FORWARD_TOL, 'output');
        expectNear(u.hN.toArray(), b.hN.toArray(), FORWARD_TOL, 'hN');
        if (isLstm) {
          expect(Array.from((u.cN as Tensor).shape)).toEqual([LD, H]);
          expectNear((u.cN as Tensor).toArray(), (b.cN as Tensor).toArray(), FORWARD_TOL, 'cN');
        }
      });
      m.dispose();
    });

    it(`${spec.kind}: batchFirst (B, T, I) equals time-major after transposing`, () => {
      manualSeed(30);
      const tm = buildRnn(spec);
      const bf = buildRnn({ ...spec, batchFirst: true });
      loadValues(bf, paramValues(tm));
      const { LD, P, H, D } = dims(spec);
      const T = 4;
      const B = 3;
      const W = D * P;
      const xt = randomF32(T * B * 3, 31);
      const xb = new Float32Array(xt.length);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < 3; i++) xb[(b * T + t) * 3 + i] = xt[(t * B + b) * 3 + i];
      const h0 = randomF32(LD * B * P, 32);
      const c0 = randomF32(LD * B * H, 33);
      const isLstm = spec.kind === 'LSTM';
      tidy(() => {
        const a = forwardRnn(tm, tensor(xt, [T, B, 3]), tensor(h0, [LD, B, P]), isLstm ? tensor(c0, [LD, B, H]) : null);
        // h0/c0 stay (L*D, B, ·) whatever batchFirst says (PyTorch).
        const b = forwardRnn(bf, tensor(xb, [B, T, 3]), tensor(h0, [LD, B, P]), isLstm ? tensor(c0, [LD, B, H]) : null, [4, 2, 3]);
        const a2 = forwardRnn(tm, tensor(xt, [T, B, 3]), tensor(h0, [LD, B, P]), isLstm ? tensor(c0, [LD, B, H]) : null, [4, 2, 3]);
        expect(Array.from(b.output.shape)).toEqual([B, T, W]);
        const ob = b.output.toArray();
        const oa = a2.output.toArray();
        const back = new Float32Array(ob.length);
        for (let t = 0; t < T; t++) for (let bb = 0; bb < B; bb++) for (let j = 0; j < W; j++) back[(t * B + bb) * W + j] = ob[(bb * T + t) * W + j];
        expectNear(back, oa, FORWARD_TOL, 'output (with lengths)');
        expectNear(b.hN.toArray(), a2.hN.toArray(), FORWARD_TOL, 'hN (with lengths)');
        // And without lengths.
        const c = forwardRnn(bf, tensor(xb, [B, T, 3]), tensor(h0, [LD, B, P]), isLstm ? tensor(c0, [LD, B, H]) : null);
        const oc = c.output.toArray();
        const ref = a.output.toArray();
        for (let t = 0; t < T; t++) for (let bb = 0; bb < B; bb++) for (let j = 0; j < W; j++) back[(t * B + bb) * W + j] = oc[(bb * T + t) * W + j];
        expectNear(back, ref, FORWARD_TOL, 'output');
        expectNear(c.hN.toArray(), a.hN.toArray(), FORWARD_TOL, 'hN');
        if (isLstm) expectNear((c.cN as Tensor).toArray(), (a.cN as Tensor).toArray(), FORWARD_TOL, 'cN');
      });
      tm.dispose();
      bf.dispose();
    });
  }
});

describe('cells: unbatched input', () => {
  for (const kind of ['LSTM', 'GRU', 'RNN'] as const) {
    it(`${kind}Cell: (I) with (H) state equals (1, I) with (1, H)`, () => {
      manualSeed(50);
      const cell = kind === 'LSTM' ? new nn.LSTMCell(3, 4) : kind === 'GRU' ? new nn.GRUCell(3, 4) : new nn.RNNCell(3, 4);
      const x = randomF32(3, 51);
      const h = randomF32(4, 52);
      const c = randomF32(4, 53);
      tidy(() => {
        if (cell instanceof nn.LSTMCell) {
          const [hu, cu] = cell.forward(tensor(x, [3]), [tensor(h, [4]), tensor(c, [4])]);
          const [hb, cb] = cell.forward(tensor(x, [1, 3]), [tensor(h, [1, 4]), tensor(c, [1, 4])]);
          expect(Array.from(hu.shape)).toEqual([4]);
          expect(Array.from(cu.shape)).toEqual([4]);
          expectNear(hu.toArray(), hb.toArray(), FORWARD_TOL, 'h');
          expectNear(cu.toArray(), cb.toArray(), FORWARD_TOL, 'c');
        } else {
          const g = cell as nn.GRUCell;
          const hu = g.forward(tensor(x, [3]), tensor(h, [4]));
          const hb = g.forward(tensor(x, [1, 3]), tensor(h, [1, 4]));
          expect(Array.from(hu.shape)).toEqual([4]);
          expectNear(hu.toArray(), hb.toArray(), FORWARD_TOL, 'h');
        }
      });
      cell.dispose();
    });
  }
});

describe('streaming inference keeps memory flat', () => {
  const STEPS = 500;
  for (const [name, make] of [
    ['LSTM 2 layers projSize=4', () => new nn.LSTM(8, 16, { numLayers: 2, projSize: 4 })],
    ['GRU 2 layers', () => new nn.GRU(8, 16, { numLayers: 2 })],
    ['RNN', () => new nn.RNN(8, 16)],
  ] as const) {
    it(`${name}: ${STEPS} steps of T=1 under noGrad`, () => {
      manualSeed(40);
      const m = make();
      m.eval();
      const isLstm = m instanceof nn.LSTM;
      const LD = m.numLayers;
      let state: Tensor[] = isLstm ? [zeros([LD, 1, m.outSize]), zeros([LD, 1, m.hiddenSize])] : [zeros([LD, 1, m.outSize])];
      const base = memory().liveTensors;
      let atWarm = memory();
      let lastOut = 0;
      noGrad(() => {
        for (let step = 0; step < STEPS; step++) {
          const next = tidy(() => {
            const x = randn([1, 1, 8]);
            const r = forwardRnn(m, x, state[0], isLstm ? state[1] : null);
            lastOut = r.output.toArray()[0];
            return r.cN ? [r.hN, r.cN] : [r.hN];
          });
          for (const t of state) t.dispose();
          state = next;
          if (step === 49) atWarm = memory();
        }
      });
      const end = memory();
      expect(Number.isFinite(lastOut)).toBe(true);
      expect(end.liveTensors, 'live tensors: only the carried state').toBe(base);
      expect(end.liveTensors).toBe(atWarm.liveTensors);
      expect(end.tensorBytes).toBe(atWarm.tensorBytes);
      expect(end.heapBytes, 'heap did not grow after warm-up').toBe(atWarm.heapBytes);
      for (const t of state) t.dispose();
      m.dispose();
    });
  }
});

describe('bad input', () => {
  /** Runs fn outside any scope and asserts it throws `error` matching `message` without leaking tensors. */
  function expectThrowsClean(fn: () => unknown, error: ErrorClass, message: RegExp): void {
    const live = memory().liveTensors;
    let caught: unknown = null;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught, 'should throw').toBeInstanceOf(error);
    expect((caught as Error).message).toMatch(message);
    expect(memory().liveTensors, `tensors leaked by the failed call (${(caught as Error).message})`).toBe(live);
  }

  it('wrong input width names inputSize', () => {
    const m = new nn.LSTM(5, 4, { numLayers: 2 });
    const x = tensor(randomF32(3 * 2 * 4, 1), [3, 2, 4]);
    expectThrowsClean(() => m.forward(x), ShapeError, /LSTM\.forward: input has 4 features, expected inputSize=5/);
    const g = new nn.GRU(5, 4);
    expectThrowsClean(() => g.forward(x), ShapeError, /GRU\.forward: .*expected inputSize=5/);
    x.dispose();
    m.dispose();
    g.dispose();
  });

  it('wrong rank and empty time dimension', () => {
    const m = new nn.GRU(3, 4);
    const x1 = tensor([1, 2, 3]);
    expectThrowsClean(() => m.forward(x1), ShapeError, /GRU\.forward: input must be 3-D .*got \[3\]/);
    const x0 = zeros([0, 2, 3]);
    expectThrowsClean(() => m.forward(x0), ShapeError, /no time steps/);
    for (const t of [x1, x0]) t.dispose();
    m.dispose();
  });

  it('wrong h0 / c0 shapes name the state and the expected shape', () => {
    const m = new nn.LSTM(3, 4, { numLayers: 2, projSize: 2 });
    const x = tensor(randomF32(5 * 3 * 3, 2), [5, 3, 3]);
    const h0 = zeros([2, 3, 2]);
    const c0 = zeros([2, 3, 4]);
    const badH = zeros([2, 3, 4]); // hiddenSize instead of projSize
    const badC = zeros([1, 3, 4]);
    expectThrowsClean(() => m.forward(x, [badH, c0]), ShapeError, /h0 has shape \[2, 3, 4\], expected \[2, 3, 2\]/);
    expectThrowsClean(() => m.forward(x, [h0, badC]), ShapeError, /c0 has shape \[1, 3, 4\], expected \[2, 3, 4\]/);
    expectThrowsClean(() => m.forward(x, [h0] as unknown as [Tensor, Tensor]), ValueError, /hx must be \[h0, c0\]/);
    const g = new nn.GRU(3, 4, { bidirectional: true });
    const badG = zeros([1, 3, 4]);
    expectThrowsClean(() => g.forward(x, badG), ShapeError, /h0 has shape \[1, 3, 4\], expected \[2, 3, 4\]/);
    for (const t of [x, h0, c0, badH, badC, badG]) t.dispose();
    m.dispose();
    g.dispose();
  });

  // Validation that fails after the input was re-laid-out (batchFirst swap, unbatched reshape, the
  // cell's (1, B, I) view) must free that copy: outside a tidy nothing else ever will.
  it('batchFirst input with a bad h0 does not leak the transposed input', () => {
    const bf = new nn.GRU(3, 4, { batchFirst: true });
    const x = tensor(randomF32(2 * 5 * 3, 3), [2, 5, 3]);
    const badH = zeros([1, 5, 4]);
    expectThrowsClean(() => bf.forward(x, badH), ShapeError, /h0 has shape \[1, 5, 4\], expected \[1, 2, 4\]/);
    for (const t of [x, badH]) t.dispose();
    bf.dispose();
  });

  it('batchFirst input with bad lengths does not leak the transposed input', () => {
    const bf = new nn.LSTM(3, 4, { batchFirst: true });
    const x = tensor(randomF32(2 * 5 * 3, 3), [2, 5, 3]);
    expectThrowsClean(() => bf.forward(x, null, { lengths: [5, 6] }), IndexError, /lengths\[1\] = 6/);
    x.dispose();
    bf.dispose();
  });

  it('unbatched input with a bad c0 does not leak the reshaped input/state', () => {
    const un = new nn.LSTM(3, 4);
    const xu = tensor(randomF32(5 * 3, 4), [5, 3]);
    const hu = zeros([1, 4]);
    const badCu = zeros([2, 4]);
    expectThrowsClean(() => un.forward(xu, [hu, badCu]), ShapeError, /c0 has shape \[2, 4\], expected \[1, 4\]/);
    for (const t of [xu, hu, badCu]) t.dispose();
    un.dispose();
  });

  it('a cell with a bad state shape fails cleanly (no leaked input view)', () => {
    const cell = new nn.GRUCell(3, 4);
    const x = tensor(randomF32(2 * 3, 5), [2, 3]);
    const badH = zeros([3, 4]);
    expectThrowsClean(() => cell.forward(x, badH), ShapeError, /GRUCell\.forward: hx has shape \[3, 4\], expected \[2, 4\]/);
    for (const t of [x, badH]) t.dispose();
    cell.dispose();
  });

  it('a cell with a wrong input width names the expected width', () => {
    const cell = new nn.GRUCell(3, 4);
    const xw = zeros([2, 5]);
    expectThrowsClean(() => cell.forward(xw), ShapeError, /GRUCell\.forward: input has shape \[2, 5\], expected \(batch, 3\)/);
    xw.dispose();
    cell.dispose();
  });

  it('int32 input is a DTypeError', () => {
    const m = new nn.LSTM(3, 4);
    const x = tensor(new Int32Array(2 * 1 * 3), [2, 1, 3]);
    expectThrowsClean(() => m.forward(x), DTypeError, /LSTM\.forward: input must be float32, got int32/);
    const cell = new nn.LSTMCell(3, 4);
    const xi = tensor(new Int32Array(3), [1, 3]);
    expectThrowsClean(() => cell.forward(xi), DTypeError, /LSTMCell\.forward: input must be a float32 Tensor/);
    xi.dispose();
    x.dispose();
    m.dispose();
    cell.dispose();
  });

  it('Embedding: a token id out of range is an IndexError naming the id', () => {
    const emb = new nn.Embedding(10, 4);
    const high = tensor(Int32Array.from([1, 2, 10, 3]), [2, 2]);
    expectThrowsClean(() => emb.forward(high), IndexError, /token id 10 at position 2 is out of range for 10 embeddings/);
    const neg = tensor(Int32Array.from([0, -1]), [2]);
    expectThrowsClean(() => emb.forward(neg), IndexError, /token id -1 at position 1/);
    const float = tensor([1, 2]);
    expectThrowsClean(() => emb.forward(float), DTypeError, /ids/);
    for (const t of [high, neg, float]) t.dispose();
    emb.dispose();
  });

  describe('NaN in one sequence stays in that sequence', () => {
    const T = 4;
    const B = 3;
    const I = 3;
    const NAN_T = 2;
    const NAN_B = 1;
    const specs: RnnSpec[] = [
      { kind: 'GRU', inputSize: I, hiddenSize: 4 },
      { kind: 'RNN_TANH', inputSize: I, hiddenSize: 4 },
      { kind: 'LSTM', inputSize: I, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3 },
    ];
    for (const spec of specs) {
      it(`${spec.kind}${spec.bidirectional ? ' bi 2 layers' : ''}`, () => {
        manualSeed(60);
        const m = buildRnn(spec);
        const { LD, P, H, D } = dims(spec);
        const W = D * P;
        const clean = randomF32(T * B * I, 61);
        const dirty = clean.slice();
        dirty[(NAN_T * B + NAN_B) * I + 1] = NaN;
        const R = randomF32(T * B * W, 62);
        const run = (x: Float32Array) => tidy(() => {
          const xt = tensor(x, [T, B, I], { requiresGrad: true });
          const r = forwardRnn(m, xt, null, null);
          r.output.mul(tensor(R, [T, B, W])).sum().backward();
          return {
            output: r.output.toArray(), hN: r.hN.toArray(), cN: r.cN ? r.cN.toArray() : null,
            gx: (xt.grad as Tensor).toArray(),
          };
        });
        const a = run(clean);
        const b = run(dirty);
        // Outputs: other sequences bit-identical; the NaN sequence NaN from the NaN step on
        // (every step when bidirectional or stacked on a bidirectional layer).
        for (let t = 0; t < T; t++) {
          for (let bb = 0; bb < B; bb++) {
            const at = (t * B + bb) * W;
            const got = b.output.subarray(at, at + W);
            const want = a.output.subarray(at, at + W);
            if (bb !== NAN_B) expectBitEqual(got, want, `output (t=${t}, b=${bb})`);
            else if (t >= NAN_T || spec.bidirectional) expect(Array.from(got).every(Number.isNaN), `output (t=${t}, b=${bb}) is NaN`).toBe(true);
            else expectBitEqual(got, want, `output (t=${t}, b=${bb}) before the NaN`);
          }
        }
        const checkState = (got: Float32Array, want: Float32Array, w: number, what: string) => {
          for (let ld = 0; ld < LD; ld++) {
            for (let bb = 0; bb < B; bb++) {
              const at = (ld * B + bb) * w;
              if (bb === NAN_B) expect(Array.from(got.subarray(at, at + w)).every(Number.isNaN), `${what}[${ld}, ${bb}] is NaN`).toBe(true);
              else expectBitEqual(got.subarray(at, at + w), want.subarray(at, at + w), `${what}[${ld}, ${bb}]`);
            }
          }
        };
        checkState(b.hN as Float32Array, a.hN as Float32Array, P, 'hN');
        if (b.cN) checkState(b.cN as Float32Array, a.cN as Float32Array, H, 'cN');
        // Input gradients of the other sequences are unaffected too.
        for (let t = 0; t < T; t++) {
          for (let bb = 0; bb < B; bb++) {
            if (bb === NAN_B) continue;
            const at = (t * B + bb) * I;
            expectBitEqual(b.gx.subarray(at, at + I), a.gx.subarray(at, at + I), `grad input (t=${t}, b=${bb})`);
          }
        }
        m.zeroGrad();
        m.dispose();
      });
    }
  });
});
