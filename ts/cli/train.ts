/** `lstm-wasm train [file...]`: train a language model, with live progress, samples and checkpoints. */
import type { LanguageModel } from '../lm/language-model';
import type { LMTrainer, RunResult, TrainProgress } from '../training/trainer';
import { encodeCheckpoint, type DecodedCheckpoint } from '../training/checkpoint';
import {
  FINE_TUNE_LR, checkpointExtra, createTraining, fineTuneSettings, fineTuneTraining, prepareTrainingData, resumeTraining, settingsFromCheckpoint,
  defaultThreads, availableCores, type TrainingData,
} from '../training/setup';
import { SETTINGS, SETTING_NAMES, type TrainingSettings } from '../training/settings';
import { countUnknown } from '../text/tokenizer';
import { FormatError, SettingError, ValueError } from '../errors';
import { sharedMemoryAvailable } from '../parallel/pool';
import { noteThreadsAboveCores, parseDuration, type Every } from './args';
import { command, duration, every, int, num, parseFlags, settingFlags, text } from './flags';
import { CliError, UsageError } from './errors';
import { CORPUS_LABEL, checkWritablePath, modelCheckpoint, readCheckpoint, readCorpus, readTextFile, sameFileAs, writeFileAtomic } from './files';
import { ProgressView, due, formatDuration, formatRate, logLine, mark } from './progress';
import { SAMPLE_NOTE, Samples } from './samples';
import { asciiPlot } from './plot';
import { kernelsLine } from './kernels';

const DEFAULT_OUT = 'checkpoints/lm.safetensors';
const DEFAULT_TIME = '4m';
const SAMPLE_LENGTH = { char: 240, word: 60, byte: 240 };

const MODEL = 'Model and data (fixed once training starts; --resume takes them from the checkpoint)';
const HOW_LONG = `How long (the first limit reached stops; default --time ${DEFAULT_TIME})`;
const OUTPUT = 'Output';
const SPEED = 'Speed';

export const TRAIN = command({
  name: 'train',
  usage: '[options] [file...]',
  about: `Trains a language model (Embedding -> LSTM/GRU -> Linear) on text files, or with no file on the
bundled corpus (the King James Bible, 4.2 MB). Prints progress, samples as it learns (each starts
from a [prime] of held-out text), and at the end a summary with a plot of the loss. Ctrl-C stops
cleanly and saves a checkpoint.`,
  positionals: true,
  flags: {
    ...settingFlags(SETTINGS, MODEL),
    steps: int({ section: HOW_LONG, help: 'optimizer steps in this run' }),
    epochs: num({ section: HOW_LONG, help: 'passes over the training text in this run', min: 0, minExclusive: true }),
    time: duration({ section: HOW_LONG, help: 'wall time for this run: 90s, 4m, 1h' }),
    out: text({ section: OUTPUT, arg: '<file>', help: `checkpoint to write (default ${DEFAULT_OUT}; with --resume, the resumed file)` }),
    resume: text({ section: OUTPUT, arg: '<file>', help: 'continue training from a checkpoint, exactly where it stopped' }),
    from: text({
      section: MODEL, arg: '<file|pretrained>',
      help: `fine-tune a trained model on the text: a checkpoint (float32 or quantized), or 'pretrained' (the package's byte-level model); a new optimizer, --lr ${FINE_TUNE_LR} unless given, its model shape and tokenizer`,
    }),
    'eval-every': every({
      section: OUTPUT, default: { steps: 0, ms: 30_000 },
      help: "validate every n steps or every duration, on the first 16 windows of the held-out text (a quick estimate); the summary at the end scores all of it, as 'lstm-wasm eval' does",
    }),
    'sample-every': every({ section: OUTPUT, help: 'print a sample every n steps or every duration, 0 = off', default: { steps: 0, ms: 60_000 } }),
    'save-every': every({ section: OUTPUT, help: 'also save the checkpoint every n steps or duration', default: { steps: 0, ms: 60_000 } }),
    threads: int({
      section: SPEED, max: 1024,
      help: 'data-parallel threads: the batch lanes are split across this many workers (default: the cores available, at most --batch)',
    }),
    'sample-length': int({
      section: OUTPUT, max: 100_000,
      help: `length of the samples, in tokens (default ${SAMPLE_LENGTH.char} chars / ${SAMPLE_LENGTH.word} words)`,
    }),
  },
});

