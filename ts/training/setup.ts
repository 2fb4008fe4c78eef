/**
 * What a language-model training run is defined by, and how one is set up from a text or resumed
 * from a checkpoint. Shared by the CLI's `train` and the worker session (ts/session), so that a run
 * in a browser tab and one on the command line with the same settings are the same run: the same
 * tokenizer, split, batches, initialization and checkpoint (one resumes the other).
 *
 * The settings themselves are one table (settings.ts). A checkpoint keeps them in `extra.settings`
 * under their own names (older ones: under the CLI's flags) and the text's fingerprint in
 * `extra.data`, so resuming on other text is refused.
 */
import { Generator } from '../random';
import { FormatError, SettingError, ValueError } from '../errors';
import { LanguageModel, type CellType, type LanguageModelConfig } from '../lm/language-model';
import { buildTokenizer, type Tokenizer, type TokenizerLevel } from '../text/tokenizer';
import { LMBatcher, trainValSplit } from '../text/batcher';
import { LMTrainer } from './trainer';
import { DEFAULT_TRAINING_SETTINGS, SETTING_NAMES, storedSetting, storedSettingsOf, type TrainingSettings } from './settings';
import { modelFromCheckpoint, restoreTrainer, type DecodedCheckpoint } from './checkpoint';
import { dequantize } from '../lm/quantize';

/** What a checkpoint records of the training text, to refuse resuming on other text. */
export interface TextRecord {
  sources: string[];
  /** `fingerprint(text)`. */
  fingerprint: string;
  chars: number;
}

/** The training text's tokens and the batchers over them. */
export interface TrainingData {
  record: TextRecord;
  tokenizer: Tokenizer;
  ids: Int32Array;
  split: { train: Int32Array; val: Int32Array };
  train: LMBatcher;
  /** Null when the held-out part is shorter than one window. */
  val: LMBatcher | null;
}

/** How `lstm-wasm train` names the bundled corpus in checkpoints; a session given the corpus can say the same. */
export const BUNDLED_CORPUS_LABEL = 'bundled corpus: King James Bible (corpus/kjv.txt.gz)';

/**
 * A training text from bytes: empty, binary (NUL bytes), not UTF-8, or only whitespace is a
 * FormatError saying which (the CLI puts the file's name in front).
 */
export function decodeTrainingText(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new FormatError('file is empty');
  if (bytes.includes(0)) throw new FormatError('looks like a binary file (it has NUL bytes), expected UTF-8 text');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError('is not UTF-8 text (binary file?)');
  }
  return checkTrainingText(text);
}

/**
 * A text with something to learn from: empty, whitespace-only or binary is a FormatError. Binary
 * is a NUL character, or control characters (other than tab, line and page breaks) in more than
 * 1% of the first 64K characters: what a binary file read as text (a .wasm, an image) looks like,
 * whether it came as a string or as bytes.
 */
export function checkTrainingText(text: string): string {
  if (text.length === 0) throw new FormatError('file is empty');
  if (text.includes('\0')) throw new FormatError('looks like a binary file (it has NUL characters), expected text');
  const head = text.slice(0, 65536);
  const controls = head.match(/[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]/g)?.length ?? 0;
  if (controls > head.length / 100) {
    throw new FormatError(`looks like a binary file (${controls} control characters in its first ${head.length}), expected text`);
  }
  if (text.trim().length === 0) throw new FormatError('has only whitespace, no text to learn from');
  return text;
}

/** FNV-1a 32-bit of a string's UTF-16 code units, hex: a fingerprint of the training text. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Tokenizes `text` (with `tokenizer`, or a new one built from it), holds out the validation tail
 * and cuts the batches. A text too short for one window is a ValueError saying so.
 */
export function prepareTrainingData(text: string, s: TrainingSettings, sources: string[], tokenizer: Tokenizer | null = null): TrainingData {
  const record = { sources, fingerprint: fingerprint(text), chars: text.length };
  const tok = tokenizer ?? buildTokenizer(s.level, text, { maxSize: s.maxVocab });
  const ids = tok.encode(text);
  const split = trainValSplit(ids, s.valSplit);
  try {
    const train = new LMBatcher(split.train, s.batchSize, s.seqLen, 'training text');
    // Validation uses as many lanes as fit (at most batchSize) so that a small held-out tail still works.
    const valBatch = Math.max(1, Math.min(s.batchSize, Math.floor((split.val.length - 1) / s.seqLen)));
    const val = split.val.length - 1 >= s.seqLen ? new LMBatcher(split.val, valBatch, s.seqLen, 'validation text') : null;
    return { record, tokenizer: tok, ids, split, train, val };
  } catch (e) {
    if (e instanceof ValueError) throw new SettingError(([batch, seq]) => `${e.message}: use a longer text or a smaller ${batch}/${seq}`, ['batchSize', 'seqLen']);
    throw e;
  }
}

