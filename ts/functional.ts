/** The functional API (PyTorch `torch.nn.functional`). */
export { crossEntropy, mseLoss, type CrossEntropyOptions } from './ops/loss';
export { dropout } from './ops/dropout';
export { embedding } from './ops/embedding';
export { softmax, logSoftmax } from './ops/softmax';
export { tanh, sigmoid, relu } from './ops/activation';
export { linear } from './ops/linear';
