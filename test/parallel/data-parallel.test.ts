// Data-parallel training (LMTrainer `threads`): replica workers started from dist/worker.js, so
// these tests use the built package. What they hold it to:
// - the same seed and thread count give the same run, bit for bit;
// - other thread counts agree with one thread within 5e-5 after 50 steps (dropout off). The only
//   difference is float32 summation order (each shard's weight gradient sums its own rows, then
//   the shards are added), about 1 ulp per gradient element per step; Adam divides by sqrt(v),
//   which can amplify that where gradients are near zero. Measured: at most 1.7e-6 with 2, 3 and
//   8 threads (parameters up to 3.6), so the bound keeps a 30x margin and still fails on any real
//   error (a lost or double-counted shard moves parameters by ~lr = 3e-3 in one step);
// - checkpoints hold every lane's state and every replica's generator: resuming with the same
//   threads is bit-exact (dropout on), with other threads it continues the same run;
// - a replica that dies stops run() with a WorkerError, at the last whole step, and run() works
//   again afterwards (new workers); nothing hangs.
import { afterEach, describe, expect, it } from 'vitest';
import * as lw from '../../dist/index.js';
import { fullCorpus } from '../session/session-kit';

const TEXT = fullCorpus().slice(0, 100_000);
const TOL = 5e-5;

type Trainer = InstanceType<typeof lw.LMTrainer>;
const live: { trainer: Trainer; model: InstanceType<typeof lw.LanguageModel> }[] = [];

afterEach(() => {
  for (const { trainer, model } of live.splice(0)) {
    trainer.dispose();
    model.dispose();
  }
});

/** A small char LSTM (2 layers, so dropout between them) and its trainer on TEXT. */
async function setup(threads: number, options: { dropout?: number; batch?: number } = {}) {
  await lw.init();
  const tok = lw.buildTokenizer('char', TEXT);
  const { train, val } = lw.trainValSplit(tok.encode(TEXT), 0.05);
  lw.manualSeed(1);
  const generator = new lw.Generator(7);
  const model = new lw.LanguageModel({ vocabSize: tok.size, cell: 'lstm', embedDim: 16, hiddenSize: 32, numLayers: 2, dropout: options.dropout ?? 0 }, { generator });
  const B = options.batch ?? 8;
  const trainer = new lw.LMTrainer(model, new lw.LMBatcher(train, B, 16), new lw.LMBatcher(val, 4, 16), { lr: 3e-3, threads, generator });
  live.push({ trainer, model });
  return { tok, model, trainer };
}

const params = (m: InstanceType<typeof lw.LanguageModel>) => m.parameters().map((p) => p.toArray() as Float32Array);

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let d = 0;
  a.forEach((x, i) => x.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j])))));
  return d;
}

function expectBitEqual(a: Float32Array[], b: Float32Array[]) {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength)), `parameter ${i}`).toBe(true));
}

/** Exports a trainer's state through checkpoint bytes, as a resume would read it. */
function checkpointOf(model: InstanceType<typeof lw.LanguageModel>, tok: lw.Tokenizer, trainer: Trainer) {
  return lw.decodeCheckpoint(lw.encodeCheckpoint(model, tok, trainer));
}

