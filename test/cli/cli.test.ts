// The `lstm-wasm` command as users run it: `node dist/cli.js ...` in child processes, tiny models.
// Covers train/generate/eval, exact resume, atomic checkpoint writes, Ctrl-C, and every bad input
// (one clear line on stderr, a non-zero exit, no stack trace, nothing overwritten).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, readSafetensors, decodeCheckpoint, modelFromCheckpoint, noGrad, tensor, tidy, F } from 'lstm-wasm';
import { CLI, expectCleanError, runCli, type CliOptions, type CliRun } from '../support/cli';

const CORPUS = fileURLToPath(new URL('../../corpus/kjv.txt.gz', import.meta.url));
/** NODE_OPTIONS that preload test/cli/preload/<name>.cjs into a CLI child (a crash, an engine without SIMD). */
const preload = (name: string): Record<string, string> => ({
  NODE_OPTIONS: `--require=${JSON.stringify(fileURLToPath(new URL(`./preload/${name}.cjs`, import.meta.url)))}`,
});
const TINY = ['--embed', '8', '--hidden', '16', '--batch', '4', '--seq', '16', '--sample-every', '0', '--eval-every', '4', '--val-split', '0.1'];

let dir: string;
let textFile: string;

const run = (args: string[], env: Record<string, string> = {}, onStdout?: CliOptions['onStdout']): Promise<CliRun> =>
  runCli(args, { cwd: dir, env, onStdout });

function params(file: string): Map<string, number[]> {
  const st = readSafetensors(readFileSync(file));
  const out = new Map<string, number[]>();
  for (const [k, t] of Object.entries(st.tensors)) {
    out.set(k, Array.from(t.toArray()));
    t.dispose();
  }
  return out;
}

