/**
 * The settings a training run is defined by, one table: each setting's name (its key), the CLI's
 * flag, its default, its range and its help. From it come the `TrainingSettings` type, the
 * defaults, the checks (`checkTrainingSettings`, and a checkpoint's stored settings), the CLI's
 * flags and their `--help`, the named size presets, and the keys checkpoints store settings under
 * (the settings' own names; checkpoints written before kept the flags' names, `storedAsBefore`,
 * and still load).
 *
 * A setting's name is what the API, sessions and checkpoints say (`hiddenSize`); its flag is only
 * how the CLI spells it (`--hidden`). Errors about a setting are `SettingError`s that carry its
 * name as data, so the CLI can show the flag instead.
 */
import { SettingError, quoteValue } from '../errors';
import { checkOptions } from '../options';
import { DEFAULT_MODEL_CONFIG } from '../lm/language-model';

/** What values a setting takes. */
export type SettingRange =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number; minOpen?: boolean; maxOpen?: boolean }
  | { kind: 'choice'; choices: readonly string[] };

export interface Setting<T, Flag extends string = string> {
  /** The CLI's flag, without `--`. */
  flag: Flag;
  default: T;
  range: SettingRange;
  /** One line for `--help` (and the docs). */
  help: string;
  /** The value's form in `--help` ('<n>' for integers, '<x>' for numbers, the choices otherwise). */
  arg?: string;
  /** The key checkpoints written before settings kept their own names stored it under (its flag then). */
  storedAsBefore: string;
}

function int<F extends string>(flag: F, o: { default: number; min?: number; max: number; help: string; storedAsBefore?: string }): Setting<number, F> {
  return { flag, default: o.default, range: { kind: 'int', min: o.min ?? 1, max: o.max }, help: o.help, storedAsBefore: o.storedAsBefore ?? flag };
}

function num<F extends string>(
  flag: F,
  o: { default: number; min: number; max: number; minOpen?: boolean; maxOpen?: boolean; help: string; arg?: string },
): Setting<number, F> {
  return {
    flag, default: o.default, range: { kind: 'number', min: o.min, max: o.max, minOpen: o.minOpen, maxOpen: o.maxOpen }, help: o.help, arg: o.arg,
    storedAsBefore: flag,
  };
}

function choice<C extends string, F extends string>(flag: F, choices: readonly C[], o: { default: C; help: string; storedAsBefore?: string }): Setting<C, F> {
  return { flag, default: o.default, range: { kind: 'choice', choices }, help: o.help, storedAsBefore: o.storedAsBefore ?? flag };
}

const M = DEFAULT_MODEL_CONFIG;

/** Every training setting. The defaults are `lstm-wasm train`'s, which the quick start runs (and a test holds to). */
export const SETTINGS = Object.freeze({
  /** Tokens: characters or words. */
  level: choice('level', ['char', 'word', 'byte'] as const, { default: 'char', help: "tokens: characters, words, or UTF-8 bytes (any text's, no unknown ones)" }),
  /** Word level: keep the n most frequent words. */
  maxVocab: int('max-vocab', { default: 10_000, min: 5, max: 1_000_000, help: 'word level: keep the n most frequent words' }),
  /** The recurrent cell. */
  cell: choice('model', ['lstm', 'gru'] as const, { default: M.cell, help: 'recurrent cell' }),
  /** Embedding size. */
  embedDim: int('embed', { default: M.embedDim, max: 4096, help: 'embedding size' }),
  /** Hidden size of each recurrent layer. */
  hiddenSize: int('hidden', { default: M.hiddenSize, max: 8192, help: 'hidden size; 256-512 for longer runs' }),
  /** Stacked recurrent layers. */
  numLayers: int('layers', { default: M.numLayers, max: 16, help: 'stacked recurrent layers' }),
  /** Dropout between layers and before the output, in [0, 0.9]. */
  dropout: num('dropout', { default: M.dropout, min: 0, max: 0.9, arg: '<p>', help: 'dropout between layers and before the output, 0..0.9' }),
  /** Window length T of truncated BPTT. */
  seqLen: int('seq', { default: 64, max: 100_000, help: 'window length T for truncated BPTT' }),
  /** Parallel lanes B. */
  batchSize: int('batch', { default: 32, max: 100_000, help: 'parallel lanes B' }),
  /** Adam learning rate. */
  lr: num('lr', { default: 3e-3, min: 0, max: 10, minOpen: true, help: 'Adam learning rate' }),
  /** Max gradient norm, 0 = off. */
  clip: num('clip', { default: 1, min: 0, max: Infinity, help: 'max gradient norm, 0 = off' }),
  /** Fraction of the text held out for validation, in [0, 0.5). */
  valSplit: num('val-split', { default: 0.05, min: 0, max: 0.5, maxOpen: true, arg: '<f>', help: 'fraction of the text held out for validation' }),
  /** Seed of initialization, dropout and samples. */
  seed: int('seed', { default: 1, min: 0, max: 2 ** 32 - 1, help: 'seed for initialization, dropout and samples' }),
});

