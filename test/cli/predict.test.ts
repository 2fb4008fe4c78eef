// `lstm-wasm predict` as users run it (`node dist/cli.js` in a child process) on tiny checkpoints
// trained by the CLI: the table's rows, their order and sum, and its top-1 against the argmax of
// the model's own forward pass through the library API; then every bad input.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, decodeCheckpoint, modelFromCheckpoint, noGrad, tensor, tidy, nn } from 'lstm-wasm';
import { CLI, expectCleanError, runCli, type CliRun } from '../support/cli';

const CORPUS = fileURLToPath(new URL('../../corpus/kjv.txt.gz', import.meta.url));
const TINY = ['--hidden', '32', '--embed', '16', '--steps', '30', '--batch', '8', '--seq', '16', '--sample-every', '0', '--eval-every', '0', '--seed', '1'];

let dir: string;

const run = (args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });

interface Row {
  rank: number;
  token: string;
  percent: number;
}

/** The table's rows: `   1  token  12.34%` (a char token may be `'␠'`, so split on the last run of spaces). */
function rows(stdout: string): Row[] {
  return stdout
    .trimEnd()
    .split('\n')
    .slice(2)
    .map((line) => {
      const m = /^\s*(\d+) {2}(.+?)\s+(\d+\.\d{2})%$/.exec(line);
      if (m === null) throw new Error(`not a table row: '${line}'`);
      return { rank: Number(m[1]), token: m[2], percent: Number(m[3]) };
    });
}

