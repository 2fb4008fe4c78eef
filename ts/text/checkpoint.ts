/**
 * Language-model checkpoints: one safetensors file (readable by any safetensors reader) holding
 *
 *   tensors   model.<param>        the LanguageModel's parameters, PyTorch names
 *             optim.<i>.<j>        Adam's buffer j (0: m, 1: v) of parameter i
 *             state.<k>            the carried recurrent state (h, c), when there is one
 *   metadata  format               "lstm-wasm/lm-checkpoint"
 *             checkpoint           JSON: { version, model (config), tokenizer (vocabulary),
 *                                  trainer (step, batcher position, RNG, Adam step counts, loss
 *                                  history) or null, extra (the CLI's settings) }
 *             crc32                CRC-32 of the checkpoint JSON and every tensor's bytes in name
 *                                  order, so a flipped byte anywhere is detected, not loaded.
 *
 * Pure: bytes in, bytes out. Writing files (atomically) is the caller's business (see the CLI).
 */
import { Tensor, tensor, tidy } from '../tensor';
import { saveSafetensors, readSafetensors } from '../io/safetensors';
import { FormatError } from '../errors';
import { LanguageModel, type LanguageModelConfig } from './language-model';
import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from './tokenizer';
import type { LMTrainer, TrainerStateJSON, TrainerTensors } from './trainer';

export const CHECKPOINT_FORMAT = 'lstm-wasm/lm-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointMeta {
  version: number;
  model: LanguageModelConfig;
  tokenizer: TokenizerJSON;
  trainer: TrainerStateJSON | null;
  /** Free-form JSON the writer wants back (the CLI keeps its flags and data fingerprint here). */
  extra: Record<string, unknown>;
}

export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

export interface DecodedCheckpoint {
  meta: CheckpointMeta;
  tokenizer: Tokenizer;
  /** Parameters by PyTorch name (without the `model.` prefix). */
  params: Record<string, RawTensor>;
  /** Optimizer buffers and carried state, when the checkpoint has a trainer. */
  trainer: TrainerTensors | null;
}

/** Serializes a model, its tokenizer and (optionally) the trainer's full state. */
export function encodeCheckpoint(
  model: LanguageModel, tokenizer: Tokenizer, trainer: LMTrainer | null = null, extra: Record<string, unknown> = {},
): Uint8Array {
  const exported = trainer?.exportState() ?? null;
  const meta: CheckpointMeta = {
    version: CHECKPOINT_VERSION,
    model: { ...model.config },
    tokenizer: tokenizer.toJSON(),
    trainer: exported?.json ?? null,
    extra,
  };
  return tidy(() => {
    const dict: Record<string, Tensor> = {};
    for (const [name, p] of model.namedParameters()) dict[`model.${name}`] = p;
    if (exported !== null) {
      exported.tensors.optimizer.forEach((bufs, i) => bufs?.forEach((b, j) => (dict[`optim.${i}.${j}`] = tensor(b))));
      exported.tensors.state?.forEach((s, k) => (dict[`state.${k}`] = tensor(s.data, s.shape)));
    }
    const json = JSON.stringify(meta);
    const crc = checksum(json, Object.keys(dict).sort().map((k) => dict[k].toArray() as Float32Array));
    return saveSafetensors(dict, { format: CHECKPOINT_FORMAT, checkpoint: json, crc32: crc });
  });
}

/**
 * Parses and verifies checkpoint bytes. Anything wrong (not safetensors, truncated, another
 * format or version, a checksum mismatch, missing or mis-shaped tensors) is a FormatError.
 */
