/**
 * lstm-wasm: recurrent networks (RNN, LSTM, GRU) that train and run in Node and browsers, with
 * PyTorch's names and semantics and WebAssembly SIMD kernels.
 */
import { setInlinedWasm } from './wasm/load';
import { inlinedWasm } from './wasm/inlined';

// The wasm builds inlined in the package, for init() on this thread (workers are handed the module).
setInlinedWasm(inlinedWasm);

export { init, isInitialized, backendName, backendInfo, wasmSimdSupported, relaxedSimdSupported, type InitOptions, type BackendInfo, type SimdBuild, type WasmSource } from './init';
export { Tensor, type DType, type TensorData, type TensorOptions, type NestedNumbers } from './tensor';
export { tensor, zeros, ones, full, arange, type ArangeOptions } from './creation';
export { tidy, keep, memory, setMemoryLimit, setDebugMemory, memoryReport, type MemoryInfo, type LiveTensorGroup } from './memory';
export { noGrad, isGradEnabled, grad, type GradOptions, type BackwardOptions } from './autograd';
export { manualSeed, randn, rand, Generator, defaultGenerator, type RandomOptions } from './random';
export * as F from './functional';
export * as optim from './optim/index';
export * as nn from './nn/index';
export * as data from './data/index';
export { Module } from './nn/module';
export { saveSafetensors, loadSafetensors, readSafetensors, type SafetensorsFile } from './io/safetensors';
export { loadTorch, readTorch, type TorchFile, type TorchDict, type TorchValue, type TorchDtype, type TorchTensorInfo } from './io/torch/load-torch';
export {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  SettingError, OutOfMemoryError, WorkerError,
} from './errors';
export {
  add, sub, mul, div, maximum, minimum, neg, exp, log, sqrt, abs, pow, clamp, eq, ne, lt, le, gt,
  ge, where, maskedFill, max, min, argmax, argmin, topk, sort, gather, type ValuesIndices, matmul, bmm, sum,
  mean, reshape, transpose, slice, concat, tanh, sigmoid, relu, softmax, logSoftmax, permute,
  unsqueeze, squeeze, flatten, expand, repeat, select, narrow, cat, stack, flip, type Index, type Range,
} from './ops/index';
export * from './text/index';
export * from './lm/index';
export * from './training/index';
export {
  createTrainingSession, TrainingSession, type TrainingSessionOptions, type SessionRunOptions, type SessionGenerateOptions,
  type SessionEvaluateOptions, type SessionInfo, type SessionWorker, type SessionCheckpointOptions,
} from './session/client';
export { ParallelInference, type SampleOptions } from './parallel/inference';
export type { LstmWorker } from './workers/connection';
