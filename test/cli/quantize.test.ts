// `lstm-wasm quantize` as users run it (`node dist/cli.js` in a child process) on tiny checkpoints
// trained by the CLI: the files it writes (the library's encoding of the quantized model, byte for
// byte), what it prints, and that generate / predict / eval take them (losses within a bound of the
// float32 model's); then every bad input, one clear line each, and its --help.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint, quantize, sampleText } from 'lstm-wasm';
import { CLI, expectCleanError, runCli, type CliRun } from '../support/cli';
import { crc32, storedTensors, buildSafetensors } from '../text/checkpoint-kit';

const CORPUS = fileURLToPath(new URL('../../corpus/kjv.txt.gz', import.meta.url));
const TINY = ['--embed', '16', '--hidden', '32', '--batch', '8', '--seq', '16', '--steps', '30', '--sample-every', '0', '--eval-every', '0', '--seed', '1'];
const DTYPES = ['int8', 'float16'] as const;

let dir: string;

const run = (args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });
const file = (name: string): Buffer => readFileSync(join(dir, name));

/** The `loss x.xxxx` eval prints. */
function loss(r: CliRun): number {
  expect(r.code, r.stderr).toBe(0);
  const m = /^loss (\d+\.\d{4}) {2}perplexity/m.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return Number(m![1]);
}

