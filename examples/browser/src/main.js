// The app: it opens on the package's pretrained model (lstm-wasm/pretrained), ready to generate;
// from there, fine-tune it on a text or train a new model in a Web Worker (createTrainingSession),
// watch the loss and samples, generate, and keep checkpoints (IndexedDB across reloads,
// .safetensors download/upload).
//
// The page's model is one TrainingSession. Anything that replaces it (a new model, a resume, an
// upload) opens the new session first and disposes the old one only once the new one is open, so
// bad input leaves the model, and its stored checkpoint, as they were.
//
// window.__lstmApp is a read-only copy of `status`, for tests and the curious.
import { createTrainingSession, decodeCheckpoint } from 'lstm-wasm';
import { fetchPretrained } from 'lstm-wasm/pretrained';
import { historyFromTrainer, LossChart } from './chart.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-store.js';
import { PRESETS, readSettings, sameSettings, writeSettings } from './settings.js';
import { loadBundledCorpus, readTextFiles } from './text-source.js';

// A first sample 3 s into a run (by then the model has learnt letters and spaces), then every 5 s.
const FIRST_SAMPLE_MS = 3_000;
const SAMPLE_EVERY_MS = 5_000;
const SAVE_EVERY_MS = 30_000;
// Validation reads the first 16 windows of the held-out text (a fraction of a second for the small
// preset), so the chart gets a point every few seconds without slowing training much.
const EVAL_EVERY_MS = 3_000;
// A run needs a limit; after an hour Train continues it.
const RUN_LIMIT_MS = 60 * 60_000;
const SAMPLES_KEPT = 6;
const VAL_HISTORY_KEPT = 1000;
const UPDATE_MS = 200;
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const $ = (id) => document.getElementById(id);
const ui = {
  message: $('message'), textLabel: $('text-label'), textFiles: $('text-files'), useCorpus: $('use-corpus'), drop: $('drop'),
  settings: $('settings'), train: $('train'), pause: $('pause'), stop: $('stop'), newModel: $('new-model'),
  choice: $('choice'), choiceText: $('choice-text'), choiceNew: $('choice-new'), choiceKeep: $('choice-keep'), choiceFineTune: $('choice-finetune'),
  checkpointLabel: $('checkpoint-label'), download: $('download'), downloadInt8: $('download-int8'), upload: $('upload'), usePretrained: $('use-pretrained'),
  stats: $('stats'), samples: $('samples'), generateForm: $('generate-form'), generate: $('generate-button'), output: $('output'),
};
const chart = new LossChart($('chart'));

const status = {
  /** 'starting', 'idle', 'opening', 'training', 'paused', 'stopping' */
  phase: 'starting',
  text: null,
  /** The current model: { step, canTrain, parameterCount, settings, pretrained } (pretrained: it is the package's pretrained model) */
  model: null,
  progress: null,
  /**
   * Every validation of the model: those its checkpoint kept (when it was opened from one), then
   * this page's runs. { step, valLoss, trainMs } (trainMs: the model's training time then).
   */
  valHistory: [],
  trainMs: 0,
  /** The training time (trainMs) when this page showed its first sample, or null. */
  firstSampleMs: null,
  /** The question Train asks when the text is not the model's: { text, canKeep }, or null. */
  choice: null,
  /** What IndexedDB holds: { step, savedAt } */
  stored: null,
  saves: 0,
  /** The message shown, and whether it is an error. */
  message: null,
  error: false,
  generating: false,
  samples: 0,
};
Object.defineProperty(window, '__lstmApp', { get: () => structuredClone(status) });

let session = null;
/** The text the current model was trained on (a text key), or null if unknown. */
let sessionTextKey = null;
/** How checkpoints name that text (text.source: its file names, or the CLI's name of the bundled corpus), or null if unknown. */
let sessionTextLabel = null;
/** That text itself when the page has it ({ bytes, key, label, source } as text-source.js gives). */
let sessionText = null;
/** Whether the current model is the package's pretrained model, as shipped. */
let sessionIsPretrained = false;
/** The pretrained model's file (fetched once, when first wanted). */
let pretrainedBytes = null;
let text = null;
let trainedMsBefore = 0;
let generation = null;

