import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['ts/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  target: 'es2022',
  platform: 'neutral',
  sourcemap: true,
  // scripts/build-wasm.sh has already put dist/lstm_wasm.wasm in place: clean everything else.
  clean: ['!lstm_wasm.wasm'],
  splitting: false,
  outDir: 'dist',
});
