// LMTrainer and ParallelInference used as a careless caller would (issue 18): two runs of one
// trainer at once, a disposed or foreign model, arguments of the wrong kind or range, calls after
// dispose(), and more threads than the work has lanes. Each was silently wrong (a loss of 2.08
// where the right one is 3.12, a trainer reporting steps it never took), untyped, or left a worker
// running so Node never exited; each is now a typed error that starts nothing, or works.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as lw from '../../dist/index.js';
import { expectError, fullCorpus, rejectionOf, thrownBy } from '../session/session-kit';

const TEXT = fullCorpus().slice(0, 60_000);

type Model = InstanceType<typeof lw.LanguageModel>;
type Trainer = InstanceType<typeof lw.LMTrainer>;
const live: { dispose(): void }[] = [];
const inference: lw.ParallelInference[] = [];

/**
 * Workers started, counted by wrapping worker_threads' Worker (the library finds it with
 * process.getBuiltinModule, which returns this same module object).
 */
let workersStarted = 0;
beforeAll(async () => {
  await lw.init();
  const wt = process.getBuiltinModule('node:worker_threads') as { Worker: new (...args: never[]) => object };
  const Original = wt.Worker;
  wt.Worker = class extends Original {
    constructor(...args: never[]) {
      super(...args);
      workersStarted++;
    }
  };
});

afterEach(async () => {
  await Promise.all(inference.splice(0).map((p) => p.dispose()));
  for (const x of live.splice(0).reverse()) x.dispose();
});

function setup(threads = 1, batch = 4): { tok: lw.Tokenizer; model: Model; trainer: Trainer; val: Int32Array } {
  const tok = lw.buildTokenizer('char', TEXT);
  const { train, val } = lw.trainValSplit(tok.encode(TEXT), 0.1);
  lw.manualSeed(1); // initialization draws from the global generator
  const model = new lw.LanguageModel({ vocabSize: tok.size, cell: 'lstm', embedDim: 8, hiddenSize: 16, numLayers: 1, dropout: 0 }, { generator: new lw.Generator(3) });
  live.push(model);
  const trainer = new lw.LMTrainer(model, new lw.LMBatcher(train, batch, 16), new lw.LMBatcher(val, 4, 16), { threads });
  live.push(trainer);
  return { tok, model, trainer, val };
}

describe('LMTrainer: one run at a time', () => {
  for (const threads of [1, 2]) {
    it(`threads ${threads}: a second run() while one goes is a ValueError; the first takes every step it reports`, async () => {
      const { trainer, model } = setup(threads);
      const first = trainer.run({ steps: 6, evalEvery: 0 });
      expectError(await rejectionOf(trainer.run({ steps: 6, evalEvery: 0 })), lw.ValueError, /LMTrainer\.run: a run of this trainer is already going/);
      if (threads === 1) expectError(thrownBy(() => trainer.trainStep()), lw.ValueError, /a run\(\) of this trainer is going/);
      const state = trainer.exportState();
      expectError(thrownBy(() => trainer.importState(state.json, state.tensors)), lw.ValueError, /importState: a run\(\) of this trainer is going/);
      expect(await first).toMatchObject({ steps: 6 });
      expect(trainer.step).toBe(6);
      // The same six steps as a trainer that ran alone.
      const alone = setup(threads);
      await alone.trainer.run({ steps: 6, evalEvery: 0 });
      const a = model.parameters().map((p) => Array.from(p.toArray() as Float32Array));
      const b = alone.model.parameters().map((p) => Array.from(p.toArray() as Float32Array));
      expect(a).toEqual(b);
      // After it, runs go again.
      expect(await trainer.run({ steps: 1, evalEvery: 0 })).toMatchObject({ steps: 1 });
    });
  }

  it('run() checks every option before it starts: a signal that is no AbortSignal, callbacks that are no functions', async () => {
    const { trainer } = setup(1);
    expectError(await rejectionOf(trainer.run({ steps: 2, signal: { aborted: false } as never })), lw.ValueError, /signal must be an AbortSignal/);
    expectError(await rejectionOf(trainer.run({ steps: 2, onProgress: 'x' as never })), lw.ValueError, /onProgress must be a function/);
    expectError(await rejectionOf(trainer.run({ steps: 2, evalEvery: -1 })), lw.ValueError, /evalEvery must be an integer >= 0/);
    expectError(await rejectionOf(trainer.run({ steps: '2' as never })), lw.ValueError, /steps must be a positive number, got '2'/);
    expect(trainer.step).toBe(0);
    // And none of that left it marked as running.
    expect(await trainer.run({ steps: 2, evalEvery: 0 })).toMatchObject({ steps: 2 });
  });
});

