// Checkpoint bytes: round trip, and every kind of damage is a FormatError that says what is wrong.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, CharTokenizer, WordTokenizer, LanguageModel, LMBatcher, LMTrainer, encodeCheckpoint, decodeCheckpoint,
  modelFromCheckpoint, restoreTrainer, readSafetensors, saveSafetensors, tensor, FormatError, CHECKPOINT_FORMAT,
} from 'lstm-wasm';

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
