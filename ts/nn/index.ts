/** Modules (PyTorch `torch.nn`). */
export { Module, Parameter, isParameter, type StateValue, type LoadStateDictOptions, type LoadStateDictResult } from './module';
export { Linear, Embedding, type LinearOptions, type EmbeddingOptions } from './linear';
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type LSTMOptions, type RNNOptions, type ForwardOptions, type LSTMOutput, type RNNOutput } from './rnn';
export { LSTMCell, GRUCell, RNNCell, type CellOptions, type RNNCellOptions } from './cells';
export { Sequential, ModuleList } from './containers';
export { Dropout, Identity, type DropoutOptions } from './dropout';
export { ReLU, Tanh, Sigmoid, Softmax, LogSoftmax } from './activation';
export { CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss } from './loss';
export { LayerNorm, type LayerNormOptions } from './normalization';
export * as utils from './utils';
export { Stepper, type StepperOptions, type StepFunction, type StepResult } from './stepper';
export { DecodeStep, type DecodeStack, type DecodeLayer, type DecodeMatrix } from './decode-step';
export { QuantizedLinear, QuantizedEmbedding, QuantizedMatrix, type QuantDtype } from './quantized';