describe('ParallelInference: arguments, disposal, threads', () => {
  it('a model that is disposed or not a LanguageModel is refused before any worker starts', () => {
    const { model } = setup();
    const before = workersStarted;
    const gone = new lw.LanguageModel({ ...model.config }, { generator: new lw.Generator(1) });
    gone.dispose();
    expect(thrownBy(() => new lw.ParallelInference(gone, 2))).toBeInstanceOf(lw.DisposedError);
    expectError(thrownBy(() => new lw.ParallelInference({} as never, 2)), lw.ValueError, /model must be a LanguageModel, got Object/);
    expectError(thrownBy(() => new lw.ParallelInference(model, 0)), lw.ValueError, /threads must be an integer >= 1/);
    expect(workersStarted).toBe(before);
  });

  it('score() refuses sizes that are not positive integers (1.5 lanes gave a wrong loss), and ids that are no Int32Array', async () => {
    const { model, val } = setup();
    const inf = new lw.ParallelInference(model, 2);
    inference.push(inf);
    const right = lw.scoreTokens(model, val, 2, 16);
    expect((await inf.score(val, 2, 16)).loss).toBeCloseTo(right.loss, 5);
    for (const [args, message] of [
      [[val, 1.5, 16], /batchSize must be an integer >= 1, got 1.5/],
      [[val, NaN, 16], /batchSize must be an integer >= 1, got NaN/],
      [[val, 0, 16], /batchSize must be an integer >= 1, got 0/],
      [[val, -3, 16], /batchSize must be an integer >= 1, got -3/],
      [[val, '4', 16], /batchSize must be an integer >= 1, got '4'/],
      [[val, 2, 0], /seqLen must be an integer >= 1, got 0/],
      [[val, 2, -1], /seqLen must be an integer >= 1, got -1/],
      [[val, 2, 16, -1], /maxWindows must be an integer >= 0, got -1/],
      [[null, 2, 16], /ids must be an Int32Array of token ids .*got null/],
      [[Array.from(val), 2, 16], /ids must be an Int32Array .*got Array/],
      [[Int32Array.of(1), 2, 16], /ids has 1 token\(s\), need at least 2/],
    ] as const) {
      expectError(await rejectionOf(inf.score(...(args as unknown as Parameters<typeof inf.score>))), lw.ValueError, message);
      // scoreTokens itself says the same.
      if (args[0] !== null && args[0] instanceof Int32Array) expectError(thrownBy(() => lw.scoreTokens(model, ...(args as unknown as [Int32Array, number, number]))), lw.ValueError, message);
    }
  });

  it('sampleTexts() refuses a tokenizer or requests of the wrong kind', async () => {
    const { model, tok } = setup();
    const inf = new lw.ParallelInference(model, 2);
    inference.push(inf);
    expectError(await rejectionOf(inf.sampleTexts(null as never, [{ prime: 'a' }])), lw.ValueError, /tokenizer must be a Tokenizer, got null/);
    expectError(await rejectionOf(inf.sampleTexts(tok, 'abc' as never)), lw.ValueError, /requests must be an array of \{ prime, options \}, got the string 'abc'/);
    expectError(await rejectionOf(inf.sampleTexts(tok, [null] as never)), lw.ValueError, /requests\[0\] must be an object/);
    expectError(await rejectionOf(inf.sampleTexts(tok, [{ prime: 5 }] as never)), lw.ValueError, /requests\[0\]\.prime must be a string/);
    expectError(await rejectionOf(inf.sampleTexts(tok, [{ prime: 'a', options: { seed: NaN } }])), lw.ValueError, /seed must be a finite number/);
    expectError(await rejectionOf(inf.sampleTexts(tok, [{ prime: 'a', options: { suppress: 'x' as never } }])), lw.ValueError, /suppress must be an array/);
    const [a] = await inf.sampleTexts(tok, [{ prime: 'And ', options: { length: 20, seed: 4 } }]);
    expect(a).toBe(lw.sampleText(model, tok, 'And ', { length: 20, seed: 4 }));
  });

  it('after dispose() every call is a DisposedError (score did not silently run on one thread)', async () => {
    const { model, tok, val } = setup();
    const inf = new lw.ParallelInference(model, 2);
    await inf.score(val, 2, 16);
    await inf.dispose();
    expectError(await rejectionOf(inf.score(val, 2, 16)), lw.DisposedError, /ParallelInference\.score: it was disposed/);
    expectError(await rejectionOf(inf.sampleTexts(tok, [{ prime: 'a' }])), lw.DisposedError, /ParallelInference\.sampleTexts: it was disposed/);
    await inf.dispose(); // twice is fine
  });

  it('starts no more replicas than the work has lanes or requests (threads 8 on 2 lanes: one replica)', async () => {
    const { model, tok, val } = setup();
    const before = workersStarted;
    const inf = new lw.ParallelInference(model, 8);
    inference.push(inf);
    expect(workersStarted - before, 'none at construction').toBe(0);
    const r = await inf.score(val, 2, 16);
    expect(r.batchSize).toBe(2);
    expect(workersStarted - before, '2 lanes: this thread and one replica').toBe(1);
    expect(r.loss).toBeCloseTo(lw.scoreTokens(model, val, 2, 16).loss, 5);
    await inf.sampleTexts(tok, [0, 1, 2].map((i) => ({ prime: 'And ', options: { length: 5, seed: i } })));
    expect(workersStarted - before, '3 samples: two replicas in all').toBe(2);
    await inf.score(val, 2, 16);
    expect(workersStarted - before, 'none again for work that fits').toBe(2);
  });
});