function show(message, { error = false } = {}) {
  status.message = message;
  status.error = error;
  ui.message.textContent = message;
  ui.message.className = error ? '' : 'info';
  ui.message.hidden = false;
}

function showError(context, e) {
  const name = e && e.name ? e.name : 'Error';
  show(`${context}: ${name}: ${e && e.message ? e.message : String(e)}`, { error: true });
}

function setPhase(phase) {
  status.phase = phase;
  document.body.dataset.phase = phase;
  const busy = phase !== 'idle';
  const running = phase === 'training' || phase === 'paused';
  if (busy) hideChoice();
  ui.train.disabled = busy || text === null;
  // The pretrained model is not trained further on its own: Train fine-tunes it on the chosen text.
  ui.train.textContent = sessionIsPretrained ? 'Fine-tune on this text' : 'Train';
  ui.newModel.disabled = busy || text === null;
  ui.usePretrained.disabled = busy || sessionIsPretrained;
  ui.pause.disabled = !running;
  ui.pause.textContent = phase === 'paused' ? 'Resume' : 'Pause';
  ui.stop.disabled = !running;
  ui.download.disabled = session === null || phase === 'opening';
  ui.downloadInt8.disabled = session === null || phase === 'opening';
  ui.upload.disabled = busy;
  ui.generate.disabled = session === null || phase === 'opening';
}

function describeModel() {
  if (session === null) return 'No model yet.';
  const { settings: s, parameterCount, canTrain, threads } = session.info;
  if (sessionIsPretrained) {
    return `The pretrained model: ${s.cell.toUpperCase()} ${s.numLayers}x${s.hiddenSize} over bytes (any UTF-8 text), ${integer.format(parameterCount)} parameters, int8, trained on the King James Bible.`;
  }
  const stored = status.stored ? ` Saved in this browser at step ${status.stored.step}.` : '';
  // Shared memory (for the gradient exchange between threads) needs a cross-origin isolated page.
  const cores = canTrain ? ` Trains on ${threads} thread${threads > 1 ? 's' : ''}${threads > 1 ? (self.crossOriginIsolated ? ' (shared memory)' : ' (no shared memory: the page is not cross-origin isolated)') : ''}.` : '';
  return `${s.cell.toUpperCase()} ${s.numLayers}x${s.hiddenSize}, ${integer.format(parameterCount)} parameters, step ${session.step}.${cores}${stored}`;
}

function modelChanged() {
  status.model = session === null ? null : {
    step: session.step, canTrain: session.info.canTrain, parameterCount: session.info.parameterCount, settings: session.info.settings, pretrained: sessionIsPretrained,
  };
  ui.checkpointLabel.textContent = describeModel();
}

/**
 * Opens a session; on success it becomes the page's model (the old one is disposed), on failure
 * the error is shown and the old one stays. Returns the new session or null. `pretrained`: the
 * session is the pretrained model's (the settings form keeps its preset for a new model).
 */
async function replaceSession(options, textKey, context, textLabel = null, { pretrained = false } = {}) {
  const before = status.phase;
  setPhase('opening');
  try {
    const next = await createTrainingSession(options);
    const old = session;
    session = next;
    sessionTextKey = textKey;
    sessionTextLabel = textLabel;
    sessionText = textKey !== null && text !== null && text.key === textKey ? text : null;
    sessionIsPretrained = pretrained;
    trainedMsBefore = 0;
    status.trainMs = 0;
    await old?.dispose();
    if (!pretrained) writeSettings(ui.settings, next.info.settings);
    modelChanged();
    return next;
  } catch (e) {
    showError(context, e);
    return null;
  } finally {
    setPhase(before === 'starting' ? 'idle' : before);
  }
}

async function saveToBrowser(s) {
  // The pretrained model is the package's: nothing to keep (and a model stored before stays stored).
  if (s !== session || sessionIsPretrained) return;
  const bytes = await s.checkpoint();
  const record = { bytes, textKey: sessionTextKey, textLabel: sessionTextLabel, step: s.step, savedAt: Date.now() };
  await saveCheckpoint(record);
  status.stored = { step: record.step, savedAt: record.savedAt };
  status.saves++;
  modelChanged();
}