beforeAll(async () => {
  await init();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-cli-'));
  // Real text: the first chapters of Genesis from the bundled corpus.
  textFile = join(dir, 'genesis.txt');
  writeFileSync(textFile, gunzipSync(readFileSync(CORPUS)).toString('utf8').slice(0, 40_000));
  writeFileSync(join(dir, 'empty.txt'), '');
  writeFileSync(join(dir, 'blank.txt'), '  \n\n ');
  writeFileSync(join(dir, 'binary.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe, 0, 0]));
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lstm-wasm train / generate / eval', () => {
  it('prints help for the tool and each command', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:\n\s+train/);
    for (const cmd of ['train', 'generate', 'eval']) {
      const r = await run([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: lstm-wasm ${cmd}`));
    }
    const train = await run(['train', '-h']);
    for (const flag of ['--level', '--model', '--embed', '--hidden', '--layers', '--dropout', '--seq', '--batch', '--lr', '--clip', '--steps', '--epochs', '--time', '--val-split', '--seed', '--out', '--resume', '--sample-every']) {
      expect(train.stdout).toContain(flag);
    }
  });

  it('prints its version: --version, -v and version', async () => {
    const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
    for (const flag of ['--version', '-v', 'version']) {
      const r = await run([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`lstm-wasm ${version}\n`);
    }
  });

  it('trains, writes a checkpoint, then generates (same seed, same text) and evaluates', async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '12', '--out', 'a.safetensors', '--sample-every', '6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // Not a TTY: plain log lines, no carriage returns or escape codes.
    expect(r.stdout).not.toMatch(/\r|\x1b\[/);
    expect(r.stdout).toMatch(/^step 4 {2}epoch \S+ {2}loss \S+ {2}val \S+ {2}ppl \S+ {2}\S+ tok\/s {2}\S+ ms\/step/m);
    expect(r.stdout).toMatch(/--- sample at step 6/);
    expect(r.stdout).toMatch(/=== done \(step limit\): 12 steps/);
    expect(r.stdout).toMatch(/validation loss \d\.\d+ \(perplexity \d/);
    expect(r.stdout).toMatch(/\. training loss {3}o validation loss/); // the ASCII plot's legend
    expect(existsSync(join(dir, 'a.safetensors'))).toBe(true);

    const g1 = await run(['generate', '--checkpoint', 'a.safetensors', '--prime', 'And God', '--length', '50', '--seed', '3']);
    const g2 = await run(['generate', '--checkpoint', 'a.safetensors', '--prime', 'And God', '--length', '50', '--seed', '3', '--top-k', '0']);
    const g3 = await run(['generate', '--checkpoint', 'a.safetensors', '--prime', 'And God', '--length', '50', '--seed', '4']);
    expect(g1.code, g1.stderr).toBe(0);
    expect(g1.stdout.startsWith('And God')).toBe(true);
    expect([...g1.stdout.trimEnd()].length).toBeGreaterThanOrEqual(50);
    expect(g2.stdout).toBe(g1.stdout);
    expect(g3.stdout).not.toBe(g1.stdout);

    const e = await run(['eval', '--checkpoint', 'a.safetensors', textFile]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/genesis\.txt: [\d,]+ char tokens scored/);
    const m = /loss (\d+\.\d+) {2}perplexity (\d+\.\d+) {2}bits\/char/.exec(e.stdout);
    expect(m).not.toBeNull();
    expect(Math.exp(Number(m![1]))).toBeCloseTo(Number(m![2]), 2);
  });

  it('trains a word-level GRU', async () => {
    const r = await run(['train', textFile, ...TINY, '--level', 'word', '--model', 'gru', '--max-vocab', '300', '--steps', '4', '--out', 'w.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/word tokens, vocabulary 300/);
    expect(r.stdout).toMatch(/model: GRU/);
    const g = await run(['generate', '--checkpoint', 'w.safetensors', '--length', '10', '--seed', '1']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.trim().length).toBeGreaterThan(0);
  });

  it('trains at byte level on any text (German, Greek, emoji): every character encodes, generation and eval work on it', async () => {
    const other = 'Im Anfang schuf Gott Himmel und Erde. Und die Erde war wüst und leer. Ἐν ἀρχῇ ἦν ὁ λόγος. 🔥 Größe 👨‍👩‍👧\n'.repeat(40);
    writeFileSync(join(dir, 'other.txt'), other);
    const r = await run(['train', 'other.txt', ...TINY, '--level', 'byte', '--steps', '3', '--out', 'b.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const bytes = new TextEncoder().encode(other).length;
    expect(r.stdout).toContain(`${other.length.toLocaleString('en-US')} chars -> ${bytes.toLocaleString('en-US')} byte tokens, vocabulary 256`);
    const ck = decodeCheckpoint(readFileSync(join(dir, 'b.safetensors')));
    expect(ck.tokenizer.level).toBe('byte');
    expect(ck.tokenizer.decode(ck.tokenizer.encode(other))).toBe(other);
    const g = await run(['generate', '--checkpoint', 'b.safetensors', '--prime', 'Größe 🔥', '--length', '40', '--seed', '1']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.startsWith('Größe 🔥')).toBe(true);
    const e = await run(['eval', '--checkpoint', 'b.safetensors', 'other.txt']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain(`${(bytes - 1).toLocaleString('en-US')} byte tokens scored`);
  });

  it('fine-tunes a trained model on another text with --from (float32 or int8): its shape and tokens, a new optimizer, a smaller lr', async () => {
    const other = 'Im Anfang schuf Gott Himmel und Erde. 🔥 Ἐν ἀρχῇ ἦν ὁ λόγος.\n'.repeat(60);
    writeFileSync(join(dir, 'other2.txt'), other);
    const base = await run(['train', textFile, ...TINY, '--level', 'byte', '--layers', '2', '--steps', '4', '--out', 'base.safetensors']);
    expect(base.code, base.stderr).toBe(0);
    expect((await run(['quantize', '--checkpoint', 'base.safetensors', '--dtype', 'int8', '--out', 'base8.safetensors'])).code).toBe(0);
    for (const from of ['base.safetensors', 'base8.safetensors']) {
      const r = await run(['train', 'other2.txt', '--from', from, '--batch', '4', '--seq', '16', '--steps', '3', '--sample-every', '0', '--out', `ft-${from}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/model: LSTM embed 8, hidden 16 x 2 layers/);
      expect(r.stdout).toMatch(/Adam lr 0\.001,/);
      expect(r.stdout).toContain(`fine-tuning ${from}${from === 'base8.safetensors' ? ' (int8, dequantized to float32)' : ''} with a new optimizer`);
      const ck = decodeCheckpoint(readFileSync(join(dir, `ft-${from}`)));
      expect(ck.meta.trainer!.step, 'a new run: its own step count').toBe(3);
      expect(ck.meta.quantization).toBeUndefined();
      // A fine-tuned checkpoint is a training checkpoint like any: it resumes.
      const more = await run(['train', 'other2.txt', '--resume', `ft-${from}`, '--steps', '1', '--sample-every', '0']);
      expect(more.code, more.stderr).toBe(0);
      expect(more.stdout).toMatch(/resuming at step 3/);
    }
    // It starts from the model's weights: one step at a tiny lr leaves them within 1e-6 of the trained ones.
    const still = await run(['train', 'other2.txt', '--from', 'base.safetensors', '--lr', '1e-9', '--batch', '4', '--seq', '16', '--steps', '1', '--sample-every', '0', '--out', 'still.safetensors']);
    expect(still.code, still.stderr).toBe(0);
    const weights = (file: string) => new Map([...params(join(dir, file))].filter(([k]) => k.startsWith('model.')));
    const before = weights('base.safetensors');
    const after = weights('still.safetensors');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, v] of before) expect(Math.max(...v.map((x, i) => Math.abs(x - after.get(name)![i]))), name).toBeLessThan(1e-6);
    // A char-level model fine-tuned on a text with characters it has never seen: they are <unk>, and both train and eval count them.
    const charBase = await run(['train', textFile, ...TINY, '--steps', '2', '--out', 'char-base.safetensors']);
    expect(charBase.code, charBase.stderr).toBe(0);
    const vocab = new Set(decodeCheckpoint(readFileSync(join(dir, 'char-base.safetensors'))).tokenizer.vocab);
    const unseen = [...other].filter((ch) => !vocab.has(ch)).length;
    expect(unseen).toBeGreaterThan(100);
    const charFt = await run(['train', 'other2.txt', '--from', 'char-base.safetensors', '--batch', '4', '--seq', '16', '--steps', '1', '--sample-every', '0', '--out', 'char-ft.safetensors']);
    expect(charFt.code, charFt.stderr).toBe(0);
    expect(charFt.stdout).toContain(`; ${unseen.toLocaleString('en-US')} char tokens of the text are not in its vocabulary (<unk>)`);
    const charEval = await run(['eval', '--checkpoint', 'char-ft.safetensors', 'other2.txt']);
    expect(charEval.code, charEval.stderr).toBe(0);
    expect(charEval.stdout).toContain(`, ${unseen} not in the vocabulary,`);
    expectCleanError(await run(['train', 'other2.txt', '--from', 'base.safetensors', '--hidden', '32', '--steps', '1']), /checkpoint base\.safetensors: --hidden 32 does not match the model to fine-tune \(--hidden 16\): its weights fix it; leave it out/);
    expectCleanError(await run(['train', 'other2.txt', '--from', 'base.safetensors', '--resume', 'base.safetensors']), /--from starts a new run .* --resume continues a run/, 2);
    expectCleanError(await run(['train', 'other2.txt', '--from', 'missing.safetensors']), /checkpoint missing\.safetensors: no such file/);
  }, 120_000);

  it('without --checkpoint (or with --checkpoint pretrained), generate, predict and eval use the pretrained model; train --from pretrained fine-tunes it', async () => {
    // A tiny stand-in for the package's model ($LSTM_WASM_PRETRAINED points the default elsewhere).
    const made = await run(['train', textFile, ...TINY, '--level', 'byte', '--steps', '2', '--out', 'tiny-pre.safetensors']);
    expect(made.code, made.stderr).toBe(0);
    expect((await run(['quantize', '--checkpoint', 'tiny-pre.safetensors', '--dtype', 'int8', '--out', 'tiny-pre8.safetensors'])).code).toBe(0);
    const env = { LSTM_WASM_PRETRAINED: join(dir, 'tiny-pre8.safetensors') };
    const direct = await run(['generate', '--checkpoint', 'tiny-pre8.safetensors', '--prime', 'And God said', '--length', '30', '--seed', '3']);
    for (const args of [[], ['--checkpoint', 'pretrained']]) {
      const g = await run(['generate', ...args, '--prime', 'And God said', '--length', '30', '--seed', '3'], env);
      expect(g.code, g.stderr).toBe(0);
      expect(g.stdout).toBe(direct.stdout);
    }
    const p = await run(['predict', '--prime', 'And God'], env);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/after 7 byte tokens: the 10 likeliest next of 256/);
    const e = await run(['eval', textFile], env);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/byte tokens scored/);
    const ft = await run(['train', textFile, '--from', 'pretrained', '--batch', '4', '--seq', '16', '--steps', '2', '--sample-every', '0', '--out', 'ft-pre.safetensors'], env);
    expect(ft.code, ft.stderr).toBe(0);
    expect(ft.stdout).toContain(`fine-tuning ${env.LSTM_WASM_PRETRAINED} (int8, dequantized to float32) with a new optimizer`);
  }, 120_000);

  it('resumes exactly: K steps, then N more from the checkpoint, equals K+N steps in one run (bitwise)', async () => {
    const flags = [textFile, ...TINY, '--layers', '2', '--dropout', '0.2', '--seed', '5'];
    const full = await run(['train', ...flags, '--steps', '14', '--out', 'full.safetensors']);
    const part = await run(['train', ...flags, '--steps', '6', '--out', 'part.safetensors']);
    expect(full.code, full.stderr).toBe(0);
    expect(part.code, part.stderr).toBe(0);
    const resumed = await run(['train', textFile, '--resume', 'part.safetensors', '--steps', '8', '--sample-every', '0']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at step 6/);
    expect(resumed.stdout).toMatch(/8 steps in .*, step 14 in total/);
    const a = params(join(dir, 'full.safetensors'));
    const b = params(join(dir, 'part.safetensors'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k), k).toEqual(v);
  });

  it('Ctrl-C saves a checkpoint and exits cleanly; training can resume from it', async () => {
    let sent = false;
    const r = await run(['train', textFile, ...TINY, '--time', '60s', '--eval-every', '2', '--out', 'int.safetensors'], {}, (_chunk, child) => {
      if (!sent && /^step \d+/m.test(_chunk)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/interrupted: finishing this step, then saving/);
    expect(r.stdout).toMatch(/=== done \(interrupted\)/);
    expect(r.stdout).toMatch(/Resume with: npx lstm-wasm train --resume int\.safetensors/);
    const resumed = await run(['train', textFile, '--resume', 'int.safetensors', '--steps', '2', '--sample-every', '0']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at step [1-9]/);
  });

  it('writes checkpoints atomically: a crash in the middle of a write leaves the last good one', async () => {
    const first = await run(['train', textFile, ...TINY, '--steps', '3', '--out', 'atomic.safetensors']);
    expect(first.code, first.stderr).toBe(0);
    const good = readFileSync(join(dir, 'atomic.safetensors'));
    const crash = await run(['train', textFile, '--resume', 'atomic.safetensors', '--steps', '3', '--sample-every', '0'], preload('crash-mid-write'));
    expect(crash.signal).toBe('SIGKILL');
    expect(readFileSync(join(dir, 'atomic.safetensors')).equals(good)).toBe(true);
    // The half-written temporary file is beside it, under another name; the checkpoint still loads.
    expect(readdirSync(dir).some((f) => f.startsWith('.atomic.safetensors.') && f.endsWith('.tmp'))).toBe(true);
    const g = await run(['generate', '--checkpoint', 'atomic.safetensors', '--length', '5', '--seed', '1']);
    expect(g.code, g.stderr).toBe(0);
    // The next save of that checkpoint removes the dead run's temporary file.
    const again = await run(['train', textFile, '--resume', 'atomic.safetensors', '--steps', '1', '--sample-every', '0']);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('.atomic.safetensors.'))).toEqual([]);
  });

  it('a save removes the stale temporary files of its checkpoint only, not those of a live run or of another file', async () => {
    const sub = join(dir, 'temps');
    mkdirSync(sub);
    // The pid of a process that has exited.
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '']);
      c.on('close', () => resolve(c.pid!));
    });
    const live = process.pid; // this test process: alive while the CLI runs
    const files = {
      dead: `.t.safetensors.${dead}.0badcafe.tmp`,
      deadOldForm: `.t.safetensors.${dead}.tmp`,
      live: `.t.safetensors.${live}.12345678.tmp`,
      otherTarget: `.u.safetensors.${dead}.0badcafe.tmp`,
      notATemp: `.t.safetensors.notes`,
    };
    for (const f of Object.values(files)) writeFileSync(join(sub, f), 'half a checkpoint');
    const r = await run(['train', textFile, ...TINY, '--steps', '1', '--out', 'temps/t.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(sub).sort()).toEqual([files.live, files.notATemp, files.otherTarget, 't.safetensors'].sort());
  });

  it('scores every token in eval: a 98-character text gives 97 tokens, with the loss of a direct computation', async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '3', '--out', 'ev.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const ck = decodeCheckpoint(readFileSync(join(dir, 'ev.safetensors')));
    const model = modelFromCheckpoint(ck);
    model.eval();
    const V = model.config.vocabSize;
    const source = readFileSync(textFile, 'utf8');
    for (const [name, n] of [['ev98.txt', 98], ['ev3000.txt', 3000]] as const) {
      writeFileSync(join(dir, name), source.slice(0, n));
      const e = await run(['eval', '--checkpoint', 'ev.safetensors', name]);
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toContain(`${name}: ${(n - 1).toLocaleString('en-US')} char tokens scored`);
      const loss = Number(/loss (\d+\.\d+)/.exec(e.stdout)![1]);
      // Direct: the checkpoint's 4 lanes (--batch 4), each in one piece from a zero state; the
      // targets past 4 whole lanes continue the last one.
      const ids = ck.tokenizer.encode(source.slice(0, n));
      const L = Math.floor((n - 1) / 4);
      let total = 0;
      for (let b = 0; b < 4; b++) {
        const from = b * L;
        const len = b === 3 ? n - 1 - from : L;
        total += noGrad(() => tidy(() => {
          const { logits } = model.forward(tensor(ids.slice(from, from + len), [len, 1]));
          return F.crossEntropy(logits.reshape(len, V), tensor(ids.slice(from + 1, from + len + 1), [len]), { reduction: 'sum' }).item();
        }));
      }
      expect(loss, name).toBeCloseTo(total / (n - 1), 4);
    }
    model.dispose();
  });

  it('ends with the validation loss on all the held-out text, the loss eval gives on it', async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '4', '--out', 'val.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    // 40,000 characters, --val-split 0.1: the last 4,000 are held out; the estimate reads 16 windows of 4 x 16.
    expect(r.stdout).toContain('validation: the first 1,024 of the 3,999 held-out tokens as it goes (a quick estimate), all of them at the end');
    const m = /validation loss (\d\.\d{3}) \(perplexity [\d.]+, [\d.]+ bits\/char\) on all 3,999 held-out tokens/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    writeFileSync(join(dir, 'heldout.txt'), readFileSync(textFile, 'utf8').slice(-4000));
    const e = await run(['eval', '--checkpoint', 'val.safetensors', 'heldout.txt']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain('heldout.txt: 3,999 char tokens scored');
    expect(Number(/loss (\d+\.\d+)/.exec(e.stdout)![1]).toFixed(3)).toBe(m![1]);
  });

  it('marks the prime of a sample and labels the step of the validation loss it shows', async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '4', '--eval-every', '2', '--sample-every', '3', '--out', 'smp.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    // Step 3's sample comes before any validation at step 3: the loss shown is step 2's, and says so.
    const m = /^--- sample at step 3 \(val \d\.\d{3} at step 2\): \[held-out prime\] then the model's text, temperature 0\.8 ---\n {2}\[([^\]\n]+)\]/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // The bracketed prime is held-out text: it is in the last 10% of the file.
    expect(readFileSync(textFile, 'utf8').slice(-4000)).toContain(m![1]);
  });
});

