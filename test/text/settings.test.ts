// The settings table (ts/training/settings.ts) is the one place a training setting is written:
// its type, defaults, checks, the CLI's flags and --help, the presets and the checkpoint keys all
// come from it. Old checkpoints, which stored settings under the CLI's flags, still load.
import { describe, expect, it } from 'vitest';
import {
  SETTINGS, SETTING_NAMES, DEFAULT_TRAINING_SETTINGS, TRAINING_PRESETS, checkTrainingSettings, describeSetting, fitsSetting,
  storedSetting, storedSettingsOf, type TrainingSettings,
} from '../../ts/training/settings';
import { storedSettings } from '../../ts/training/setup';
import { DEFAULT_MODEL_CONFIG } from '../../ts/lm/language-model';
import { SettingError, ValueError } from '../../ts/errors';
import { TRAIN } from '../../ts/cli/train';
import { defaults, helpText, parseFlags } from '../../ts/cli/flags';
import type { DecodedCheckpoint } from '../../ts/training/checkpoint';

/** The settings as `lstm-wasm train` wrote them before they kept their own names (its flags). */
const FLAG_NAMED = { level: 'word', 'max-vocab': 500, model: 'gru', embed: 12, hidden: 24, layers: 2, dropout: 0.1, seq: 16, batch: 8, lr: 0.01, clip: 0.5, 'val-split': 0.1, seed: 7 };
const SAME_BY_NAME: TrainingSettings = { level: 'word', maxVocab: 500, cell: 'gru', embedDim: 12, hiddenSize: 24, numLayers: 2, dropout: 0.1, seqLen: 16, batchSize: 8, lr: 0.01, clip: 0.5, valSplit: 0.1, seed: 7 };

/** Just enough of a decoded checkpoint for storedSettings: its model and its extra.settings. */
function checkpointWith(settings: Record<string, unknown>): DecodedCheckpoint {
  const model = { vocabSize: 9, cell: settings.cell ?? settings.model, embedDim: 12, hiddenSize: 24, numLayers: 2, dropout: 0.1 };
  return { meta: { version: 1, model, tokenizer: {}, trainer: null, extra: { settings } }, tokenizer: { level: 'word' } } as unknown as DecodedCheckpoint;
}

describe('the settings table', () => {
  it('gives the defaults: the CLI quick start\'s, with the model shape of DEFAULT_MODEL_CONFIG (one set of defaults)', () => {
    expect(DEFAULT_TRAINING_SETTINGS).toEqual({
      level: 'char', maxVocab: 10000, cell: 'lstm', embedDim: 32, hiddenSize: 128, numLayers: 1, dropout: 0,
      seqLen: 64, batchSize: 32, lr: 3e-3, clip: 1, valSplit: 0.05, seed: 1,
    });
    const { cell, embedDim, hiddenSize, numLayers, dropout } = DEFAULT_TRAINING_SETTINGS;
    expect({ cell, embedDim, hiddenSize, numLayers, dropout }).toEqual(DEFAULT_MODEL_CONFIG);
    expect(TRAINING_PRESETS.small).toEqual({ cell, embedDim, hiddenSize, numLayers, dropout, seqLen: 64, batchSize: 32, lr: 3e-3 });
    for (const preset of Object.values(TRAINING_PRESETS)) expect(checkTrainingSettings(preset, 'preset')).toMatchObject(preset);
  });

  it("makes train's flags: one per setting, by its flag, with its default, range and help", () => {
    const flags = defaults(TRAIN.flags) as Record<string, unknown>;
    for (const k of SETTING_NAMES) expect([k, flags[SETTINGS[k].flag]]).toEqual([k, DEFAULT_TRAINING_SETTINGS[k]]);
    const help = helpText(TRAIN);
    expect(help).toContain('--model lstm|gru');
    expect(help).toMatch(/--hidden <n>\s+hidden size; 256-512 for longer runs \(default 128\)/);
    expect(() => parseFlags(TRAIN, ['--hidden', '8193'])).toThrow("--hidden must be an integer in [1, 8192], got '8193'");
    expect(() => parseFlags(TRAIN, ['--val-split', '0.5'])).toThrow("--val-split must be a number in [0, 0.5), got '0.5'");
  });

  it('checks values against the same ranges, with a SettingError carrying the setting by name', () => {
    const e = (() => {
      try {
        checkTrainingSettings({ hiddenSize: 8193 }, 'here');
      } catch (err) {
        return err as SettingError;
      }
      throw new Error('not thrown');
    })();
    expect(e).toBeInstanceOf(SettingError);
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toBe('here: hiddenSize must be an integer in [1, 8192], got 8193');
    expect(e.settings).toEqual(['hiddenSize']);
    expect(e.messageNaming((s) => `--${SETTINGS[s as keyof TrainingSettings].flag}`)).toBe('here: --hidden must be an integer in [1, 8192], got 8193');
    expect(() => checkTrainingSettings({ lr: 0 }, 'x')).toThrow('x: lr must be a number in (0, 10], got 0');
    expect(() => checkTrainingSettings({ cell: 'rnn' as 'lstm' }, 'x')).toThrow(`x: cell must be one of "lstm", "gru", got 'rnn'`);
    expect(() => checkTrainingSettings({ clip: Infinity }, 'x')).toThrow(SettingError);
    expect(() => checkTrainingSettings({ hidden_size: 3 } as never, 'x')).toThrow(/'hidden_size'.*hiddenSize/);
    expect(checkTrainingSettings({ hiddenSize: undefined, seed: 0 }, 'x')).toEqual({ ...DEFAULT_TRAINING_SETTINGS, seed: 0 });
    expect(fitsSetting('valSplit', 0.5)).toBe(false);
    expect(describeSetting('level')).toBe('one of "char", "word", "byte"');
  });

  it('stores settings under their own names; older checkpoints stored them under the flags and still read the same', () => {
    expect(storedSettingsOf(SAME_BY_NAME)).toEqual(SAME_BY_NAME);
    expect(storedSettings(checkpointWith(storedSettingsOf(SAME_BY_NAME)))).toEqual(SAME_BY_NAME);
    expect(storedSettings(checkpointWith(FLAG_NAMED))).toEqual(SAME_BY_NAME);
    expect(storedSetting(FLAG_NAMED, 'cell')).toEqual({ key: 'model', value: 'gru' });
    // Its own name wins over an old one in the same file.
    expect(storedSetting({ batch: 8, batchSize: 4 }, 'batchSize')).toEqual({ key: 'batchSize', value: 4 });
  });
});