// ---- training ----------------------------------------------------------------------------------

async function train({ fresh = false } = {}) {
  if (text === null) return;
  hideChoice();
  const settings = readSettings(ui.settings);
  let s = session;
  if (!fresh && sessionIsPretrained) {
    await fineTuneOnThisText();
    return;
  }
  if (fresh || s === null || !sameSettings(s.info.settings, settings)) {
    s = await replaceSession({ text: text.bytes, source: text.source, settings }, text.key, 'Could not start training', text.source);
    if (s !== null) clearHistory();
  } else if (otherText()) {
    // A session continues a model on its own text only (the worker checks the text's fingerprint).
    offerChoice();
    return;
  } else if (!s.info.canTrain || sessionTextKey !== text.key) {
    // Continue the current model (loaded or uploaded) on this text, which is its own.
    const checkpoint = await s.checkpoint();
    s = await replaceSession({ text: text.bytes, source: text.source, checkpoint }, text.key, 'Could not continue this model on this text (use Train a new model to start over)', text.source);
    if (s !== null) restoreHistory(checkpoint, s);
  }
  if (s === null) return;
  await run(s);
}

/** Whether the chosen text is known not to be the current model's (by key, or by the checkpoint's name for it). */
function otherText() {
  if (sessionTextKey !== null) return sessionTextKey !== text.key;
  return sessionTextLabel !== null && sessionTextLabel !== text.source;
}

/**
 * Train with a text other than the model's: the ways on are a new model on this text, fine-tuning
 * this model on it (a new run from its weights), or more training of this model on its own text
 * (when the page has that text, or it is the bundled corpus).
 */
function offerChoice() {
  const own = sessionTextLabel ?? 'another text';
  const canKeep = sessionText !== null || sessionTextKey === 'bundled';
  status.choice = { text: text.label, canKeep };
  ui.choiceText.textContent = `The current model was trained on ${own}, not on ${text.label}. ` +
    'Start a new model on this text, fine-tune the current model on it (a new run from its weights), ' +
    (canKeep ? 'or keep training the current model on its own text.' : `or choose ${sessionTextLabel ?? 'its text'} again to keep training the current model.`);
  ui.choiceKeep.hidden = !canKeep;
  ui.choice.hidden = false;
}

function hideChoice() {
  status.choice = null;
  ui.choice.hidden = true;
}

/** A new run on this text from the current model's weights (its shape and tokenizer, a new optimizer, a fine-tuning lr). */
async function fineTuneOnThisText() {
  hideChoice();
  if (session === null || text === null) return;
  const from = sessionIsPretrained ? pretrainedBytes : await session.checkpoint();
  // The model fixes its shape; the form gives the step's shape, and the fine-tuning lr is the library's.
  const { batchSize, seqLen } = readSettings(ui.settings);
  const settings = Object.fromEntries(Object.entries({ batchSize, seqLen }).filter(([, v]) => v !== undefined));
  const s = await replaceSession({ text: text.bytes, source: text.source, from, settings }, text.key, 'Could not fine-tune the model on this text', text.source);
  if (s === null) return;
  clearHistory();
  await run(s);
}

async function keepTrainingOnOwnText() {
  hideChoice();
  if (sessionText !== null) useText(sessionText);
  else if (sessionTextKey === 'bundled') await startCorpus();
  if (text !== null && text.key === sessionTextKey) await train();
}

/** Opens the package's pretrained model (fetched from its own file once): it generates at once. */
async function openPretrained() {
  try {
    pretrainedBytes ??= await fetchPretrained();
  } catch (e) {
    showError('Could not fetch the pretrained model', e);
    return null;
  }
  const s = await replaceSession({ checkpoint: pretrainedBytes }, null, 'Could not open the pretrained model', null, { pretrained: true });
  if (s === null) return null;
  const made = decodeCheckpoint(pretrainedBytes).meta.extra?.pretrained ?? {};
  clearHistory();
  chart.draw();
  status.progress = null;
  ui.stats.textContent = `Pretrained for ${integer.format(made.steps ?? 0)} steps; validation loss ${fmt(made.int8ValLoss ?? null)} nats/char on the corpus's held-out text.`;
  return s;
}

