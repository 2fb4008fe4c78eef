// A session and `lstm-wasm train` are the same run: with the same settings on the bundled corpus,
// their checkpoints hold bit-identical parameters, Adam buffers, carried state and step; each
// resumes the other's checkpoint exactly; and evaluate() gives `lstm-wasm eval`'s loss.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CORPUS_LABEL, decodeCheckpoint } from '../../dist/index.js';
import { SMALL, cli, corpusText, disposeAll, expectSameTraining, fullCorpus, openSession, trainingState } from './session-kit';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-session-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(disposeAll);

const K = 6;
const FLAGS = ['--hidden', String(SMALL.hiddenSize), '--batch', String(SMALL.batchSize), '--seq', String(SMALL.seqLen), '--embed', String(SMALL.embedDim)];
const QUIET = ['--eval-every', '0', '--sample-every', '0', '--save-every', '0'];

describe('TrainingSession and the CLI', () => {
  it(`K=${K} steps on the bundled corpus give the checkpoint 'lstm-wasm train' writes, bit for bit; the CLI reads the session's`, async () => {
    const out = join(dir, 'cli.safetensors');
    const trained = cli(['train', '--steps', String(K), ...FLAGS, ...QUIET, '--out', out], dir);
    const session = await openSession({ text: fullCorpus(), source: BUNDLED_CORPUS_LABEL, settings: SMALL });
    const result = await session.train({ steps: K, evalEvery: 0 });
    expect(result.steps).toBe(K);
    const mine = await session.checkpoint();
    const r = await trained;
    expect(r.code, r.stderr).toBe(0);
    const theirs = new Uint8Array(readFileSync(out));

    expectSameTraining(mine, theirs);
    expect(trainingState(mine).step).toBe(K);
    // The same settings and text record, so `train --resume` takes the session's checkpoint as its own.
    expect(decodeCheckpoint(mine).meta.extra).toEqual(decodeCheckpoint(theirs).meta.extra);

    const file = join(dir, 'session.safetensors');
    writeFileSync(file, mine);
    const gen = await cli(['generate', '--checkpoint', file, '--seed', '1', '--length', '20'], dir);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout.trim().length).toBeGreaterThan(0);

    const resumed = await cli(['train', '--resume', file, '--steps', '2', ...QUIET], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming at step ${K}`);
    // The CLI's two more steps are the session's two more steps.
    const cliResumed = new Uint8Array(readFileSync(file));
    expect(trainingState(cliResumed).step).toBe(K + 2);
    await session.train({ steps: 2, evalEvery: 0 });
    expectSameTraining(await session.checkpoint(), cliResumed);
    await session.dispose();

    // The other way round: a session resumes the CLI's checkpoint exactly.
    const fromCli = await openSession({ text: fullCorpus(), source: BUNDLED_CORPUS_LABEL, checkpoint: theirs });
    expect(fromCli.info.step).toBe(K);
    expect(fromCli.info.settings).toMatchObject(SMALL);
    await fromCli.train({ steps: 2, evalEvery: 0 });
    expectSameTraining(await fromCli.checkpoint(), cliResumed);
  });

  it("evaluate(text) gives the loss 'lstm-wasm eval' prints for the same checkpoint and text", async () => {
    const text = corpusText(40_000);
    const heldOut = fullCorpus().slice(1_000_000, 1_006_000);
    const session = await openSession({ text, settings: SMALL });
    await session.train({ steps: 20, evalEvery: 0 });
    const ckFile = join(dir, 'eval.safetensors');
    const textFile = join(dir, 'held-out.txt');
    writeFileSync(ckFile, await session.checkpoint());
    writeFileSync(textFile, heldOut);

    const cases: { options: { batchSize?: number; seqLen?: number; maxTokens?: number }; flags: string[] }[] = [
      { options: {}, flags: [] },
      { options: { batchSize: 2, seqLen: 8 }, flags: ['--batch', '2', '--seq', '8'] },
      { options: { maxTokens: 1000 }, flags: ['--max-tokens', '1000'] },
    ];
    for (const { options, flags } of cases) {
      const score = await session.evaluate(heldOut, options);
      expect(Object.keys(score).sort()).toEqual(['batchSize', 'loss', 'seqLen', 'tokens']);
      expect(score.batchSize).toBe(options.batchSize ?? SMALL.batchSize);
      expect(score.seqLen).toBe(options.seqLen ?? SMALL.seqLen);
      expect(score.tokens).toBe((options.maxTokens ?? heldOut.length) - 1); // char level: every char but the first
      expect(Number.isFinite(score.loss) && score.loss > 0).toBe(true);
      const r = await cli(['eval', '--checkpoint', ckFile, ...flags, textFile], dir);
      expect(r.code, r.stderr).toBe(0);
      const printed = /^loss (\d+\.\d+)/m.exec(r.stdout);
      expect(printed, r.stdout).not.toBeNull();
      expect(score.loss.toFixed(4)).toBe(printed![1]);
      expect(r.stdout).toContain(`${score.tokens.toLocaleString('en-US')} char tokens scored`);
    }
    // The same bytes as UTF-8 score the same.
    expect(await session.evaluate(new TextEncoder().encode(heldOut))).toEqual(await session.evaluate(heldOut));
  });
});
