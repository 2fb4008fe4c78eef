#!/usr/bin/env node
// Generation in Chromium as the browser app runs it: a session (createTrainingSession, a Web
// Worker) opened from a checkpoint streams `session.generate` (seed 1, temperature 0.8, the app's
// Generate panel), and the page counts characters per second. The same checkpoint runs on this
// build float32 and int8 (`session.checkpoint({ dtype: 'int8' })`'s bytes), and, with --baseline
// DIR, on another build's dist/ (an earlier commit: the "before" of a change), alternated three
// times, the best of each. No assertion: a measurement, run by hand.
//
//   node bench/browser-generate.mjs --checkpoint checkpoints/lm.safetensors [--baseline ../old/dist] [--length 2000]
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runPage } from './lib/browser-page.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    checkpoint: { type: 'string' }, baseline: { type: 'string' }, length: { type: 'string', default: '2000' },
    out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help || flags.checkpoint === undefined) {
  console.log('usage: node bench/browser-generate.mjs --checkpoint <file> [--baseline <other build>/dist] [--length 2000] [--out results.json]');
  process.exit(flags.help ? 0 : 2);
}
const LENGTH = Number(flags.length);
const CHECKPOINT = await readFile(resolve(flags.checkpoint));
const baselineDir = flags.baseline === undefined ? null : resolve(flags.baseline);

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/bench.js"></script>`;
const SCRIPT = `
const bytes = new Uint8Array(await (await fetch('/checkpoint')).arrayBuffer());
async function charsPerSec(lib, checkpoint) {
  const session = await lib.createTrainingSession({ checkpoint });
  try {
    // Warm-up: the worker's wasm reaches its optimizing tier.
    for await (const piece of session.generate('And ', { length: 300, seed: 2, temperature: 0.8 })) void piece;
    let chars = 0;
    const t0 = performance.now();
    for await (const piece of session.generate('And ', { length: ${LENGTH}, seed: 1, temperature: 0.8 })) chars += piece.length;
    return chars / ((performance.now() - t0) / 1000);
  } finally {
    await session.dispose();
  }
}
try {
  const lib = await import('/dist/index.js');
  const base = ${baselineDir === null ? 'null' : "await import('/base/index.js')"};
  const opener = await lib.createTrainingSession({ checkpoint: bytes });
  const int8 = await opener.checkpoint({ dtype: 'int8' });
  await opener.dispose();
  const runs = { float32: [], int8: [], baseline: [] };
  for (let i = 0; i < 3; i++) {
    if (base !== null) runs.baseline.push(await charsPerSec(base, bytes));
    runs.float32.push(await charsPerSec(lib, bytes));
    runs.int8.push(await charsPerSec(lib, int8));
  }
  window.result = { runs, int8Bytes: int8.length };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
`;

const { result, browserVersion } = await runPage({
  fixed: { '/': [PAGE, '.html'], '/bench.js': [SCRIPT, '.js'], '/checkpoint': [CHECKPOINT, '.bin'] },
  dirs: { '/dist/': join(root, 'dist'), ...(baselineDir !== null ? { '/base/': baselineDir } : {}) },
});
const best = (list) => (list.length > 0 ? Math.max(...list) : null);
const report = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Chromium ${browserVersion}`,
  command: `node bench/browser-generate.mjs --checkpoint ${flags.checkpoint}${baselineDir ? ` --baseline ${flags.baseline}` : ''} --length ${LENGTH}`,
  workload: `session.generate('And ', { length: ${LENGTH}, seed: 1, temperature: 0.8 }) in a Web Worker, after 300 tokens of warm-up; alternated 3 times, best of each`,
  checkpointBytes: CHECKPOINT.length,
  int8Bytes: result.int8Bytes,
  charsPerSec: { baseline: best(result.runs.baseline), float32: best(result.runs.float32), int8: best(result.runs.int8) },
  runs: result.runs,
};
console.log(JSON.stringify(report, null, 2));
if (flags.out) await writeFile(flags.out, JSON.stringify(report, null, 2) + '\n');
