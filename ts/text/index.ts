/** Text: tokenizers, language-model batching, the LanguageModel, its trainer and checkpoints. */
export {
  CharTokenizer, WordTokenizer, buildTokenizer, tokenizerFromJSON, UNK, PAD, BOS, EOS,
  type Tokenizer, type TokenizerJSON, type TokenizerLevel, type WordTokenizerOptions,
} from './tokenizer';
export { LMBatcher, trainValSplit, type LMBatch, type BatcherPosition } from './batcher';
export { sampleFromLogits, type SamplingOptions } from './sampling';
export {
  LanguageModel, generateText, sampleText, primeIds, specialIds, feedPrime, DEFAULT_MODEL_CONFIG,
  type LanguageModelConfig, type CellType, type RecurrentState, type GenerateOptions, type AsyncGenerateOptions,
} from './language-model';
export { LMTrainer, type TrainerOptions, type RunOptions, type RunResult, type TrainProgress, type ValPoint } from './trainer';
export { scoreTokens, type ScoreResult } from './evaluate';
export { quantize, type QuantizeOptions } from './quantize';
export { type TrainerStateJSON, type TrainerTensors } from './trainer-state';
export {
  encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, restoreTrainer, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
  type CheckpointMeta, type DecodedCheckpoint, type RawTensor,
} from './checkpoint';
export {
  DEFAULT_TRAINING_SETTINGS, BUNDLED_CORPUS_LABEL, checkTrainingSettings, decodeTrainingText, fingerprint,
  type TrainingSettings, type TextRecord,
} from './training-setup';
