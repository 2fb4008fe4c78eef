/** Training a LanguageModel: the trainer, its settings and setup, checkpoints. */
export { LMTrainer, type TrainerOptions, type RunOptions, type RunResult, type TrainProgress, type ValPoint } from './trainer';
export { type TrainerStateJSON, type TrainerTensors } from './trainer-state';
export {
  encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, restoreTrainer, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
  type CheckpointMeta, type DecodedCheckpoint,
} from './checkpoint';
export {
  DEFAULT_TRAINING_SETTINGS, BUNDLED_CORPUS_LABEL, checkTrainingSettings, decodeTrainingText, fingerprint,
  type TrainingSettings, type TextRecord,
} from './setup';
