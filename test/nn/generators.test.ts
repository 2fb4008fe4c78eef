// Randomness is passed, not global: a module given a Generator draws its dropout masks from it
// alone, so two models in one process do not disturb each other's streams.
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, LanguageModel, ValueError, init, manualSeed, nn, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from '../core/helpers';

beforeAll(async () => {
  await init();
});

const [T, B, I, H] = [6, 4, 5, 8];

function lstmWithDropout(generator?: Generator): nn.LSTM {
  manualSeed(11); // the same initial weights every time
  return new nn.LSTM(I, H, { numLayers: 3, dropout: 0.5, generator });
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
    const make = (seed: number): LanguageModel => {
      manualSeed(1);
      return new LanguageModel({ vocabSize: 10, embedDim: 4, hiddenSize: 8, numLayers: 2, dropout: 0.5 }, { generator: new Generator(seed) });
    };
    const logits = (m: LanguageModel): number[] => tidy(() => Array.from(m.forward(ids).logits.toArray()));
    const first = make(9);
    const reference = [logits(first), logits(first)];
    const second = make(9);
    const other = make(10);
    logits(other);
    expect([logits(second), logits(second)]).toEqual(reference);
    second.generator = new Generator(9);
    expect(logits(second), 'a replaced generator restarts the stream').toEqual(reference[0]);
    expect(() => new LanguageModel({ vocabSize: 10 }, { generator: 3 as unknown as Generator })).toThrowError(ValueError);
    for (const m of [first, second, other]) m.dispose();
    ids.dispose();
  });
});
