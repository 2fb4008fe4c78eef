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
 * A quantized model (`quantize`) is a version-2 checkpoint with `quantization` ("int8" or
 * "float16") in its JSON, no trainer, and its weight matrices stored as I8 (with the row scales as
 * `model.<name>.scale`, F32) or F16; biases stay F32. Any safetensors reader reads it.
 *
 * Pure: bytes in, bytes out. Writing files (atomically) is the caller's business (see the CLI).
 *
 * Decoding trusts nothing in the file, CRC included: the header, the JSON (checkpoint-schema.ts)
 * and every tensor's shape against the config are checked before a tensor is allocated, so a
 * hostile file costs a FormatError and a linear pass over its bytes, never a hang, a leak or an
 * allocation larger than the file.
 */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { tensor } from '../creation';
import {
  saveSafetensors, encodeSafetensors, littleEndianBytes, parseSafetensors, entryBytes, entryData, type ParsedSafetensors, type RawEntry,
} from '../io/safetensors';
import { QuantizedMatrix, checkQuantizedValues, type QuantDtype } from '../nn/quantized';
import { showName } from '../io/json-guard';
import { crc32Update } from '../io/crc32';
import { FormatError, ShapeError, ValueError } from '../errors';
import { LanguageModel, type LanguageModelConfig } from '../lm/language-model';
import { Generator, defaultGenerator } from '../random';
import { quantizedModelFrom, type RawQuantized, type RawTensor } from '../lm/quantize';
import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '../text/tokenizer';
import type { LMTrainer } from './trainer';
import type { TrainerStateJSON, TrainerTensors } from './trainer-state';
import {
  checkModelConfig, checkTensorSet, checkTrainerState, checkpointLayout, languageModelShapes, parseCheckpointJson,
} from './checkpoint-schema';

export const CHECKPOINT_FORMAT = 'lstm-wasm/lm-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** The version of quantized checkpoints (readers before it refuse them by version, clearly). */
export const QUANTIZED_CHECKPOINT_VERSION = 2;

export interface CheckpointMeta {
  version: number;
  model: LanguageModelConfig;
  tokenizer: TokenizerJSON;
  trainer: TrainerStateJSON | null;
  /**
   * Free-form JSON the writer wants back. The CLI keeps its flags (`settings`) and the training
   * text's fingerprint (`data`) here; those two keys are checked on decoding when present.
   */
  extra: Record<string, unknown>;
  /** How a quantized model's weights are stored (version 2); absent for float32. */
  quantization?: QuantDtype;
}

export interface DecodedCheckpoint {
  meta: CheckpointMeta;
  tokenizer: Tokenizer;
  /** Parameters by PyTorch name (without the `model.` prefix). */
  params: Record<string, RawTensor>;
  /** Optimizer buffers and carried state, when the checkpoint has a trainer. */
  trainer: TrainerTensors | null;
  /** A quantized model's weight matrices by name (`params` then holds its biases only); null for float32. */
  quantized: { dtype: QuantDtype; matrices: Record<string, RawQuantized> } | null;
}

