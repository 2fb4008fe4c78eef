// Quantized checkpoints (version 2: I8 weights with F32 row scales, or F16 weights; biases F32; no
// trainer): the round trip gives the quantized model back bit for bit, the files are the sizes the
// dtypes promise, any safetensors reader reads them, and every kind of damage, CRC-valid files
// crafted to hurt included, is a FormatError that names the problem and leaks nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, memory, noGrad, tidy, tensor, CharTokenizer, LanguageModel, LMBatcher, LMTrainer, encodeCheckpoint, decodeCheckpoint,
  modelFromCheckpoint, quantize, readSafetensors, sampleText, scoreTokens, FormatError, ValueError, CHECKPOINT_FORMAT,
} from 'lstm-wasm';
import { expectFormatRefusal } from '../support/refusal';
import { checkpointJson, crc32, editCheckpoint, storedTensors, buildSafetensors, type StoredTensor } from './checkpoint-kit';

beforeAll(async () => {
  await init();
});

const TEXT = 'Blessed are the meek: for they shall inherit the earth.\n'.repeat(20);
const DTYPES = ['int8', 'float16'] as const;
type Dtype = (typeof DTYPES)[number];

/** A float32 model trained a few steps (so its weights are not just the initialization), with its trainer. */
async function trained(cell: 'lstm' | 'gru', numLayers: number, sizes = { embedDim: 6, hiddenSize: 10 }) {
  manualSeed(7);
  const tok = CharTokenizer.fromText(TEXT);
  const model = new LanguageModel({ vocabSize: tok.size, cell, numLayers, ...sizes });
  const trainer = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), null);
  await trainer.run({ steps: 3 });
  return { tok, model, trainer };
}

/** Logits of a (T, B) batch, as float32 bits. */
function logitsBits(model: LanguageModel, tok: CharTokenizer): Uint32Array {
  const ids = tok.encode('Blessed are the meek: for they');
  const T = ids.length >> 1;
  const batch = new Int32Array(T * 2);
  for (let t = 0; t < T; t++) {
    batch[2 * t] = ids[t];
    batch[2 * t + 1] = ids[T + t];
  }
  const logits = noGrad(() => tidy(() => model.forward(tensor(batch, [T, 2])).logits.toArray())) as Float32Array;
  return new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
}

/** The first index where two bit patterns differ (-1: none). */
function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  return a.findIndex((v, i) => v !== b[i]);
}

/** A checkpoint from tensors, metadata and checkpoint JSON, with the CRC-32 the format defines (JSON, then tensors in name order). */
function signed(tensors: StoredTensor[], metadata: Record<string, string>, json: string): Uint8Array {
  const sorted = tensors.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const crc = crc32(new TextEncoder().encode(json), ...sorted.map((t) => t.bytes));
  return buildSafetensors(tensors, { ...metadata, checkpoint: json, crc32: crc });
}

/** A CRC-valid copy of a checkpoint whose tensors went through `edit` (which may change, add or remove them). */
function editTensors(bytes: Uint8Array, edit: (tensors: StoredTensor[]) => void): Uint8Array {
  const { tensors, metadata } = storedTensors(bytes);
  edit(tensors);
  return signed(tensors, metadata, metadata.checkpoint);
}

function find(tensors: StoredTensor[], name: string): StoredTensor {
  const t = tensors.find((x) => x.name === name);
  if (t === undefined) throw new Error(`test setup: no tensor ${name}`);
  return t;
}

/** An edit that stores tensor `name` as `dtype`, its bytes replaced by `bytes(old bytes)`. */
const retype = (name: string, dtype: string, bytes: (old: Uint8Array) => Uint8Array) => (tensors: StoredTensor[]): void => {
  const t = find(tensors, name);
  t.dtype = dtype;
  t.bytes = bytes(t.bytes);
};

/** Float32 values as little-endian bytes. */
const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/**
 * What generate / predict / eval do with a file: decode, then build the model. Must throw a
 * FormatError matching `message`, quickly, leaving no tensor behind.
 */
function expectRefused(bytes: Uint8Array, message: RegExp, maxMs = 1000): void {
  expectFormatRefusal(() => modelFromCheckpoint(decodeCheckpoint(bytes)).dispose(), message, maxMs);
}