/** A model without a history yet (a new run, or the pretrained model): an empty chart and validation list. */
function clearHistory() {
  chart.clear();
  status.valHistory = [];
  status.firstSampleMs = null;
}

/**
 * The chart, the validation history, the training time and the stats of a model opened from
 * `bytes` (its checkpoint keeps its per-step losses and validation points, not its speed).
 */
function restoreHistory(bytes, s) {
  let meta = null;
  try {
    meta = decodeCheckpoint(bytes).meta;
  } catch {
    // The worker opened these bytes; the page not reading them costs the chart only.
  }
  const trainer = meta?.trainer ?? null;
  chart.restore(historyFromTrainer(trainer));
  status.valHistory = (trainer?.val ?? []).filter((p) => Number.isFinite(p.valLoss)).map((p) => ({ step: p.step, valLoss: p.valLoss, trainMs: p.elapsedMs }));
  status.trainMs = trainedMsBefore = trainer?.elapsedMs ?? 0;
  if (sessionTextLabel === null) sessionTextLabel = meta?.extra?.data?.sources?.join(', ') ?? null;
  status.progress = null;
  if (trainer === null) {
    ui.stats.textContent = `Step ${s.step}. This checkpoint holds the model only, without its training history.`;
  } else {
    const last = trainer.losses.slice(-50).filter(Number.isFinite);
    const loss = last.length > 0 ? last.reduce((a, b) => a + b, 0) / last.length : null;
    const val = status.valHistory.length > 0 ? status.valHistory[status.valHistory.length - 1].valLoss : null;
    ui.stats.textContent = `step ${s.step} · loss ${fmt(loss)} · validation ${fmt(val)} nats/char · ${(status.trainMs / 1000).toFixed(0)} s (restored from the checkpoint)`;
  }
  chart.draw();
}

async function run(s) {
  setPhase('training');
  show(`Training on ${text.label}.`);
  // The first sample FIRST_SAMPLE_MS into the run: before that it is random characters.
  let lastSample = status.trainMs - (SAMPLE_EVERY_MS - FIRST_SAMPLE_MS);
  let lastSave = status.trainMs;
  const base = trainedMsBefore;
  try {
    const result = await s.train({
      timeMs: RUN_LIMIT_MS,
      evalEvery: 0,
      evalEveryMs: EVAL_EVERY_MS,
      onProgress: (p) => {
        status.progress = p;
        status.trainMs = base + p.elapsedMs;
        if (p.evaluated && p.valLoss !== null) {
          status.valHistory.push({ step: p.step, valLoss: p.valLoss, trainMs: status.trainMs });
          if (status.valHistory.length > VAL_HISTORY_KEPT) status.valHistory.shift();
        }
        chart.add(p, { draw: false });
        scheduleStats();
        if (status.trainMs - lastSample >= SAMPLE_EVERY_MS) {
          lastSample = status.trainMs;
          sample(s);
        }
        if (status.trainMs - lastSave >= SAVE_EVERY_MS) {
          lastSave = status.trainMs;
          saveToBrowser(s).catch((e) => showError('Could not save the checkpoint in this browser', e));
        }
      },
    });
    trainedMsBefore = base + result.elapsedMs;
    show(`Trained ${result.steps} steps (${(result.elapsedMs / 1000).toFixed(0)} s); validation loss ${fmt(result.valLoss)} nats/char.`);
  } catch (e) {
    showError('Training failed', e);
  }
  try {
    await saveToBrowser(s);
  } catch (e) {
    showError('Could not save the checkpoint in this browser', e);
  }
  setPhase('idle');
}