/** The run the command line asks for, checked before anything is read or written. */
interface Plan {
  /** What the run is defined by (the settings' flags): saved in the checkpoint, checked on resume. */
  settings: TrainingSettings;
  files: string[];
  /** The checkpoint to continue from (null for a new model). */
  resumed: { path: string; checkpoint: DecodedCheckpoint } | null;
  /** The trained model to fine-tune (null for a new model). */
  from: { path: string; checkpoint: DecodedCheckpoint } | null;
  steps?: number;
  epochs?: number;
  timeMs?: number;
  evalEvery: Every;
  sampleEvery: Every;
  saveEvery: Every;
  sampleLength: number;
  out: string;
  threads: number;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const plan = planRun(argv);
  const data = readData(plan);
  const { model, trainer } = buildOrResume(plan, data);
  const save = (): void => writeFileAtomic(plan.out, encodeCheckpoint(model, data.tokenizer, trainer, checkpointExtra(plan.settings, data.record)));
  printSetup(plan, data, model, trainer);
  const primeSource = data.split.val.length > 0 ? data.split.val : data.split.train;
  const samples = new Samples(model, data.tokenizer, trainer, primeSource, { seed: plan.settings.seed, length: plan.sampleLength });
  const { result, interruptedBy } = await trainWithProgress(plan, trainer, samples, save);
  save();
  await printSummary(plan, data, model, trainer, result);
  if (result.stoppedBy !== 'signal' && plan.sampleEvery.steps + plan.sampleEvery.ms > 0 && samples.last.step !== trainer.step) {
    print(`--- final sample: ${SAMPLE_NOTE} ---\n${samples.text()}\n---`);
  }
  trainer.dispose();
  model.dispose();
  if (result.stoppedBy === 'signal') {
    print(`interrupted at step ${trainer.step}; checkpoint saved. Resume with: npx lstm-wasm train --resume ${plan.out}`);
    return exitCodeOf(interruptedBy ?? 'SIGINT');
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
  const flagValue = (k: keyof TrainingSettings): unknown => (f as Record<string, unknown>)[SETTINGS[k].flag];
  const settings = Object.fromEntries(SETTING_NAMES.map((k) => [k, flagValue(k)])) as unknown as TrainingSettings;
  if (f.from !== undefined && resumed !== null) throw new UsageError('--from starts a new run from a trained model and --resume continues a run: give one of them');
  const from = f.from !== undefined ? modelCheckpoint(f.from) : null;
  if (from !== null) {
    // The model fixes its shape and tokens; the rest (batch, window, clipping, seed) are this run's, lr a fine-tuning one unless given.
    const flagged = Object.fromEntries(SETTING_NAMES.filter((k) => given.has(SETTINGS[k].flag as keyof typeof f & string)).map((k) => [k, settings[k]]));
    try {
      Object.assign(settings, fineTuneSettings(from.checkpoint, flagged));
    } catch (e) {
      if (e instanceof SettingError) throw new CliError(`checkpoint ${from.path}: ${e.messageNaming((s) => `--${SETTINGS[s as keyof TrainingSettings].flag}`)}`);
      throw e;
    }
  }
  if (resumed !== null) {
    let base: TrainingSettings;
    try {
      base = settingsFromCheckpoint(resumed.checkpoint);
    } catch (e) {
      throw new CliError(`checkpoint ${resumed.path}: ${(e as Error).message.replace(/^the checkpoint /, '')}`);
    }
    for (const key of SETTING_NAMES) {
      const flag = SETTINGS[key].flag;
      if (!given.has(flag as keyof typeof f & string)) (settings as unknown as Record<string, unknown>)[key] = base[key];
      else if (settings[key] !== base[key]) {
        throw new CliError(`--${flag} ${settings[key]} does not match the checkpoint ${resumed.path} (trained with --${flag} ${base[key]}); drop the flag to resume with the checkpoint's settings`);
      }
    }
  }
  const noLimit = f.steps === undefined && f.epochs === undefined && f.time === undefined;
  const out = f.out ?? f.resume ?? DEFAULT_OUT;
  if (out.trim() === '') throw new UsageError('--out must be a file path');
  const clash = sameFileAs(out, files);
  if (clash !== undefined) throw new UsageError(`--out ${out} is the training text ${clash}; the checkpoint would overwrite it: choose another --out`);
  checkWritablePath(out, '--out');
  noteThreadsAboveCores(f.threads, availableCores());
  return {
    settings, files, resumed, from, out,
    steps: f.steps, epochs: f.epochs, timeMs: noLimit ? parseDuration(DEFAULT_TIME)! : f.time,
    evalEvery: f['eval-every'], sampleEvery: f['sample-every'], saveEvery: f['save-every'],
    sampleLength: f['sample-length'] ?? SAMPLE_LENGTH[settings.level],
    threads: f.threads ?? defaultThreads(settings.batchSize),
  };
}

/** Reads and checks every text file (or the bundled corpus), tokenizes it and cuts the batches. */
function readData(plan: Plan): TrainingData {
  const { settings, files, resumed } = plan;
  const text = files.length > 0 ? files.map(readTextFile).join('\n') : readCorpus();
  try {
    return prepareTrainingData(text, settings, files.length > 0 ? files : [CORPUS_LABEL], (resumed ?? plan.from)?.checkpoint.tokenizer ?? null);
  } catch (e) {
    if (e instanceof SettingError) throw new CliError(e.messageNaming((s) => `--${SETTINGS[s as keyof TrainingSettings].flag}`));
    if (e instanceof ValueError) throw new CliError(e.message);
    throw e;
  }
}

/** A new model and trainer, or both as the checkpoint left them. */
function buildOrResume(plan: Plan, data: TrainingData): { model: LanguageModel; trainer: LMTrainer } {
  const { settings, resumed } = plan;
  if (plan.threads > settings.batchSize) throw new UsageError(`--threads ${plan.threads} is more than --batch ${settings.batchSize}: each thread needs a lane`);
  if (plan.from !== null) {
    try {
      return fineTuneTraining(settings, data, plan.from.checkpoint, plan.threads);
    } catch (e) {
      if (e instanceof FormatError) throw new CliError(`checkpoint ${plan.from.path}: ${e.message}`);
      throw e;
    }
  }
  if (resumed === null) return createTraining(settings, data, plan.threads);
  try {
    return resumeTraining(settings, data, resumed.checkpoint, plan.threads);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    const hint = /other text/.test(e.message) ? '; pass the same file(s) to resume' : '';
    throw new CliError(`checkpoint ${resumed.path}: ${e.message.replace(/^the checkpoint /, '').replace(/; resume on the same text$/, '')}${hint}`);
  }
}

function printSetup(plan: Plan, data: TrainingData, model: LanguageModel, trainer: LMTrainer): void {
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
    `  model: ${s.cell.toUpperCase()} embed ${s.embedDim}, hidden ${s.hiddenSize} x ${s.numLayers} layer${s.numLayers > 1 ? 's' : ''}, dropout ${s.dropout}; ` +
      `${n(nParams)} parameters`,
  );
  const limits = [
    plan.steps !== undefined ? `${plan.steps} steps` : null,
    plan.epochs !== undefined ? `${plan.epochs} epochs` : null,
    plan.timeMs !== undefined ? formatDuration(plan.timeMs) : null,
  ].filter((x) => x !== null).join(' or ');
  print(
    `  batch ${s.batchSize} x seq ${s.seqLen} (${data.train.tokensPerBatch} tokens/step, ${data.train.windowsPerEpoch} steps/epoch), Adam lr ${s.lr}, clip ${s.clip}, seed ${s.seed}; ` +
      `${plan.resumed !== null ? `resuming at step ${trainer.step}; ` : ''}running for ${limits}`,
  );
  if (plan.from !== null) {
    const unknown = countUnknown(data.tokenizer, data.ids);
    print(
      `  fine-tuning ${plan.from.path}${plan.from.checkpoint.meta.quantization !== undefined ? ` (${plan.from.checkpoint.meta.quantization}, dequantized to float32)` : ''} with a new optimizer` +
        (unknown > 0 ? `; ${n(unknown)} ${s.level} tokens of the text are not in its vocabulary (<unk>)` : ''),
    );
  }
  const lanes = Math.floor(s.batchSize / plan.threads);
  print(
    plan.threads > 1
      ? `  threads: ${plan.threads} (data-parallel: ${lanes}${s.batchSize % plan.threads > 0 ? `-${lanes + 1}` : ''} lanes each; ${sharedMemoryAvailable() ? 'gradients in shared memory' : 'gradients as transferred buffers'})`
      : '  threads: 1',
  );
  print(`  kernels: ${kernelsLine()}`);
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

/** The shell's convention for a process ended by a signal: 128 + its number (SIGINT 2: 130, SIGTERM 15: 143). */
function exitCodeOf(signal: 'SIGINT' | 'SIGTERM'): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/**
 * Runs the trainer with a live view: log lines, samples and saves when due. Ctrl-C (or SIGTERM)
 * stops after the current step; a second one quits at once without saving. Says which signal
 * stopped the run (the exit code follows it).
 */
async function trainWithProgress(
  plan: Plan, trainer: LMTrainer, samples: Samples, save: () => void,
): Promise<{ result: RunResult; interruptedBy: 'SIGINT' | 'SIGTERM' | null }> {
  const view = new ProgressView(process.stdout);
  const controller = new AbortController();
  let interruptedBy: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interruptedBy !== null) {
      process.stderr.write('\nlstm-wasm: interrupted again; exiting without saving\n');
      process.exit(exitCodeOf(signal));
    }
    interruptedBy = signal;
    view.print(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated (SIGTERM)'}: finishing this step, then saving the checkpoint (${signal === 'SIGINT' ? 'Ctrl-C again to quit at once' : 'a second SIGTERM or Ctrl-C quits at once'})`);
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { steps, epochs, timeMs, evalEvery } = plan;
    const result = await trainer.run({
      steps, epochs, timeMs, signal: controller.signal, onProgress,
      evalEvery: evalEvery.steps, evalEveryMs: evalEvery.ms > 0 ? evalEvery.ms : Infinity,
    });
    return { result, interruptedBy };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    view.done();
  }
}

