/** `lstm-wasm train [file...]`: train a language model, with live progress, samples and checkpoints. */
import { Generator, manualSeed } from '../random';
import { LanguageModel, type LanguageModelConfig } from '../text/language-model';
import { buildTokenizer, type Tokenizer } from '../text/tokenizer';
import { LMBatcher, trainValSplit } from '../text/batcher';
import { LMTrainer, type RunResult, type TrainProgress } from '../text/trainer';
import { scoreTokens } from '../text/evaluate';
import { encodeCheckpoint, modelFromCheckpoint, restoreTrainer, type DecodedCheckpoint } from '../text/checkpoint';
import { parseDuration, type Every } from './args';
import { choice, command, defaults, duration, every, int, num, parseFlags, text, type FlagValues } from './flags';
import { CliError, UsageError } from './errors';
import { CORPUS_LABEL, checkWritablePath, fingerprint, readCheckpoint, readCorpus, readTextFile, sameFileAs, writeFileAtomic } from './files';
import { ProgressView, due, formatDuration, formatRate, logLine, mark } from './progress';
import { SAMPLE_NOTE, Samples } from './samples';
import { asciiPlot } from './plot';

const DEFAULT_OUT = 'checkpoints/lm.safetensors';
const DEFAULT_TIME = '4m';
const SAMPLE_LENGTH = { char: 240, word: 60 };

const MODEL = 'Model and data (fixed once training starts; --resume takes them from the checkpoint)';
const HOW_LONG = `How long (the first limit reached stops; default --time ${DEFAULT_TIME})`;
const OUTPUT = 'Output';

export const TRAIN = command({
  name: 'train',
  usage: '[options] [file...]',
  about: `Trains a language model (Embedding -> LSTM/GRU -> Linear) on text files, or with no file on the
bundled corpus (the King James Bible, 4.2 MB). Prints progress, samples as it learns (each starts
from a [prime] of held-out text), and at the end a summary with a plot of the loss. Ctrl-C stops
cleanly and saves a checkpoint.`,
  positionals: true,
  flags: {
    level: choice(['char', 'word'] as const, { section: MODEL, help: 'tokens: characters or words', default: 'char' }),
    model: choice(['lstm', 'gru'] as const, { section: MODEL, help: 'recurrent cell', default: 'lstm' }),
    embed: int({ section: MODEL, help: 'embedding size', default: 32, max: 4096 }),
    hidden: int({ section: MODEL, help: 'hidden size; 256-512 for longer runs', default: 128, max: 8192 }),
    layers: int({ section: MODEL, help: 'stacked recurrent layers', default: 1, max: 16 }),
    dropout: num({ section: MODEL, arg: '<p>', help: 'dropout between layers and before the output, 0..0.9', default: 0, min: 0, max: 0.9 }),
    'max-vocab': int({ section: MODEL, help: 'word level: keep the n most frequent words', default: 10000, min: 5, max: 1_000_000 }),
    seq: int({ section: MODEL, help: 'window length T for truncated BPTT', default: 64, max: 100_000 }),
    batch: int({ section: MODEL, help: 'parallel lanes B', default: 32, max: 100_000 }),
    lr: num({ section: MODEL, help: 'Adam learning rate', default: 3e-3, min: 0, max: 10, minExclusive: true }),
    clip: num({ section: MODEL, help: 'max gradient norm, 0 = off', default: 1, min: 0 }),
    'val-split': num({ section: MODEL, arg: '<f>', help: 'fraction of the text held out for validation', default: 0.05, min: 0, max: 0.5, maxExclusive: true }),
    seed: int({ section: MODEL, help: 'seed for initialization, dropout and samples', default: 1, min: 0, max: 2 ** 32 - 1 }),
    steps: int({ section: HOW_LONG, help: 'optimizer steps in this run' }),
    epochs: num({ section: HOW_LONG, help: 'passes over the training text in this run', min: 0, minExclusive: true }),
    time: duration({ section: HOW_LONG, help: 'wall time for this run: 90s, 4m, 1h' }),
    out: text({ section: OUTPUT, arg: '<file>', help: `checkpoint to write (default ${DEFAULT_OUT}; with --resume, the resumed file)` }),
    resume: text({ section: OUTPUT, arg: '<file>', help: 'continue training from a checkpoint, exactly where it stopped' }),
    'eval-every': every({
      section: OUTPUT, default: { steps: 0, ms: 30_000 },
      help: "validate every n steps or every duration, on the first 16 windows of the held-out text (a quick estimate); the summary at the end scores all of it, as 'lstm-wasm eval' does",
    }),
    'sample-every': every({ section: OUTPUT, help: 'print a sample every n steps or every duration, 0 = off', default: { steps: 0, ms: 60_000 } }),
    'save-every': every({ section: OUTPUT, help: 'also save the checkpoint every n steps or duration', default: { steps: 0, ms: 60_000 } }),
    'sample-length': int({
      section: OUTPUT, max: 100_000,
      help: `length of the samples, in tokens (default ${SAMPLE_LENGTH.char} chars / ${SAMPLE_LENGTH.word} words)`,
    }),
  },
});

