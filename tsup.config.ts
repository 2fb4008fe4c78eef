import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['ts/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    target: 'es2022',
    platform: 'neutral',
    sourcemap: true,
    // scripts/build-wasm.sh has already put dist/lstm_wasm.wasm in place, and the CLI build below
    // runs alongside: clean everything else.
    clean: ['!lstm_wasm.wasm', '!cli.js', '!cli.js.map', '!worker.js', '!worker.js.map', '!pretrained.*'],
    splitting: false,
    outDir: 'dist',
    // import.meta.url in the CommonJS build (where createTrainingSession finds worker.js).
    shims: true,
  },
  {
    // The training worker (createTrainingSession starts it from beside index.js / index.cjs):
    // ESM, self-contained, for Web Workers and Node worker_threads alike.
    entry: { worker: 'ts/worker.ts' },
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
    sourcemap: true,
    clean: false,
    splitting: false,
    outDir: 'dist',
  },
  {
    // `lstm-wasm/pretrained`: the pretrained model's loader, its own entry so that the core bundle
    // does not grow. It imports the package by name (external), so it shares the caller's instance.
    entry: { pretrained: 'ts/pretrained.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    target: 'es2022',
    platform: 'neutral',
    sourcemap: true,
    clean: false,
    splitting: false,
    outDir: 'dist',
    external: ['lstm-wasm'],
    shims: true,
  },
  {
    // The `lstm-wasm` command (package.json "bin"): Node only, ESM, self-contained.
    entry: { cli: 'ts/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: false,
    splitting: false,
    outDir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