/** Speed, losses (the validation loss on every held-out token, as `eval` gives it), how to go on, and the loss plot. */
async function printSummary(plan: Plan, data: TrainingData, model: LanguageModel, trainer: LMTrainer, result: RunResult): Promise<void> {
  const { settings: s, out } = plan;
  const tokPerSec = result.elapsedMs > 0 ? (result.tokens * 1000) / result.elapsedMs : 0;
  const why = { steps: 'step limit', epochs: 'epoch limit', time: 'time limit', signal: 'interrupted' }[result.stoppedBy];
  print();
  print(`=== done (${why}): ${result.steps} steps in ${formatDuration(result.elapsedMs)}, step ${trainer.step} in total ===`);
  print(`  ${result.tokens.toLocaleString('en-US')} tokens, ${formatRate(tokPerSec)} tokens/s overall (${result.steps > 0 ? (result.elapsedMs / result.steps).toFixed(0) : '-'} ms/step incl. validation)`);
  const recent = trainer.losses.slice(-50);
  const trainLoss = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
  // The same lanes as `lstm-wasm eval` with the checkpoint's --batch and --seq, on the trainer's threads (its replicas hold the model).
  const full = await trainer.validate({ batchSize: s.batchSize, seqLen: s.seqLen, maxWindows: 0 });
  const unit = s.level;
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

function print(line = ''): void {
  process.stdout.write(line + '\n');
}
