// Randomness is passed, not global: a module given a Generator draws its initial weights and its
// dropout masks from it alone, so two models in one process do not disturb each other's streams
// (or the global one), and without one it draws from the global generator exactly as before.
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, LanguageModel, ValueError, defaultGenerator, init, manualSeed, nn, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from '../core/helpers';
import { expectSameBits } from '../support/bits';

beforeAll(async () => {
  await init();
});

const [T, B, I, H] = [6, 4, 5, 8];

/** The same initial weights every time; dropout masks from `generator` (default: the global one). */
function lstmWithDropout(generator?: Generator): nn.LSTM {
  const m = new nn.LSTM(I, H, { numLayers: 3, dropout: 0.5, generator: new Generator(11) });
  m.generator = generator ?? defaultGenerator;
  return m;
}

describe('dropout draws from the module generator', () => {
  it('a model with its own generator gives the same outputs whether or not another model runs in between', () => {
    const x = tensor(randomF32(T * B * I, 1, -1, 1), [T, B, I]);
    const forward = (m: nn.LSTM): number[] => tidy(() => Array.from(m.forward(x)[0].toArray()));

    const a = lstmWithDropout(new Generator(5));
    const alone = [forward(a), forward(a), forward(a)];
    a.dispose();

    const a2 = lstmWithDropout(new Generator(5));
    const b = lstmWithDropout(new Generator(6));
    const global = lstmWithDropout(); // draws from the global generator
    const interleaved: number[][] = [];
    for (let i = 0; i < 3; i++) {
      forward(b);
      forward(global);
      interleaved.push(forward(a2));
    }
    expect(interleaved).toEqual(alone);
    expect(forward(b), 'another seed gives other masks').not.toEqual(forward(a2));
    for (const m of [a2, b, global]) m.dispose();
    x.dispose();
  });

  it('without a generator the global one is used (manualSeed reproduces the masks)', () => {
    const x = tensor(randomF32(T * B * I, 2, -1, 1), [T, B, I]);
    const m = lstmWithDropout();
    const run = (): number[] => {
      manualSeed(3);
      return tidy(() => Array.from(m.forward(x)[0].toArray()));
    };
    expect(run()).toEqual(run());
    m.dispose();
    x.dispose();
  });

  it('LanguageModel passes its generator to its RNN and its output dropout', () => {
    const ids = tensor(Int32Array.from({ length: T * B }, (_, i) => i % 10), [T, B]);
    const make = (seed: number): LanguageModel =>
      new LanguageModel({ vocabSize: 10, embedDim: 4, hiddenSize: 8, numLayers: 2, dropout: 0.5 }, { generator: new Generator(seed) });
    const logits = (m: LanguageModel): number[] => tidy(() => Array.from(m.forward(ids).logits.toArray()));
    const first = make(9);
    const reference = [logits(first), logits(first)];
    const second = make(9);
    const other = make(10);
    logits(other);
    expect([logits(second), logits(second)]).toEqual(reference);
    // The initialization advanced the constructor's generator: a fresh one gives the masks from the start.
    const fresh = make(9);
    fresh.generator = new Generator(9);
    const restarted = logits(fresh);
    expect(restarted).not.toEqual(reference[0]);
    second.generator = new Generator(9);
    expect(logits(second), 'a replaced generator restarts the stream').toEqual(restarted);
    expect(() => new LanguageModel({ vocabSize: 10 }, { generator: 3 as unknown as Generator })).toThrowError(ValueError);
    for (const m of [first, second, other, fresh]) m.dispose();
    ids.dispose();
  });
});

