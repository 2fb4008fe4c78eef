// LanguageModel, generation and the trainer: shapes, seeded determinism, streaming, memory,
// learning, progress events, abort, and the library-level exact resume.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, memory, tensor, tidy, CharTokenizer, WordTokenizer, LanguageModel, LMBatcher, LMTrainer, sampleText,
  generateText, sampleFromLogits, Generator, encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, restoreTrainer,
  type TrainProgress,
} from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const TEXT = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);

function setup(cell: 'lstm' | 'gru' = 'lstm', dropout = 0) {
  manualSeed(3);
  const tok = CharTokenizer.fromText(TEXT);
  const model = new LanguageModel({ vocabSize: tok.size, cell, embedDim: 8, hiddenSize: 24, numLayers: 2, dropout });
  return { tok, model };
}

describe('LanguageModel', () => {
  it('maps ids (T, B) to logits (T, B, V) and a state per layer', () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const { tok, model } = setup(cell);
      tidy(() => {
        const { logits, state } = model.forward(tensor(new Int32Array(15), [5, 3]));
        expect(logits.shape).toEqual([5, 3, tok.size]);
        expect(state.length).toBe(cell === 'lstm' ? 2 : 1);
        for (const s of state) expect(s.shape).toEqual([2, 3, 24]);
      });
      expect(model.namedParameters().map(([n]) => n)).toContain('rnn.weight_hh_l1');
      model.dispose();
    }
  });

  it('generates the same tokens for the same seed, different ones for another seed', () => {
    const { tok, model } = setup();
    const prime = tok.encode('the ');
    const a = Array.from(model.sample(prime, { length: 40, seed: 7 }));
    const b = Array.from(model.sample(prime, { length: 40, seed: 7 }));
    const c = Array.from(model.sample(prime, { length: 40, seed: 8 }));
    expect(a).toHaveLength(40);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // sampleText is the same stream, decoded (with nothing suppressed; by default <unk> never comes out).
    expect(sampleText(model, tok, 'the ', { length: 40, seed: 7, suppress: [] })).toBe(tok.decode(a));
    expect(a).toContain(tok.unkId); // an untrained model does draw it...
    for (let seed = 0; seed < 5; seed++) expect(sampleText(model, tok, 'the ', { length: 40, seed })).not.toContain('\uFFFD'); // ...but not here
    model.dispose();
  });

  it('streams the same text through the async iterator, with onToken, and can stop early', async () => {
    const { tok, model } = setup();
    const want = sampleText(model, tok, 'the ', { length: 30, seed: 1, topK: 5 });
    const seen: number[] = [];
    let got = '';
    for await (const piece of generateText(model, tok, 'the ', { length: 30, seed: 1, topK: 5, yieldEvery: 4, onToken: (id) => seen.push(id) })) got += piece;
    expect(got).toBe(want);
    expect(seen).toHaveLength(30);
    const controller = new AbortController();
    let n = 0;
    for await (const _ of model.generate(tok.encode('the '), { length: 1000, seed: 1, signal: controller.signal })) {
      if (++n === 5) controller.abort();
    }
    expect(n).toBe(5);
    model.dispose();
  });

  it('keeps memory flat while generating and leaves the training mode as it was', () => {
    const { tok, model } = setup();
    model.train();
    sampleText(model, tok, 'the', { length: 5, seed: 1 });
    const before = memory().liveTensors;
    sampleText(model, tok, 'the', { length: 200, seed: 1 });
    const it = model.sample(tok.encode('the'), { length: 100, seed: 2 });
    it.next();
    it.return(undefined); // abandoned mid-stream: its state must still be freed
    expect(memory().liveTensors).toBe(before);
    expect(model.training).toBe(true);
    model.dispose();
  });

  it('temperature 0 is greedy and equals topK = 1', () => {
    const { tok, model } = setup();
    const greedy = sampleText(model, tok, 'the', { length: 20, temperature: 0, seed: 1 });
    expect(sampleText(model, tok, 'the', { length: 20, topK: 1, seed: 99 })).toBe(greedy);
    model.dispose();
  });

  it('checks its arguments', () => {
    const { tok, model } = setup();
    expect(() => model.sample([], { length: 3 }).next()).toThrow(/prime must hold at least one token/);
    expect(() => model.sample([999], {}).next()).toThrow(/prime\[0\] = 999 is out of range/);
    expect(() => model.sample(tok.encode('a'), { temperature: -1 }).next()).toThrow(/temperature/);
    expect(() => new LanguageModel({ vocabSize: 5, cell: 'rnn' as 'lstm' })).toThrow(/cell must be 'lstm' or 'gru'/);
    model.dispose();
  });

  it('word-level generation starts from <bos> and decodes with spacing', () => {
    manualSeed(1);
    const tok = WordTokenizer.fromText(TEXT);
    const model = new LanguageModel({ vocabSize: tok.size, embedDim: 4, hiddenSize: 8 });
    const out = sampleText(model, tok, '', { length: 12, seed: 5 });
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toMatch(/ {2}/);
    model.dispose();
  });
});