// Text and chart updates at most every UPDATE_MS (on an animation frame): a step comes every few
// tens of ms, and repainting on each one would cost the CPU the worker trains with.
let updateQueued = false;
let lastUpdate = 0;
function scheduleStats() {
  if (updateQueued) return;
  updateQueued = true;
  const wait = Math.max(0, UPDATE_MS - (performance.now() - lastUpdate));
  setTimeout(() => requestAnimationFrame(updateStats), wait);
}

function updateStats() {
  updateQueued = false;
  lastUpdate = performance.now();
  const p = status.progress;
  if (p === null) return; // a model opened since: restoreHistory wrote the stats
  ui.stats.textContent =
    `step ${p.step} · epoch ${p.epoch.toFixed(2)} · loss ${fmt(p.smoothLoss)} · validation ${fmt(p.valLoss)} nats/char · ` +
    `${integer.format(p.tokensPerSec)} tokens/s · ${(status.trainMs / 1000).toFixed(0)} s`;
  if (status.model) status.model.step = p.step;
  ui.checkpointLabel.textContent = describeModel();
  chart.draw();
}

/**
 * A short sample from the weights as they are now (the worker snapshots them; training goes on).
 * It is shown whole when done: one change to the page instead of one per character.
 */
async function sample(s) {
  const step = s.step;
  let text = '';
  try {
    for await (const piece of s.generate('\n', { length: 160, temperature: 0.8, seed: step })) text += piece;
    status.samples++;
    status.firstSampleMs ??= status.trainMs;
  } catch (e) {
    if (s !== session) return;
    text += ` [${e.name}: ${e.message}]`;
  }
  const li = document.createElement('li');
  const label = document.createElement('b');
  label.textContent = `step ${step}: `;
  li.append(label, text);
  ui.samples.prepend(li);
  while (ui.samples.children.length > SAMPLES_KEPT) ui.samples.lastChild.remove();
}

// ---- generating --------------------------------------------------------------------------------

async function generate() {
  if (session === null) return;
  generation?.abort();
  const controller = new AbortController();
  generation = controller;
  // namedItem, not elements[name]: a form's `length` is its number of controls.
  const field = (name) => ui.generateForm.elements.namedItem(name);
  const num = (name) => Number(field(name).value);
  const prime = field('prime').value;
  const out = ui.output;
  out.textContent = prime;
  out.dataset.state = 'streaming';
  const node = document.createTextNode('');
  out.append(node);
  status.generating = true;
  try {
    const options = { length: num('length'), temperature: num('temperature'), topK: num('topK'), topP: num('topP'), seed: num('seed'), signal: controller.signal };
    for await (const piece of session.generate(prime, options)) node.appendData(piece);
    if (generation === controller) out.dataset.state = 'done';
  } catch (e) {
    out.dataset.state = 'error';
    showError('Could not generate', e);
  } finally {
    if (generation === controller) {
      generation = null;
      status.generating = false;
    }
  }
}

// ---- text and checkpoint files -----------------------------------------------------------------

function useText(t) {
  text = t;
  status.text = { key: t.key, label: t.label, bytes: t.bytes.length };
  ui.textLabel.textContent = t.label;
  setPhase(status.phase === 'starting' ? 'starting' : status.phase);
}

async function chooseTextFiles(files) {
  try {
    useText(await readTextFiles(files));
    hideChoice();
    show(sessionIsPretrained
      ? `Text: ${text.label}. Fine-tune on this text adapts the pretrained model to it; Train a new model starts from nothing.`
      : `Text: ${text.label}. Train continues the current model on it if it was trained on it; Train a new model starts over.`);
  } catch (e) {
    showError('Could not use that text', e);
  }
}

async function usePretrained() {
  const s = await openPretrained();
  if (s === null) return;
  show(`The pretrained model is ready: Generate from it, or choose your text and Fine-tune on it.${status.stored ? ` Your model saved in this browser (step ${status.stored.step}) stays saved: a reload opens it.` : ''}`);
}

async function uploadCheckpoint(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const s = await replaceSession({ checkpoint: bytes }, null, `Could not open ${file.name}`);
  if (s === null) return;
  restoreHistory(bytes, s);
  show(`Opened ${file.name} (step ${s.step}). Generate from it, or Train to continue it on the text it was trained on.`);
  try {
    await saveToBrowser(s);
  } catch (e) {
    showError('Could not save the checkpoint in this browser', e);
  }
}