/** What a training run is defined by: saved in the checkpoint, checked on resume. */
const SETTINGS = ['level', 'model', 'embed', 'hidden', 'layers', 'dropout', 'max-vocab', 'seq', 'batch', 'lr', 'clip', 'val-split', 'seed'] as const;
type Settings = Pick<FlagValues<typeof TRAIN.flags>, (typeof SETTINGS)[number]>;

/** The run the command line asks for, checked before anything is read or written. */
interface Plan {
  settings: Settings;
  files: string[];
  /** The checkpoint to continue from (null for a new model). */
  resumed: { path: string; checkpoint: DecodedCheckpoint } | null;
  steps?: number;
  epochs?: number;
  timeMs?: number;
  evalEvery: Every;
  sampleEvery: Every;
  saveEvery: Every;
  sampleLength: number;
  out: string;
}

/** The training text, its tokens and the batchers over them. */
interface Data {
  /** What the checkpoint records of the text, to refuse resuming on other text. */
  record: { sources: string[]; fingerprint: string; chars: number };
  tokenizer: Tokenizer;
  ids: Int32Array;
  split: { train: Int32Array; val: Int32Array };
  train: LMBatcher;
  val: LMBatcher | null;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const plan = planRun(argv);
  const data = readData(plan);
  const { model, trainer } = buildOrResume(plan, data);
  const save = (): void => writeFileAtomic(plan.out, encodeCheckpoint(model, data.tokenizer, trainer, { settings: plan.settings, data: data.record }));
  printSetup(plan, data, model, trainer);
  const primeSource = data.split.val.length > 0 ? data.split.val : data.split.train;
  const samples = new Samples(model, data.tokenizer, trainer, primeSource, { seed: plan.settings.seed, length: plan.sampleLength });
  const result = await trainWithProgress(plan, trainer, samples, save);
  save();
  printSummary(plan, data, model, trainer, result);
  if (result.stoppedBy !== 'signal' && plan.sampleEvery.steps + plan.sampleEvery.ms > 0 && samples.last.step !== trainer.step) {
    print(`--- final sample: ${SAMPLE_NOTE} ---\n${samples.text()}\n---`);
  }
  trainer.dispose();
  model.dispose();
  if (result.stoppedBy === 'signal') {
    print(`interrupted at step ${trainer.step}; checkpoint saved. Resume with: npx lstm-wasm train --resume ${plan.out}`);
    return 130;
  }
  return 0;
}

/**
 * Reads the flags and, with --resume, the checkpoint: its settings are the defaults, and a flag
 * that contradicts one is an error. Checks that --out can be written and is no input text.
 */