/**
 * A new model and its trainer. Initialization and dropout each draw from a stream of the run's own,
 * both seeded with `s.seed` (the initialization is what `manualSeed(s.seed)` then `new LanguageModel`
 * gives); the dropout stream is the one checkpoints carry. The global generator is not touched.
 */
export function createTraining(s: TrainingSettings, data: TrainingData, threads = 1): { model: LanguageModel; trainer: LMTrainer } {
  const model = new LanguageModel(modelConfig(s, data.tokenizer), { generator: new Generator(s.seed) });
  const generator = new Generator(s.seed); // dropout: a fresh stream, not the one the initialization advanced
  try {
    return { model, trainer: new LMTrainer(model, data.train, data.val, { lr: s.lr, clip: s.clip, generator, threads }) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The learning rate fine-tuning starts with when none is given: below a new model's, so the pretrained weights are not thrown away. */
export const FINE_TUNE_LR = 1e-3;

/**
 * The settings of fine-tuning the model in `ck`: its shape and tokens (`MODEL_SETTINGS`, what its
 * weights fix), `given` for the rest (the defaults for what it lacks, and `FINE_TUNE_LR` for lr).
 * A given model setting that contradicts the checkpoint is a SettingError naming it.
 */
export function fineTuneSettings(ck: DecodedCheckpoint, given: Partial<TrainingSettings>): TrainingSettings {
  const model = withCheckpointModel(ck, DEFAULT_TRAINING_SETTINGS);
  const out = { ...DEFAULT_TRAINING_SETTINGS, lr: FINE_TUNE_LR } as Record<keyof TrainingSettings, unknown>;
  for (const k of SETTING_NAMES) if (given[k] !== undefined) out[k] = given[k];
  for (const key of MODEL_SETTINGS) {
    const wanted = given[key];
    if (wanted !== undefined && wanted !== model[key]) {
      throw new SettingError(([name]) => `${name} ${String(wanted)} does not match the model to fine-tune (${name} ${String(model[key])}): its weights fix it; leave it out`, [key]);
    }
    out[key] = model[key];
  }
  return out as unknown as TrainingSettings;
}

/**
 * A trained model (`ck`, float32 or quantized: a quantized one is dequantized) and a new trainer
 * for it on `data` (prepared with the checkpoint's tokenizer): fine-tuning, with a new optimizer,
 * a fresh dropout stream from `s.seed`, and `s`'s lr, batch, window and clipping. `s` must have the
 * checkpoint's model shape (`withCheckpointModel`): otherwise a FormatError.
 */
export function fineTuneTraining(s: TrainingSettings, data: TrainingData, ck: DecodedCheckpoint, threads = 1): { model: LanguageModel; trainer: LMTrainer } {
  let model = modelFromCheckpoint(ck);
  try {
    if (model.quantization !== null) {
      const quantized = model;
      model = dequantize(quantized); // if this throws, `model` is still the quantized one: the catch frees it
      quantized.dispose();
    }
    model.train(true);
    checkModelShape(model, s, data.tokenizer);
    return { model, trainer: new LMTrainer(model, data.train, data.val, { lr: s.lr, clip: s.clip, generator: new Generator(s.seed), threads }) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A FormatError unless `model` has the shape `s` and `tokenizer` describe. */
function checkModelShape(model: LanguageModel, s: TrainingSettings, tokenizer: Tokenizer): void {
  const c = model.config;
  const want = modelConfig(s, tokenizer);
  if (c.vocabSize !== want.vocabSize || c.cell !== want.cell || c.embedDim !== want.embedDim || c.hiddenSize !== want.hiddenSize || c.numLayers !== want.numLayers) {
    throw new FormatError('its model config does not match its recorded settings (corrupt checkpoint?)');
  }
}

/**
 * The model and trainer exactly as `ck` left them, on `data` (prepared with the checkpoint's
 * tokenizer and `settingsFromCheckpoint(ck)`). Other text than the checkpoint's (by fingerprint),
 * or a state that does not fit, is a FormatError; nothing is left allocated then.
 */
export function resumeTraining(s: TrainingSettings, data: TrainingData, ck: DecodedCheckpoint, threads = 1): { model: LanguageModel; trainer: LMTrainer } {
  const was = ck.meta.extra.data as TextRecord | undefined;
  if (was !== undefined && was.fingerprint !== data.record.fingerprint) {
    throw new FormatError(`the checkpoint was trained on other text (${was.sources.join(', ')}); resume on the same text`);
  }
  const model = modelFromCheckpoint(ck);
  try {
    checkModelShape(model, s, data.tokenizer);
  } catch (e) {
    model.dispose();
    throw e;
  }
  let trainer: LMTrainer | null = null;
  try {
    trainer = new LMTrainer(model, data.train, data.val, { lr: s.lr, clip: s.clip, generator: new Generator(s.seed), threads });
    restoreTrainer(trainer, ck); // the generator continues where it stopped
    return { model, trainer };
  } catch (e) {
    trainer?.dispose();
    model.dispose();
    throw e;
  }
}

/** What `encodeCheckpoint` keeps in `extra` for a run: its settings (under their names) and text record. */
export function checkpointExtra(s: TrainingSettings, record: TextRecord): Record<string, unknown> {
  return { settings: storedSettingsOf(s), data: record };
}

/**
 * The settings a checkpoint was trained with (model shape and tokenizer from the checkpoint
 * itself, the rest from `extra.settings`, defaults for what it lacks). A checkpoint without
 * training state is a FormatError: it holds weights only.
 */
export function settingsFromCheckpoint(ck: DecodedCheckpoint): TrainingSettings {
  if (ck.meta.quantization !== undefined) {
    throw new FormatError(`the checkpoint is a quantized model (${ck.meta.quantization}), for inference only: generate, predict and evaluate with it, and train from the float32 checkpoint it was made from`);
  }
  if (ck.meta.trainer === null || ck.meta.extra?.settings === undefined) throw new FormatError('the checkpoint has no training state to resume (it holds weights only)');
  return storedSettings(ck);
}

/**
 * The settings a checkpoint records (`extra.settings`, by name or, in older files, by flag; the
 * defaults for what it lacks), with its own model shape: what a quantized checkpoint, which cannot resume, still says
 * of its run (the lanes and window its evaluation uses by default).
 */
export function storedSettings(ck: DecodedCheckpoint): TrainingSettings {
  const stored = (ck.meta.extra?.settings ?? {}) as Record<string, unknown>;
  const out = { ...DEFAULT_TRAINING_SETTINGS } as Record<keyof TrainingSettings, unknown>;
  for (const k of SETTING_NAMES) {
    const found = storedSetting(stored, k);
    if (found !== undefined) out[k] = found.value;
  }
  return withCheckpointModel(ck, out as unknown as TrainingSettings);
}

/** The settings a trained model's weights (and tokenizer) fix: `withCheckpointModel` takes them from the checkpoint. */
export const MODEL_SETTINGS = Object.freeze(['level', 'cell', 'embedDim', 'hiddenSize', 'numLayers', 'dropout'] as const);

/** `base` with the checkpoint's own tokenizer level and model shape (what its weights fix). */
export function withCheckpointModel(ck: DecodedCheckpoint, base: TrainingSettings): TrainingSettings {
  const c = ck.meta.model;
  return { ...base, level: ck.tokenizer.level, cell: c.cell, embedDim: c.embedDim, hiddenSize: c.hiddenSize, numLayers: c.numLayers, dropout: c.dropout };
}

/**
 * The threads a run uses by default: the cores available, but no more than the batch's lanes
 * (each thread needs one).
 */
export function defaultThreads(batchSize: number): number {
  return Math.max(1, Math.min(availableCores(), batchSize));
}

/** The cores this process may use: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers, else 1. */
export function availableCores(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number }; process?: { getBuiltinModule?: (id: string) => unknown } };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  return os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
}

function modelConfig(s: TrainingSettings, tokenizer: Tokenizer): LanguageModelConfig {
  return { vocabSize: tokenizer.size, cell: s.cell, embedDim: s.embedDim, hiddenSize: s.hiddenSize, numLayers: s.numLayers, dropout: s.dropout };
}