/** Downloads the checkpoint: the float32 training checkpoint, or with `dtype` the model quantized (smaller, generation only). */
async function download(dtype) {
  const s = session;
  if (s === null) return;
  try {
    const bytes = await s.checkpoint(dtype ? { dtype } : {});
    const { cell, hiddenSize } = s.info.settings;
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `lstm-wasm-${cell}${hiddenSize}-step${s.step}${dtype ? `-${dtype}` : ''}.safetensors`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    showError('Could not download the checkpoint', e);
  }
}

// ---- wiring ------------------------------------------------------------------------------------

ui.settings.elements.preset.addEventListener('change', () => {
  const preset = PRESETS[ui.settings.elements.preset.value];
  if (preset) writeSettings(ui.settings, preset);
});
ui.settings.addEventListener('input', (e) => {
  if (e.target.name !== 'preset') ui.settings.elements.preset.value = 'custom';
});
ui.train.addEventListener('click', () => train());
ui.newModel.addEventListener('click', () => train({ fresh: true }));
ui.choiceNew.addEventListener('click', () => train({ fresh: true }));
ui.choiceKeep.addEventListener('click', () => keepTrainingOnOwnText());
ui.choiceFineTune.addEventListener('click', () => fineTuneOnThisText());
ui.pause.addEventListener('click', async () => {
  if (status.phase === 'paused') {
    await session.resume();
    setPhase('training');
  } else {
    setPhase('paused');
    await session.pause();
  }
});
ui.stop.addEventListener('click', async () => {
  setPhase('stopping');
  await session.stop();
});
ui.generate.addEventListener('click', () => generate());
ui.download.addEventListener('click', () => download());
ui.downloadInt8.addEventListener('click', () => download('int8'));
ui.usePretrained.addEventListener('click', () => usePretrained());
ui.upload.addEventListener('change', () => {
  const [file] = ui.upload.files;
  ui.upload.value = '';
  if (file) uploadCheckpoint(file);
});
ui.textFiles.addEventListener('change', () => {
  const files = [...ui.textFiles.files];
  ui.textFiles.value = '';
  if (files.length > 0) chooseTextFiles(files);
});
ui.useCorpus.addEventListener('click', () => startCorpus());
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  const files = [...e.dataTransfer.files];
  const checkpoint = files.find((f) => f.name.endsWith('.safetensors'));
  if (checkpoint) {
    if (status.phase === 'idle') uploadCheckpoint(checkpoint);
  } else if (files.length > 0) chooseTextFiles(files);
});

async function startCorpus() {
  try {
    useText(await loadBundledCorpus());
  } catch (e) {
    showError('Could not load the bundled corpus', e);
  }
}

function fmt(v) {
  return v === null || v === undefined ? '-' : v.toFixed(3);
}

async function start() {
  writeSettings(ui.settings, PRESETS.small);
  chart.draw();
  const corpus = startCorpus();
  let stored = null;
  try {
    stored = await loadCheckpoint();
  } catch (e) {
    showError('Could not read the checkpoint stored in this browser', e);
  }
  let opened = null;
  if (stored !== null) {
    status.stored = { step: stored.step, savedAt: stored.savedAt };
    opened = await replaceSession({ checkpoint: stored.bytes }, stored.textKey, 'Could not open the checkpoint stored in this browser', stored.textLabel ?? null);
    if (opened !== null) {
      restoreHistory(stored.bytes, opened);
      show(`Opened the model saved in this browser (step ${opened.step}), with its loss history. Train continues it; Generate samples from it; Pretrained model goes back to the package's.`);
    }
  }
  if (opened === null && session === null && (await openPretrained()) !== null) {
    show('The pretrained model is ready: Generate from it now. To make it yours, choose your text (or drop it here) and Fine-tune on it, or Train a new model.');
  }
  await corpus;
  setPhase('idle');
}

start();
