// Building a model for training, resuming, snapshots and checkpoint sessions gives it generators of
// its own: the global generator's state is the same before and after, so a user's manualSeed stream
// in the same thread is not disturbed. Run from source, in this thread (a session's host normally
// lives in a worker, where its global generator could not be observed).
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../ts/init';
import { setInlinedWasm } from '../../ts/wasm/load';
import { inlinedWasm } from '../../ts/wasm/inlined';
import { Generator, defaultGenerator, manualSeed } from '../../ts/random';
import { LanguageModel } from '../../ts/lm/language-model';
import { decodeCheckpoint, encodeCheckpoint } from '../../ts/training/checkpoint';
import { checkpointExtra, createTraining, prepareTrainingData, resumeTraining } from '../../ts/training/setup';
import { checkTrainingSettings } from '../../ts/training/settings';
import { sessionService } from '../../ts/session/host';
import type { HandlerContext } from '../../ts/workers/serve';
import { expectSameBits } from '../support/bits';

// From source, as the package's entry does: init() loads the inlined wasm.
setInlinedWasm(inlinedWasm);

beforeAll(async () => {
  await init();
});

const text = 'In the beginning God created the heaven and the earth. And the earth was without form, and void. '.repeat(12);
const given = { hiddenSize: 12, embedDim: 4, numLayers: 2, dropout: 0.3, batchSize: 2, seqLen: 8, valSplit: 0.1, seed: 17 };

/** One session host driven in this thread, as its worker would drive it. */
function host(): (method: string, args: unknown) => Promise<unknown> {
  const { handlers } = sessionService(() => undefined);
  let id = 0;
  return async (method, args) => {
    const context: HandlerContext = { id: ++id, chunk: () => undefined };
    return handlers.get(`session.${method}`)!(args, context);
  };
}

describe('model construction leaves the global generator alone', () => {
  it('createTraining: the model is what manualSeed(seed) then new LanguageModel gave, dropout a fresh Generator(seed), the global stream untouched', () => {
    const s = checkTrainingSettings(given, 'test');
    const data = prepareTrainingData(text, s, ['test']);
    manualSeed(5);
    const before = defaultGenerator.getState();
    const { model, trainer } = createTraining(s, data);
    expect(defaultGenerator.getState()).toEqual(before);
    expect(trainer.generator.getState(), 'the dropout stream has not been drawn from').toEqual(new Generator(s.seed).getState());

    manualSeed(s.seed); // what createTraining did before the model took a generator
    const seeded = new LanguageModel(model.config);
    const want = seeded.namedParameters();
    model.namedParameters().forEach(([name, p], i) => {
      expect(name).toBe(want[i][0]);
      expectSameBits(p.toArray(), want[i][1].toArray(), name);
    });
    seeded.dispose();

    // resumeTraining: the model comes from the checkpoint, again without touching the global stream.
    trainer.trainStep();
    const ck = decodeCheckpoint(encodeCheckpoint(model, data.tokenizer, trainer, checkpointExtra(s, data.record)));
    manualSeed(6);
    const beforeResume = defaultGenerator.getState();
    const resumed = resumeTraining(s, data, ck);
    expect(defaultGenerator.getState()).toEqual(beforeResume);
    expect(resumed.trainer.generator.getState()).toEqual(trainer.generator.getState());
    for (const t of [trainer, resumed.trainer]) t.dispose();
    for (const m of [model, resumed.model]) m.dispose();
  });

  it('a session host: open, train, generate (a snapshot), checkpoint, open the checkpoint alone and with its text', async () => {
    manualSeed(8);
    const before = defaultGenerator.getState();

    const fresh = host();
    await fresh('open', { text, source: 'test', settings: given, checkpoint: null, threads: 1 });
    await fresh('train', { steps: 2 });
    await fresh('generate', { prime: 'In the', options: { length: 12, seed: 3 }, readAhead: 1000 });
    const bytes = (await fresh('checkpoint', null)) as Uint8Array;

    const alone = host();
    await alone('open', { text: null, source: 'test', settings: {}, checkpoint: bytes, threads: 1 });
    await alone('generate', { prime: 'In the', options: { length: 12, seed: 3 }, readAhead: 1000 });

    const resumed = host();
    await resumed('open', { text, source: 'test', settings: {}, checkpoint: bytes, threads: 1 });
    await resumed('train', { steps: 1 });

    expect(defaultGenerator.getState()).toEqual(before);
  });
});
