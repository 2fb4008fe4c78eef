// Checkpoint bytes: round trip, and every kind of damage is a FormatError that says what is wrong,
// allocates nothing and leaks nothing, including CRC-valid edits made to hurt (issue 9).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  init, manualSeed, memory, CharTokenizer, WordTokenizer, LanguageModel, LMBatcher, LMTrainer, Module, encodeCheckpoint, decodeCheckpoint,
  modelFromCheckpoint, restoreTrainer, readSafetensors, saveSafetensors, setMemoryLimit, tensor, FormatError, OutOfMemoryError, CHECKPOINT_FORMAT,
} from 'lstm-wasm';
import { expectFormatRefusal } from '../support/refusal';
import { checkpointJson, editCheckpoint, resign, withExtraTensor } from './checkpoint-kit';

beforeAll(async () => {
  await init();
});

const TEXT = 'Blessed are the meek: for they shall inherit the earth.\n'.repeat(20);

async function trained() {
  manualSeed(1);
  const tok = CharTokenizer.fromText(TEXT);
  const model = new LanguageModel({ vocabSize: tok.size, cell: 'gru', embedDim: 6, hiddenSize: 10, numLayers: 1 });
  const t = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), null);
  await t.run({ steps: 5 });
  return { tok, model, t };
}

describe('checkpoint', () => {
  it('round-trips config, vocabulary, weights, optimizer state, carried state and RNG', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t, { hello: [1, 2] });
    // It is a plain safetensors file, readable by any safetensors reader.
    const st = readSafetensors(bytes);
    expect(st.metadata.format).toBe(CHECKPOINT_FORMAT);
    expect(Object.keys(st.tensors)).toEqual(expect.arrayContaining(['model.embed.weight', 'model.rnn.weight_ih_l0', 'model.head.bias', 'optim.0.0', 'optim.0.1', 'state.0']));
    Object.values(st.tensors).forEach((x) => x.dispose());

    const ck = decodeCheckpoint(bytes);
    expect(ck.meta.model).toEqual(model.config);
    expect(ck.tokenizer.vocab).toEqual(tok.vocab);
    expect(ck.meta.extra).toEqual({ hello: [1, 2] });
    expect(ck.meta.trainer!.step).toBe(5);
    expect(ck.meta.trainer!.position).toEqual({ epoch: 0, window: 5 });
    expect(ck.trainer!.state).toHaveLength(1);
    const copy = modelFromCheckpoint(ck);
    const a = model.namedParameters();
    copy.namedParameters().forEach(([name, p], i) => {
      expect(name).toBe(a[i][0]);
      expect(Array.from(p.toArray())).toEqual(Array.from(a[i][1].toArray()));
    });
    const t2 = new LMTrainer(copy, new LMBatcher(tok.encode(TEXT), 3, 8), null);
    restoreTrainer(t2, ck);
    expect(t2.step).toBe(5);
    expect(t2.exportState().json).toEqual(t.exportState().json);
    for (const x of [t, t2]) x.dispose();
    model.dispose();
    copy.dispose();
  });

  it('a weights-only checkpoint loads for inference but has nothing to resume', async () => {
    const { tok, model, t } = await trained();
    const ck = decodeCheckpoint(encodeCheckpoint(model, tok));
    expect(ck.meta.trainer).toBeNull();
    const copy = modelFromCheckpoint(ck);
    expect(() => restoreTrainer(t, ck)).toThrow(/no training state/);
    t.dispose();
    model.dispose();
    copy.dispose();
  });

  it('rejects a flipped byte (checksum), truncation, garbage and other safetensors files', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t);
    const flipped = bytes.slice();
    flipped[flipped.length - 3] ^= 0x10;
    expect(() => decodeCheckpoint(flipped)).toThrow(/corrupt: checksum .* does not match/);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100))).toThrow(/truncated/);
    expect(() => decodeCheckpoint(bytes.subarray(0, 5))).toThrow(FormatError);
    expect(() => decodeCheckpoint(new TextEncoder().encode('just some text, not a checkpoint at all'))).toThrow(FormatError);
    const other = saveSafetensors({ w: tensor([1, 2, 3]) }, { format: 'pt' });
    expect(() => decodeCheckpoint(other)).toThrow(/not an lstm-wasm checkpoint/);
    t.dispose();
    model.dispose();
  });

  it('rejects weights that do not fit the recorded model config', async () => {
    const { tok, model } = await trained();
    // A checkpoint of a model with another hidden size, relabelled as hidden 10: a consistent
    // checksum, but the tensors cannot fit.
    manualSeed(2);
    const bigger = new LanguageModel({ ...model.config, hiddenSize: 12 });
    const ck = decodeCheckpoint(encodeCheckpoint(bigger, tok));
    ck.meta.model = { ...ck.meta.model, hiddenSize: 10 };
    expect(() => modelFromCheckpoint(ck)).toThrow(/weights do not match its model config: .*shape/);
    // And a vocabulary that disagrees with the model.
    const words = WordTokenizer.fromText(TEXT);
    expect(() => decodeCheckpoint(encodeCheckpoint(model, words))).toThrow(/vocabulary has \d+ tokens but the model expects/);
    model.dispose();
    bigger.dispose();
  });
});

