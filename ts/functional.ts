/** The functional API (PyTorch `torch.nn.functional`). */
export {
  crossEntropy, nllLoss, binaryCrossEntropyWithLogits, mseLoss, dropout, embedding, oneHot, softmax, logSoftmax, tanh, sigmoid, relu,
  linear, layerNorm,
} from './ops/index';
export { type CrossEntropyOptions, type NLLLossOptions, type BCEWithLogitsOptions, type Reduction, type MSELossOptions } from './ops/loss';
export { type DropoutOptions } from './ops/dropout';