function planRun(argv: string[]): Plan {
  const { values: f, given, positionals: files } = parseFlags(TRAIN, argv);
  const resumed = f.resume !== undefined ? { path: f.resume, checkpoint: readCheckpoint(f.resume) } : null;
  const settings = pick(f, SETTINGS);
  if (resumed !== null) {
    const base = checkpointSettings(resumed.checkpoint, resumed.path);
    for (const key of SETTINGS) {
      if (!given.has(key)) (settings as Record<string, unknown>)[key] = base[key];
      else if (settings[key] !== base[key]) {
        throw new CliError(`--${key} ${settings[key]} does not match the checkpoint ${resumed.path} (trained with --${key} ${base[key]}); drop the flag to resume with the checkpoint's settings`);
      }
    }
  }
  const noLimit = f.steps === undefined && f.epochs === undefined && f.time === undefined;
  const out = f.out ?? f.resume ?? DEFAULT_OUT;
  if (out.trim() === '') throw new UsageError('--out must be a file path');
  const clash = sameFileAs(out, files);
  if (clash !== undefined) throw new UsageError(`--out ${out} is the training text ${clash}; the checkpoint would overwrite it: choose another --out`);
  checkWritablePath(out, '--out');
  return {
    settings, files, resumed, out,
    steps: f.steps, epochs: f.epochs, timeMs: noLimit ? parseDuration(DEFAULT_TIME)! : f.time,
    evalEvery: f['eval-every'], sampleEvery: f['sample-every'], saveEvery: f['save-every'],
    sampleLength: f['sample-length'] ?? SAMPLE_LENGTH[settings.level],
  };
}

/** Reads and checks every text file (or the bundled corpus), tokenizes it and cuts the batches. */
function readData(plan: Plan): Data {
  const { settings: s, files, resumed } = plan;
  const text = files.length > 0 ? files.map(readTextFile).join('\n') : readCorpus();
  const record = { sources: files.length > 0 ? files : [CORPUS_LABEL], fingerprint: fingerprint(text), chars: text.length };
  if (resumed !== null) {
    const was = resumed.checkpoint.meta.extra.data as Data['record'] | undefined;
    if (was !== undefined && was.fingerprint !== record.fingerprint) {
      throw new CliError(`checkpoint ${resumed.path} was trained on other text (${was.sources.join(', ')}); pass the same file(s) to resume`);
    }
  }
  const tokenizer = resumed !== null ? resumed.checkpoint.tokenizer : buildTokenizer(s.level, text, { maxSize: s['max-vocab'] });
  const ids = tokenizer.encode(text);
  const split = trainValSplit(ids, s['val-split']);
  try {
    const train = new LMBatcher(split.train, s.batch, s.seq, 'training text');
    // Validation uses as many lanes as fit (at most --batch) so that a small held-out tail still works.
    const valBatch = Math.max(1, Math.min(s.batch, Math.floor((split.val.length - 1) / s.seq)));
    const val = split.val.length - 1 >= s.seq ? new LMBatcher(split.val, valBatch, s.seq, 'validation text') : null;
    return { record, tokenizer, ids, split, train, val };
  } catch (e) {
    throw new CliError(`${(e as Error).message}: use a longer text or smaller --batch/--seq`);
  }
}

/** A new model and trainer, or both as the checkpoint left them. */
function buildOrResume(plan: Plan, data: Data): { model: LanguageModel; trainer: LMTrainer } {
  const { settings: s, resumed } = plan;
  manualSeed(s.seed);
  const config: LanguageModelConfig = {
    vocabSize: data.tokenizer.size, cell: s.model, embedDim: s.embed, hiddenSize: s.hidden, numLayers: s.layers, dropout: s.dropout,
  };
  // Initialization draws from the global generator (seeded above, as torch.manual_seed would);
  // dropout from a stream of the run's own, which the checkpoint carries.
  const generator = new Generator(s.seed);
  if (resumed === null) {
    const model = new LanguageModel(config, { generator });
    return { model, trainer: new LMTrainer(model, data.train, data.val, { lr: s.lr, clip: s.clip, generator }) };
  }
  const model = modelFromCheckpoint(resumed.checkpoint);
  const c = model.config;
  if (c.vocabSize !== config.vocabSize || c.cell !== config.cell || c.embedDim !== config.embedDim || c.hiddenSize !== config.hiddenSize || c.numLayers !== config.numLayers) {
    throw new CliError(`checkpoint ${resumed.path}: its model config does not match its recorded settings (corrupt checkpoint?)`);
  }
  const trainer = new LMTrainer(model, data.train, data.val, { lr: s.lr, clip: s.clip, generator });
  try {
    restoreTrainer(trainer, resumed.checkpoint); // the generator continues where it stopped
  } catch (e) {
    throw new CliError(`checkpoint ${resumed.path}: ${(e as Error).message}`);
  }
  return { model, trainer };
}

