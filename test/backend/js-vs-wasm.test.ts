// The same model code on both backends: test/backend/run-models.mjs runs recurrent modules
// (stacked, bidirectional, projection, padded lengths, no bias, relu) forward and backward, and
// eight training steps of an Embedding-LSTM-Linear model with Adam, AdamW and Nesterov SGD (with
// gradient clipping and an ignore index), once per backend in its own Node process (a process has
// one backend). Results must agree to float32 rounding: the kernels sum in different orders and the
// JS backend sums in float64, so values differ in the last bits and those differences grow a
// little over training steps. In the `relaxed` project the wasm process runs the relaxed-SIMD build,
// whose products may be fused: the same tolerances hold.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_NODE_ARGS, TEST_SIMD } from '../support/wasm-build';

const script = fileURLToPath(new URL('./run-models.mjs', import.meta.url));

async function runOn(backend: 'wasm' | 'js'): Promise<Record<string, any>> {
  const args = backend === 'wasm' ? [...TEST_NODE_ARGS, script, backend, TEST_SIMD] : [script, backend];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

/** max |a - b| / max(1, max |b|) */
function relDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}

const results = Promise.all([runOn('js'), runOn('wasm')]);

describe('the JS and WASM backends agree on whole models', () => {
  it('each process ran the backend it asked for, and freed every tensor', async () => {
    const [js, wasm] = await results;
    expect(js.backend).toBe('js');
    expect(wasm.backend).toBe('wasm');
    expect(wasm.simd).toBe(TEST_SIMD);
    expect(js.liveTensors).toBe(wasm.liveTensors);
  });

  for (const name of ['lstm', 'lstm_bi_proj_len', 'gru_bi_len', 'rnn_tanh_len', 'rnn_relu_bi']) {
    it(`${name}: outputs, final states, input and parameter gradients`, async () => {
      const [js, wasm] = await results;
      expect(Object.keys(js[name])).toEqual(Object.keys(wasm[name]));
      for (const key of Object.keys(wasm[name])) {
        expect(relDiff(js[name][key], wasm[name][key]), `${name}.${key}`).toBeLessThanOrEqual(key.startsWith('d') ? 1e-5 : 2e-6);
      }
    });
  }

  for (const name of ['train_adam', 'train_adamw', 'train_sgd']) {
    it(`${name}: losses and parameters over 8 steps`, async () => {
      const [js, wasm] = await results;
      expect(relDiff(js[name].losses, wasm[name].losses), `${name} losses`).toBeLessThanOrEqual(1e-5);
      expect(relDiff(js[name].params, wasm[name].params), `${name} params`).toBeLessThanOrEqual(1e-4);
    });
  }
});
