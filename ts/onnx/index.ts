/**
 * `lstm-wasm/onnx`: ONNX models in (and, to come, out). `readOnnx` reads a .onnx file into plain
 * checked data and `unsupportedOps` says which of its operators a runtime lacks; `loadOnnx` runs a
 * model (the operators of `SUPPORTED_OPS`) as an `OnnxSession`, as onnxruntime's `session.run`:
 *
 *   const session = loadOnnx(bytes);
 *   const { logits, h, c } = session.run({ tokens: { data: BigInt64Array.from(ids), dims: [T, B] } });
 *   // ... use them, then logits.dispose() (and h, c); session.dispose() when done with the model
 *
 *
 *   import { readOnnx } from 'lstm-wasm/onnx';
 *   const model = readOnnx(new Uint8Array(await (await fetch('model.onnx')).arrayBuffer()));
 *   model.graph.nodes.map((n) => n.opType);   // ['Gather', 'Shape', ..., 'LSTM', ...]
 *
 * Its own entry point, so that the core bundle does not carry protobufjs (a dependency of the
 * package that only this entry imports). Errors are the package's own (`FormatError` from
 * `lstm-wasm`): this entry imports the package by name and shares the caller's instance.
 */
export { readOnnx } from './read';
export { unsupportedOps, opKey, type UnsupportedOp } from './ops';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxTensorData, OnnxValueInfo, OnnxOpsetImport, OnnxAttributeValue } from './model';
export type { OnnxDataType } from './data-types';
export { loadOnnx, OnnxSession, SUPPORTED_OPS, type OnnxInput, type LoadOnnxOptions } from './session';
export { OnnxUnsupportedError, type OnnxUnsupported } from './errors';
