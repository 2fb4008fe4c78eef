/**
 * lstm-wasm: recurrent networks (RNN, LSTM, GRU) that train and run in Node and browsers, with
 * PyTorch's names and semantics and WebAssembly SIMD kernels.
 */
export { init, isInitialized, backendName, wasmSimdSupported, type InitOptions, type WasmSource } from './init';
export { Tensor, type DType, type TensorData, type TensorOptions } from './tensor';
export { tensor, zeros, ones, full } from './creation';
export { tidy, keep, memory, setMemoryLimit, type MemoryInfo } from './memory';
export { noGrad, isGradEnabled } from './autograd';
export { manualSeed, randn, rand, Generator, defaultGenerator } from './random';
export * as F from './functional';
export * as optim from './optim/index';
export * as nn from './nn/index';
export { Module } from './nn/module';
export { saveSafetensors, loadSafetensors, readSafetensors, type SafetensorsFile } from './io/safetensors';
export {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  OutOfMemoryError,
} from './errors';
export {
  add, sub, mul, matmul, sum, mean, reshape, transpose, permute, unsqueeze, squeeze, flatten, expand, repeat, select, narrow,
  slice, concat, cat, stack, tanh, sigmoid, relu, softmax, logSoftmax,
} from './ops/index';
export * from './text/index';
