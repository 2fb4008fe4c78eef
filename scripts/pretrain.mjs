#!/usr/bin/env node
// `npm run pretrain`: trains the pretrained model the package ships, on the bundled corpus, at byte
// level (any UTF-8 text can be given to it and fine-tuned on). Resumable: it saves its whole state
// (weights, Adam, batcher, generators) every few minutes to pretrained/work/, and a new run of the
// same command continues from there, bit for bit as if it had not stopped. The result depends only
// on the settings below and the build (a fixed thread count and a schedule by step, never by time):
//
//   pretrained/kjv-byte.safetensors   the model, int8 (lstm-wasm checkpoint, version 2)
//   pretrained/kjv-byte.json          how it was made: settings, steps, losses, commit, time taken
//
//   npm run pretrain [-- --steps N]   (needs dist/: npm run build)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lw = await import(join(root, 'dist', 'index.js'));

/** What the model is: a training run's settings (ts/training/settings.ts names). */
export const SETTINGS = Object.freeze({
  level: 'byte', maxVocab: 10000, cell: 'lstm', embedDim: 64, hiddenSize: 512, numLayers: 2, dropout: 0.1,
  seqLen: 128, batchSize: 32, lr: 2e-3, clip: 1, valSplit: 0.05, seed: 1,
});
/** Data-parallel threads: fixed, since the sum order of the gradients depends on it. */
const THREADS = 2;
const DEFAULT_STEPS = 5000;
/** The learning rate: `lr` until this fraction of the steps, then down linearly to `lr * FINAL_LR`. */
const DECAY_FROM = 0.6;
const FINAL_LR = 0.1;
/** Steps per chunk: the learning rate is set and the state saved between chunks. */
const CHUNK = 50;
const SAVE_EVERY_MS = 120_000;

