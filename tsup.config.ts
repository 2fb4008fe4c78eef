import { defineConfig, type Options } from 'tsup';

/** What every build shares: one self-contained file per entry, with its source map, into dist/. */
const EACH: Options = { target: 'es2022', platform: 'neutral', sourcemap: true, splitting: false, outDir: 'dist', clean: false };

export default defineConfig([
  {
    ...EACH,
    entry: ['ts/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    // scripts/build-wasm.sh has already put dist/lstm_wasm.wasm in place, and the builds below
    // run alongside: clean everything else.
    clean: ['!lstm_wasm.wasm', '!cli.js', '!cli.js.map', '!worker.js', '!worker.js.map', '!pretrained.*'],
    // import.meta.url in the CommonJS build (where createTrainingSession finds worker.js).
    shims: true,
  },
  {
    // The training worker (createTrainingSession starts it from beside index.js / index.cjs):
    // ESM, self-contained, for Web Workers and Node worker_threads alike.
    ...EACH,
    entry: { worker: 'ts/worker.ts' },
    format: ['esm'],
  },
  {
    // `lstm-wasm/pretrained`: the pretrained model's loader, its own entry so that the core bundle
    // does not grow. It imports the package by name (external), so it shares the caller's instance.
    ...EACH,
    entry: { pretrained: 'ts/pretrained.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    external: ['lstm-wasm'],
    shims: true,
  },
  {
    // The `lstm-wasm` command (package.json "bin"): Node only, ESM, self-contained.
    ...EACH,
    entry: { cli: 'ts/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