describe('quantized checkpoints: round trip', () => {
  for (const cell of ['lstm', 'gru'] as const) {
    for (const numLayers of [1, 2]) {
      it(`${cell} x${numLayers}: int8 and float16 decode to the same model (logits bit for bit, the same seeded text), extra kept`, async () => {
        const { tok, model, trainer } = await trained(cell, numLayers);
        trainer.dispose();
        const live = memory().liveTensors;
        for (const dtype of DTYPES) {
          const q = quantize(model, { dtype });
          const extra = { note: 'quantized', nested: { a: [1, 2, 3] }, settings: { batch: 3, seq: 8 } };
          const bytes = encodeCheckpoint(q, tok, null, extra);
          const ck = decodeCheckpoint(bytes);
          expect(ck.meta.version, dtype).toBe(2);
          expect(ck.meta.quantization).toBe(dtype);
          expect(ck.meta.trainer).toBeNull();
          expect(ck.trainer).toBeNull();
          expect(ck.meta.extra).toEqual(extra);
          expect(ck.meta.model).toEqual(model.config);
          expect(ck.tokenizer.vocab).toEqual(tok.vocab);
          expect(ck.quantized?.dtype).toBe(dtype);
          // The matrices are quantized; `params` holds the biases only.
          expect(Object.keys(ck.quantized!.matrices).sort()).toEqual(
            model.namedParameters().filter(([, p]) => p.ndim === 2).map(([n]) => n).sort(),
          );
          expect(Object.keys(ck.params).sort()).toEqual(model.namedParameters().filter(([, p]) => p.ndim === 1).map(([n]) => n).sort());

          const copy = modelFromCheckpoint(ck);
          expect(copy.quantization).toBe(dtype);
          expect(copy.config).toEqual(model.config);
          const d = firstDifference(logitsBits(copy, tok), logitsBits(q, tok));
          expect(d, `${cell} x${numLayers} ${dtype}: first differing logit`).toBe(-1);
          const opts = { length: 60, seed: 11, temperature: 0.9 };
          expect(sampleText(copy, tok, 'Blessed', opts)).toBe(sampleText(q, tok, 'Blessed', opts));
          const ids = tok.encode(TEXT.slice(0, 300));
          expect(scoreTokens(copy, ids, 3, 8)).toEqual(scoreTokens(q, ids, 3, 8));
          // Written again, the copy gives the same file, byte for byte.
          expect(Buffer.compare(encodeCheckpoint(copy, tok, null, extra), bytes), 'file -> model -> file').toBe(0);
          copy.dispose();
          q.dispose();
        }
        expect(memory().liveTensors, 'nothing left behind').toBe(live);
        model.dispose();
      });
    }
  }

  it('int8 is close to float32 and float16 closer: logits of the quantized models against the source', async () => {
    const { tok, model, trainer } = await trained('lstm', 2);
    trainer.dispose();
    const ref = new Float32Array(logitsBits(model, tok).buffer);
    const maxErr: Record<string, number> = {};
    for (const dtype of DTYPES) {
      const q = quantize(model, { dtype });
      const got = new Float32Array(logitsBits(q, tok).buffer);
      maxErr[dtype] = got.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
      q.dispose();
    }
    // Measured: int8 6.0e-4, float16 4.5e-5 on this model; the bounds leave 10x or more room.
    expect(maxErr.int8).toBeLessThan(1e-2);
    expect(maxErr.float16).toBeLessThan(5e-4);
    expect(maxErr.float16).toBeLessThan(maxErr.int8);
    model.dispose();
  });

  it('file sizes: int8 about 1/4 and float16 about 1/2 of the float32 checkpoint (weights only); I8 and F16 entries hold 1 and 2 bytes per weight', async () => {
    // A model large enough that the header (vocabulary, JSON) is a small part of the file.
    for (const [cell, numLayers] of [['lstm', 1], ['gru', 2]] as const) {
      const { tok, model, trainer } = await trained(cell, numLayers, { embedDim: 32, hiddenSize: 96 });
      trainer.dispose();
      const f32 = encodeCheckpoint(model, tok);
      const matrices = model.namedParameters().filter(([, p]) => p.ndim === 2);
      const ratio: Record<string, number> = {};
      for (const dtype of DTYPES) {
        const q = quantize(model, { dtype });
        const bytes = encodeCheckpoint(q, tok);
        q.dispose();
        ratio[dtype] = bytes.length / f32.length;
        const stored = new Map(storedTensors(bytes).tensors.map((t) => [t.name, t]));
        for (const [name, p] of matrices) {
          const t = stored.get(`model.${name}`)!;
          expect(t.dtype, name).toBe(dtype === 'int8' ? 'I8' : 'F16');
          expect(t.shape).toEqual(p.shape);
          expect(t.bytes.length).toBe(p.size * (dtype === 'int8' ? 1 : 2));
          if (dtype === 'int8') expect(stored.get(`model.${name}.scale`)!.bytes.length).toBe(4 * p.shape[0]);
        }
      }
      // Measured: int8 0.282 (lstm) / 0.276 (gru), float16 0.510 / 0.508 (scales, biases and header keep both above 1/4 and 1/2).
      expect(ratio.int8, `${cell}: int8 / float32 file size`).toBeGreaterThan(0.25);
      expect(ratio.int8).toBeLessThan(0.3);
      expect(ratio.float16, `${cell}: float16 / float32 file size`).toBeGreaterThan(0.5);
      expect(ratio.float16).toBeLessThan(0.53);
      model.dispose();
    }
  });

  it('any safetensors reader reads it: I8 as int32 tensors with F32 `.scale` rows, F16 as float32 tensors; names say what they are', async () => {
    const { tok, model, trainer } = await trained('lstm', 1);
    trainer.dispose();
    const params = new Map(model.namedParameters().map(([n, p]) => [n, { shape: p.shape, values: p.toArray() as Float32Array }]));
    for (const dtype of DTYPES) {
      const q = quantize(model, { dtype });
      const bytes = encodeCheckpoint(q, tok);
      q.dispose();
      const st = readSafetensors(bytes);
      expect(st.metadata.format).toBe(CHECKPOINT_FORMAT);
      expect(st.metadata.crc32).toMatch(/^[0-9a-f]{8}$/);
      expect(JSON.parse(st.metadata.checkpoint)).toMatchObject({ version: 2, quantization: dtype, trainer: null });
      const names = Object.keys(st.tensors).sort();
      const expected = [...params.keys()].flatMap((n) => (dtype === 'int8' && params.get(n)!.shape.length === 2 ? [`model.${n}`, `model.${n}.scale`] : [`model.${n}`]));
      expect(names).toEqual(expected.sort());
      for (const [name, { shape, values }] of params) {
        const t = st.tensors[`model.${name}`];
        expect(t.shape, name).toEqual(shape);
        if (shape.length === 1) {
          // Biases stay float32, exactly.
          expect(t.dtype).toBe('float32');
          expect(Array.from(t.toArray())).toEqual(Array.from(values));
        } else if (dtype === 'int8') {
          expect(t.dtype, name).toBe('int32');
          const q8 = t.toArray() as Int32Array;
          const scale = st.tensors[`model.${name}.scale`];
          expect(scale.dtype).toBe('float32');
          expect(scale.shape).toEqual([shape[0]]);
          const s = scale.toArray() as Float32Array;
          const cols = shape[1];
          for (let i = 0; i < q8.length; i++) {
            expect(Math.abs(q8[i])).toBeLessThanOrEqual(127);
            // Symmetric per row: q * scale is within half a step of the float32 weight.
            const r = Math.floor(i / cols);
            expect(Math.abs(q8[i] * s[r] - values[i]), `${name}[${i}]`).toBeLessThanOrEqual(s[r] * 0.5001 + 1e-12);
          }
          // Each row uses its range: its largest magnitude is 127 (a row of zeros aside).
          for (let r = 0; r < shape[0]; r++) {
            const row = Array.from(q8.subarray(r * cols, (r + 1) * cols), Math.abs);
            if (s[r] > 0) expect(Math.max(...row), `${name} row ${r}`).toBe(127);
          }
        } else {
          expect(t.dtype, name).toBe('float32');
          const h = t.toArray() as Float32Array;
          // The nearest float16: within half a float16 ulp (2^-11 relative; 2^-25 absolute below the normals).
          for (let i = 0; i < h.length; i++) expect(Math.abs(h[i] - values[i]), `${name}[${i}]`).toBeLessThanOrEqual(Math.max(Math.abs(values[i]) * 2 ** -11, 2 ** -25));
        }
      }
      Object.values(st.tensors).forEach((t) => t.dispose());
    }
    model.dispose();
  });

  it('float16 computes as float32 on the widened values: a float32 model given the F16 file\'s tensors gives the same logits bit for bit', async () => {
    const { tok, model, trainer } = await trained('gru', 2);
    trainer.dispose();
    const q = quantize(model, { dtype: 'float16' });
    const st = readSafetensors(encodeCheckpoint(q, tok));
    const widened = new LanguageModel(model.config);
    const dict: Record<string, ReturnType<typeof tensor>> = {};
    for (const [k, t] of Object.entries(st.tensors)) dict[k.replace(/^model\./, '')] = t;
    widened.loadStateDict(dict);
    Object.values(st.tensors).forEach((t) => t.dispose());
    widened.eval();
    expect(firstDifference(logitsBits(widened, tok), logitsBits(q, tok))).toBe(-1);
    for (const m of [q, widened, model]) m.dispose();
  });

  it('encodeCheckpoint(quantized, tok, trainer) is a ValueError: a quantized model has no training state', async () => {
    const { tok, model, trainer } = await trained('lstm', 1);
    for (const dtype of DTYPES) {
      const q = quantize(model, { dtype });
      expect(() => encodeCheckpoint(q, tok, trainer)).toThrow(ValueError);
      expect(() => encodeCheckpoint(q, tok, trainer)).toThrow(new RegExp(`quantized model \\(${dtype}\\) has no training state; save it without a trainer`));
      q.dispose();
    }
    trainer.dispose();
    model.dispose();
  });
});

