/** The language model: LanguageModel, generation and sampling, scoring, quantized copies. */
export { sampleFromLogits, type SamplingOptions } from './sampling';
export {
  LanguageModel, generateText, sampleText, primeIds, specialIds, feedPrime, DEFAULT_MODEL_CONFIG,
  type LanguageModelConfig, type CellType, type RecurrentState, type GenerateOptions, type AsyncGenerateOptions,
} from './language-model';
export { scoreTokens, type ScoreResult } from './evaluate';
export { quantize, dequantize, type QuantizeOptions, type DequantizeOptions, type RawTensor } from './quantize';