/** Serializes a model, its tokenizer and (optionally) the trainer's full state. */
export function encodeCheckpoint(
  model: LanguageModel, tokenizer: Tokenizer, trainer: LMTrainer | null = null, extra: Record<string, unknown> = {},
): Uint8Array {
  if (model.quantization !== null) {
    if (trainer !== null) throw new ValueError(`encodeCheckpoint: a quantized model (${model.quantization}) has no training state; save it without a trainer`);
    return encodeQuantized(model, tokenizer, extra);
  }
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

/** A quantized model's checkpoint (version 2): matrices as I8 (+ scales) or F16, biases F32. */
function encodeQuantized(model: LanguageModel, tokenizer: Tokenizer, extra: Record<string, unknown>): Uint8Array {
  const dtype = model.quantization!;
  const meta: CheckpointMeta = {
    version: QUANTIZED_CHECKPOINT_VERSION, model: { ...model.config }, tokenizer: tokenizer.toJSON(), trainer: null, extra, quantization: dtype,
  };
  const entries = Object.create(null) as Record<string, RawEntry>;
  for (const [name, w] of model.quantizedWeights()) {
    if (w instanceof QuantizedMatrix) {
      entries[`model.${name}`] = { dtype: dtype === 'int8' ? 'I8' : 'F16', shape: [w.rows, w.cols], bytes: w.bytes() };
      if (w.scales !== null) entries[`model.${name}.scale`] = { dtype: 'F32', shape: [w.rows], bytes: littleEndianBytes(w.scales.toArray() as Float32Array).slice() };
    } else {
      entries[`model.${name}`] = { dtype: 'F32', shape: w.shape, bytes: littleEndianBytes(w.toArray() as Float32Array).slice() };
    }
  }
  const json = JSON.stringify(meta);
  const crc = checksum(json, Object.keys(entries).sort().map((k) => entries[k].bytes));
  return encodeSafetensors(entries, { format: CHECKPOINT_FORMAT, checkpoint: json, crc32: crc });
}

/**
 * Parses and verifies checkpoint bytes. Anything wrong (not safetensors, truncated, another
 * format or version, a checksum mismatch, a field of the JSON of the wrong type or out of range,
 * a missing, unexpected or mis-shaped tensor) is a FormatError; nothing is allocated.
 */
export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint {
  let file: ParsedSafetensors;
  try {
    file = parseSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`not a valid checkpoint: ${stripPrefix(e.message)}`);
    throw e;
  }
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    const format = md.format === undefined ? 'null' : JSON.stringify(showName(md.format));
    throw new FormatError(`not an lstm-wasm checkpoint (format ${format}, expected "${CHECKPOINT_FORMAT}")`);
  }
  if (md.checkpoint === undefined || md.crc32 === undefined) throw new FormatError('checkpoint metadata is incomplete (no checkpoint JSON or crc32)');
  // Name order (UTF-16 code units), as the encoder's Object.keys(dict).sort().
  const byName = file.entries.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const crc = checksum(md.checkpoint, byName.map((e) => entryBytes(file, e)));
  if (crc !== md.crc32) throw new FormatError(`checkpoint is corrupt: checksum ${crc} does not match the stored ${showName(md.crc32)}`);
  const meta = parseCheckpointJson(md.checkpoint);
  const tokenizer = tokenizerFromJSON(meta.tokenizer);
  if (meta.quantization !== undefined) return decodeQuantized(file, meta, tokenizer);
  for (const e of file.entries) {
    if (e.dtype !== 'float32') throw new FormatError(`checkpoint: tensor '${showName(e.name)}' is ${SAFETENSORS_NAMES[e.dtype]}, expected F32`);
  }
  const shapes = new Map(file.entries.map((e) => [e.name, e.shape]));
  // The parameters first: for a config edited to hurt, the tensors it lacks say the most.
  const modelShapes = new Map([...shapes].filter(([name]) => name.startsWith('model.')));
  checkTensorSet(languageModelShapes(meta.model).map(([n, s]) => [`model.${n}`, s]), modelShapes, 'checkpoint weights do not match its model config');
  const state0 = shapes.get('state.0');
  const layout = checkpointLayout(meta, state0 !== undefined && state0.length === 3 ? state0[1] : null);
  checkTensorSet(layout, shapes, 'checkpoint weights do not match its model config');
  const data = new Map(file.entries.map((e) => [e.name, e]));
  const raw = (name: string): RawTensor => ({ shape: data.get(name)!.shape.slice(), data: entryData(file, data.get(name)!) as Float32Array });
  const params = Object.create(null) as Record<string, RawTensor>;
  for (const [name] of languageModelShapes(meta.model)) params[name] = raw(`model.${name}`);
  let trainer: TrainerTensors | null = null;
  if (meta.trainer !== null) {
    const optimizer = meta.trainer.optimizer.steps.map((s, i) => (s === null ? null : [raw(`optim.${i}.0`).data, raw(`optim.${i}.1`).data]));
    const state = meta.trainer.hasState ? Array.from({ length: meta.model.cell === 'lstm' ? 2 : 1 }, (_, k) => raw(`state.${k}`)) : null;
    trainer = { optimizer, state };
  }
  return { meta, tokenizer, params, trainer, quantized: null };
}

const SAFETENSORS_NAMES = { float32: 'F32', int32: 'I32', int8: 'I8', float16: 'F16' } as const;


/**
 * A quantized checkpoint's tensors, checked against its config before anything is read: each
 * weight matrix I8 (with its F32 `.scale` of one value per row) or F16 as `quantization` says,
 * each bias F32, nothing else (no trainer: version 2 checkpoints hold models only).
 */