function printSetup(plan: Plan, data: Data, model: LanguageModel, trainer: LMTrainer): void {
  const s = plan.settings;
  const split = data.split;
  const n = (x: number): string => x.toLocaleString('en-US');
  const nParams = model.parameters().reduce((a, t) => a + t.size, 0);
  print(`lstm-wasm train: ${data.record.sources.join(', ')}`);
  print(
    `  ${n(data.record.chars)} chars -> ${n(data.ids.length)} ${s.level} tokens, vocabulary ${data.tokenizer.size}; ` +
      `train ${n(split.train.length)}, validation ${n(split.val.length)}`,
  );
  print(
    `  model: ${s.model.toUpperCase()} embed ${s.embed}, hidden ${s.hidden} x ${s.layers} layer${s.layers > 1 ? 's' : ''}, dropout ${s.dropout}; ` +
      `${n(nParams)} parameters`,
  );
  const limits = [
    plan.steps !== undefined ? `${plan.steps} steps` : null,
    plan.epochs !== undefined ? `${plan.epochs} epochs` : null,
    plan.timeMs !== undefined ? formatDuration(plan.timeMs) : null,
  ].filter((x) => x !== null).join(' or ');
  print(
    `  batch ${s.batch} x seq ${s.seq} (${data.train.tokensPerBatch} tokens/step, ${data.train.windowsPerEpoch} steps/epoch), Adam lr ${s.lr}, clip ${s.clip}, seed ${s.seed}; ` +
      `${plan.resumed !== null ? `resuming at step ${trainer.step}; ` : ''}running for ${limits}`,
  );
  if (data.val !== null) {
    const quick = trainer.evalTokenCount();
    const all = trainer.evalTokenCount(0);
    print(
      quick < all
        ? `  validation: the first ${n(quick)} of the ${n(all)} held-out tokens as it goes (a quick estimate), all of them at the end`
        : `  validation: all ${n(all)} held-out tokens`,
    );
  }
  print(`  checkpoint: ${plan.out}`);
  print();
}

/**
 * Runs the trainer with a live view: log lines, samples and saves when due. Ctrl-C (or SIGTERM)
 * stops after the current step; a second one quits at once without saving.
 */
