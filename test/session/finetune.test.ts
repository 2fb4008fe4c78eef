// Fine-tuning in a session (`from`): a new run from a trained model's weights on another text, the
// same run `lstm-wasm train --from` makes (bit for bit on one thread), from a float32 or an int8
// model; what contradicts the model, or mixes fine-tuning with resuming, is refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SettingError, ValueError, decodeCheckpoint, init } from '../../dist/index.js';
import { SMALL, cli, corpusText, disposeAll, expectSameTraining, openSession, rejectionOf } from './session-kit';

const OTHER = 'Im Anfang schuf Gott Himmel und Erde. Und die Erde war wüst und leer. 🔥 Größe.\n'.repeat(80);
let dir: string;
let base: Uint8Array;
let base8: Uint8Array;

beforeAll(async () => {
  await init();
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-finetune-'));
  const s = await openSession({ text: corpusText(20_000), settings: { ...SMALL, level: 'byte', numLayers: 2, seed: 4 }, threads: 1 });
  await s.train({ steps: 4, evalEvery: 0 });
  base = await s.checkpoint();
  base8 = await s.checkpoint({ dtype: 'int8' });
  await s.dispose();
  writeFileSync(join(dir, 'base.safetensors'), base);
  writeFileSync(join(dir, 'other.txt'), OTHER);
}, 60_000);
afterEach(disposeAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TrainingSession from a trained model (fine-tuning)', () => {
  it("is the run 'lstm-wasm train --from' makes: the same checkpoint after 3 steps, bit for bit", async () => {
    const r = await cli(['train', 'other.txt', '--from', 'base.safetensors', '--batch', '4', '--seq', '16', '--steps', '3', '--threads', '1', '--eval-every', '0', '--sample-every', '0', '--out', 'ft.safetensors'], dir);
    expect(r.code, r.stderr).toBe(0);
    const s = await openSession({ text: OTHER, from: base, settings: { batchSize: 4, seqLen: 16 }, threads: 1 });
    expect(s.info.settings).toMatchObject({ level: 'byte', hiddenSize: 16, embedDim: 8, numLayers: 2, lr: 0.001 });
    expect(s.info.step).toBe(0);
    await s.train({ steps: 3, evalEvery: 0 });
    expectSameTraining(await s.checkpoint(), new Uint8Array(readFileSync(join(dir, 'ft.safetensors'))));
  }, 60_000);

  it('fine-tunes an int8 model too (dequantized), with the lr it is given', async () => {
    const s = await openSession({ text: OTHER, from: base8, settings: { batchSize: 4, seqLen: 16, lr: 5e-4 }, threads: 1 });
    expect(s.info.settings.lr).toBe(5e-4);
    const run = await s.train({ steps: 2, evalEvery: 0 });
    expect(run.steps).toBe(2);
    const ck = decodeCheckpoint(await s.checkpoint());
    expect(ck.meta.quantization).toBeUndefined();
    expect(ck.tokenizer.decode(ck.tokenizer.encode(OTHER))).toBe(OTHER);
  }, 60_000);

  it('refuses a setting that contradicts the model, from with checkpoint, and from without text', async () => {
    const e = await rejectionOf(openSession({ text: OTHER, from: base, settings: { hiddenSize: 32 } }));
    expect(e).toBeInstanceOf(SettingError);
    expect(e.message).toMatch(/hiddenSize 32 does not match the model to fine-tune \(hiddenSize 16\)/);
    const both = await rejectionOf(openSession({ text: OTHER, from: base, checkpoint: base }));
    expect(both).toBeInstanceOf(ValueError);
    expect(both.message).toMatch(/give from .* or checkpoint .*, not both/);
    expect((await rejectionOf(openSession({ from: base }))).message).toMatch(/from needs a text/);
    expect((await rejectionOf(openSession({ text: OTHER, from: 'base' as never }))).message).toMatch(/from must be a Uint8Array or an ArrayBuffer/);
  }, 60_000);
});