describe('sampleFromLogits', () => {
  const logits = [0.1, 3, 2.9, -1, 0];
  it('topK and topP restrict the candidates', () => {
    const g = new Generator(1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const k = sampleFromLogits(logits, { topK: 2 }, g);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2]);
    for (let i = 0; i < 100; i++) expect([1, 2]).toContain(sampleFromLogits(logits, { topP: 0.6 }, g));
    expect(sampleFromLogits(logits, { temperature: 0 }, g)).toBe(1);
  });
});

describe('LMTrainer', () => {
  function trainer(cell: 'lstm' | 'gru' = 'lstm', dropout = 0) {
    const { tok, model } = setup(cell, dropout);
    const ids = tok.encode(TEXT);
    const cut = Math.floor(ids.length * 0.9);
    const t = new LMTrainer(model, new LMBatcher(ids.subarray(0, cut), 4, 16), new LMBatcher(ids.subarray(cut), 2, 16), { lr: 1e-2 });
    return { tok, model, t };
  }

  it('learns (validation loss falls well below the uniform ln V) with flat memory', async () => {
    const { tok, model, t } = trainer();
    const start = t.evaluate()!;
    expect(start).toBeGreaterThan(Math.log(tok.size) - 0.5);
    t.trainStep();
    const live = memory().liveTensors;
    await t.run({ steps: 150, evalEvery: 0 });
    expect(memory().liveTensors).toBe(live);
    const end = t.evaluate()!;
    expect(end).toBeLessThan(1.2);
    t.dispose();
    model.dispose();
  });

  it('reports progress events and stops cleanly on an AbortSignal', async () => {
    const { model, t } = trainer('gru');
    const events: TrainProgress[] = [];
    const controller = new AbortController();
    const result = await t.run({
      steps: 1000, evalEvery: 5, signal: controller.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.step === 12) controller.abort();
      },
    });
    expect(result.stoppedBy).toBe('signal');
    expect(result.steps).toBe(12);
    expect(t.step).toBe(12);
    const last = events.filter((e) => !e.evaluated).at(-1)!;
    expect(last.step).toBe(12);
    for (const k of ['loss', 'smoothLoss', 'perplexity', 'tokensPerSec', 'msPerStep', 'epoch', 'elapsedMs'] as const) {
      expect(Number.isFinite(last[k]), k).toBe(true);
    }
    expect(last.fraction).toBeCloseTo(12 / 1000, 5);
    expect(last.etaMs).toBeGreaterThan(0);
    const evals = events.filter((e) => e.evaluated);
    expect(evals.map((e) => e.step)).toEqual([5, 10]);
    expect(evals[1].valLoss).not.toBeNull();
    expect(t.valHistory.map((v) => v.step)).toEqual([5, 10]);
    t.dispose();
    model.dispose();
  });

  it('stops on a time budget and an epoch count', async () => {
    const { model, t } = trainer();
    const r = await t.run({ timeMs: 150, evalEvery: 0 });
    expect(r.stoppedBy).toBe('time');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(150);
    const e = await t.run({ epochs: 1, evalEvery: 0 });
    expect(e.stoppedBy).toBe('epochs');
    expect(e.steps).toBe(t.train.windowsPerEpoch);
    t.dispose();
    model.dispose();
  });

  it('resumes exactly from a checkpoint: K + N steps equal K, save, load, N (bitwise, with dropout)', async () => {
    const K = 7;
    const N = 9;
    const full = trainer('lstm', 0.25);
    await full.t.run({ steps: K + N, evalEvery: 4 });

    const part = trainer('lstm', 0.25);
    await part.t.run({ steps: K, evalEvery: 0 });
    const bytes = encodeCheckpoint(part.model, part.tok, part.t, { note: 'test' });
    part.t.dispose();
    part.model.dispose();
    manualSeed(12345); // whatever the global generator did since, the checkpoint restores it

    const ck = decodeCheckpoint(bytes);
    expect(ck.meta.extra).toEqual({ note: 'test' });
    expect(ck.meta.trainer!.step).toBe(K);
    const model = modelFromCheckpoint(ck);
    const ids = ck.tokenizer.encode(TEXT);
    const cut = Math.floor(ids.length * 0.9);
    const t = new LMTrainer(model, new LMBatcher(ids.subarray(0, cut), 4, 16), new LMBatcher(ids.subarray(cut), 2, 16), { lr: 1e-2 });
    restoreTrainer(t, ck);
    await t.run({ steps: N, evalEvery: 0 });

    expect(t.step).toBe(K + N);
    const a = full.model.namedParameters();
    const b = model.namedParameters();
    for (let i = 0; i < a.length; i++) {
      expect(b[i][0]).toBe(a[i][0]);
      expect(Array.from(b[i][1].toArray()), a[i][0]).toEqual(Array.from(a[i][1].toArray()));
    }
    expect(t.losses).toEqual(full.t.losses.map((l) => Math.round(l * 1e4) / 1e4).slice(0, K).concat(full.t.losses.slice(K)));
    full.t.dispose();
    full.model.dispose();
    t.dispose();
    model.dispose();
  });
});