beforeAll(async () => {
  await init();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-quantize-'));
  writeFileSync(join(dir, 'genesis.txt'), gunzipSync(readFileSync(CORPUS)).toString('utf8').slice(0, 40_000));
  // A char-level LSTM and a word-level 2-layer GRU.
  const [c, w] = await Promise.all([
    run(['train', 'genesis.txt', ...TINY, '--out', 'c.safetensors']),
    run(['train', 'genesis.txt', '--level', 'word', '--model', 'gru', '--layers', '2', ...TINY, '--out', 'w.safetensors']),
  ]);
  expect(c.code, c.stderr).toBe(0);
  expect(w.code, w.stderr).toBe(0);
  const made = await Promise.all(
    ['c', 'w'].flatMap((m) => DTYPES.map((d) => run(['quantize', '--checkpoint', `${m}.safetensors`, '--dtype', d, '--out', `${m}-${d}.safetensors`]))),
  );
  for (const r of made) expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lstm-wasm quantize', () => {
  it('writes int8 and float16 checkpoints (exit 0, sizes printed): the library\'s encoding of the quantized model, byte for byte', async () => {
    const source = file('c.safetensors');
    const ck = decodeCheckpoint(source);
    const float32Weights = Object.values(ck.params).reduce((a, p) => a + 4 * p.data.length, 0);
    const model = modelFromCheckpoint(ck);
    for (const dtype of DTYPES) {
      const out = `again-${dtype}.safetensors`;
      const r = await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', dtype, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const bytes = file(out);
      const kB = (bytes.length / 1e3).toFixed(1);
      expect(r.stdout).toBe(
        `${out}: ${dtype} model, ${kB} kB (float32 weights: ${(float32Weights / 1e3).toFixed(1)} kB, ${(float32Weights / bytes.length).toFixed(1)}x larger)\n` +
          `  generate: npx lstm-wasm generate --checkpoint ${out} --prime "And "\n` +
          `  evaluate: npx lstm-wasm eval --checkpoint ${out}\n`,
      );
      // What the library writes for quantize(model) with the source's tokenizer and extra (its flags and text record).
      const q = quantize(model, { dtype });
      const expected = encodeCheckpoint(q, ck.tokenizer, null, ck.meta.extra);
      q.dispose();
      expect(Buffer.compare(bytes, expected), `${dtype}: the CLI's file is encodeCheckpoint(quantize(model))`).toBe(0);
      const back = decodeCheckpoint(bytes);
      expect(back.meta).toMatchObject({ version: 2, quantization: dtype, trainer: null });
      expect(back.meta.extra).toEqual(ck.meta.extra);
      // Smaller than the float32 weights alone: measured 2.7x (int8) and 1.8x (float16) on this tiny model, header included.
      expect(float32Weights / bytes.length).toBeGreaterThan(dtype === 'int8' ? 2.4 : 1.6);
    }
    model.dispose();
    // The source is untouched.
    expect(file('c.safetensors').equals(source)).toBe(true);
  });

  it('eval: the loss within 0.05 (int8) and 0.005 (float16) of the float32 model\'s, on the same lanes', async () => {
    const measured: string[] = [];
    for (const m of ['c', 'w']) {
      const runs = await Promise.all([`${m}.safetensors`, `${m}-int8.safetensors`, `${m}-float16.safetensors`].map((f) => run(['eval', '--checkpoint', f, 'genesis.txt'])));
      const [f32, int8, f16] = runs.map(loss);
      // Measured: c 3.0322 / 3.0323 / 3.0322, w 5.3075 / 5.3075 / 5.3075 (float32 / int8 / float16).
      measured.push(`${m}: ${f32} ${int8} ${f16}`);
      expect(Math.abs(int8 - f32), `${m}: int8 ${int8} vs float32 ${f32}`).toBeLessThanOrEqual(0.05);
      expect(Math.abs(f16 - f32), `${m}: float16 ${f16} vs float32 ${f32}`).toBeLessThanOrEqual(0.005);
      // eval reads --batch and --seq from the quantized file as from the float32 one: the same tokens and lanes.
      const layout = (r: CliRun): string => /tokens scored \(.*?\)/.exec(r.stdout)![0];
      expect(layout(runs[1])).toBe(layout(runs[0]));
      expect(layout(runs[2])).toBe(layout(runs[0]));
      expect(layout(runs[0])).toContain('8 lanes, seq 16');
    }
    console.log(`quantize eval losses (float32 int8 float16): ${measured.join('; ')}`);
  });

  it('generate --seed: the library\'s sampleText on the model the file holds; float16 matches float32 here, int8 is its own', async () => {
    const args = (f: string, seed: number, length = 60): string[] => ['generate', '--checkpoint', f, '--prime', 'And God', '--length', String(length), '--seed', String(seed)];
    for (const dtype of DTYPES) {
      const f = `c-${dtype}.safetensors`;
      const [a, b] = await Promise.all([run(args(f, 3)), run(args(f, 3))]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stderr).toBe('');
      expect(b.stdout, 'the same seed, the same text').toBe(a.stdout);
      // generate's defaults: temperature 0.8, top-k 0, top-p 1.
      const model = modelFromCheckpoint(decodeCheckpoint(file(f)));
      const tok = decodeCheckpoint(file(f)).tokenizer;
      expect(a.stdout).toBe(`And God${sampleText(model, tok, 'And God', { length: 60, seed: 3, temperature: 0.8, topK: 0, topP: 1 })}\n`);
      model.dispose();
    }
    // Measured: float16 gives float32's text for seed 3 (and 7 of seeds 1-8 over 200 characters; seed 4 parts
    // after 41 characters): its logits differ from float32's by ~1e-5, which rarely moves a draw. int8 parts sooner.
    const [f32, f16, f32Long, f16Long] = await Promise.all([
      run(args('c.safetensors', 3)), run(args('c-float16.safetensors', 3)), run(args('c.safetensors', 4, 200)), run(args('c-float16.safetensors', 4, 200)),
    ]);
    expect(f16.stdout).toBe(f32.stdout);
    expect(f16Long.stdout).not.toBe(f32Long.stdout);
    expect(f16Long.stdout.slice(0, 48)).toBe(f32Long.stdout.slice(0, 48));
    // Word level (GRU, 2 layers) runs too.
    const w = await run(args('w-int8.safetensors', 1, 20));
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout.startsWith('And God')).toBe(true);
    expect(w.stdout.trim().split(/\s+/).length).toBeGreaterThan(5);
  });

  it('predict: the same table layout, top-1 and near probabilities as the float32 model', async () => {
    const table = (r: CliRun): { token: string; percent: number }[] => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trimEnd().split('\n').slice(2).map((line) => {
        const m = /^\s*\d+ {2}(.+?)\s+(\d+\.\d{2})%$/.exec(line)!;
        return { token: m[1], percent: Number(m[2]) };
      });
    };
    for (const [m, prime] of [['c', 'And God sai'], ['w', 'And God said']] as const) {
      const args = (f: string): string[] => ['predict', '--checkpoint', f, '--prime', prime, '--top-k', '5'];
      const [f32, int8, f16] = await Promise.all([`${m}.safetensors`, `${m}-int8.safetensors`, `${m}-float16.safetensors`].map((f) => run(args(f))));
      expect(int8.stdout.split('\n').slice(0, 2)).toEqual(f32.stdout.split('\n').slice(0, 2));
      const [a, b, c] = [table(f32), table(int8), table(f16)];
      expect(b).toHaveLength(5);
      expect(b[0].token, `${m}: int8 top-1`).toBe(a[0].token);
      expect(c[0].token, `${m}: float16 top-1`).toBe(a[0].token);
      // Measured (c): 22.68% float32 and float16, 22.65% int8.
      for (let i = 0; i < 5; i++) {
        expect(Math.abs(b[i].percent - a[i].percent), `${m} int8 row ${i}`).toBeLessThanOrEqual(0.5);
        expect(Math.abs(c[i].percent - a[i].percent), `${m} float16 row ${i}`).toBeLessThanOrEqual(0.05);
      }
    }
  });
});

