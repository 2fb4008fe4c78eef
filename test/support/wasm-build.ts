// Which build of the wasm a suite tests: the `relaxed` project of vitest.config.ts sets
// LSTM_WASM_TEST_SIMD=relaxed (and runs Node with --experimental-wasm-relaxed-simd); every other
// run tests the SIMD128 build.
import { fileURLToPath } from 'node:url';

export const TEST_SIMD: 'relaxed' | 'simd128' = process.env.LSTM_WASM_TEST_SIMD === 'relaxed' ? 'relaxed' : 'simd128';

/** dist/'s .wasm file of that build. */
export const TEST_WASM_FILE = fileURLToPath(
  new URL(`../../dist/${TEST_SIMD === 'relaxed' ? 'lstm_wasm_relaxed.wasm' : 'lstm_wasm.wasm'}`, import.meta.url),
);

/** The node flags a child process needs to run that build (none for SIMD128). */
export const TEST_NODE_ARGS: string[] = TEST_SIMD === 'relaxed' ? ['--experimental-wasm-relaxed-simd'] : [];
