// Two trainers in one process do not disturb each other's random streams: each model draws its
// dropout masks from its own generator, which the trainer checkpoints.
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, LMBatcher, LMTrainer, LanguageModel, init, manualSeed } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * 7 + (i >> 3)) % 12);

function trainer(seed: number): LMTrainer {
  manualSeed(1); // the same initial weights for every model
  const model = new LanguageModel({ vocabSize: 12, embedDim: 6, hiddenSize: 16, numLayers: 2, dropout: 0.3 });
  return new LMTrainer(model, new LMBatcher(ids, 4, 8), null, { lr: 0.01, generator: new Generator(seed) });
}

const params = (t: LMTrainer): number[][] => t.model.parameters().map((p) => Array.from(p.toArray()));
const done = (t: LMTrainer): void => {
  t.dispose();
  t.model.dispose();
};

describe('trainers with generators of their own', () => {
  it('train bit-identically whether or not another trainer (or the global generator) runs in between', () => {
    const alone = trainer(5);
    const lossesAlone = Array.from({ length: 6 }, () => alone.trainStep());
    const expected = params(alone);
    done(alone);

    const a = trainer(5);
    const b = trainer(6);
    const lossesA: number[] = [];
    for (let i = 0; i < 6; i++) {
      b.trainStep();
      manualSeed(99 + i); // someone else uses the global generator
      lossesA.push(a.trainStep());
    }
    expect(lossesA).toEqual(lossesAlone);
    expect(params(a)).toEqual(expected);
    expect(params(b), 'another seed draws other masks').not.toEqual(expected);
    expect(a.generator).toBe(a.model.generator);
    done(a);
    done(b);
  });

  it('checkpoint the model generator: a restored trainer with another seed continues the same stream', () => {
    const first = trainer(7);
    for (let i = 0; i < 3; i++) first.trainStep();
    const weights = Object.fromEntries(first.model.namedParameters().map(([k, p]) => [k, p.detach()]));
    const saved = first.exportState();
    const continued = Array.from({ length: 3 }, () => first.trainStep());

    const second = trainer(8); // another seed: only the restored state can make it match
    second.model.loadStateDict(weights);
    second.importState(saved.json, saved.tensors);
    const resumed = Array.from({ length: 3 }, () => second.trainStep());
    expect(resumed).toEqual(continued);
    expect(params(second)).toEqual(params(first));
    for (const t of Object.values(weights)) t.dispose();
    done(first);
    done(second);
  });
});