export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint {
  let file;
  try {
    file = readSafetensors(bytes);
  } catch (e) {
    throw new FormatError(`not a valid checkpoint: ${stripPrefix((e as Error).message)}`);
  }
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(file.tensors)) {
    raw[name] = { shape: t.shape.slice(), data: t.dtype === 'float32' ? (t.toArray() as Float32Array) : Float32Array.from(t.toArray()) };
    t.dispose();
  }
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new FormatError(`not an lstm-wasm checkpoint (format ${JSON.stringify(md.format ?? null)}, expected "${CHECKPOINT_FORMAT}")`);
  }
  if (typeof md.checkpoint !== 'string' || typeof md.crc32 !== 'string') throw new FormatError('checkpoint metadata is incomplete (no checkpoint JSON or crc32)');
  const crc = checksum(md.checkpoint, Object.keys(raw).sort().map((k) => raw[k].data));
  if (crc !== md.crc32) throw new FormatError(`checkpoint is corrupt: checksum ${crc} does not match the stored ${md.crc32}`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(md.checkpoint) as CheckpointMeta;
  } catch (e) {
    throw new FormatError(`checkpoint JSON is invalid: ${(e as Error).message}`);
  }
  if (meta === null || typeof meta !== 'object' || meta.version !== CHECKPOINT_VERSION) {
    throw new FormatError(`checkpoint version ${JSON.stringify(meta?.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  }
  if (meta.model === null || typeof meta.model !== 'object') throw new FormatError('checkpoint has no model config');
  const tokenizer = tokenizerFromJSON(meta.tokenizer);
  if (tokenizer.size !== meta.model.vocabSize) {
    throw new FormatError(`checkpoint vocabulary has ${tokenizer.size} tokens but the model expects ${meta.model.vocabSize}`);
  }
  const params: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(raw)) if (name.startsWith('model.')) params[name.slice(6)] = t;
  let trainer: TrainerTensors | null = null;
  if (meta.trainer !== null && meta.trainer !== undefined) {
    const steps = meta.trainer.optimizer?.steps;
    if (!Array.isArray(steps)) throw new FormatError('checkpoint trainer state has no optimizer steps');
    const optimizer = steps.map((s, i) => {
      if (s === null) return null;
      const bufs: Float32Array[] = [];
      for (let j = 0; `optim.${i}.${j}` in raw; j++) bufs.push(raw[`optim.${i}.${j}`].data);
      if (bufs.length === 0) throw new FormatError(`checkpoint is missing the optimizer state of parameter ${i}`);
      return bufs;
    });
    let state: RawTensor[] | null = null;
    if (meta.trainer.hasState) {
      state = [];
      for (let k = 0; `state.${k}` in raw; k++) state.push(raw[`state.${k}`]);
      if (state.length === 0) throw new FormatError('checkpoint is missing its carried recurrent state');
    }
    trainer = { optimizer, state };
  }
  return { meta, tokenizer, params, trainer };
}

/** A new LanguageModel with the checkpoint's config and weights (a FormatError if they disagree). */
export function modelFromCheckpoint(ck: DecodedCheckpoint): LanguageModel {
  let model: LanguageModel;
  try {
    model = new LanguageModel(ck.meta.model);
  } catch (e) {
    throw new FormatError(`checkpoint model config is invalid: ${stripPrefix((e as Error).message)}`);
  }
  try {
    model.loadStateDict(ck.params);
  } catch (e) {
    model.dispose();
    throw new FormatError(`checkpoint weights do not match its model config: ${stripPrefix((e as Error).message)}`);
  }
  return model;
}

/** Restores the trainer's state from a checkpoint (which must have one). */
export function restoreTrainer(trainer: LMTrainer, ck: DecodedCheckpoint): void {
  if (ck.meta.trainer === null || ck.trainer === null) throw new FormatError('checkpoint has no training state (it holds weights only)');
  try {
    trainer.importState(ck.meta.trainer, ck.trainer);
  } catch (e) {
    throw new FormatError(`checkpoint training state does not fit: ${stripPrefix((e as Error).message)}`);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32Update(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c;
}

/** CRC-32 (IEEE) of the JSON's UTF-8 bytes followed by each array's little-endian bytes, as 8 hex digits. */
function checksum(json: string, arrays: Float32Array[]): string {
  let c = 0xffffffff;
  c = crc32Update(c, new TextEncoder().encode(json));
  for (const a of arrays) c = crc32Update(c, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

function stripPrefix(msg: string): string {
  return msg.replace(/^safetensors: /, '');
}
