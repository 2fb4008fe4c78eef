// nn.Stepper: one step at a time equals the whole sequence at once, state kept inside, lanes
// selected for beam search, memory flat; and LSTM's forgetBias init option.
import { describe, expect, it, beforeAll } from 'vitest';
import { init, manualSeed, memory, nn, randn, tensor, tidy, LanguageModel, feedPrime, DisposedError, ShapeError, ValueError } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  expect(d).toBeLessThan(tol);
};

describe('nn.Stepper', () => {
  it('LanguageModel.stepper: token by token equals forward over the whole (T, B) window', () => {
    manualSeed(1);
    const model = new LanguageModel({ vocabSize: 11, cell: 'lstm', embedDim: 5, hiddenSize: 7, numLayers: 2 });
    const T = 6;
    const B = 3;
    const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % 11);
    const whole = tidy(() => model.forward(tensor(ids, [T, B])).logits.toArray());
    const stepper = model.stepper();
    for (let t = 0; t < T; t++) {
      const logits = stepper.step(ids.subarray(t * B, (t + 1) * B));
      expect(stepper.outputShape).toEqual([1, B, 11]);
      close(logits, whole.subarray(t * B * 11, (t + 1) * B * 11));
    }
    stepper.dispose();
    model.dispose();
  });

  it('select keeps and reorders lanes (beam search); reset(state) copies; argmax per row', () => {
    manualSeed(2);
    const model = new LanguageModel({ vocabSize: 9, cell: 'gru', embedDim: 4, hiddenSize: 6, numLayers: 1 });
    const s = model.stepper();
    s.step([1, 2]);
    s.step([3, 4]);
    // Lane 1 twice: both lanes now continue lane 1's history.
    const kept = s.state!.map((t) => t.toArray());
    s.select([1, 1]);
    const twin = s.step([5, 5]);
    expect(Array.from(twin.subarray(0, 9))).toEqual(Array.from(twin.subarray(9, 18)));
    // The same as continuing lane 1 alone.
    const alone = model.stepper();
    alone.reset([tensor(kept[0].slice(6, 12), [1, 1, 6])]);
    close(alone.step([5]), twin.subarray(0, 9), 1e-6);
    expect(Array.from(nn.Stepper.argmax([0, 3, 1, 9, 2, 2], 3))).toEqual([1, 0]);
    expect(() => s.select([2])).toThrow(ShapeError);
    expect(() => nn.Stepper.argmax([1, 2, 3], 2)).toThrow(/3 values are not rows of 2/);
    s.dispose();
    alone.dispose();
    expect(() => s.step([1])).toThrow(DisposedError);
    model.dispose();
  });

  it('nn.LSTM / nn.GRU .stepper(): steps equal the sequence; memory stays flat; dispose frees the state', () => {
    manualSeed(3);
    for (const rnn of [new nn.LSTM(4, 5, { numLayers: 2 }), new nn.GRU(4, 5)]) {
      const x = randn([7, 2, 4]);
      const [whole] = tidy(() => rnn.forward(x)).slice(0, 1) as [ReturnType<typeof randn>];
      const expected = whole.toArray();
      const s = rnn.stepper();
      const before = memory().liveTensors;
      let afterFirst = 0;
      for (let t = 0; t < 7; t++) {
        const xt = tidy(() => x.slice(0, t, t + 1).reshape(2, 4));
        close(s.step(xt), expected.subarray(t * 10, (t + 1) * 10));
        xt.dispose();
        // The state, and the fused step's own buffers (plan, ids, output, spare state): made once.
        if (t === 0) afterFirst = memory().liveTensors;
        else expect(memory().liveTensors).toBe(afterFirst);
      }
      expect(afterFirst).toBe(before + (rnn instanceof nn.LSTM ? 2 + 5 : 1 + 4));
      s.dispose();
      expect(memory().liveTensors).toBe(before);
      x.dispose();
      whole.dispose();
      rnn.dispose();
    }
  });

  it('refuses a step function that returns no { output, state }, and bad ids, states and options', () => {
    const s = new nn.Stepper(() => ({ output: null, state: [] }) as never);
    expect(() => s.step([1])).toThrow(ValueError);
    expect(() => s.step([1.5])).toThrow(/token id 0 must be an integer, got 1.5/);
    expect(() => s.reset([1, 2] as never)).toThrow(/state must be an array of tensors or null/);
    expect(() => s.select([0])).toThrow(/there is no state yet/);
    s.dispose();
    expect(() => new nn.Stepper(null as never)).toThrow(/the step function must be a function/);
    expect(() => new nn.Stepper(() => ({}) as never, { initial: null } as never)).toThrow(ValueError);
  });

  it('feedPrime: a prime through a LanguageModel stepper gives the logits after its last token; an empty prime is refused', () => {
    manualSeed(5);
    const model = new LanguageModel({ vocabSize: 7, cell: 'lstm', embedDim: 3, hiddenSize: 4 });
    const s = model.stepper();
    const fed = feedPrime(s, [1, 2, 3], 7);
    const one = model.stepper();
    let last: Float32Array = new Float32Array(0);
    for (const id of [1, 2, 3]) last = one.step([id]);
    close(fed, last, 1e-6);
    expect(() => feedPrime(s, [], 7)).toThrow(/prime must hold at least one token/);
    s.dispose();
    one.dispose();
    model.dispose();
  });
});

describe('nn.LSTM forgetBias', () => {
  it("sets bias_ih's forget block to the value and bias_hh's to 0, the other gates as PyTorch's init", () => {
    manualSeed(4);
    const plain = new nn.LSTM(3, 4, { numLayers: 2 });
    manualSeed(4);
    const biased = new nn.LSTM(3, 4, { numLayers: 2, forgetBias: 1 });
    const p = Object.fromEntries(plain.namedParameters().map(([n, t]) => [n, t.toArray()]));
    for (const [name, t] of biased.namedParameters()) {
      const v = t.toArray();
      if (name.startsWith('bias_')) {
        const f = Array.from(v.subarray(4, 8));
        expect(f).toEqual(name.startsWith('bias_ih') ? [1, 1, 1, 1] : [0, 0, 0, 0]);
        expect(Array.from(v.subarray(0, 4))).toEqual(Array.from(p[name].subarray(0, 4)));
        expect(Array.from(v.subarray(8))).toEqual(Array.from(p[name].subarray(8)));
      } else expect(Array.from(v)).toEqual(Array.from(p[name]));
    }
    expect(() => new nn.LSTM(3, 4, { forgetBias: 1, bias: false })).toThrow(/forgetBias needs bias: true/);
    expect(() => new nn.LSTM(3, 4, { forgetBias: Number.NaN })).toThrow(/forgetBias must be a finite number/);
    expect(() => new nn.LSTM(3, 4, { forget_bias: 1 } as never)).toThrow(/forgetBias/);
    plain.dispose();
    biased.dispose();
  });
});