describe('bad input: one clear error line, non-zero exit, no stack trace, nothing overwritten', () => {
  let ckpt: string;
  let ckptBytes: Buffer;

  beforeAll(async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '2', '--out', 'good.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    ckpt = join(dir, 'good.safetensors');
    ckptBytes = readFileSync(ckpt);
  });

  const unchanged = (): void => {
    expect(readFileSync(ckpt).equals(ckptBytes), 'the checkpoint was modified').toBe(true);
  };

  it('an unknown flag or command, or a bad flag value', async () => {
    expectCleanError(await run(['train', '--hiddn', '5', '--out', 'good.safetensors']), /unknown option '--hiddn' for 'train'/, 2);
    expectCleanError(await run(['generate', '--checkpoint', 'good.safetensors', '--bogus']), /unknown option '--bogus' for 'generate'/, 2);
    expectCleanError(await run(['fly']), /unknown command 'fly'/, 2);
    expectCleanError(await run(['train', textFile, '--hidden', 'many', '--out', 'good.safetensors']), /--hidden must be an integer in \[1, 8192\], got 'many'/, 2);
    expectCleanError(await run(['train', textFile, '--level', 'bytes', '--out', 'good.safetensors']), /--level must be one of char, word, byte, got 'bytes'/, 2);
    expectCleanError(await run(['train', textFile, '--time', 'soon', '--out', 'good.safetensors']), /--time must be a duration/, 2);
    expectCleanError(await run(['generate'], { LSTM_WASM_PRETRAINED: 'no-model.safetensors' }), /LSTM_WASM_PRETRAINED=no-model\.safetensors: no such file/);
    unchanged();
  });

  it('a negative number for a numeric flag says what the flag takes', async () => {
    expectCleanError(await run(['train', textFile, '--seq', '-1', '--out', 'good.safetensors']), /--seq must be an integer in \[1, 100000\], got '-1'/, 2);
    expectCleanError(await run(['train', textFile, '--lr', '-0.5', '--out', 'good.safetensors']), /--lr must be a number in \(0, 10\], got '-0\.5'/, 2);
    expectCleanError(await run(['train', textFile, '--steps', '-5', '--out', 'good.safetensors']), /--steps must be an integer >= 1, got '-5'/, 2);
    expectCleanError(await run(['train', textFile, '--eval-every', '-3', '--out', 'good.safetensors']), /--eval-every must be a number of steps/, 2);
    expectCleanError(await run(['generate', '--checkpoint', 'good.safetensors', '--temperature', '-.5']), /--temperature must be a number in \[0, 100\], got '-\.5'/, 2);
    expectCleanError(await run(['eval', '--checkpoint', 'good.safetensors', '--batch', '-2', textFile]), /--batch must be an integer >= 1, got '-2'/, 2);
    unchanged();
  });

  it('an --out that cannot be written, checked before training', async () => {
    // Under a file, or a directory: refused at once (before, a full run ended in an EEXIST crash).
    const underFile = await run(['train', textFile, ...TINY, '--steps', '1', '--out', 'genesis.txt/x.safetensors']);
    expectCleanError(underFile, /--out genesis\.txt\/x\.safetensors: .*genesis\.txt is not a directory/);
    expect(underFile.stdout).toBe('');
    mkdirSync(join(dir, 'outdir'), { recursive: true });
    const isDir = await run(['train', textFile, ...TINY, '--steps', '1', '--out', 'outdir']);
    expectCleanError(isDir, /--out outdir: is a directory, expected a file path/);
    expect(isDir.stdout).toBe('');
    expect(readdirSync(join(dir, 'outdir'))).toEqual([]);
  });

  it('an --out that is one of the training texts (by any path)', async () => {
    const before = readFileSync(textFile);
    symlinkSync(textFile, join(dir, 'link.txt'));
    for (const [input, out] of [['genesis.txt', 'genesis.txt'], [textFile, './genesis.txt'], ['link.txt', 'genesis.txt'], ['genesis.txt', 'link.txt']]) {
      const r = await run(['train', input, ...TINY, '--steps', '1', '--out', out]);
      expectCleanError(r, new RegExp(`--out ${out.replace(/[.]/g, '\\.')} is the training text .*choose another --out`), 2);
      expect(r.stdout).toBe('');
    }
    expect(readFileSync(textFile).equals(before)).toBe(true);
  });

  it('a missing, empty, whitespace-only, binary or non-UTF-8 text file', async () => {
    const cases: [string, RegExp][] = [
      ['nope.txt', /nope\.txt: no such file/],
      ['empty.txt', /empty\.txt: file is empty/],
      ['blank.txt', /blank\.txt: has only whitespace/],
      ['binary.bin', /binary\.bin: looks like a binary file/],
      ['latin1.txt', /latin1\.txt: is not UTF-8 text/],
    ];
    for (const [file, pattern] of cases) {
      expectCleanError(await run(['train', file, ...TINY, '--steps', '1', '--out', 'good.safetensors']), pattern);
      expectCleanError(await run(['eval', '--checkpoint', 'good.safetensors', file]), pattern);
    }
    unchanged();
  });

  it('an engine without WebAssembly SIMD (exit 1, not an internal error)', async () => {
    const r = await run(['train', textFile, ...TINY, '--steps', '1', '--out', 'good.safetensors'], preload('no-simd'));
    expectCleanError(r, /^lstm-wasm: error: this JavaScript engine lacks WebAssembly SIMD \(needed: Node 16\.4\+/);
    unchanged();
  });

  it('a text too short for the batch', async () => {
    writeFileSync(join(dir, 'short.txt'), 'In the beginning.');
    expectCleanError(await run(['train', 'short.txt', '--batch', '8', '--seq', '16', '--out', 'good.safetensors']), /too few for batch 8 x seq 16.*smaller --batch\/--seq/);
    unchanged();
  });

  it('a missing, empty, truncated, corrupt or foreign checkpoint', async () => {
    const bad = (name: string, bytes: Uint8Array): string => {
      writeFileSync(join(dir, name), bytes);
      return name;
    };
    const flipped = Buffer.from(ckptBytes);
    flipped[flipped.length - 10] ^= 0xff;
    const cases: [string, RegExp][] = [
      ['missing.safetensors', /checkpoint missing\.safetensors: no such file/],
      [bad('empty.safetensors', new Uint8Array(0)), /empty\.safetensors: file is empty/],
      [bad('trunc.safetensors', ckptBytes.subarray(0, Math.floor(ckptBytes.length / 2))), /trunc\.safetensors: not a valid checkpoint: .*truncated/],
      [bad('flip.safetensors', flipped), /flip\.safetensors: checkpoint is corrupt: checksum/],
      [bad('text.safetensors', Buffer.from('hello, I am not a checkpoint')), /text\.safetensors: not a valid checkpoint/],
    ];
    for (const [file, pattern] of cases) {
      const before = existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : null;
      expectCleanError(await run(['generate', '--checkpoint', file, '--length', '5']), pattern);
      expectCleanError(await run(['eval', '--checkpoint', file, textFile]), pattern);
      // --resume writes to the resumed file by default: it must stay as it was.
      expectCleanError(await run(['train', textFile, '--resume', file, '--steps', '1']), pattern);
      if (before !== null) expect(readFileSync(join(dir, file)).equals(before), file).toBe(true);
      else expect(existsSync(join(dir, file))).toBe(false);
    }
  });

  it('a checkpoint from another model config or other text', async () => {
    copyFileSync(ckpt, join(dir, 'cfg.safetensors'));
    const before = readFileSync(join(dir, 'cfg.safetensors'));
    expectCleanError(await run(['train', textFile, '--resume', 'cfg.safetensors', '--hidden', '32', '--steps', '1']), /--hidden 32 does not match the checkpoint cfg\.safetensors \(trained with --hidden 16\)/);
    expectCleanError(await run(['train', textFile, '--resume', 'cfg.safetensors', '--model', 'gru', '--steps', '1']), /--model gru does not match/);
    writeFileSync(join(dir, 'other.txt'), 'Something else entirely, written by nobody in particular.\n'.repeat(200));
    expectCleanError(await run(['train', 'other.txt', '--resume', 'cfg.safetensors', '--steps', '1']), /was trained on other text .*genesis\.txt.*pass the same file/);
    expect(readFileSync(join(dir, 'cfg.safetensors')).equals(before)).toBe(true);
    // Weights that do not fit the recorded config (another model's tensors under this config).
    const w = await run(['train', textFile, ...TINY, '--hidden', '20', '--steps', '1', '--out', 'h20.safetensors']);
    expect(w.code, w.stderr).toBe(0);
    const a = readFileSync(join(dir, 'h20.safetensors'));
    const headerLen = Number(a.readBigUInt64LE(0));
    const header = JSON.parse(a.subarray(8, 8 + headerLen).toString('utf8'));
    const meta = JSON.parse(header.__metadata__.checkpoint);
    meta.model.hiddenSize = 16; // claims hidden 16, holds hidden-20 tensors
    expect(meta.model.hiddenSize).toBe(16);
    // Recompute nothing: the checksum then fails first, which is also a clear refusal.
    header.__metadata__.checkpoint = JSON.stringify(meta);
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const forged = Buffer.concat([Buffer.alloc(8), Buffer.from(json), a.subarray(8 + headerLen)]);
    forged.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
    writeFileSync(join(dir, 'forged.safetensors'), forged);
    expectCleanError(await run(['generate', '--checkpoint', 'forged.safetensors']), /forged\.safetensors: checkpoint is corrupt: checksum/);
  });
});
