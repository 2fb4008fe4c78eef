// Behaviour unchanged, bit for bit: a checkpoint written by `lstm-wasm train` at commit time of
// scripts/fixtures/make_golden.mjs (test/fixtures/golden/), and what that code made of it: seeded
// and greedy text, float32 and int8; the loss on a fixed text; the parameters after resuming it
// for 3 steps on the CLI; the same seeded run made again, on 1 thread and data-parallel on 2
// (the latter's fixture added by `make_golden.mjs --only threads` from a build with the same
// behaviour). A refactor that changes any of these changes behaviour: the fixture is
// not to be regenerated to make this pass.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lw from 'lstm-wasm';
import { runCli } from '../support/cli';
import { paramsHash } from '../../scripts/fixtures/params-hash.mjs';

const dir = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as {
  sample: string; greedy: string; int8Sample: string; loss: number; int8Loss: number;
  resumedStep: number; resumedParams: string; resumedLosses: number[];
  flags: string; threadsFlags: string; threadsParams: string; threadsLosses: number[];
};
const text = readFileSync(join(dir, 'text.txt'), 'utf8');
let tmp: string;

beforeAll(async () => {
  await lw.init();
  tmp = mkdtempSync(join(tmpdir(), 'lstm-wasm-golden-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('golden outputs of an earlier build', () => {
  it('the checkpoint loads; seeded and greedy text, float32 and int8, and the loss are the same to the bit', () => {
    const ck = lw.decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'lm.safetensors'))));
    const model = lw.modelFromCheckpoint(ck);
    const int8 = lw.quantize(model, { dtype: 'int8' });
    try {
      expect(lw.sampleText(model, ck.tokenizer, 'And God said', { length: 120, seed: 1, temperature: 0.8 })).toBe(golden.sample);
      expect(lw.sampleText(model, ck.tokenizer, 'In the beginning', { length: 60, temperature: 0 })).toBe(golden.greedy);
      expect(lw.sampleText(int8, ck.tokenizer, 'And God said', { length: 120, seed: 1, temperature: 0.8 })).toBe(golden.int8Sample);
      const ids = ck.tokenizer.encode(text.slice(20_000, 24_000));
      expect(lw.scoreTokens(model, ids, 4, 16).loss).toBe(golden.loss);
      expect(lw.scoreTokens(int8, ids, 4, 16).loss).toBe(golden.int8Loss);
    } finally {
      int8.dispose();
      model.dispose();
    }
  });

  it('resuming it for 3 steps on the CLI gives the same parameters, bit for bit, and the same losses', async () => {
    const out = join(tmp, 'resumed.safetensors');
    const r = await runCli(['train', join(dir, 'text.txt'), '--resume', join(dir, 'lm.safetensors'), '--steps', '3', '--threads', '1', '--sample-every', '0', '--out', out], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const resumed = lw.decodeCheckpoint(new Uint8Array(readFileSync(out)));
    expect(resumed.meta.trainer!.step).toBe(golden.resumedStep);
    expect(resumed.meta.trainer!.losses).toEqual(golden.resumedLosses);
    expect(paramsHash(resumed.params)).toBe(golden.resumedParams);
  }, 60_000);

  /** Trains as make_golden.mjs did (its flags, 12 steps from the seed) and decodes the checkpoint. */
  async function trainAgain(flags: string, name: string): Promise<lw.DecodedCheckpoint> {
    const out = join(tmp, name);
    const r = await runCli(['train', join(dir, 'text.txt'), '--steps', '12', ...flags.split(' '), '--out', out], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    return lw.decodeCheckpoint(new Uint8Array(readFileSync(out)));
  }

  it('the same seeded run made again gives the same checkpoint: parameters, optimizer, carried state and trainer state', async () => {
    const again = await trainAgain(golden.flags, 'again.safetensors');
    const ck = lw.decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'lm.safetensors'))));
    expect(paramsHash(again.params)).toBe(paramsHash(ck.params));
    const buffers = (t: lw.TrainerTensors): Record<string, { data: Float32Array }> => Object.fromEntries([
      ...t.optimizer.flatMap((bufs, i) => (bufs ?? []).map((b, j) => [`optim.${i}.${j}`, { data: b }] as const)),
      ...(t.state ?? []).map((s, k) => [`state.${k}`, { data: s.data }] as const),
    ]);
    expect(paramsHash(buffers(again.trainer!))).toBe(paramsHash(buffers(ck.trainer!)));
    const timeless = (j: lw.TrainerStateJSON): unknown => ({ ...j, elapsedMs: 0, val: j.val.map((v) => ({ ...v, elapsedMs: 0 })) });
    expect(timeless(again.meta.trainer!)).toEqual(timeless(ck.meta.trainer!));
  }, 60_000);

  it('the same run, data-parallel on 2 threads, gives the same parameters and losses', async () => {
    const again = await trainAgain(golden.threadsFlags, 'threads.safetensors');
    expect(again.meta.trainer!.losses).toEqual(golden.threadsLosses);
    expect(paramsHash(again.params)).toBe(golden.threadsParams);
  }, 60_000);
});
