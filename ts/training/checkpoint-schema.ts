/**
 * What a checkpoint may hold, checked field by field before anything trusts it: the checkpoint
 * JSON (types, integer ranges, sane upper bounds) and the tensor layout its model config implies.
 * A checkpoint is untrusted input, and a valid CRC only says the file is as its writer left it, not
 * that the writer was friendly. Every problem is a FormatError naming the field path, the expected
 * and the actual value: `checkpoint: checkpoint.extra.data must be an object, got null`.
 */
import { FormatError, formatShape } from '../errors';
import { describeValue, scanJson, showName } from '../io/json-guard';
import type { LanguageModelConfig } from '../lm/language-model';
import type { CheckpointMeta } from './checkpoint';
import type { TrainerStateJSON } from './trainer-state';
import { SETTING_NAMES, describeSetting, fitsSetting, storedSetting } from './settings';
import { BYTE_VOCAB } from '../text/tokenizer';

// Upper bounds of a model config. The CLI's flags stop far lower (embed 4096, hidden 8192, layers
// 16, vocabulary 1e6 words); these leave room for models built through the API while keeping every
// loop over the config short and every size product exact. They are a first line only: each
// tensor must also be in the file with the shape the config implies, so nothing larger than the
// file itself is ever allocated.
/** Tokens: a character vocabulary of every Unicode code point (1,114,112) fits. */
export const MAX_VOCAB = 2 ** 21;
export const MAX_EMBED = 65536;
export const MAX_HIDDEN = 65536;
export const MAX_LAYERS = 256;
/** Nesting of the checkpoint JSON: the format nests 4 deep; `extra` is free-form, within this. */
const MAX_JSON_DEPTH = 32;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_UINT32 = 2 ** 32 - 1;
/** Data-parallel replicas a checkpoint may hold generator states for. */
const MAX_REPLICAS = 4096;

type Json = Record<string, unknown>;

function fail(path: string, expected: string, v: unknown): never {
  throw new FormatError(`checkpoint: ${path} must be ${expected}, got ${describeValue(v)}`);
}

function object(v: unknown, path: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object', v);
  return v as Json;
}

function array(v: unknown, path: string, length?: number, maxLength?: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'an array', v);
  if (length !== undefined && v.length !== length) throw new FormatError(`checkpoint: ${path} must have ${length} items, got ${v.length}`);
  if (maxLength !== undefined && v.length > maxLength) throw new FormatError(`checkpoint: ${path} must have at most ${maxLength} items, got ${v.length}`);
  return v;
}

/** A generator's state: 4 uint32 words, not all zero, and the spare normal (a number or null). */
function checkRng(v: unknown, path: string): void {
  const rng = array(v, path, 5);
  for (let i = 0; i < 4; i++) integer(rng[i], `${path}[${i}]`, 0, MAX_UINT32);
  // xoshiro128**'s one invalid state: it would only ever produce zeros (and Box-Muller would spin).
  if (rng.slice(0, 4).every((x) => x === 0)) throw new FormatError(`checkpoint: ${path} must not be all zeros (not a generator state)`);
  numberOrNull(rng[4], `${path}[4]`);
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) fail(path, `an integer in [${min}, ${max}]`, v);
  return v as number;
}

/** A number in [min, max], or [min, max) with `maxOpen`, or (min, max] with `minOpen`. */
function number(v: unknown, path: string, min: number, max: number, open: { minOpen?: boolean; maxOpen?: boolean } = {}): number {
  const ok = typeof v === 'number' && (open.minOpen ? v > min : v >= min) && (open.maxOpen ? v < max : v <= max);
  if (!ok) fail(path, `a number in ${open.minOpen ? '(' : '['}${min}, ${max}${open.maxOpen ? ')' : ']'}`, v);
  return v as number;
}

/** A number or null (JSON writes NaN and Infinity as null). */
function numberOrNull(v: unknown, path: string): number | null {
  if (v !== null && typeof v !== 'number') fail(path, 'a number or null', v);
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'a boolean', v);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(v)) fail(path, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, v);
  return v as T;
}