/** The model's next-token probabilities after `ids` (fed as one (T, 1) sequence), by the library API. */
function libraryProbs(file: string, text: string): { probs: Float64Array; vocab: readonly string[]; level: string } {
  const ck = decodeCheckpoint(readFileSync(join(dir, file)));
  const model = modelFromCheckpoint(ck);
  model.eval();
  const ids = ck.tokenizer.encode(text);
  const V = ck.tokenizer.size;
  const logits = noGrad(() => tidy(() => model.forward(tensor(ids, [ids.length, 1])).logits.toArray())) as Float32Array;
  const last = logits.subarray((ids.length - 1) * V);
  const argmax = nn.Stepper.argmax(last, V)[0];
  const max = last[argmax];
  const exps = Float64Array.from(last, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  model.dispose();
  return { probs: exps.map((e) => e / total), vocab: ck.tokenizer.vocab, level: ck.tokenizer.level };
}

beforeAll(async () => {
  await init();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-predict-'));
  writeFileSync(join(dir, 'genesis.txt'), gunzipSync(readFileSync(CORPUS)).toString('utf8').slice(0, 40_000));
  const [w, c] = await Promise.all([
    run(['train', 'genesis.txt', '--level', 'word', ...TINY, '--out', 'w.safetensors']),
    run(['train', 'genesis.txt', '--level', 'char', ...TINY, '--out', 'c.safetensors']),
  ]);
  expect(w.code, w.stderr).toBe(0);
  expect(c.code, c.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lstm-wasm predict', () => {
  it('word level: k rows in descending probability, summing to at most 100%, top-1 = the argmax of the model', async () => {
    const r = await run(['predict', '--checkpoint', 'w.safetensors', '--prime', 'And God said', '--top-k', '7']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^after 3 word tokens: the 7 likeliest next of \d+\nrank {2}token +probability\n/);
    const table = rows(r.stdout);
    expect(table.map((row) => row.rank)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (let i = 1; i < table.length; i++) expect(table[i].percent).toBeLessThanOrEqual(table[i - 1].percent);
    expect(table.reduce((s, row) => s + row.percent, 0)).toBeLessThanOrEqual(100);

    const { probs, vocab } = libraryProbs('w.safetensors', 'And God said');
    const best = nn.Stepper.argmax(probs, probs.length)[0];
    expect(table[0].token).toBe(vocab[best]);
    // Shown to 2 decimals of a percent.
    expect(Math.abs(table[0].percent - probs[best] * 100)).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(new Set(table.map((row) => row.token)).size).toBe(7);
  });

  it('lists 10 by default; an empty prime starts where generate does (<bos>)', async () => {
    const r = await run(['predict', '--checkpoint', 'w.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^from the start of a text \(<bos>\): the 10 likeliest next/);
    expect(rows(r.stdout)).toHaveLength(10);
    const empty = await run(['predict', '--checkpoint', 'w.safetensors', '--prime', '']);
    expect(empty.stdout).toBe(r.stdout);
  });

  it('notes unknown words of the prime on stderr, as generate does', async () => {
    const r = await run(['predict', '--checkpoint', 'w.safetensors', '--prime', 'And God quuxified', '--top-k', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('lstm-wasm: note: 1 token(s) of the prime are not in the vocabulary (read as <unk>)\n');
    expect(rows(r.stdout)).toHaveLength(3);
  });

  it('char level: every token of the vocabulary, quoted and escaped, summing to 100%; top-1 = the argmax', async () => {
    const { probs, vocab, level } = libraryProbs('c.safetensors', 'And God sai');
    expect(level).toBe('char');
    const V = vocab.length;
    const r = await run(['predict', '--checkpoint', 'c.safetensors', '--prime', 'And God sai', '--top-k', String(V)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^after 11 char tokens: the ${V} likeliest next of ${V}\n`));
    const table = rows(r.stdout);
    expect(table).toHaveLength(V);
    for (const row of table) expect(row.token).toMatch(/^'.+'$|^<unk>$/);
    const tokens = table.map((row) => row.token);
    expect(tokens).toContain("'␠'");
    expect(tokens).toContain("'\\n'");
    expect(tokens).not.toContain("' '");
    // Rounding each of V rows to 0.01 moves the sum by at most V * 0.005.
    expect(Math.abs(table.reduce((s, row) => s + row.percent, 0) - 100)).toBeLessThanOrEqual(V * 0.005);
    const best = nn.Stepper.argmax(probs, V)[0];
    const shownBest = vocab[best] === ' ' ? "'␠'" : vocab[best] === '\n' ? "'\\n'" : `'${vocab[best]}'`;
    expect(table[0].token).toBe(shownBest);
  });
});

describe('lstm-wasm predict: bad input (one clear error line)', () => {
  it('no --checkpoint, and no pretrained model where LSTM_WASM_PRETRAINED points', async () => {
    const r = await runCli(['predict', '--prime', 'And God'], { cwd: dir, env: { LSTM_WASM_PRETRAINED: 'none.safetensors' } });
    expectCleanError(r, /LSTM_WASM_PRETRAINED=none\.safetensors: no such file/);
  });

  it('the text as a positional argument: refused, with the --prime form as the hint', async () => {
    expectCleanError(await run(['predict', '--checkpoint', 'w.safetensors', 'And God said']), /predict takes its text as --prime.*--prime "And God said"/, 2);
  });

  it('--top-k out of range: below 1, above the vocabulary, not an integer', async () => {
    expectCleanError(await run(['predict', '--checkpoint', 'w.safetensors', '--top-k', '0']), /--top-k must be an integer >= 1, got '0'/, 2);
    expectCleanError(await run(['predict', '--checkpoint', 'w.safetensors', '--top-k', '-3']), /--top-k must be an integer >= 1, got '-3'/, 2);
    expectCleanError(await run(['predict', '--checkpoint', 'w.safetensors', '--top-k', '2.5']), /--top-k must be an integer/, 2);
    expectCleanError(await run(['predict', '--checkpoint', 'w.safetensors', '--top-k', '1000000']), /--top-k must be at most the vocabulary size \(\d+\) of w\.safetensors, got 1000000/, 2);
  });

  it('a missing checkpoint', async () => {
    expectCleanError(await run(['predict', '--checkpoint', 'nope.safetensors']), /checkpoint nope\.safetensors: no such file/, 1);
  });

  it('is listed in the tool help and has its own --help', async () => {
    const top = await run(['--help']);
    expect(top.stdout).toMatch(/^ {2}predict \[--checkpoint <f>\]/m);
    const r = await run(['predict', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lstm-wasm predict \[--checkpoint <file>\]/);
    for (const flag of ['--checkpoint', '--prime', '--top-k']) expect(r.stdout).toContain(flag);
  });
});
