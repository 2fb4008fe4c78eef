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
//
// For tests and quick trials: --dir <d> writes <d>/kjv-byte.* and keeps its state in <d>/work/;
// --settings '{"hiddenSize":16}' changes settings (a run with other settings is another model);
// --stop-after <n> saves and exits after n steps of this invocation (the next one resumes).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lw = await import(join(root, 'dist', 'index.js'));

/** What the model is: a training run's settings (ts/training/settings.ts names). */
const DEFAULT_SETTINGS = Object.freeze({
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

/** A usage error: its message and exit code 2, no stack. */
function fail(message) {
  console.error(`pretrain: ${message} (see: npm run pretrain -- --help)`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      steps: { type: 'string' }, dir: { type: 'string' }, settings: { type: 'string' }, 'stop-after': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  fail(e.message);
}
if (values.help) {
  console.log(`Usage: npm run pretrain [-- --steps N]

Trains (or continues training) the shipped pretrained model, ${DEFAULT_STEPS} steps unless --steps says otherwise;
see the header of scripts/pretrain.mjs.

  --steps <n>          the run's length in steps (default ${DEFAULT_STEPS}); the learning-rate schedule follows it
  --dir <dir>          where the model and the state go (default: pretrained/ of the package)
  --settings <json>    other settings than the shipped model's, as JSON (quick trials and tests)
  --stop-after <n>     save the state and exit after n steps of this invocation (the next one resumes)
  -h, --help           this help`);
  process.exit(0);
}
const positiveInteger = (flag, v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} must be an integer >= 1, got ${v}`);
  return n;
};
const totalSteps = values.steps === undefined ? DEFAULT_STEPS : positiveInteger('--steps', values.steps);
const stopAfter = values['stop-after'] === undefined ? Infinity : positiveInteger('--stop-after', values['stop-after']);
const SETTINGS = Object.freeze({ ...DEFAULT_SETTINGS, ...settingsOverride(values.settings) });

/** The --settings JSON: an object of known settings, each of the default's type. */
function settingsOverride(json) {
  if (json === undefined) return {};
  let o;
  try {
    o = JSON.parse(json);
  } catch (e) {
    fail(`--settings must be JSON, like '{"hiddenSize":16}' (${e.message})`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(`--settings must be a JSON object, like '{"hiddenSize":16}'`);
  for (const [k, v] of Object.entries(o)) {
    if (!(k in DEFAULT_SETTINGS)) fail(`--settings has '${k}', not a setting here (known: ${Object.keys(DEFAULT_SETTINGS).join(', ')})`);
    if (typeof v !== typeof DEFAULT_SETTINGS[k]) fail(`--settings ${k} must be a ${typeof DEFAULT_SETTINGS[k]}, got ${JSON.stringify(v)}`);
  }
  return o;
}

const outDir = values.dir === undefined ? join(root, 'pretrained') : values.dir;
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
    return { model, trainer: new lw.LMTrainer(model, train, val, trainerOptions()), commit };
  }
  const ck = lw.decodeCheckpoint(new Uint8Array(readFileSync(workFile)));
  const made = ck.meta.extra.pretrain;
  if (JSON.stringify(made.settings) !== JSON.stringify(SETTINGS)) fail(`${workFile} was made with other settings (${JSON.stringify(made.settings)}); remove ${workDir} to start over`);
  if (made.totalSteps !== totalSteps) console.log(`pretrain: the saved run was of ${made.totalSteps} steps, it goes on as one of ${totalSteps} (the learning-rate schedule follows)`);
  const model = lw.modelFromCheckpoint(ck);
  const trainer = new lw.LMTrainer(model, train, val, trainerOptions());
  lw.restoreTrainer(trainer, ck);
  console.log(`pretrain: resuming at step ${trainer.step} (started at commit ${made.commit})`);
  return { model, trainer, commit: made.commit };
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
const stopAt = Math.min(totalSteps, trainer.step + stopAfter);
while (trainer.step < stopAt) {
  // The rate of a chunk is the rate at its first step (chunks start at multiples of CHUNK, also
  // after a resume in the middle of one, so where a run stopped changes nothing).
  trainer.optimizer.lr = lrAt(trainer.step - (trainer.step % CHUNK));
  const steps = Math.min(CHUNK - (trainer.step % CHUNK), stopAt - trainer.step);
  const r = await trainer.run({ steps, evalEvery: 500 });
  const last = trainer.valHistory[trainer.valHistory.length - 1];
  console.log(`step ${trainer.step}/${totalSteps}  loss ${r.finalLoss.toFixed(3)}  lr ${trainer.optimizer.lr.toExponential(2)}  ${last ? `val ${last.valLoss.toFixed(3)} at ${last.step}` : ''}  ${Math.round(r.tokens / (r.elapsedMs / 1000))} tok/s  ${(trainer.elapsedMs / 60000).toFixed(1)} min`);
  if (performance.now() - savedAt > SAVE_EVERY_MS || trainer.step >= stopAt) {
    save(model, trainer, commit);
    savedAt = performance.now();
  }
}
if (trainer.step < totalSteps) {
  console.log(`pretrain: stopped at step ${trainer.step} of ${totalSteps} (--stop-after); the state is in ${workFile}, and the same command continues it`);
  trainer.dispose();
  model.dispose();
  process.exit(0);
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
console.log(`pretrain: wrote ${join(outDir, 'kjv-byte.safetensors')} (${(bytes.length / 1e6).toFixed(2)} MB int8, validation loss ${int8Loss.toFixed(4)})`);
int8.dispose();
trainer.dispose();
model.dispose();