/** Parses the checkpoint JSON text (bounded nesting) and checks every field of it. */
export function parseCheckpointJson(text: string): CheckpointMeta {
  if (scanJson(text, MAX_JSON_DEPTH).tooDeep) throw new FormatError(`checkpoint JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`checkpoint JSON is invalid: ${(e as Error).message}`);
  }
  return checkCheckpointMeta(json);
}

/** The checkpoint JSON, every field checked; `extra` keeps unknown keys (free-form) but checks the CLI's. */
export function checkCheckpointMeta(json: unknown): CheckpointMeta {
  const m = object(json, 'checkpoint');
  if (m.version !== 1 && m.version !== 2) fail('checkpoint.version', '1 or 2 (2: a quantized model)', m.version);
  const model = checkModelConfig(m.model, 'checkpoint.model');
  checkTokenizer(m.tokenizer, 'checkpoint.tokenizer', model.vocabSize);
  // Version 2 is a quantized model: its dtype, and no training state.
  if (m.version === 2) {
    oneOf(m.quantization, 'checkpoint.quantization', ['int8', 'float16'] as const);
    if (m.trainer !== null) fail('checkpoint.trainer', 'null in a quantized checkpoint (quantized models do not train)', m.trainer);
  } else if (m.quantization !== undefined) {
    fail('checkpoint.quantization', 'absent in a version 1 checkpoint', m.quantization);
  }
  if (m.trainer !== null) {
    if (typeof m.trainer !== 'object' || Array.isArray(m.trainer)) fail('checkpoint.trainer', 'an object or null', m.trainer);
    checkTrainerState(m.trainer, 'checkpoint.trainer');
  }
  checkExtra(m.extra, 'checkpoint.extra');
  return m as unknown as CheckpointMeta;
}

export function checkModelConfig(v: unknown, path: string): LanguageModelConfig {
  const c = object(v, path);
  return {
    vocabSize: integer(c.vocabSize, `${path}.vocabSize`, 1, MAX_VOCAB),
    cell: oneOf(c.cell, `${path}.cell`, ['lstm', 'gru'] as const),
    embedDim: integer(c.embedDim, `${path}.embedDim`, 1, MAX_EMBED),
    hiddenSize: integer(c.hiddenSize, `${path}.hiddenSize`, 1, MAX_HIDDEN),
    numLayers: integer(c.numLayers, `${path}.numLayers`, 1, MAX_LAYERS),
    dropout: number(c.dropout, `${path}.dropout`, 0, 1, { maxOpen: true }),
  };
}

/**
 * The vocabulary's types, and what the tokenizers require (distinct tokens, the specials, one code
 * point per character token), checked here so messages stay short whatever the tokens hold.
 */
function checkTokenizer(v: unknown, path: string, vocabSize: number): void {
  const t = object(v, path);
  const type = oneOf(t.type, `${path}.type`, ['char', 'word', 'byte'] as const);
  const vocab = array(t.vocab, `${path}.vocab`);
  if (vocab.length !== vocabSize) throw new FormatError(`checkpoint vocabulary has ${vocab.length} tokens but the model expects ${vocabSize}`);
  if (type === 'byte') {
    const at = vocab.findIndex((tok, i) => tok !== BYTE_VOCAB[i]);
    if (vocab.length !== 256 || at >= 0) throw new FormatError(`checkpoint: ${path}.vocab must be the 256 byte tokens in order (a byte-level vocabulary)${at >= 0 ? `; token ${at} differs` : ''}`);
    return;
  }
  const seen = new Set<string>();
  vocab.forEach((tok, i) => {
    const s = string(tok, `${path}.vocab[${i}]`);
    if (seen.has(s)) throw new FormatError(`checkpoint: ${path}.vocab has '${showName(s)}' twice`);
    seen.add(s);
    if (type === 'char' && s !== '<unk>' && [...s.slice(0, 3)].length !== 1) {
      fail(`${path}.vocab[${i}]`, 'one character (a char-level vocabulary)', s);
    }
  });
  for (const special of type === 'char' ? ['<unk>'] : ['<pad>', '<unk>', '<bos>', '<eos>']) {
    if (!seen.has(special)) throw new FormatError(`checkpoint: ${path}.vocab has no '${special}' token`);
  }
  if (t.lowercase !== undefined) boolean(t.lowercase, `${path}.lowercase`);
}

/** The trainer state's JSON (its fit to a particular trainer is `LMTrainer.importState`'s to check). */
export function checkTrainerState(v: unknown, path: string): TrainerStateJSON {
  const t = object(v, path);
  integer(t.step, `${path}.step`, 0, MAX_SAFE);
  const position = object(t.position, `${path}.position`);
  integer(position.epoch, `${path}.position.epoch`, 0, MAX_SAFE);
  integer(position.window, `${path}.position.window`, 0, MAX_SAFE);
  checkRng(t.rng, `${path}.rng`);
  if (t.replicaRng !== undefined) array(t.replicaRng, `${path}.replicaRng`, undefined, MAX_REPLICAS).forEach((r, i) => checkRng(r, `${path}.replicaRng[${i}]`));
  const opt = object(t.optimizer, `${path}.optimizer`);
  oneOf(opt.type, `${path}.optimizer.type`, ['adam'] as const);
  number(opt.lr, `${path}.optimizer.lr`, 0, MAX_SAFE);
  const betas = array(opt.betas, `${path}.optimizer.betas`, 2);
  betas.forEach((b, i) => number(b, `${path}.optimizer.betas[${i}]`, 0, 1, { maxOpen: true }));
  number(opt.eps, `${path}.optimizer.eps`, 0, MAX_SAFE);
  array(opt.steps, `${path}.optimizer.steps`).forEach((s, i) => {
    if (s !== null && !(Number.isSafeInteger(s) && (s as number) >= 0)) fail(`${path}.optimizer.steps[${i}]`, `an integer in [0, ${MAX_SAFE}] or null`, s);
  });
  array(t.losses, `${path}.losses`).forEach((l, i) => numberOrNull(l, `${path}.losses[${i}]`));
  array(t.val, `${path}.val`).forEach((p, i) => {
    const point = object(p, `${path}.val[${i}]`);
    integer(point.step, `${path}.val[${i}].step`, 0, MAX_SAFE);
    numberOrNull(point.valLoss, `${path}.val[${i}].valLoss`);
    number(point.elapsedMs, `${path}.val[${i}].elapsedMs`, 0, MAX_SAFE);
  });
  number(t.elapsedMs, `${path}.elapsedMs`, 0, MAX_SAFE);
  boolean(t.hasState, `${path}.hasState`);
  return t as unknown as TrainerStateJSON;
}

/**
 * `extra` is the writer's free-form object, but the two keys training keeps there and reads back
 * on resume and eval are checked when present: `settings` (each within its range in the settings
 * table, since resumed values skip every other check; under its name, or its flag in older files)
 * and `data` (the training text's fingerprint).
 */
function checkExtra(v: unknown, path: string): void {
  const extra = object(v, path);
  if (extra.settings !== undefined) {
    const s = object(extra.settings, `${path}.settings`);
    for (const k of SETTING_NAMES) {
      const found = storedSetting(s, k);
      if (found !== undefined && !fitsSetting(k, found.value)) fail(`${path}.settings.${found.key}`, describeSetting(k), found.value);
    }
  }
  if (extra.data !== undefined) {
    const d = object(extra.data, `${path}.data`);
    array(d.sources, `${path}.data.sources`).forEach((src, i) => string(src, `${path}.data.sources[${i}]`));
    string(d.fingerprint, `${path}.data.fingerprint`);
    integer(d.chars, `${path}.data.chars`, 0, MAX_SAFE);
  }
}

/**
 * The parameters of a LanguageModel with config `c`: PyTorch names and shapes in registration
 * order (the order Adam's state follows). A test keeps this in step with `LanguageModel`.
 */
export function languageModelShapes(c: LanguageModelConfig): [string, number[]][] {
  const G = (c.cell === 'lstm' ? 4 : 3) * c.hiddenSize;
  const out: [string, number[]][] = [['embed.weight', [c.vocabSize, c.embedDim]]];
  for (let l = 0; l < c.numLayers; l++) {
    out.push(
      [`rnn.weight_ih_l${l}`, [G, l === 0 ? c.embedDim : c.hiddenSize]], [`rnn.weight_hh_l${l}`, [G, c.hiddenSize]],
      [`rnn.bias_ih_l${l}`, [G]], [`rnn.bias_hh_l${l}`, [G]],
    );
  }
  out.push(['head.weight', [c.vocabSize, c.hiddenSize]], ['head.bias', [c.vocabSize]]);
  return out;
}

/**
 * Checks that `actual` (name -> shape) holds exactly the `expected` tensors with their shapes:
 * no unexpected name, none missing, no other shape. `prefix` starts each message.
 */
export function checkTensorSet(expected: readonly [string, readonly number[]][], actual: ReadonlyMap<string, readonly number[]>, prefix: string): void {
  const want = new Map(expected);
  for (const name of actual.keys()) if (!want.has(name)) throw new FormatError(`${prefix}: unexpected tensor '${showName(name)}'`);
  for (const [name, shape] of expected) {
    const got = actual.get(name);
    if (got === undefined) throw new FormatError(`${prefix}: missing tensor '${name}'`);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new FormatError(`${prefix}: ${name} has shape ${formatShape(got)}, expected ${formatShape(shape)}`);
    }
  }
}

/**
 * Every tensor a checkpoint with `meta` holds, with its shape: `model.*` from the config, Adam's
 * two moments `optim.<i>.<j>` (flat, the size of parameter i) of each parameter with a step count,
 * and the carried state `state.<k>` (numLayers, B, hiddenSize) when `hasState`, where B is the
 * batch size (read from `state.0`: the config does not fix it).
 */
export function checkpointLayout(meta: CheckpointMeta, stateBatch: number | null): [string, number[]][] {
  const c = meta.model;
  const params = languageModelShapes(c);
  const layout: [string, number[]][] = params.map(([n, s]) => [`model.${n}`, s]);
  const t = meta.trainer;
  if (t === null) return layout;
  const steps = t.optimizer.steps;
  if (steps.length !== params.length) {
    throw new FormatError(`checkpoint: checkpoint.trainer.optimizer.steps has ${steps.length} items, expected ${params.length} (one per parameter)`);
  }
  steps.forEach((s, i) => {
    if (s === null) return;
    const size = params[i][1].reduce((a, b) => a * b, 1);
    layout.push([`optim.${i}.0`, [size]], [`optim.${i}.1`, [size]]);
  });
  if (t.hasState) {
    const B = stateBatch ?? 1;
    for (let k = 0; k < (c.cell === 'lstm' ? 2 : 1); k++) layout.push([`state.${k}`, [c.numLayers, B, c.hiddenSize]]);
  }
  return layout;
}
