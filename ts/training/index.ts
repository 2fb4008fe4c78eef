/** Training a LanguageModel: the trainer, its settings and setup, checkpoints. */
export { LMTrainer, type TrainerOptions, type RunOptions, type RunResult, type TrainProgress, type ValPoint } from './trainer';
export { type TrainerStateJSON, type TrainerTensors } from './trainer-state';
export {
  encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, restoreTrainer, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
  type CheckpointMeta, type DecodedCheckpoint,
} from './checkpoint';
export { BUNDLED_CORPUS_LABEL, decodeTrainingText, fingerprint, type TextRecord } from './setup';
export {
  SETTINGS, DEFAULT_TRAINING_SETTINGS, TRAINING_PRESETS, checkTrainingSettings,
  type TrainingSettings, type TrainingPreset, type Setting, type SettingRange,
} from './settings';