/** What a training run is defined by: one value per entry of `SETTINGS` (of its default's type). */
export type TrainingSettings = { -readonly [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K]['default'] };

/** The settings' names, in the table's order (the order `--help` lists the flags in). */
export const SETTING_NAMES = Object.freeze(Object.keys(SETTINGS) as (keyof TrainingSettings)[]);

/** The default of every setting: `lstm-wasm train`'s. */
export const DEFAULT_TRAINING_SETTINGS: Readonly<TrainingSettings> = Object.freeze(
  Object.fromEntries(SETTING_NAMES.map((k) => [k, SETTINGS[k].default])) as unknown as TrainingSettings,
);

/**
 * Named model sizes, for a settings form (the browser app) or a quick start: `small` is the
 * defaults; the others are larger models that need longer runs.
 */
export const TRAINING_PRESETS = Object.freeze({
  small: presetOf({}),
  medium: presetOf({ embedDim: 64, hiddenSize: 256, lr: 2e-3 }),
  large: presetOf({ embedDim: 64, hiddenSize: 512, numLayers: 2, dropout: 0.2, seqLen: 100, lr: 2e-3 }),
});

/** The settings a preset fixes (the model's size and the step's shape); the others keep their defaults. */
export type TrainingPreset = Pick<TrainingSettings, 'cell' | 'embedDim' | 'hiddenSize' | 'numLayers' | 'dropout' | 'seqLen' | 'batchSize' | 'lr'>;

function presetOf(over: Partial<TrainingPreset>): Readonly<TrainingPreset> {
  const d = DEFAULT_TRAINING_SETTINGS;
  const base: TrainingPreset = { cell: d.cell, embedDim: d.embedDim, hiddenSize: d.hiddenSize, numLayers: d.numLayers, dropout: d.dropout, seqLen: d.seqLen, batchSize: d.batchSize, lr: d.lr };
  return Object.freeze({ ...base, ...over });
}

/** True when `v` is a value `setting` takes. */
export function fitsSetting(setting: keyof TrainingSettings, v: unknown): boolean {
  const r = SETTINGS[setting].range;
  if (r.kind === 'choice') return typeof v === 'string' && r.choices.includes(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.kind === 'int' && !Number.isInteger(v)) return false;
  const aboveMin = r.kind === 'number' && r.minOpen ? v > r.min : v >= r.min;
  const belowMax = r.kind === 'number' && r.maxOpen ? v < r.max : v <= r.max;
  return aboveMin && belowMax;
}

/** What `setting` takes, as an error says it: 'an integer in [1, 8192]', 'a number in (0, 10]', 'one of "char", "word"'. */
export function describeSetting(setting: keyof TrainingSettings): string {
  const r = SETTINGS[setting].range;
  if (r.kind === 'choice') return `one of ${r.choices.map((c) => JSON.stringify(c)).join(', ')}`;
  const interval = `${r.kind === 'number' && r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.kind === 'number' && r.maxOpen ? ')' : ']'}`;
  return `${r.kind === 'int' ? 'an integer' : 'a number'} in ${interval}`;
}

/**
 * Settings checked against their ranges, the defaults filled in: a SettingError naming the setting
 * (`who: hiddenSize must be an integer in [1, 8192], got 0`). An unknown key is refused with the
 * nearest known one (`hidden_size`: `hiddenSize`). `undefined` values take the default.
 */
export function checkTrainingSettings(s: Partial<TrainingSettings>, who: string): TrainingSettings {
  checkOptions(who, s, SETTING_NAMES);
  const out = { ...DEFAULT_TRAINING_SETTINGS } as Record<keyof TrainingSettings, unknown>;
  for (const k of SETTING_NAMES) {
    const v = (s as Record<string, unknown> | undefined)?.[k];
    if (v === undefined) continue;
    if (!fitsSetting(k, v)) throw new SettingError(([name]) => `${who}: ${name} must be ${describeSetting(k)}, got ${quoteValue(v)}`, [k]);
    out[k] = v;
  }
  return out as unknown as TrainingSettings;
}

/** A run's settings as a checkpoint stores them (`extra.settings`): under their own names. */
export function storedSettingsOf(s: TrainingSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_NAMES) out[k] = s[k];
  return out;
}

/**
 * The value a checkpoint's `extra.settings` holds for `setting` and the key it is under: its own
 * name, or (written before settings kept their names) its flag's; undefined when neither is there.
 */
export function storedSetting(stored: Record<string, unknown>, setting: keyof TrainingSettings): { key: string; value: unknown } | undefined {
  for (const key of [setting, SETTINGS[setting].storedAsBefore]) {
    if (Object.prototype.hasOwnProperty.call(stored, key) && stored[key] !== undefined) return { key, value: stored[key] };
  }
  return undefined;
}
