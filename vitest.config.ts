import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit tests import the bare specifier `lstm-wasm` and run against the BUILT package (dist/), the same
// code users get; `npm test` rebuilds dist first when ts/ or crate/ changed (scripts/ensure.sh).
const builtEntry = fileURLToPath(new URL('./dist/index.js', import.meta.url));
if (!existsSync(builtEntry)) {
  throw new Error(`vitest.config.ts: ${builtEntry} is missing; run \`npm run build\` (or \`npm test\`, which builds what is missing)`);
}

export default defineConfig({
  resolve: {
    alias: [{ find: /^lstm-wasm$/, replacement: builtEntry }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Test files run in child processes, two at a time (the machines have 2 cores).
    pool: 'forks',
    maxWorkers: 2,
    // Browser tests launch Chromium; package tests spawn Node processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