describe('initialization draws from the module generator', () => {
  type Built = { namedParameters(): [string, { toArray(): ArrayLike<number> }][]; dispose(): void };
  // Every module that draws initial weights, in shapes that exercise each branch of its init.
  const builders: [string, (generator?: Generator) => Built][] = [
    ['Linear', (generator) => new nn.Linear(7, 5, { generator })],
    ['Linear without bias', (generator) => new nn.Linear(3, 4, { bias: false, generator })],
    ['Embedding (normal, an odd count of values: a spare normal is left over)', (generator) => new nn.Embedding(7, 3, { generator })],
    ['Embedding with paddingIdx', (generator) => new nn.Embedding(11, 6, { paddingIdx: -2, generator })],
    ['RNN relu, 2 layers, bidirectional', (generator) => new nn.RNN(4, 6, { numLayers: 2, bidirectional: true, nonlinearity: 'relu', generator })],
    ['LSTM with projSize, 3 layers, bidirectional', (generator) => new nn.LSTM(5, 8, { numLayers: 3, bidirectional: true, projSize: 3, generator })],
    ['LSTM with forgetBias', (generator) => new nn.LSTM(5, 8, 2, { forgetBias: 1, generator })],
    ['GRU, 2 layers, bidirectional, no bias', (generator) => new nn.GRU(5, 7, { numLayers: 2, bidirectional: true, bias: false, generator })],
    ['LSTMCell', (generator) => new nn.LSTMCell(5, 6, { generator })],
    ['GRUCell without bias', (generator) => new nn.GRUCell(5, 6, { bias: false, generator })],
    ['RNNCell relu', (generator) => new nn.RNNCell(5, 6, { nonlinearity: 'relu', generator })],
    ['LanguageModel (lstm)', (generator) => new LanguageModel({ vocabSize: 13, embedDim: 5, hiddenSize: 8 }, { generator })],
    ['LanguageModel (gru, 2 layers, dropout)', (generator) => new LanguageModel({ vocabSize: 9, cell: 'gru', embedDim: 3, hiddenSize: 6, numLayers: 2, dropout: 0.2 }, { generator })],
  ];
  const weights = (m: Built): [string, Float32Array][] => m.namedParameters().map(([name, p]) => [name, Float32Array.from(p.toArray())]);

  for (const [what, build] of builders) {
    it(`${what}: { generator: new Generator(s) } gives the weights of manualSeed(s), bit for bit, and leaves the global generator alone`, () => {
      for (const seed of [0, 5, 123456789]) {
        manualSeed(seed);
        const seeded = build();
        const expected = weights(seeded);
        seeded.dispose();

        manualSeed(777); // a global stream someone else is using
        const before = defaultGenerator.getState();
        const own = build(new Generator(seed));
        expect(defaultGenerator.getState(), 'the global generator is not advanced').toEqual(before);
        const got = weights(own);
        own.dispose();
        expect(got.map(([n]) => n)).toEqual(expected.map(([n]) => n));
        got.forEach(([name, values], i) => expectSameBits(values, expected[i][1], `${what}, seed ${seed}: ${name}`));
      }
    });
  }

  it('without a generator (undefined or null) the global one is drawn from, as before', () => {
    manualSeed(4);
    const a = new nn.LSTM(3, 4, { generator: undefined });
    manualSeed(4);
    const b = new nn.LSTM(3, 4, { generator: null as unknown as undefined });
    manualSeed(4);
    const c = new nn.LSTM(3, 4);
    const [wa, wb, wc] = [a, b, c].map((m) => weights(m));
    expect(wa).toEqual(wc);
    expect(wb).toEqual(wc);
    expect(a.generator).toBe(defaultGenerator);
    for (const m of [a, b, c]) m.dispose();
  });

  it('LayerNorm draws nothing (ones and zeros), so it takes no generator', () => {
    const before = defaultGenerator.getState();
    const ln = new nn.LayerNorm([4]);
    expect(defaultGenerator.getState()).toEqual(before);
    expect(() => new nn.LayerNorm([4], { generator: new Generator(1) } as never)).toThrow(/unknown option 'generator'/);
    ln.dispose();
  });

  it('a generator that is not a Generator is a ValueError naming the module and what it got', () => {
    const bad: [unknown, RegExp][] = [
      [3, /got number 3/],
      ['7', /got string 7/],
      [{ seed: 1 }, /got an object/],
      [defaultGenerator.getState(), /got an array/],
      [true, /got boolean true/],
    ];
    const make: [string, (g: never) => unknown][] = [
      ['Linear', (generator) => new nn.Linear(2, 2, { generator })],
      ['Embedding', (generator) => new nn.Embedding(4, 2, { generator })],
      ['LSTM', (generator) => new nn.LSTM(2, 2, { generator })],
      ['GRU', (generator) => new nn.GRU(2, 2, { generator })],
      ['RNN', (generator) => new nn.RNN(2, 2, { generator })],
      ['LSTMCell', (generator) => new nn.LSTMCell(2, 2, { generator })],
      ['GRUCell', (generator) => new nn.GRUCell(2, 2, { generator })],
      ['RNNCell', (generator) => new nn.RNNCell(2, 2, { generator })],
      ['LanguageModel', (generator) => new LanguageModel({ vocabSize: 4, embedDim: 2, hiddenSize: 2 }, { generator })],
    ];
    const before = defaultGenerator.getState();
    for (const [name, build] of make) {
      for (const [value, got] of bad) {
        expect(() => build(value as never), `${name} with ${String(value)}`).toThrowError(ValueError);
        expect(() => build(value as never)).toThrow(new RegExp(`^${name}: generator must be a Generator`));
        expect(() => build(value as never)).toThrow(got);
      }
    }
    expect(defaultGenerator.getState(), 'a refused option draws nothing').toEqual(before);
  });
});
