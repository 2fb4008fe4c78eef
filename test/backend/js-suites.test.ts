// The existing suites, re-run on the JS backend: this file selects the backend first, then
// imports the test files, whose describe blocks register here and whose own `await init()` is then
// a no-op (init is idempotent and keeps the backend already chosen). So the JS backend is held to
// the same PyTorch fixtures (ops, cells, every RNN/LSTM/GRU configuration, end-to-end char-LM
// training, the PyTorch tutorial ports), gradient checks, kernel accuracy bounds and leak tests as
// the WASM backend, with no copy of their case lists. Each test file runs in its own process, so the others keep WASM.
import { expect, it } from 'vitest';
import { backendName, init } from 'lstm-wasm';

await init({ backend: 'js' });

it('runs on the JS backend', () => {
  expect(backendName()).toBe('js');
});

await import('../core/fixtures.test');
await import('../core/kernels.test');
await import('../core/gradcheck.test');
await import('../core/math-fixtures.test');
await import('../core/shape-ops.test');
await import('../core/losses.test');
await import('../core/arange.test');
await import('../core/memory.test');
await import('../nn/cells-fixtures.test');
await import('../nn/rnn-fixtures.test');
await import('../nn/e2e-charlm.test');
await import('../nn/tutorials.test');
await import('../nn/decode-step.test');
await import('../nn/quantize.test');
await import('../nn/layer-norm.test');
await import('../nn/optim-groups.test');