describe('quantized checkpoints: strict reading', () => {
  async function files() {
    const { tok, model, trainer } = await trained('lstm', 1);
    const float32 = encodeCheckpoint(model, tok, trainer);
    const out: Record<Dtype, Uint8Array> = { int8: new Uint8Array(), float16: new Uint8Array() };
    for (const dtype of DTYPES) {
      const q = quantize(model, { dtype });
      out[dtype] = encodeCheckpoint(q, tok, null, { note: 1 });
      q.dispose();
    }
    trainer.dispose();
    model.dispose();
    return { ...out, float32, V: tok.size };
  }

  it('the crafting tools are sound: the files re-signed unedited load, and give the same model', async () => {
    const { int8, float16 } = await files();
    for (const bytes of [int8, float16]) {
      expect(Buffer.compare(editTensors(bytes, () => undefined), bytes)).toBe(0);
      const m = modelFromCheckpoint(decodeCheckpoint(editCheckpoint(bytes, () => undefined)));
      m.dispose();
    }
  });

  it('a flipped byte anywhere in the data (an int8 value, a scale, a float16 half, a bias) fails the checksum', async () => {
    const { int8, float16 } = await files();
    for (const bytes of [int8, float16]) {
      const { tensors } = storedTensors(bytes);
      const dataStart = bytes.length - tensors.reduce((a, t) => a + t.bytes.length, 0);
      for (const at of [dataStart, dataStart + 17, bytes.length - 1, Math.floor((dataStart + bytes.length) / 2)]) {
        const flipped = bytes.slice();
        flipped[at] ^= 0x01;
        expectRefused(flipped, /^checkpoint is corrupt: checksum [0-9a-f]{8} does not match the stored [0-9a-f]{8}$/);
      }
    }
  });

  it('CRC-valid int8 files crafted to hurt: missing or mis-sized scales, -128, negative / NaN / infinite scales, wrong dtypes, extra tensors', async () => {
    const { int8, V } = await files();
    const cases: [string, (ts: StoredTensor[]) => void, RegExp][] = [
      ['a missing .scale', (ts) => void ts.splice(ts.findIndex((t) => t.name === 'model.head.weight.scale'), 1),
        /^checkpoint weights do not match its model config: missing tensor 'model\.head\.weight\.scale'$/],
      ['a .scale of the wrong length', (ts) => {
        const t = find(ts, 'model.head.weight.scale');
        t.shape = [V - 1];
        t.bytes = t.bytes.slice(0, 4 * (V - 1));
      }, new RegExp(`^checkpoint weights do not match its model config: model\\.head\\.weight\\.scale has shape \\[${V - 1}\\], expected \\[${V}\\]$`)],
      ['a .scale of two dimensions', (ts) => void (find(ts, 'model.head.weight.scale').shape = [V, 1]),
        new RegExp(`model\\.head\\.weight\\.scale has shape \\[${V}, 1\\], expected \\[${V}\\]`)],
      ['an int8 value of -128', (ts) => void (find(ts, 'model.rnn.weight_hh_l0').bytes[5] = 0x80),
        /^checkpoint: model\.rnn\.weight_hh_l0: int8 value -128 at 5; symmetric int8 weights are in \[-127, 127\]$/],
      ['a negative scale', (ts) => void find(ts, 'model.embed.weight.scale').bytes.set(f32Bytes([-0.5]), 12),
        /^checkpoint: model\.embed\.weight: scale 3 is -0\.5; scales must be finite and >= 0$/],
      ['a NaN scale', (ts) => void find(ts, 'model.rnn.weight_ih_l0.scale').bytes.set(f32Bytes([NaN]), 0),
        /^checkpoint: model\.rnn\.weight_ih_l0: scale 0 is NaN; scales must be finite and >= 0$/],
      ['an infinite scale', (ts) => void find(ts, 'model.head.weight.scale').bytes.set(f32Bytes([Infinity]), 4 * (V - 1)),
        new RegExp(`^checkpoint: model\\.head\\.weight: scale ${V - 1} is Infinity; scales must be finite and >= 0$`)],
      ['a -Infinity scale', (ts) => void find(ts, 'model.head.weight.scale').bytes.set(f32Bytes([-Infinity]), 0),
        /model\.head\.weight: scale 0 is -Infinity/],
      ['a weight stored F32 in an int8 file', retype('model.embed.weight', 'F32', (b) => new Uint8Array(b.length * 4)),
        /^checkpoint: tensor 'model\.embed\.weight' is F32, expected I8 \(an? int8 checkpoint\)$/],
      ['a weight stored F16 in an int8 file', retype('model.head.weight', 'F16', (b) => new Uint8Array(b.length * 2)),
        /tensor 'model\.head\.weight' is F16, expected I8/],
      ['a scale stored F16', retype('model.head.weight.scale', 'F16', (b) => b.slice(0, 2 * V)),
        /tensor 'model\.head\.weight\.scale' is F16, expected F32/],
      ['a bias stored I8', retype('model.head.bias', 'I8', () => new Uint8Array(V)),
        /tensor 'model\.head\.bias' is I8, expected F32/],
      ['an extra tensor beside a weight', (ts) => void ts.push({ name: 'model.rnn.weight_hh_l0.zero_point', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }),
        /^checkpoint weights do not match its model config: unexpected tensor 'model\.rnn\.weight_hh_l0\.zero_point'$/],
      ['an optimizer buffer', (ts) => void ts.push({ name: 'optim.0.0', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }),
        /unexpected tensor 'optim\.0\.0'/],
      ['a scale for a bias', (ts) => void ts.push({ name: 'model.head.bias.scale', dtype: 'F32', shape: [V], bytes: new Uint8Array(4 * V) }),
        /unexpected tensor 'model\.head\.bias\.scale'/],
      ['a tensor named __proto__', (ts) => void ts.push({ name: '__proto__', dtype: 'I8', shape: [4], bytes: new Uint8Array(4) }),
        /unexpected tensor '__proto__'/],
      ['a weight of another shape', (ts) => {
        const t = find(ts, 'model.rnn.weight_ih_l0');
        t.shape = [t.shape[0], t.shape[1] + 1];
        t.bytes = new Uint8Array(t.shape[0] * t.shape[1]);
      }, /model\.rnn\.weight_ih_l0 has shape \[40, 7\], expected \[40, 6\]/],
    ];
    for (const [what, edit, message] of cases) {
      const bytes = editTensors(int8, edit);
      expect(() => decodeCheckpoint(bytes), what).not.toThrow(/checksum/);
      expectRefused(bytes, message);
    }
  });

  it('CRC-valid float16 files crafted to hurt: an I8 entry where F16 is expected, Inf / NaN halves, a scale, a missing weight', async () => {
    const { float16, V } = await files();
    const half = (bits: number) => (ts: StoredTensor[]) => new DataView(find(ts, 'model.head.weight').bytes.buffer).setUint16(8, bits, true);
    const cases: [string, (ts: StoredTensor[]) => void, RegExp][] = [
      ['an I8 entry where F16 is expected', retype('model.embed.weight', 'I8', (b) => b.slice(0, b.length / 2)),
        /^checkpoint: tensor 'model\.embed\.weight' is I8, expected F16 \(a float16 checkpoint\)$/],
      ['an I8 entry with its scale', (ts) => {
        retype('model.head.weight', 'I8', (b) => b.slice(0, b.length / 2))(ts);
        ts.push({ name: 'model.head.weight.scale', dtype: 'F32', shape: [V], bytes: new Uint8Array(4 * V) });
      }, /unexpected tensor 'model\.head\.weight\.scale'/],
      ['a weight stored F32', retype('model.rnn.weight_hh_l0', 'F32', (b) => new Uint8Array(b.length * 2)),
        /tensor 'model\.rnn\.weight_hh_l0' is F32, expected F16/],
      ['a bias stored F16', retype('model.head.bias', 'F16', (b) => b.slice(0, 2 * V)),
        /tensor 'model\.head\.bias' is F16, expected F32/],
      ['+Inf (0x7c00)', half(0x7c00), /^checkpoint: model\.head\.weight: float16 value 4 is infinite or NaN$/],
      ['-Inf (0xfc00)', half(0xfc00), /model\.head\.weight: float16 value 4 is infinite or NaN/],
      ['a quiet NaN (0x7e00)', half(0x7e00), /model\.head\.weight: float16 value 4 is infinite or NaN/],
      ['a NaN with a low payload (0x7c01)', half(0x7c01), /model\.head\.weight: float16 value 4 is infinite or NaN/],
      ['a missing weight', (ts) => void ts.splice(ts.findIndex((t) => t.name === 'model.rnn.weight_ih_l0'), 1),
        /^checkpoint weights do not match its model config: missing tensor 'model\.rnn\.weight_ih_l0'$/],
    ];
    for (const [what, edit, message] of cases) {
      const bytes = editTensors(float16, edit);
      expect(() => decodeCheckpoint(bytes), what).not.toThrow(/checksum/);
      expectRefused(bytes, message);
    }
    // The largest finite halves and the subnormals are values like any other.
    for (const bits of [0x7bff, 0xfbff, 0x0001, 0x8000]) modelFromCheckpoint(decodeCheckpoint(editTensors(float16, half(bits)))).dispose();
  });

  it('CRC-valid checkpoint JSON crafted to hurt: a trainer in version 2, quantization in version 1, int4, a missing or swapped dtype', async () => {
    const { int8, float16, float32 } = await files();
    const trainer = checkpointJson(float32).trainer;
    expect(trainer).not.toBeNull();
    const cases: [Uint8Array, (m: any) => unknown, RegExp][] = [
      [int8, (m) => void (m.trainer = trainer),
        /^checkpoint: checkpoint\.trainer must be null in a quantized checkpoint \(quantized models do not train\), got an object$/],
      [float16, (m) => void (m.trainer = {}), /checkpoint\.trainer must be null in a quantized checkpoint/],
      [int8, (m) => void (m.version = 1), /^checkpoint: checkpoint\.quantization must be absent in a version 1 checkpoint, got a string "int8"$/],
      [float32, (m) => void (m.quantization = 'float16'), /checkpoint\.quantization must be absent in a version 1 checkpoint, got a string "float16"/],
      [int8, (m) => void (m.quantization = 'int4'), /^checkpoint: checkpoint\.quantization must be one of "int8", "float16", got a string "int4"$/],
      [int8, (m) => void (m.quantization = 'float32'), /checkpoint\.quantization must be one of "int8", "float16", got a string "float32"/],
      [float16, (m) => void (m.quantization = null), /checkpoint\.quantization must be one of "int8", "float16", got null/],
      [int8, (m) => void delete m.quantization, /checkpoint\.quantization must be one of "int8", "float16", got nothing/],
      [int8, (m) => void (m.version = 3), /^checkpoint: checkpoint\.version must be 1 or 2 \(2: a quantized model\), got 3$/],
      // The JSON says one dtype, the tensors are the other.
      [int8, (m) => void (m.quantization = 'float16'), /unexpected tensor 'model\.[a-z_.0-9]+\.scale'/],
      [float16, (m) => void (m.quantization = 'int8'), /missing tensor 'model\.[a-z_.0-9]+\.scale'/],
      // A float32 checkpoint relabelled as quantized, its trainer removed.
      [float32, (m) => void Object.assign(m, { version: 2, quantization: 'int8', trainer: null }), /unexpected tensor 'optim\.0\.0'|missing tensor 'model\.[a-z_.0-9]+\.scale'/],
    ];
    for (const [base, edit, message] of cases) expectRefused(editCheckpoint(base, edit), message);
  });

  it('a version-1 (float32) checkpoint holding an I8 or F16 weight is refused by dtype', async () => {
    const { float32 } = await files();
    for (const dtype of ['I8', 'F16'] as const) {
      const bytes = editTensors(float32, (ts) => {
        const t = find(ts, 'model.embed.weight');
        t.dtype = dtype;
        t.bytes = t.bytes.slice(0, (t.bytes.length / 4) * (dtype === 'I8' ? 1 : 2));
      });
      expectRefused(bytes, new RegExp(`^checkpoint: tensor 'model\\.embed\\.weight' is ${dtype}, expected F32$`));
    }
  });
});
