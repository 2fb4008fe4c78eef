import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit tests import the bare specifier `lstm-wasm` and run against the BUILT package (dist/), the same
// code users get; `npm test` rebuilds dist first when ts/ or crate/ changed (scripts/ensure.sh).
const builtEntry = fileURLToPath(new URL('./dist/index.js', import.meta.url));
if (!existsSync(builtEntry)) {
  throw new Error(`vitest.config.ts: ${builtEntry} is missing; run \`npm run build\` (or \`npm test\`, which builds what is missing)`);
}

/**
 * The suites that run again on the relaxed-SIMD build of the wasm (in Node 20 behind
 * --experimental-wasm-relaxed-simd, which this project passes to its workers): the kernels against
 * their plain-JS twins, the models on both backends, the PyTorch fixtures, gradient checks and
 * the quantized paths, all with the tolerances they state. The rest (CLI, sessions, bit-exact
 * golden runs) runs on the SIMD128 build only: `init()` picks SIMD128 in a Node without the flag.
 */
const RELAXED_SUITES = [
  'test/backend/kernels-js-vs-wasm.test.ts',
  'test/backend/js-vs-wasm.test.ts',
  'test/core/fixtures.test.ts',
  'test/core/math-fixtures.test.ts',
  'test/core/gradcheck.test.ts',
  'test/core/kernels.test.ts',
  'test/core/losses.test.ts',
  'test/nn/rnn-fixtures.test.ts',
  'test/nn/cells-fixtures.test.ts',
  'test/nn/gradcheck-rnn.test.ts',
  'test/nn/tutorials.test.ts',
  'test/nn/official-tutorials.test.ts',
  'test/nn/decode-step.test.ts',
  'test/nn/quantize.test.ts',
  'test/nn/stepper.test.ts',
];

export default defineConfig({
  resolve: {
    alias: [{ find: /^lstm-wasm$/, replacement: builtEntry }],
  },
  test: {
    environment: 'node',
    // Test files run in child processes, two at a time (the machines have 2 cores).
    pool: 'forks',
    maxWorkers: 2,
    // Browser tests launch Chromium; package tests spawn Node processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      // --no-experimental-wasm-relaxed-simd: on Node 22+, where relaxed SIMD is on by default,
      // init() in this project still picks the SIMD128 build.
      { extends: true, test: { name: 'simd128', include: ['test/**/*.test.ts'], execArgv: ['--no-experimental-wasm-relaxed-simd'] } },
      {
        extends: true,
        test: {
          name: 'relaxed',
          include: RELAXED_SUITES,
          execArgv: ['--experimental-wasm-relaxed-simd'],
          env: { LSTM_WASM_TEST_SIMD: 'relaxed' },
          setupFiles: ['test/support/relaxed-setup.ts'],
        },
      },
    ],
  },
});
