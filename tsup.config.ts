import { defineConfig, type Options } from 'tsup';

/** What every build shares: one self-contained file per entry, with its source map, into dist/. */
const EACH: Options = { target: 'es2022', platform: 'neutral', sourcemap: true, splitting: false, outDir: 'dist', clean: false };

export default defineConfig([
  {
    // The ESM build of the package and the training worker (createTrainingSession starts it from
    // beside index.js / index.cjs; ESM for Web Workers and Node worker_threads alike), split into
    // shared chunks: the two inlined wasm builds are dynamic imports (ts/wasm/load.ts), so each is a
    // chunk of its own that a browser downloads only when it runs that build, and the worker shares
    // the library's chunks with the page instead of a second copy.
    ...EACH,
    entry: { index: 'ts/index.ts', worker: 'ts/worker.ts' },
    format: ['esm'],
    splitting: true,
    dts: { entry: { index: 'ts/index.ts' } },
    // scripts/build-wasm.sh has already put the .wasm files in place, and the builds below
    // run alongside: clean everything else.
    clean: ['!lstm_wasm.wasm', '!lstm_wasm_relaxed.wasm', '!cli.js', '!cli.js.map', '!index.cjs', '!index.cjs.map', '!index.d.cts', '!pretrained.*', '!onnx.*'],
  },
  {
    // The CommonJS build: one file (both wasm builds inlined in it; CommonJS is for Node).
    ...EACH,
    entry: ['ts/index.ts'],
    format: ['cjs'],
    dts: true,
    // import.meta.url in the CommonJS build (where createTrainingSession finds worker.js).
    shims: true,
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
    // `lstm-wasm/onnx`: ONNX models in and out, its own entry for the same reason. It imports the
    // package by name (external), and protobufjs, a dependency of the package (external too: tsup
    // leaves dependencies to the caller's resolver), so that only code importing it loads either.
    ...EACH,
    entry: { onnx: 'ts/onnx/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    external: ['lstm-wasm'],
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
