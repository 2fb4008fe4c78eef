#!/usr/bin/env node
// Data-parallel scaling, part of `npm run bench` (also alone: `node bench/threads.mjs [--quick] [--out F]`):
// W1 (training: LMTrainer with `threads`, the W1 model: char LSTM embed 64, hidden 256, 2 layers,
// batch 32 x seq 64; steps timed after warm-up steps of the same run) and W3 (batched forward: ParallelInference over one LSTM layer 128 -> 256,
// batch 64 x seq 128, with an embedding and a 65-way head around it) at 1, 2, ... up to the core
// count, measured alternately (1, 2, ..., 1, 2, ...) so that the shared host's drift hits every
// count alike; each count's best round counts. Prints tokens/s, the speed-up over 1 thread, and
// W1's per-step overhead: step time on N threads minus the ideal (1-thread step / N).
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const out = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : null;
const lw = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
await lw.init();

const cores = availableParallelism();
const counts = Array.from({ length: cores }, (_, i) => i + 1);
const ROUNDS = quick ? 1 : 3;
const W1 = { V: 65, E: 64, H: 256, L: 2, T: 64, B: 32, lr: 2e-3, warmup: 2, steps: quick ? 3 : 12 };
const W3 = { V: 65, E: 128, H: 256, T: 128, B: 64, warmup: 1, passes: quick ? 2 : 6 };

function randomIds(n, V, seed) {
  const g = new lw.Generator(seed);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = Math.floor(g.uniform() * V);
  return ids;
}

/**
 * W1 on `threads`: tokens/s of `steps` optimizer steps after `warmup` steps, in one run (a run
 * starts by copying the model into its replicas, once; a long training is one run).
 */
async function w1(threads) {
  lw.manualSeed(1);
  const ids = randomIds(W1.T * W1.B * (W1.warmup + W1.steps + 2) + 1, W1.V, 11);
  const model = new lw.LanguageModel({ vocabSize: W1.V, cell: 'lstm', embedDim: W1.E, hiddenSize: W1.H, numLayers: W1.L, dropout: 0 });
  const trainer = new lw.LMTrainer(model, new lw.LMBatcher(ids, W1.B, W1.T), null, { lr: W1.lr, threads });
  try {
    let start = 0;
    let end = 0;
    const r = await trainer.run({
      steps: W1.warmup + W1.steps,
      onProgress: (p) => {
        if (p.step === W1.warmup) start = performance.now();
        if (p.step === W1.warmup + W1.steps) end = performance.now();
      },
    });
    const ms = end - start;
    return { tokensPerSec: (W1.steps * W1.T * W1.B) / (ms / 1000), msPerStep: ms / W1.steps, finalLoss: r.finalLoss };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** W3 on `threads`: tokens/s of a forward-only scoring pass over B x T tokens. */
async function w3(threads) {
  lw.manualSeed(2);
  const ids = randomIds(W3.T * W3.B + 1, W3.V, 12);
  const model = new lw.LanguageModel({ vocabSize: W3.V, cell: 'lstm', embedDim: W3.E, hiddenSize: W3.H, numLayers: 1, dropout: 0 });
  const scorer = new lw.ParallelInference(model, threads);
  try {
    let loss = NaN;
    for (let i = 0; i < W3.warmup; i++) loss = (await scorer.score(ids, W3.B, W3.T)).loss;
    const t0 = performance.now();
    for (let i = 0; i < W3.passes; i++) await scorer.score(ids, W3.B, W3.T);
    const ms = (performance.now() - t0) / W3.passes;
    return { tokensPerSec: (W3.T * W3.B) / (ms / 1000), msPerPass: ms, loss };
  } finally {
    await scorer.dispose();
    model.dispose();
  }
}

const best = { W1: {}, W3: {} };
for (let round = 0; round < ROUNDS; round++) {
  for (const n of counts) {
    for (const [key, fn] of [['W1', w1], ['W3', w3]]) {
      const r = await fn(n);
      if (!best[key][n] || r.tokensPerSec > best[key][n].tokensPerSec) best[key][n] = r;
    }
  }
}

const rows = [];
for (const key of ['W1', 'W3']) {
  const one = best[key][1];
  for (const n of counts) {
    const r = best[key][n];
    const row = { workload: key, threads: n, tokensPerSec: Math.round(r.tokensPerSec), speedup: +(r.tokensPerSec / one.tokensPerSec).toFixed(2) };
    if (key === 'W1' && n > 1) {
      const ideal = one.msPerStep / n;
      row.overheadMs = +(r.msPerStep - ideal).toFixed(1);
      row.overheadPct = +((100 * (r.msPerStep - ideal)) / r.msPerStep).toFixed(1);
    }
    rows.push(row);
  }
}
// Validation: W3's loss is the same on every thread count (lanes are independent); W1 ran finite.
const w3Losses = counts.map((n) => best.W3[n].loss);
const valid = w3Losses.every((l) => Math.abs(l - w3Losses[0]) < 1e-5) && counts.every((n) => Number.isFinite(best.W1[n].finalLoss));

const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cores} cores, Node ${process.version.slice(1)}`;
const lines = [
  `Data-parallel scaling (${machine}; best of ${ROUNDS} alternating round${ROUNDS > 1 ? 's' : ''}${quick ? ', --quick' : ''}): ${valid ? 'validated' : 'INVALID'}`,
  '| workload | threads | tokens/s | speed-up vs 1 | per-step overhead |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.workload} | ${r.threads} | ${r.tokensPerSec.toLocaleString('en-US')} | ${r.speedup.toFixed(2)}x | ${r.overheadMs !== undefined ? `${r.overheadMs} ms (${r.overheadPct}% of a step)` : '-'} |`),
];
console.log(lines.join('\n'));
if (out !== null) writeFileSync(out, JSON.stringify({ machine, quick, rounds: ROUNDS, valid, rows, w3Losses }, null, 1));
process.exit(valid ? 0 : 1);