describe('hostile checkpoints', () => {
  // The decoder derives every tensor's name and shape from the config (and Adam's buffers from the
  // parameter order) before reading any; this round trip is what keeps that in step with LanguageModel.
  it('the layout derived from the config matches real models: lstm and gru, 1-3 layers', async () => {
    const tok = CharTokenizer.fromText(TEXT);
    for (const cell of ['lstm', 'gru'] as const) {
      for (const numLayers of [1, 2, 3]) {
        manualSeed(3);
        const model = new LanguageModel({ vocabSize: tok.size, cell, embedDim: 5, hiddenSize: 7, numLayers });
        const t = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 2, 4), null);
        await t.run({ steps: 1 });
        const ck = decodeCheckpoint(encodeCheckpoint(model, tok, t));
        const copy = modelFromCheckpoint(ck);
        const t2 = new LMTrainer(copy, new LMBatcher(tok.encode(TEXT), 2, 4), null);
        restoreTrainer(t2, ck);
        expect(t2.exportState().json, `${cell} x${numLayers}`).toEqual(t.exportState().json);
        expect(ck.trainer!.state).toHaveLength(cell === 'lstm' ? 2 : 1);
        for (const x of [t, t2, model, copy]) x.dispose();
      }
    }
  });

  /** decode + model + trainer restore, as `train --resume` does; must throw a FormatError quickly and leak nothing. */
  function expectRefused(bytes: Uint8Array, message: RegExp, maxMs = 1000): void {
    expectFormatRefusal(() => {
      const ck = decodeCheckpoint(bytes);
      const model = modelFromCheckpoint(ck);
      const t = new LMTrainer(model, new LMBatcher(ck.tokenizer.encode(TEXT), 3, 8), null);
      try {
        restoreTrainer(t, ck);
      } finally {
        t.dispose();
        model.dispose();
      }
    }, message, maxMs);
  }

  it('a tensor named __proto__ is neither dropped from the checksum nor leaked', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t);
    t.dispose();
    model.dispose();
    expectRefused(withExtraTensor(bytes, '__proto__', { resign: false }), /checksum .* does not match/);
    expectRefused(withExtraTensor(bytes, '__proto__', { resign: true }), /unexpected tensor '__proto__'/);
  });

  it('a checkpoint JSON nested 5000 deep is a FormatError, not a stack overflow', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t);
    t.dispose();
    model.dispose();
    // Spliced in as text: JSON.stringify itself would overflow on it.
    const meta = checkpointJson(bytes);
    meta.extra = { deep: 0 };
    const json = JSON.stringify(meta).replace('"deep":0', `"deep":${'['.repeat(5000)}${']'.repeat(5000)}`);
    expectRefused(resign(bytes, json), /checkpoint JSON nests deeper than \d+ levels/);
  });

  it('a CRC-valid config too large to hold is refused before anything is allocated', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t);
    t.dispose();
    model.dispose();
    // Each of these used to allocate first: 22 s then 3 leaked tensors; 1.6 GB leaked; 15+ minutes.
    expectRefused(editCheckpoint(bytes, (m) => void (m.model.hiddenSize = 16384)), /model\.rnn\.weight_ih_l0 has shape \[30, 6\], expected \[49152, 6\]/);
    expectRefused(editCheckpoint(bytes, (m) => void (m.model.embedDim = 2 ** 28)), /checkpoint\.model\.embedDim must be an integer in \[1, 65536\], got 268435456/);
    expectRefused(editCheckpoint(bytes, (m) => void (m.model.numLayers = 1e9)), /checkpoint\.model\.numLayers must be an integer in \[1, 256\], got 1000000000/);
    expectRefused(editCheckpoint(bytes, (m) => void (m.model.numLayers = 2)), /missing tensor 'model\.rnn\.weight_ih_l1'/);
    // modelFromCheckpoint checks a DecodedCheckpoint edited in memory the same way.
    const ck = decodeCheckpoint(bytes);
    const live = memory().liveTensors;
    for (const edit of [{ numLayers: 1e9 }, { hiddenSize: 16384 }, { embedDim: 2 ** 28 }, { cell: 'rnn' }, { vocabSize: -1 }]) {
      const t0 = performance.now();
      expect(() => modelFromCheckpoint({ ...ck, meta: { ...ck.meta, model: { ...ck.meta.model, ...edit } as never } }), JSON.stringify(edit)).toThrow(FormatError);
      expect(performance.now() - t0).toBeLessThan(500);
    }
    expect(memory().liveTensors).toBe(live);
  });

  it('an allocation failure in modelFromCheckpoint propagates as itself, not as a FormatError', async () => {
    const { tok, model, t } = await trained();
    const ck = decodeCheckpoint(encodeCheckpoint(model, tok, t));
    t.dispose();
    model.dispose();
    const live = memory().liveTensors;
    const oom = new OutOfMemoryError('simulated: memory cannot hold embed.weight');
    const spy = vi.spyOn(Module.prototype, 'addParameter').mockImplementationOnce(() => {
      throw oom;
    });
    try {
      expect(() => modelFromCheckpoint(ck)).toThrow(oom);
    } finally {
      spy.mockRestore();
    }
    expect(memory().liveTensors).toBe(live);
  });

  it('every field of the checkpoint JSON is type-checked, naming its path, expected and actual value', async () => {
    const { tok, model, t } = await trained();
    const bytes = encodeCheckpoint(model, tok, t, {
      settings: { level: 'char', model: 'gru', seed: 1, batch: 3, seq: 8, lr: 0.003, 'val-split': 0 },
      data: { sources: ['a.txt'], fingerprint: '0123abcd', chars: TEXT.length },
    });
    t.dispose();
    model.dispose();
    const cases: [(m: any) => unknown, RegExp][] = [
      [(m) => void (m.extra.data = null), /^checkpoint: checkpoint\.extra\.data must be an object, got null$/],
      [(m) => void (m.extra.settings.seed = 'x'), /checkpoint\.extra\.settings\.seed must be an integer in \[0, 4294967295\], got a string "x"/],
      [(m) => void (m.extra.settings.batch = 0), /checkpoint\.extra\.settings\.batch must be an integer in \[1, 100000\], got 0/],
      // Settings under their own names (written since they kept them) are checked by the same table.
      [(m) => void (m.extra.settings.hiddenSize = 0), /checkpoint\.extra\.settings\.hiddenSize must be an integer in \[1, 8192\], got 0/],
      [(m) => void (m.extra.settings.cell = 'rnn'), /checkpoint\.extra\.settings\.cell must be one of "lstm", "gru", got a string "rnn"/],
      [(m) => void (m.extra.settings.lr = '1'), /checkpoint\.extra\.settings\.lr must be a number/],
      [(m) => void (m.extra.settings.level = 'bytes'), /checkpoint\.extra\.settings\.level must be one of "char", "word", "byte", got a string "bytes"/],
      [(m) => void (m.extra.data.fingerprint = 5), /checkpoint\.extra\.data\.fingerprint must be a string, got 5/],
      [(m) => void (m.extra.data.sources = 'a.txt'), /checkpoint\.extra\.data\.sources must be an array, got a string/],
      [(m) => void (m.extra = []), /checkpoint\.extra must be an object, got an array/],
      [(m) => void (m.version = '1'), /checkpoint\.version must be 1 or 2 \(2: a quantized model\), got a string "1"/],
      [() => [], /checkpoint must be an object, got an array/],
      [(m) => void (m.model.cell = 'rnn'), /checkpoint\.model\.cell must be one of "lstm", "gru"/],
      [(m) => void (m.model.dropout = 2), /checkpoint\.model\.dropout must be a number in \[0, 1\), got 2/],
      [(m) => void delete m.model.hiddenSize, /checkpoint\.model\.hiddenSize must be an integer .*got nothing/],
      [(m) => void (m.tokenizer.vocab = 5), /checkpoint\.tokenizer\.vocab must be an array, got 5/],
      [(m) => void (m.tokenizer.vocab[3] = 7), /checkpoint\.tokenizer\.vocab\[3\] must be a string, got 7/],
      [(m) => void (m.tokenizer.type = 'bpe'), /checkpoint\.tokenizer\.type must be one of "char", "word"/],
      [(m) => void (m.trainer.step = -1), /checkpoint\.trainer\.step must be an integer in \[0, 9007199254740991\], got -1/],
      [(m) => void (m.trainer.position = null), /checkpoint\.trainer\.position must be an object, got null/],
      [(m) => void (m.trainer.position.window = 1.5), /checkpoint\.trainer\.position\.window must be an integer/],
      [(m) => void (m.trainer.rng = 'x'), /checkpoint\.trainer\.rng must be an array, got a string/],
      [(m) => void m.trainer.rng.pop(), /checkpoint\.trainer\.rng must have 5 items, got 4/],
      [(m) => void (m.trainer.rng[2] = 2 ** 32), /checkpoint\.trainer\.rng\[2\] must be an integer in \[0, 4294967295\]/],
      [(m) => void (m.trainer.rng = [0, 0, 0, 0, null]), /checkpoint\.trainer\.rng must not be all zeros/],
      [(m) => void (m.trainer.rng[4] = 'x'), /checkpoint\.trainer\.rng\[4\] must be a number or null/],
      [(m) => void (m.trainer.optimizer = null), /checkpoint\.trainer\.optimizer must be an object, got null/],
      [(m) => void (m.trainer.optimizer.type = 'sgd'), /checkpoint\.trainer\.optimizer\.type must be one of "adam"/],
      [(m) => void (m.trainer.optimizer.lr = -1), /checkpoint\.trainer\.optimizer\.lr must be a number in \[0, /],
      [(m) => void (m.trainer.optimizer.betas = [0.9]), /checkpoint\.trainer\.optimizer\.betas must have 2 items/],
      [(m) => void (m.trainer.optimizer.steps = {}), /checkpoint\.trainer\.optimizer\.steps must be an array, got an object/],
      [(m) => void (m.trainer.optimizer.steps[0] = 'a'), /checkpoint\.trainer\.optimizer\.steps\[0\] must be an integer .* or null, got a string "a"/],
      [(m) => void m.trainer.optimizer.steps.push(1), /checkpoint\.trainer\.optimizer\.steps has 8 items, expected 7 \(one per parameter\)/],
      [(m) => void (m.trainer.optimizer.steps[2] = null), /unexpected tensor 'optim\.2\.0'/],
      [(m) => void (m.trainer.losses = null), /checkpoint\.trainer\.losses must be an array, got null/],
      [(m) => void (m.trainer.losses[1] = 'a'), /checkpoint\.trainer\.losses\[1\] must be a number or null/],
      [(m) => void (m.trainer.val = [{}]), /checkpoint\.trainer\.val\[0\]\.step must be an integer/],
      [(m) => void (m.trainer.elapsedMs = -5), /checkpoint\.trainer\.elapsedMs must be a number in \[0, /],
      [(m) => void (m.trainer.hasState = 'yes'), /checkpoint\.trainer\.hasState must be a boolean, got a string "yes"/],
      [(m) => void (m.trainer.hasState = false), /unexpected tensor 'state\.0'/],
      [(m) => void (m.trainer = 0), /checkpoint\.trainer must be an object or null, got 0/],
      [(m) => void (m.trainer.position.window = 1e6), /training state does not fit: .*position/],
    ];
    for (const [edit, message] of cases) expectRefused(editCheckpoint(bytes, edit), message);
    // The unedited bytes still load (the edits above are what failed).
    const ck = decodeCheckpoint(editCheckpoint(bytes, () => undefined));
    expect(ck.meta.trainer!.step).toBe(5);
  });

  it('carried state of another batch size does not fit, and nothing of the trainer changes', async () => {
    const { tok, model, t } = await trained();
    const ck = decodeCheckpoint(encodeCheckpoint(model, tok, t));
    t.dispose();
    const t4 = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 4, 8), null);
    const before = t4.exportState().json;
    const live = memory().liveTensors;
    expect(() => restoreTrainer(t4, ck)).toThrow(/training state does not fit: .*carried state 0 has shape \[1, 3, 10\], expected \[1, 4, 10\]/);
    expect(t4.exportState().json).toEqual(before);
    expect(memory().liveTensors).toBe(live);
    t4.dispose();
    model.dispose();
  });

  it('running out of memory while restoring the optimizer state changes nothing of the trainer', async () => {
    const { tok, model, t } = await trained();
    const ck = decodeCheckpoint(encodeCheckpoint(model, tok, t));
    t.dispose();
    const t2 = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), null);
    await t2.run({ steps: 1 }); // its own optimizer state, to be kept
    const before = t2.exportState();
    const live = memory().liveTensors;
    // Room for the carried state (120 bytes), not for Adam's two buffers per parameter.
    setMemoryLimit(memory().usedBytes + 1024);
    try {
      expect(() => restoreTrainer(t2, ck)).toThrow(OutOfMemoryError);
    } finally {
      setMemoryLimit(null);
    }
    expect(t2.exportState()).toEqual(before);
    expect(memory().liveTensors).toBe(live);
    t2.dispose();
    model.dispose();
  });

  it('a long loss history restores (no spread of 300k arguments)', async () => {
    const { tok, model, t } = await trained();
    const bytes = editCheckpoint(encodeCheckpoint(model, tok, t), (m) => void (m.trainer.losses = new Array(300_000).fill(1.25)));
    t.dispose();
    const ck = decodeCheckpoint(bytes);
    const t2 = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), null);
    restoreTrainer(t2, ck);
    expect(t2.losses.length).toBe(300_000);
    t2.dispose();
    model.dispose();
  });

  it('`lstm-wasm train --resume` refuses a CRC-valid checkpoint with extra.data = null in one line (exit 1, not 70)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-hostile-'));
    try {
      const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
      const text = join(dir, 'text.txt');
      writeFileSync(text, TEXT);
      const ck = join(dir, 'ck.safetensors');
      const args = ['--embed', '4', '--hidden', '8', '--batch', '2', '--seq', '8', '--sample-every', '0', '--val-split', '0'];
      const first = spawnSync(process.execPath, [cli, 'train', text, ...args, '--steps', '1', '--out', ck], { encoding: 'utf8' });
      expect(first.status, first.stderr).toBe(0);
      const bytes = new Uint8Array(readFileSync(ck));
      expect(checkpointJson(bytes).extra.data.fingerprint).toMatch(/^[0-9a-f]{8}$/);
      for (const [edit, message] of [
        [(m: any) => void (m.extra.data = null), /checkpoint\.extra\.data must be an object, got null/],
        [(m: any) => void (m.extra.settings.seed = 'x'), /checkpoint\.extra\.settings\.seed must be an integer/],
      ] as const) {
        writeFileSync(ck, editCheckpoint(bytes, edit));
        const r = spawnSync(process.execPath, [cli, 'train', text, '--resume', ck, '--steps', '1'], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^lstm-wasm: error: checkpoint .*ck\.safetensors: /);
        expect(r.stderr).toMatch(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
