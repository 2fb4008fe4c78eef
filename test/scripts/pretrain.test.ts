// `npm run pretrain` (scripts/pretrain.mjs) with a tiny model: the same command makes the same file
// bit for bit, also when it is stopped and resumed on the way; and its flags are checked. The
// shipped model is this script's output with the default settings (an hour and more on 2 cores).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lw from 'lstm-wasm';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/pretrain.mjs', import.meta.url));
const TINY = JSON.stringify({ embedDim: 8, hiddenSize: 16, numLayers: 1, batchSize: 4, seqLen: 16 });
const STEPS = '7';
let dir: string;

async function pretrain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(async () => {
  await lw.init();
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-pretrain-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/pretrain.mjs', () => {
  it('makes the same file bit for bit in one go and when stopped and resumed', async () => {
    const whole = join(dir, 'whole');
    const split = join(dir, 'split');
    const a = await pretrain(['--dir', whole, '--settings', TINY, '--steps', STEPS]);
    expect(a.code, a.stderr).toBe(0);
    const b1 = await pretrain(['--dir', split, '--settings', TINY, '--steps', STEPS, '--stop-after', '3']);
    expect(b1.code, b1.stderr).toBe(0);
    expect(b1.stdout).toMatch(/stopped at step 3 of 7 \(--stop-after\)/);
    const b2 = await pretrain(['--dir', split, '--settings', TINY, '--steps', STEPS]);
    expect(b2.code, b2.stderr).toBe(0);
    expect(b2.stdout).toMatch(/resuming at step 3/);

    const fileA = readFileSync(join(whole, 'kjv-byte.safetensors'));
    const fileB = readFileSync(join(split, 'kjv-byte.safetensors'));
    expect(fileB.equals(fileA), 'the same bytes').toBe(true);

    const ck = lw.decodeCheckpoint(new Uint8Array(fileA));
    expect(ck.quantized?.dtype).toBe('int8');
    expect(ck.tokenizer.level).toBe('byte');
    expect(ck.meta.trainer, 'a model, not a run').toBeNull();
    const made = ck.meta.extra.pretrained as Record<string, unknown>;
    expect(made).toMatchObject({ steps: 7, corpus: lw.BUNDLED_CORPUS_LABEL, seed: 1, threads: 2 });
    expect(String(made.commit)).toMatch(/^([0-9a-f]{40}|unknown)$/);
    // The metadata file says the same, plus the time taken (which the model file leaves out).
    const json = JSON.parse(readFileSync(join(whole, 'kjv-byte.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({ ...made, int8Bytes: fileA.length, settings: expect.objectContaining({ hiddenSize: 16, level: 'byte' }) });
    expect(typeof json.trainingMinutes).toBe('number');
    // The loss it records is what the model scores on the held-out tail of the corpus.
    const model = lw.modelFromCheckpoint(ck);
    try {
      const text = gunzipSync(readFileSync(fileURLToPath(new URL('../../corpus/kjv.txt.gz', import.meta.url)))).toString('utf8');
      const ids = ck.tokenizer.encode(text);
      const val = lw.trainValSplit(ids, 0.05).val;
      expect(lw.scoreTokens(model, val, 4, 16).loss).toBeCloseTo(made.int8ValLoss as number, 6);
    } finally {
      model.dispose();
    }
  }, 240_000);

  it('refuses bad flags with a message and exit code 2, and a saved run of other settings', async () => {
    for (const [args, message] of [
      [['--steps', '0'], /--steps must be an integer >= 1, got 0/],
      [['--stop-after', '1.5'], /--stop-after must be an integer >= 1, got 1\.5/],
      [['--settings', '{"hiden":3}'], /--settings has 'hiden', not a setting here \(known: level, .*hiddenSize/],
      [['--settings', '{"hiddenSize":"16"}'], /--settings hiddenSize must be a number, got "16"/],
      [['--settings', '[1]'], /--settings must be a JSON object/],
      [['--settings', '{'], /--settings must be JSON/],
      [['--stepz', '3'], /Unknown option '--stepz'/],
    ] as [string[], RegExp][]) {
      const r = await pretrain(['--dir', join(dir, 'bad'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const other = JSON.stringify({ ...JSON.parse(TINY), hiddenSize: 8 });
    const r = await pretrain(['--dir', join(dir, 'split'), '--settings', other, '--steps', STEPS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/state\.safetensors was made with other settings .*; remove .*work to start over/);
  }, 60_000);

  it('--help says what it does', async () => {
    const r = await pretrain(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run pretrain/);
    for (const flag of ['--steps <n>', '--dir <dir>', '--settings <json>', '--stop-after <n>']) expect(r.stdout).toContain(flag);
  });
});
