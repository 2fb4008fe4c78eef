// LMTrainer.evaluate: the quick estimate (first windows) and the full score (every token), checked
// against a direct computation: each lane run in one piece from a zero state, summed cross-entropy.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, memory, noGrad, scoreTokens, tensor, tidy, F, CharTokenizer, LanguageModel, LMBatcher, LMTrainer } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const TEXT = 'In the beginning God created the heaven and the earth. And the earth was without form, and void. '.repeat(40);

/** Summed loss of `ids[from .. from + n]` predicting `ids[from + 1 .. from + n + 1]`, one lane, zero state. */
function laneLoss(model: LanguageModel, ids: Int32Array, from: number, n: number): number {
  const V = model.config.vocabSize;
  return noGrad(() => tidy(() => {
    const { logits } = model.forward(tensor(ids.slice(from, from + n), [n, 1]));
    return F.crossEntropy(logits.reshape(n, V), tensor(ids.slice(from + 1, from + n + 1), [n]), { reduction: 'sum' }).item();
  }));
}

/** The lanes as LMBatcher cuts them (B lanes of L targets); the targets past B*L extend the last lane. */
function directLoss(model: LanguageModel, ids: Int32Array, B: number): number {
  const L = Math.floor((ids.length - 1) / B);
  let total = 0;
  for (let b = 0; b < B; b++) total += laneLoss(model, ids, b * L, b === B - 1 ? ids.length - 1 - b * L : L);
  return total / (ids.length - 1);
}

function setup(n: number) {
  manualSeed(11);
  const tok = CharTokenizer.fromText(TEXT);
  const ids = tok.encode(TEXT).subarray(0, n);
  const model = new LanguageModel({ vocabSize: tok.size, cell: 'lstm', embedDim: 8, hiddenSize: 16, numLayers: 2 });
  model.eval();
  return { ids, model };
}

describe('LMTrainer.evaluate', () => {
  it('with 0 scores every token: partial last windows and the tail past the last whole lane (3,000 tokens, B 32, T 64)', () => {
    // 2,999 targets: 32 lanes of 93 = 2,976 (a window of 64 and one of 29 per lane), then 23 more.
    const { ids, model } = setup(3000);
    const val = new LMBatcher(ids, 32, 64);
    const trainer = new LMTrainer(model, val, val);
    expect(trainer.evalTokenCount(0)).toBe(2999);
    const loss = trainer.evaluate(0)!;
    expect(loss).toBeCloseTo(directLoss(model, ids, 32), 5);
    trainer.dispose();
    model.dispose();
  });

  it('scores all 97 targets of a 98-token text that is shorter than two windows', () => {
    const { ids, model } = setup(98);
    const val = new LMBatcher(ids, 1, 64);
    const trainer = new LMTrainer(model, val, val);
    expect(trainer.evalTokenCount(0)).toBe(97);
    expect(trainer.evaluate(0)!).toBeCloseTo(laneLoss(model, ids, 0, 97) / 97, 5);
    trainer.dispose();
    model.dispose();
  });

  it('by default scores the first evalWindows whole windows only (the quick estimate during training)', () => {
    const { ids, model } = setup(3000);
    const val = new LMBatcher(ids, 4, 16); // lanes of 749 targets: 46 whole windows and one of 13
    const trainer = new LMTrainer(model, val, val, { evalWindows: 5 });
    expect(trainer.evalTokenCount()).toBe(5 * 4 * 16);
    let direct = 0;
    for (let b = 0; b < 4; b++) direct += laneLoss(model, ids, b * 749, 5 * 16);
    expect(trainer.evaluate()!).toBeCloseTo(direct / (5 * 4 * 16), 5);
    // More windows than there are: everything, as with 0.
    expect(trainer.evaluate(1000)!).toBeCloseTo(directLoss(model, ids, 4), 5);
    expect(trainer.evalTokenCount(1000)).toBe(2999);
    trainer.dispose();
    model.dispose();
  });
});

describe('scoreTokens', () => {
  it('scores a model on token ids with no trainer or optimizer: the lanes it used, every target, no tensor left behind', () => {
    const { ids, model } = setup(3000);
    const before = memory().liveTensors;
    const r = scoreTokens(model, ids, 32, 64);
    expect(memory().liveTensors).toBe(before);
    expect(r.tokens).toBe(2999);
    expect(r.batchSize).toBe(32);
    expect(r.seqLen).toBe(64);
    expect(r.loss).toBeCloseTo(directLoss(model, ids, 32), 5);
    // A text shorter than one window of the lanes asked for: fewer lanes, a shorter window.
    const short = scoreTokens(model, ids.subarray(0, 98), 32, 64);
    expect([short.tokens, short.batchSize, short.seqLen]).toEqual([97, 1, 64]);
    model.dispose();
  });
});