function decodeQuantized(file: ParsedSafetensors, meta: CheckpointMeta, tokenizer: Tokenizer): DecodedCheckpoint {
  const dtype = meta.quantization!;
  const want = dtype === 'int8' ? 'int8' : 'float16';
  const expected: [string, number[]][] = [];
  const kinds = new Map<string, 'float32' | 'int8' | 'float16'>();
  for (const [name, shape] of languageModelShapes(meta.model)) {
    const matrix = shape.length === 2;
    expected.push([`model.${name}`, shape]);
    kinds.set(`model.${name}`, matrix ? want : 'float32');
    if (matrix && dtype === 'int8') {
      expected.push([`model.${name}.scale`, [shape[0]]]);
      kinds.set(`model.${name}.scale`, 'float32');
    }
  }
  checkTensorSet(expected, new Map(file.entries.map((e) => [e.name, e.shape])), 'checkpoint weights do not match its model config');
  for (const e of file.entries) {
    const kind = kinds.get(e.name)!;
    if (e.dtype !== kind) throw new FormatError(`checkpoint: tensor '${showName(e.name)}' is ${SAFETENSORS_NAMES[e.dtype]}, expected ${SAFETENSORS_NAMES[kind]} (${dtype === 'int8' ? 'an' : 'a'} ${dtype} checkpoint)`);
  }
  const byName = new Map(file.entries.map((e) => [e.name, e]));
  const params = Object.create(null) as Record<string, RawTensor>;
  const matrices = Object.create(null) as Record<string, RawQuantized>;
  for (const [name, shape] of languageModelShapes(meta.model)) {
    const e = byName.get(`model.${name}`)!;
    if (shape.length === 2) {
      const scale = byName.get(`model.${name}.scale`);
      const m: RawQuantized = {
        shape: [shape[0], shape[1]], bytes: entryBytes(file, e).slice(), scales: scale === undefined ? null : (entryData(file, scale) as Float32Array),
      };
      try {
        checkQuantizedValues(dtype, shape[0], shape[1], m.bytes, m.scales, `checkpoint: model.${name}`);
      } catch (e) {
        if (e instanceof ValueError || e instanceof ShapeError) throw new FormatError(e.message);
        throw e;
      }
      matrices[name] = m;
    } else {
      params[name] = { shape: shape.slice(), data: entryData(file, e) as Float32Array };
    }
  }
  return { meta, tokenizer, params, trainer: null, quantized: { dtype, matrices } };
}

/**
 * A new LanguageModel with the checkpoint's config and weights. The config and every parameter's
 * shape are checked first (a FormatError, nothing allocated); an error while allocating (an
 * OutOfMemoryError) propagates as itself.
 */
export function modelFromCheckpoint(ck: DecodedCheckpoint): LanguageModel {
  const config = checkModelConfig(ck.meta.model, 'checkpoint.model');
  if (ck.quantized !== null) return quantizedModelFrom(config, ck.quantized.dtype, ck.quantized.matrices, ck.params);
  const shapes = new Map<string, readonly number[]>();
  for (const name of Object.keys(ck.params)) {
    const t = ck.params[name];
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== size) {
      throw new FormatError(`checkpoint weights do not match its model config: ${showName(name)} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    shapes.set(name, t.shape);
  }
  checkTensorSet(languageModelShapes(config), shapes, 'checkpoint weights do not match its model config');
  // The initialization is loaded over at once: drawn from a stream of its own, it leaves the global
  // generator as it was. Dropout then draws from the global one, as for any model given no generator.
  const model = new LanguageModel(config, { generator: new Generator(0) });
  model.generator = defaultGenerator;
  try {
    model.loadStateDict(ck.params);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Restores the trainer's state from a checkpoint (which must have one). State that does not fit
 * this trainer (another batch size, a batcher position past its data) is a FormatError and leaves
 * the trainer as it was; an allocation failure propagates as itself.
 */
export function restoreTrainer(trainer: LMTrainer, ck: DecodedCheckpoint): void {
  if (ck.meta.trainer === null || ck.trainer === null) throw new FormatError('checkpoint has no training state (it holds weights only)');
  const json = checkTrainerState(ck.meta.trainer, 'checkpoint.trainer');
  try {
    trainer.importState(json, ck.trainer);
  } catch (e) {
    if (e instanceof ValueError || e instanceof ShapeError) throw new FormatError(`checkpoint training state does not fit: ${e.message}`);
    throw e;
  }
}

/** CRC-32 (IEEE) of the JSON's UTF-8 bytes followed by each array's bytes (little-endian), as 8 hex digits. */
function checksum(json: string, arrays: ArrayBufferView[]): string {
  let c = 0xffffffff;
  c = crc32Update(c, new TextEncoder().encode(json));
  for (const a of arrays) c = crc32Update(c, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

function stripPrefix(msg: string): string {
  return msg.replace(/^safetensors: /, '');
}
