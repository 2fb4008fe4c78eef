// Built by scripts/demo.mjs (npm run demo / demo:build). `base: './'` makes every URL in the
// output relative, so examples/browser/dist works from any static host and any sub-path.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  // lstm-wasm's worker.js is an ES module (it is started with { type: 'module' }).
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
