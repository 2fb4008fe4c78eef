// Preloaded into a CLI child process (NODE_OPTIONS=--require): an engine without WebAssembly SIMD.
// lstm-wasm probes SIMD with WebAssembly.validate, which now rejects every module.
'use strict';
WebAssembly.validate = () => false;