describe('data-parallel LMTrainer (threads)', () => {
  it('is bit-identical for the same seed and threads, and within 5e-5 of one thread after 50 steps', async () => {
    const one = await setup(1);
    await one.trainer.run({ steps: 50, evalEvery: 0 });
    const ref = params(one.model);
    for (const threads of [2, 3]) {
      const a = await setup(threads);
      const b = await setup(threads);
      const ra = await a.trainer.run({ steps: 50, evalEvery: 0 });
      await b.trainer.run({ steps: 50, evalEvery: 0 });
      expect(ra.steps).toBe(50);
      expectBitEqual(params(a.model), params(b.model));
      expect(a.trainer.losses).toEqual(b.trainer.losses);
      const d = maxDiff(params(a.model), ref);
      expect(d, `max |params(${threads} threads) - params(1 thread)|`).toBeLessThan(TOL);
      expect(d, 'a different summation order shows up at all (else the threads did not split the batch)').toBeGreaterThan(0);
      a.trainer.losses.forEach((l, i) => expect(Math.abs(l - one.trainer.losses[i])).toBeLessThan(1e-4));
    }
  }, 120_000);

  it('validates on the replicas too: the loss equals one thread within 1e-5', async () => {
    const one = await setup(1);
    const two = await setup(2);
    const r1 = await one.trainer.run({ steps: 5, evalEvery: 5 });
    const r2 = await two.trainer.run({ steps: 5, evalEvery: 5 });
    expect(r1.valLoss).not.toBeNull();
    expect(Math.abs(r2.valLoss! - r1.valLoss!)).toBeLessThan(1e-5);
    // and it is the trainer's own (single-threaded) evaluate() of the same weights
    expect(Math.abs(r2.valLoss! - two.trainer.evaluate()!)).toBeLessThan(1e-5);
  }, 60_000);

  it('validate() after a run scores the whole validation text on the run\'s own replicas, as ParallelInference and scoreTokens do', async () => {
    const two = await setup(2);
    await two.trainer.run({ steps: 3, evalEvery: 0 });
    const steps = (two.trainer as unknown as { steps: { pool: object | null } }).steps;
    const pool = steps.pool;
    expect(pool, 'the run left its replicas').not.toBeNull();
    const val = two.trainer.val!;
    const full = await two.trainer.validate({ batchSize: 8, maxWindows: 0 });
    expect(steps.pool, 'no second pool: the replicas that trained score').toBe(pool);
    const scorer = new lw.ParallelInference(two.model, 2);
    const fresh = await scorer.score(val.ids, 8, val.seqLen).finally(() => scorer.dispose());
    expect(full).toEqual(fresh);
    expect(full!.tokens).toBe(val.ids.length - 1);
    expect(Math.abs(full!.loss - lw.scoreTokens(two.model, val.ids, 8, val.seqLen).loss)).toBeLessThan(1e-5);
    // The default: the quick estimate the run's validations make.
    expect((await two.trainer.validate())!.loss).toBeCloseTo(two.trainer.evaluate()!, 5);
  }, 60_000);

  it('resumes bit-exactly with the same threads (dropout on: every replica generator is in the checkpoint)', async () => {
    const whole = await setup(2, { dropout: 0.2 });
    await whole.trainer.run({ steps: 20, evalEvery: 0 });
    const first = await setup(2, { dropout: 0.2 });
    await first.trainer.run({ steps: 10, evalEvery: 0 });
    const ck = checkpointOf(first.model, first.tok, first.trainer);
    expect(ck.meta.trainer!.replicaRng).toHaveLength(1);
    const resumed = await setup(2, { dropout: 0.2 });
    resumed.model.loadStateDict(ck.params);
    lw.restoreTrainer(resumed.trainer, ck);
    await resumed.trainer.run({ steps: 10, evalEvery: 0 });
    expect(resumed.trainer.step).toBe(20);
    expectBitEqual(params(resumed.model), params(whole.model));
    // (The first 10 come from the checkpoint's history, rounded to 1e-4.)
    expect(resumed.trainer.losses.slice(10)).toEqual(whole.trainer.losses.slice(10));
  }, 60_000);

  it('resumes with another thread count: the lanes and their state are redistributed', async () => {
    const whole = await setup(2);
    await whole.trainer.run({ steps: 30, evalEvery: 0 });
    const first = await setup(2);
    await first.trainer.run({ steps: 15, evalEvery: 0 });
    const ck = checkpointOf(first.model, first.tok, first.trainer);
    for (const threads of [1, 3]) {
      const resumed = await setup(threads);
      resumed.model.loadStateDict(ck.params);
      lw.restoreTrainer(resumed.trainer, ck);
      await resumed.trainer.run({ steps: 15, evalEvery: 0 });
      expect(resumed.trainer.step).toBe(30);
      expect(maxDiff(params(resumed.model), params(whole.model)), `resumed on ${threads} threads`).toBeLessThan(TOL);
      resumed.trainer.losses.forEach((l, i) => expect(Math.abs(l - whole.trainer.losses[i]), `loss of step ${i + 1}`).toBeLessThan(1e-4));
    }
    // Without the carried state the first resumed steps would differ by far more: the check can fail.
    const cold = await setup(3);
    cold.model.loadStateDict(ck.params);
    lw.restoreTrainer(cold.trainer, { ...ck, trainer: { ...ck.trainer!, state: null }, meta: { ...ck.meta, trainer: { ...ck.meta.trainer!, hasState: false } } });
    await cold.trainer.run({ steps: 1, evalEvery: 0 });
    expect(Math.abs(cold.trainer.losses[15] - whole.trainer.losses[15])).toBeGreaterThan(1e-3);
  }, 90_000);

  it('a replica that dies stops run() with a WorkerError at the last whole step; run() then works again', async () => {
    const { trainer, model } = await setup(2);
    await trainer.run({ steps: 3, evalEvery: 0 });
    const before = { step: trainer.step, params: params(model), position: trainer.train.position };
    const pool = (trainer as unknown as { steps: { pool: { connections: { worker: { terminate(): Promise<number> } }[] } | null } }).steps.pool;
    expect(pool, 'the trainer keeps its replica workers between runs').not.toBeNull();
    const run = trainer.run({ steps: 1000, evalEvery: 0 });
    // Kill the replica as a crash would: its thread ends without the pool asking.
    setTimeout(() => void pool!.connections[0].worker.terminate(), 50);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const error = await Promise.race([
      run.then(() => null, (e: unknown) => e as Error),
      new Promise<Error>((_, reject) => (timer = setTimeout(() => reject(new Error('run() still pending 20 s after the replica died')), 20_000))),
    ]);
    clearTimeout(timer);
    expect(error).toBeInstanceOf(lw.WorkerError);
    expect(error!.message).toMatch(/data-parallel replica 1 .*; training stopped at the last whole step/);
    // Every step the trainer counts was whole: training on from here on one thread equals the same steps done so.
    const step = trainer.step;
    expect(step).toBeGreaterThanOrEqual(before.step);
    expect(trainer.losses).toHaveLength(step);
    const again = await trainer.run({ steps: 2, evalEvery: 0 });
    expect(again.steps).toBe(2);
    expect(trainer.step).toBe(step + 2);
    expect(Number.isFinite(again.finalLoss)).toBe(true);
  }, 60_000);

  it('ParallelInference scores as scoreTokens does and samples several texts at once, each as sampleText gives it', async () => {
    const { tok, model, trainer } = await setup(1);
    await trainer.run({ steps: 10, evalEvery: 0 });
    const inference = new lw.ParallelInference(model, 2);
    try {
      const ids = tok.encode(TEXT.slice(0, 20_000));
      const single = lw.scoreTokens(model, ids, 8, 32);
      const parallel = await inference.score(ids, 8, 32);
      expect(parallel.tokens).toBe(single.tokens);
      expect(Math.abs(parallel.loss - single.loss)).toBeLessThan(1e-6);
      const requests = [1, 2, 3, 4, 5].map((seed) => ({ prime: seed % 2 ? 'And ' : 'The ', options: { seed, length: 40, temperature: 0.9, topK: 10 } }));
      const texts = await inference.sampleTexts(tok, requests);
      expect(texts).toEqual(requests.map((r) => lw.sampleText(model, tok, r.prime, r.options)));
      expect(new Set(texts).size, 'different seeds give different samples').toBe(5);
      await expect(inference.score(ids.subarray(0, 1), 8, 32)).rejects.toThrow(/ids has 1 token\(s\), need at least 2/);
      await expect(inference.sampleTexts(tok, [{ prime: 'And', options: { top_k: 3 } as never }])).rejects.toThrow(/topK/);
      expect(() => new lw.ParallelInference(model, 0)).toThrow(/threads must be an integer >= 1, got 0/);
    } finally {
      await inference.dispose();
    }
  }, 60_000);

  it('refuses more threads than lanes, and trainStep() on several threads', async () => {
    await expect(setup(9, { batch: 8 })).rejects.toThrow(/threads must be an integer from 1 to the batch size 8 \(each thread needs a lane\), got 9/);
    const { trainer } = await setup(2);
    expect(() => trainer.trainStep()).toThrow(/threads 2 steps asynchronously; train with run\(\)/);
  });
});