const { values } = parseArgs({ options: { steps: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: npm run pretrain [-- --steps N]\n\nTrains (or continues training) the shipped pretrained model; see the header of scripts/pretrain.mjs.');
  process.exit(0);
}
const totalSteps = values.steps === undefined ? DEFAULT_STEPS : Number(values.steps);
if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`pretrain: --steps must be an integer >= 1, got ${values.steps}`);

const outDir = join(root, 'pretrained');
const workDir = join(outDir, 'work');
const workFile = join(workDir, 'state.safetensors');
mkdirSync(workDir, { recursive: true });

await lw.init();
const text = gunzipSync(readFileSync(join(root, 'corpus', 'kjv.txt.gz'))).toString('utf8');
const tokenizer = new lw.ByteTokenizer();
const ids = tokenizer.encode(text);
const split = lw.trainValSplit(ids, SETTINGS.valSplit);
const train = new lw.LMBatcher(split.train, SETTINGS.batchSize, SETTINGS.seqLen, 'training text');
const val = new lw.LMBatcher(split.val, SETTINGS.batchSize, SETTINGS.seqLen, 'validation text');
const record = { sources: [lw.BUNDLED_CORPUS_LABEL], fingerprint: lw.fingerprint(text), chars: text.length };
const config = { vocabSize: tokenizer.size, cell: SETTINGS.cell, embedDim: SETTINGS.embedDim, hiddenSize: SETTINGS.hiddenSize, numLayers: SETTINGS.numLayers, dropout: SETTINGS.dropout };
const trainerOptions = () => ({ lr: SETTINGS.lr, clip: SETTINGS.clip, generator: new lw.Generator(SETTINGS.seed), threads: THREADS });

/** The run's state: from pretrained/work/ if a run was saved there, else new (as `lstm-wasm train` makes it). */
function startOrResume() {
  if (!existsSync(workFile)) {
    const model = new lw.LanguageModel(config, { generator: new lw.Generator(SETTINGS.seed) });
    const commit = gitCommit();
    return { model, trainer: new lw.LMTrainer(model, train, val, trainerOptions()), commit, elapsedMs: 0 };
  }
  const ck = lw.decodeCheckpoint(new Uint8Array(readFileSync(workFile)));
  const made = ck.meta.extra.pretrain;
  if (JSON.stringify(made.settings) !== JSON.stringify(SETTINGS)) throw new Error(`pretrain: ${workFile} was made with other settings; remove pretrained/work/ to start over`);
  const model = lw.modelFromCheckpoint(ck);
  const trainer = new lw.LMTrainer(model, train, val, trainerOptions());
  lw.restoreTrainer(trainer, ck);
  console.log(`pretrain: resuming at step ${trainer.step} (started at commit ${made.commit})`);
  return { model, trainer, commit: made.commit, elapsedMs: trainer.elapsedMs };
}

/** The learning rate at `step`: constant, then a linear decay over the last part of the run. */
function lrAt(step) {
  const from = Math.floor(totalSteps * DECAY_FROM);
  if (step < from) return SETTINGS.lr;
  return SETTINGS.lr * (1 - (1 - FINAL_LR) * ((step - from) / (totalSteps - from)));
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function writeAtomic(path, bytes) {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

function save(model, trainer, commit) {
  const extra = { settings: { ...SETTINGS }, data: record, pretrain: { settings: SETTINGS, commit, totalSteps } };
  writeAtomic(workFile, lw.encodeCheckpoint(model, tokenizer, trainer, extra));
}

const { model, trainer, commit } = startOrResume();
console.log(`pretrain: ${config.numLayers} x ${config.hiddenSize} ${config.cell.toUpperCase()}, embed ${config.embedDim}, bytes; ${model.parameters().reduce((a, p) => a + p.size, 0).toLocaleString('en-US')} parameters; ${totalSteps} steps of ${SETTINGS.batchSize} x ${SETTINGS.seqLen} on ${THREADS} threads`);
let savedAt = performance.now();
while (trainer.step < totalSteps) {
  // The rate of a chunk is the rate at its first step (a chunk never crosses totalSteps).
  trainer.optimizer.lr = lrAt(trainer.step);
  const steps = Math.min(CHUNK - (trainer.step % CHUNK), totalSteps - trainer.step);
  const r = await trainer.run({ steps, evalEvery: 500 });
  const last = trainer.valHistory[trainer.valHistory.length - 1];
  console.log(`step ${trainer.step}/${totalSteps}  loss ${r.finalLoss.toFixed(3)}  lr ${trainer.optimizer.lr.toExponential(2)}  ${last ? `val ${last.valLoss.toFixed(3)} at ${last.step}` : ''}  ${Math.round(r.tokens / (r.elapsedMs / 1000))} tok/s  ${(trainer.elapsedMs / 60000).toFixed(1)} min`);
  if (performance.now() - savedAt > SAVE_EVERY_MS || trainer.step >= totalSteps) {
    save(model, trainer, commit);
    savedAt = performance.now();
  }
}

const full = await trainer.validate({ maxWindows: 0 });
console.log(`pretrain: validation loss ${full.loss.toFixed(4)} on all ${full.tokens.toLocaleString('en-US')} held-out bytes`);
const int8 = lw.quantize(model, { dtype: 'int8' });
const int8Loss = lw.scoreTokens(int8, split.val, SETTINGS.batchSize, SETTINGS.seqLen).loss;
const made = { steps: trainer.step, valLoss: full.loss, int8ValLoss: int8Loss, commit, corpus: lw.BUNDLED_CORPUS_LABEL, seed: SETTINGS.seed, threads: THREADS, schedule: { decayFrom: DECAY_FROM, finalLr: FINAL_LR } };
// The model file holds nothing that depends on time, so the same build makes the same bytes.
const bytes = lw.encodeCheckpoint(int8, tokenizer, null, { settings: { ...SETTINGS }, data: record, pretrained: made });
writeAtomic(join(outDir, 'kjv-byte.safetensors'), bytes);
writeFileSync(join(outDir, 'kjv-byte.json'), JSON.stringify({ ...made, int8Bytes: bytes.length, trainingMinutes: +(trainer.elapsedMs / 60000).toFixed(1), settings: SETTINGS }, null, 2) + '\n');
console.log(`pretrain: wrote pretrained/kjv-byte.safetensors (${(bytes.length / 1e6).toFixed(2)} MB int8, validation loss ${int8Loss.toFixed(4)})`);
int8.dispose();
trainer.dispose();
model.dispose();
