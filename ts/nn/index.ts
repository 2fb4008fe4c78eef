/** Modules (PyTorch `torch.nn`). */
export { Module, type StateValue } from './module';
export { Linear, Embedding } from './linear';
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type LSTMOptions, type RNNOptions, type ForwardOptions } from './rnn';
export { LSTMCell, GRUCell, RNNCell } from './cells';
export * as utils from './utils';
