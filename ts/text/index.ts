/** Text as data: tokenizers and language-model batching. */
export {
  CharTokenizer, WordTokenizer, ByteTokenizer, BYTE_VOCAB, buildTokenizer, tokenizerFromJSON, UNK, PAD, BOS, EOS,
  type Tokenizer, type TokenDecoder, type TokenizerJSON, type TokenizerLevel, type WordTokenizerOptions,
} from './tokenizer';
export { LMBatcher, trainValSplit, type LMBatch, type BatcherPosition } from './batcher';