describe('lstm-wasm quantize: bad input (one clear error line)', () => {
  it('a missing --checkpoint, --dtype or --out (exit 2)', async () => {
    expectCleanError(await run(['quantize']), /quantize needs --checkpoint <file> \(see: lstm-wasm quantize --help\)/, 2);
    expectCleanError(await run(['quantize', '--dtype', 'int8', '--out', 'x.safetensors']), /quantize needs --checkpoint <file>/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--out', 'x.safetensors']), /quantize needs --dtype int8 or --dtype float16/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int8']), /quantize needs --out <file>/, 2);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('--dtype int4 (or float32, or nothing after it), a positional argument, an unknown flag (exit 2)', async () => {
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int4', '--out', 'x.safetensors']), /--dtype must be one of int8, float16, got 'int4'/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'float32', '--out', 'x.safetensors']), /--dtype must be one of int8, float16, got 'float32'/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--out', 'x.safetensors', '--dtype']), /--dtype/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int8', '--out', 'x.safetensors', 'extra']), /'quantize' takes no positional argument, got 'extra'/, 2);
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int8', '--out', 'x.safetensors', '--bits', '8']), /unknown option '--bits' for 'quantize'/, 2);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('--out the same as --checkpoint (exit 2, the float32 checkpoint untouched)', async () => {
    copyFileSync(join(dir, 'c.safetensors'), join(dir, 'same.safetensors'));
    const before = file('same.safetensors');
    const r = await run(['quantize', '--checkpoint', 'same.safetensors', '--dtype', 'int8', '--out', 'same.safetensors']);
    expectCleanError(r, /--out same\.safetensors is the input checkpoint; write the quantized model to another file/, 2);
    expect(r.stdout).toBe('');
    expect(file('same.safetensors').equals(before)).toBe(true);
  });

  // Fixed bug, kept as a regression test: quantize compared --out with --checkpoint as strings (ts/cli/quantize.ts: `f.out === f.checkpoint`), so the
  // same file by another path (./same.safetensors, an absolute path, a symlink) is overwritten with the int8 model:
  // the float32 checkpoint, the only one training can resume from, is lost. `train` compares by real path (sameFileAs
  // in ts/cli/files.ts); quantize should too.
  it('--out the same file as --checkpoint by another path (./x, absolute, a symlink): refused, the float32 checkpoint untouched', async () => {
    copyFileSync(join(dir, 'c.safetensors'), join(dir, 'same2.safetensors'));
    symlinkSync(join(dir, 'same2.safetensors'), join(dir, 'same2-link.safetensors'));
    const before = file('same2.safetensors');
    try {
      for (const out of ['./same2.safetensors', join(dir, 'same2.safetensors'), 'same2-link.safetensors']) {
        const r = await run(['quantize', '--checkpoint', 'same2.safetensors', '--dtype', 'int8', '--out', out]);
        expect(r.code, `--out ${out}: exit code (stdout: ${r.stdout})`).toBe(2);
        expect(r.stderr).toMatch(/is the input checkpoint/);
      }
    } finally {
      // Whatever happened, say what became of the float32 checkpoint.
      expect(decodeCheckpoint(file('same2.safetensors')).meta.quantization, 'same2.safetensors was overwritten by the quantized model').toBeUndefined();
      expect(file('same2.safetensors').equals(before)).toBe(true);
    }
  });

  it('quantizing a quantized checkpoint (exit 1, says to quantize the float32 one)', async () => {
    for (const dtype of DTYPES) {
      const r = await run(['quantize', '--checkpoint', `c-${dtype}.safetensors`, '--dtype', 'int8', '--out', 'x.safetensors']);
      expectCleanError(r, new RegExp(`checkpoint c-${dtype}\\.safetensors: is quantized already \\(${dtype}\\); quantize the float32 checkpoint it was made from`), 1);
    }
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('train --resume of a quantized checkpoint (exit 1: it is quantized, train from the float32 checkpoint), the file untouched', async () => {
    const before = file('c-int8.safetensors');
    for (const extra of [['genesis.txt'], []]) {
      const r = await run(['train', ...extra, '--resume', 'c-int8.safetensors', '--steps', '1']);
      expectCleanError(r, /checkpoint c-int8\.safetensors: is a quantized model \(int8\), for inference only: .*train from the float32 checkpoint it was made from/, 1);
    }
    const r = await run(['train', 'genesis.txt', '--resume', 'w-float16.safetensors', '--steps', '1', '--out', 'y.safetensors']);
    expectCleanError(r, /is a quantized model \(float16\).*train from the float32 checkpoint/, 1);
    expect(existsSync(join(dir, 'y.safetensors'))).toBe(false);
    expect(file('c-int8.safetensors').equals(before)).toBe(true);
  });

  it('a corrupt quantized file (a flipped byte, truncation): generate, predict, eval and quantize say so (exit 1)', async () => {
    const good = file('c-int8.safetensors');
    const flipped = Buffer.from(good);
    flipped[flipped.length - 10] ^= 0x21;
    writeFileSync(join(dir, 'flipped.safetensors'), flipped);
    writeFileSync(join(dir, 'truncated.safetensors'), good.subarray(0, good.length - 100));
    for (const [f, pattern] of [
      ['flipped.safetensors', /checkpoint flipped\.safetensors: checkpoint is corrupt: checksum [0-9a-f]{8} does not match the stored [0-9a-f]{8}/],
      ['truncated.safetensors', /checkpoint truncated\.safetensors: not a valid checkpoint: .*truncated/],
    ] as const) {
      const runs = await Promise.all([
        run(['generate', '--checkpoint', f, '--length', '5']), run(['predict', '--checkpoint', f]), run(['eval', '--checkpoint', f, 'genesis.txt']),
        run(['quantize', '--checkpoint', f, '--dtype', 'float16', '--out', 'x.safetensors']),
      ]);
      for (const r of runs) {
        expectCleanError(r, pattern, 1);
        expect(r.stdout).toBe('');
      }
    }
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('a CRC-valid quantized file with a value no writer makes (int8 -128, a NaN scale, a float16 Inf): exit 1, naming the tensor', async () => {
    // A Uint8Array copy: a Buffer's slice() is a view, and the edits below must not reach the other files.
    const { tensors, metadata } = storedTensors(new Uint8Array(file('c-int8.safetensors')));
    const resign = (ts: typeof tensors): Uint8Array => {
      const sorted = ts.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return buildSafetensors(ts, { ...metadata, crc32: crc32(new TextEncoder().encode(metadata.checkpoint), ...sorted.map((t) => t.bytes)) });
    };
    const edited = (name: string, edit: (b: Uint8Array) => void): Uint8Array => resign(tensors.map((t) => {
      if (t.name !== name) return t;
      const bytes = t.bytes.slice();
      edit(bytes);
      return { ...t, bytes };
    }));
    writeFileSync(join(dir, 'm128.safetensors'), edited('model.rnn.weight_hh_l0', (b) => void (b[3] = 0x80)));
    writeFileSync(join(dir, 'nan-scale.safetensors'), edited('model.head.weight.scale', (b) => new DataView(b.buffer).setFloat32(8, NaN, true)));
    const f16 = storedTensors(new Uint8Array(file('c-float16.safetensors')));
    const inf = f16.tensors.map((t) => (t.name === 'model.embed.weight' ? { ...t, bytes: t.bytes.slice() } : t));
    new DataView(inf.find((t) => t.name === 'model.embed.weight')!.bytes.buffer).setUint16(0, 0x7c00, true);
    const sorted = inf.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    writeFileSync(join(dir, 'inf.safetensors'), buildSafetensors(inf, {
      ...f16.metadata, crc32: crc32(new TextEncoder().encode(f16.metadata.checkpoint), ...sorted.map((t) => t.bytes)),
    }));
    for (const [f, pattern] of [
      ['m128.safetensors', /model\.rnn\.weight_hh_l0: int8 value -128 at 3; symmetric int8 weights are in \[-127, 127\]/],
      ['nan-scale.safetensors', /model\.head\.weight: scale 2 is NaN; scales must be finite and >= 0/],
      ['inf.safetensors', /model\.embed\.weight: float16 value 0 is infinite or NaN/],
    ] as const) {
      const runs = await Promise.all([run(['generate', '--checkpoint', f, '--length', '5']), run(['predict', '--checkpoint', f]), run(['eval', '--checkpoint', f, 'genesis.txt'])]);
      for (const r of runs) {
        expectCleanError(r, pattern, 1);
        expect(r.stdout).toBe('');
      }
    }
  });

  it('an --out that cannot be written (a directory), a missing checkpoint (exit 1)', async () => {
    expectCleanError(await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int8', '--out', '.']), /--out \.: is a directory, expected a file path/, 1);
    expectCleanError(await run(['quantize', '--checkpoint', 'nope.safetensors', '--dtype', 'int8', '--out', 'x.safetensors']), /checkpoint nope\.safetensors: no such file/, 1);
    expectCleanError(await run(['quantize', '--checkpoint', 'genesis.txt', '--dtype', 'int8', '--out', 'x.safetensors']), /checkpoint genesis\.txt: /, 1);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('is listed in the tool help, and quantize --help documents each flag within 100 columns', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^ {2}quantize --checkpoint <f> --dtype int8\|float16 --out <f>$/m);
    for (const args of [['quantize', '--help'], ['quantize', '-h'], ['help', 'quantize']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: lstm-wasm quantize --checkpoint <file> --dtype int8\|float16 --out <file>\n/);
      for (const flag of ['--checkpoint <file>', '--dtype int8|float16', '--out <file>']) expect(r.stdout).toContain(`  ${flag} `);
      for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    }
    // --help runs nothing, even with the other flags given.
    const r = await run(['quantize', '--checkpoint', 'c.safetensors', '--dtype', 'int8', '--out', 'h.safetensors', '--help']);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'h.safetensors'))).toBe(false);
    expect(statSync(join(dir, 'c.safetensors')).size).toBeGreaterThan(0);
  });
});