async function trainWithProgress(plan: Plan, trainer: LMTrainer, samples: Samples, save: () => void): Promise<RunResult> {
  const view = new ProgressView(process.stdout);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write('\nlstm-wasm: interrupted again; exiting without saving\n');
      process.exit(130);
    }
    view.print('\ninterrupted: finishing this step, then saving the checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  let lastSave = mark(trainer.step);
  let lastLog = mark(trainer.step);
  const onProgress = (pr: TrainProgress): void => {
    view.update(pr);
    // Without validation data there is no validation event: log on the --eval-every schedule.
    if (pr.evaluated || (trainer.val === null && due(plan.evalEvery, lastLog, pr.step))) {
      view.print(logLine(pr));
      lastLog = mark(pr.step);
    }
    const finished = pr.fraction !== null && pr.fraction >= 1;
    if (due(plan.sampleEvery, samples.last, pr.step) && !controller.signal.aborted && !finished) {
      view.print(samples.show());
    }
    if (due(plan.saveEvery, lastSave, pr.step)) {
      save();
      lastSave = mark(pr.step);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const { steps, epochs, timeMs, evalEvery } = plan;
    return await trainer.run({
      steps, epochs, timeMs, signal: controller.signal, onProgress,
      evalEvery: evalEvery.steps, evalEveryMs: evalEvery.ms > 0 ? evalEvery.ms : Infinity,
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    view.done();
  }
}

/** Speed, losses (the validation loss on every held-out token, as `eval` gives it), how to go on, and the loss plot. */
function printSummary(plan: Plan, data: Data, model: LanguageModel, trainer: LMTrainer, result: RunResult): void {
  const { settings: s, out } = plan;
  const tokPerSec = result.elapsedMs > 0 ? (result.tokens * 1000) / result.elapsedMs : 0;
  const why = { steps: 'step limit', epochs: 'epoch limit', time: 'time limit', signal: 'interrupted' }[result.stoppedBy];
  print();
  print(`=== done (${why}): ${result.steps} steps in ${formatDuration(result.elapsedMs)}, step ${trainer.step} in total ===`);
  print(`  ${result.tokens.toLocaleString('en-US')} tokens, ${formatRate(tokPerSec)} tokens/s overall (${result.steps > 0 ? (result.elapsedMs / result.steps).toFixed(0) : '-'} ms/step incl. validation)`);
  const recent = trainer.losses.slice(-50);
  const trainLoss = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
  // The same lanes as `lstm-wasm eval` with the checkpoint's --batch and --seq.
  const full = data.val !== null ? scoreTokens(model, data.split.val, s.batch, s.seq) : null;
  const unit = s.level === 'char' ? 'char' : 'word';
  print(
    `  train loss ${trainLoss.toFixed(3)} (last ${recent.length} steps)` +
      (full !== null
        ? `, validation loss ${full.loss.toFixed(3)} (perplexity ${Math.exp(full.loss).toFixed(2)}, ${(full.loss / Math.LN2).toFixed(3)} bits/${unit}) on all ${full.tokens.toLocaleString('en-US')} held-out tokens`
        : ''),
  );
  if (trainer.valHistory.length > 0) {
    print(`  validation estimate over training time: ${trainer.valHistory.map((v) => `${formatDuration(v.elapsedMs)} ${v.valLoss.toFixed(3)}`).join(', ')}`);
  }
  print(`  checkpoint: ${out}`);
  print(`    continue: npx lstm-wasm train --resume ${out}`);
  print(`    sample:   npx lstm-wasm generate --checkpoint ${out} --prime "And "`);
  print(`    evaluate: npx lstm-wasm eval --checkpoint ${out}${plan.files.length > 0 ? ` <held-out text>` : ''}`);
  print();
  const losses = trainer.losses.map((l, i): [number, number] => [i + 1, l]);
  const val = trainer.valHistory.map((v): [number, number] => [v.step, v.valLoss]);
  print(asciiPlot(
    [{ points: losses, mark: '.', label: 'training loss' }, { points: val, mark: 'o', label: 'validation loss' }],
    { width: 64, height: 14, xLabel: 'step' },
  ));
  print();
}

/** The settings recorded in a checkpoint (a CliError if it was not written by `train`). */
function checkpointSettings(ck: DecodedCheckpoint, path: string): Settings {
  const settings = ck.meta.extra?.settings as Partial<Settings> | undefined;
  if (ck.meta.trainer === null || settings === undefined) {
    throw new CliError(`checkpoint ${path}: has no training state to resume (it holds weights only)`);
  }
  const merged = { ...pick(defaults(TRAIN.flags), SETTINGS), ...settings };
  const c = ck.meta.model;
  merged.level = ck.tokenizer.level;
  merged.model = c.cell;
  merged.embed = c.embedDim;
  merged.hidden = c.hiddenSize;
  merged.layers = c.numLayers;
  merged.dropout = c.dropout;
  return merged;
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = from[k];
  return out;
}

function print(line = ''): void {
  process.stdout.write(line + '\n');
}
