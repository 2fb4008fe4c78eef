/** `lstm-wasm train [file...]`: train a language model, with live progress, samples and checkpoints. */
import { manualSeed, Generator } from '../random';
import { LanguageModel, sampleText, type CellType, type LanguageModelConfig } from '../text/language-model';
import { buildTokenizer, type Tokenizer, type TokenizerLevel } from '../text/tokenizer';
import { LMBatcher, trainValSplit } from '../text/batcher';
import { LMTrainer, type TrainProgress } from '../text/trainer';
import { scoreTokens } from '../text/evaluate';
import { encodeCheckpoint, modelFromCheckpoint, restoreTrainer, type DecodedCheckpoint } from '../text/checkpoint';
import { parse, int, num, choice, duration, every, str, type Options, type Every } from './args';
import { CliError, UsageError } from './errors';
import { CORPUS_LABEL, checkWritablePath, fingerprint, readCheckpoint, readCorpus, readTextFile, sameFileAs, writeFileAtomic } from './files';
import { ProgressView, formatDuration, formatRate, logLine } from './progress';
import { asciiPlot } from './plot';

export const TRAIN_HELP = `Usage: lstm-wasm train [options] [file...]

Trains a language model (Embedding -> LSTM/GRU -> Linear) on text files, or with no file on the
bundled corpus (the King James Bible, 4.2 MB). Prints progress, samples as it learns (each starts
from a [prime] of held-out text), and at the end a summary with a plot of the loss. Ctrl-C stops
cleanly and saves a checkpoint.

Model and data (fixed once training starts; --resume takes them from the checkpoint):
  --level char|word      tokens: characters or words (default char)
  --model lstm|gru       recurrent cell (default lstm)
  --embed <n>            embedding size (default 32)
  --hidden <n>           hidden size (default 128; 256-512 for longer runs)
  --layers <n>           stacked recurrent layers (default 1)
  --dropout <p>          dropout between layers and before the output, 0..0.9 (default 0)
  --max-vocab <n>        word level: keep the n most frequent words (default 10000)
  --seq <n>              window length T for truncated BPTT (default 64)
  --batch <n>            parallel lanes B (default 32)
  --lr <x>               Adam learning rate (default 0.003)
  --clip <x>             max gradient norm, 0 = off (default 1)
  --val-split <f>        fraction of the text held out for validation (default 0.05)
  --seed <n>             seed for initialization, dropout and samples (default 1)

How long (the first limit reached stops; default --time 4m):
  --steps <n>            optimizer steps in this run
  --epochs <x>           passes over the training text in this run
  --time <dur>           wall time for this run: 90s, 4m, 1h

Output:
  --out <file>           checkpoint to write (default checkpoints/lm.safetensors; with --resume,
                         the resumed file)
  --resume <file>        continue training from a checkpoint, exactly where it stopped
  --eval-every <n|dur>   validate every n steps or every duration (default 30s), on the first 16
                         windows of the held-out text (a quick estimate); the summary at the end
                         scores all of it, as 'lstm-wasm eval' does
  --sample-every <n|dur> print a sample every n steps or every duration, 0 = off (default 1m)
  --save-every <n|dur>   also save the checkpoint every n steps or duration (default 1m)
  --sample-length <n>    length of the samples, in tokens (default 240 chars / 60 words)
  -h, --help             this help
`;

const OPTIONS: Options = {
  level: { type: 'string' }, model: { type: 'string' }, embed: { type: 'string' }, hidden: { type: 'string' },
  layers: { type: 'string' }, dropout: { type: 'string' }, 'max-vocab': { type: 'string' }, seq: { type: 'string' },
  batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' }, 'val-split': { type: 'string' },
  seed: { type: 'string' }, steps: { type: 'string' }, epochs: { type: 'string' }, time: { type: 'string' },
  out: { type: 'string' }, resume: { type: 'string' }, 'eval-every': { type: 'string' }, 'sample-every': { type: 'string' },
  'save-every': { type: 'string' }, 'sample-length': { type: 'string' },
};

/** What a training run is defined by: saved in the checkpoint, checked on resume. */
interface Settings {
  level: TokenizerLevel;
  model: CellType;
  embed: number;
  hidden: number;
  layers: number;
  dropout: number;
  'max-vocab': number;
  seq: number;
  batch: number;
  lr: number;
  clip: number;
  'val-split': number;
  seed: number;
}

const DEFAULTS: Settings = {
  level: 'char', model: 'lstm', embed: 32, hidden: 128, layers: 1, dropout: 0, 'max-vocab': 10000,
  seq: 64, batch: 32, lr: 3e-3, clip: 1, 'val-split': 0.05, seed: 1,
};
const DEFAULT_TIME_MS = 4 * 60_000;
const DEFAULT_OUT = 'checkpoints/lm.safetensors';

export async function trainCommand(argv: string[]): Promise<number> {
  const p = parse('train', argv, OPTIONS, true);
  if (p.values.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const resumePath = str(p, 'resume');
  const resumed: DecodedCheckpoint | null = resumePath !== undefined ? readCheckpoint(resumePath) : null;
  const base: Settings = resumed !== null ? checkpointSettings(resumed, resumePath!) : DEFAULTS;
  const s: Settings = {
    level: choice(p, 'level', ['char', 'word'] as const, base.level),
    model: choice(p, 'model', ['lstm', 'gru'] as const, base.model),
    embed: int(p, 'embed', base.embed, 1, 4096),
    hidden: int(p, 'hidden', base.hidden, 1, 8192),
    layers: int(p, 'layers', base.layers, 1, 16),
    dropout: num(p, 'dropout', base.dropout, 0, 0.9),
    'max-vocab': int(p, 'max-vocab', base['max-vocab'], 5, 1_000_000),
    seq: int(p, 'seq', base.seq, 1, 100_000),
    batch: int(p, 'batch', base.batch, 1, 100_000),
    lr: num(p, 'lr', base.lr, 0, 10, true),
    clip: num(p, 'clip', base.clip, 0),
    'val-split': num(p, 'val-split', base['val-split'], 0, 0.5, false, true),
    seed: int(p, 'seed', base.seed, 0, 2 ** 32 - 1),
  };
  if (resumed !== null) {
    for (const key of Object.keys(s) as (keyof Settings)[]) {
      if (p.given.has(key) && s[key] !== base[key]) {
        throw new CliError(`--${key} ${s[key]} does not match the checkpoint ${resumePath} (trained with --${key} ${base[key]}); drop the flag to resume with the checkpoint's settings`);
      }
    }
  }
  const steps = p.given.has('steps') ? int(p, 'steps', 0, 1) : undefined;
  const epochs = p.given.has('epochs') ? num(p, 'epochs', 0, 0, Infinity, true) : undefined;
  let timeMs = duration(p, 'time');
  if (steps === undefined && epochs === undefined && timeMs === undefined) timeMs = DEFAULT_TIME_MS;
  const evalEvery = every(p, 'eval-every', { steps: 0, ms: 30_000 });
  const sampleEvery = every(p, 'sample-every', { steps: 0, ms: 60_000 });
  const saveEvery = every(p, 'save-every', { steps: 0, ms: 60_000 });
  const sampleLength = int(p, 'sample-length', s.level === 'char' ? 240 : 60, 1, 100_000);
  const out = str(p, 'out') ?? resumePath ?? DEFAULT_OUT;
  if (out.trim() === '') throw new UsageError('--out must be a file path');
  const clash = sameFileAs(out, p.positionals);
  if (clash !== undefined) throw new UsageError(`--out ${out} is the training text ${clash}; the checkpoint would overwrite it: choose another --out`);
  checkWritablePath(out, '--out');

  // Data: every file is read and checked before anything is written.
  const files = p.positionals;
  const sources = files.length > 0 ? files : [CORPUS_LABEL];
  const text = files.length > 0 ? files.map(readTextFile).join('\n') : readCorpus();
  const print = (line = ''): void => void process.stdout.write(line + '\n');
  const data = { sources, fingerprint: fingerprint(text), chars: text.length };
  if (resumed !== null) {
    const was = resumed.meta.extra.data as typeof data | undefined;
    if (was !== undefined && was.fingerprint !== data.fingerprint) {
      throw new CliError(`checkpoint ${resumePath} was trained on other text (${was.sources.join(', ')}); pass the same file(s) to resume`);
    }
  }
  const tokenizer: Tokenizer = resumed !== null ? resumed.tokenizer : buildTokenizer(s.level, text, { maxSize: s['max-vocab'] });
  const ids = tokenizer.encode(text);
  const split = trainValSplit(ids, s['val-split']);
  let trainData: LMBatcher;
  let valData: LMBatcher | null = null;
  try {
    trainData = new LMBatcher(split.train, s.batch, s.seq, 'training text');
    if (split.val.length > 0) {
      // Validation uses as many lanes as fit (at most --batch) so that a small held-out tail still works.
      const valBatch = Math.max(1, Math.min(s.batch, Math.floor((split.val.length - 1) / s.seq)));
      if (split.val.length - 1 >= s.seq) valData = new LMBatcher(split.val, valBatch, s.seq, 'validation text');
    }
  } catch (e) {
    throw new CliError(`${(e as Error).message}: use a longer text or smaller --batch/--seq`);
  }

  manualSeed(s.seed);
  const config: LanguageModelConfig = {
    vocabSize: tokenizer.size, cell: s.model, embedDim: s.embed, hiddenSize: s.hidden, numLayers: s.layers, dropout: s.dropout,
  };
  const model = resumed !== null ? modelFromCheckpoint(resumed) : new LanguageModel(config);
  if (resumed !== null) {
    const c = model.config;
    if (c.vocabSize !== config.vocabSize || c.cell !== config.cell || c.embedDim !== config.embedDim || c.hiddenSize !== config.hiddenSize || c.numLayers !== config.numLayers) {
      throw new CliError(`checkpoint ${resumePath}: its model config does not match its recorded settings (corrupt checkpoint?)`);
    }
  }
  const trainer = new LMTrainer(model, trainData, valData, { lr: s.lr, clip: s.clip });
  if (resumed !== null) {
    try {
      restoreTrainer(trainer, resumed);
    } catch (e) {
      throw new CliError(`checkpoint ${resumePath}: ${(e as Error).message}`);
    }
  }
  const extra = { settings: s, data };
  const save = (): void => writeFileAtomic(out, encodeCheckpoint(model, tokenizer, trainer, extra));

  const nParams = model.parameters().reduce((a, t) => a + t.size, 0);
  print(`lstm-wasm train: ${sources.join(', ')}`);
  print(
    `  ${text.length.toLocaleString('en-US')} chars -> ${ids.length.toLocaleString('en-US')} ${s.level} tokens, vocabulary ${tokenizer.size}; ` +
      `train ${split.train.length.toLocaleString('en-US')}, validation ${split.val.length.toLocaleString('en-US')}`,
  );
  print(
    `  model: ${s.model.toUpperCase()} embed ${s.embed}, hidden ${s.hidden} x ${s.layers} layer${s.layers > 1 ? 's' : ''}, dropout ${s.dropout}; ` +
      `${nParams.toLocaleString('en-US')} parameters`,
  );
  const limits = [steps !== undefined ? `${steps} steps` : null, epochs !== undefined ? `${epochs} epochs` : null, timeMs !== undefined ? formatDuration(timeMs) : null]
    .filter((x) => x !== null).join(' or ');
  print(
    `  batch ${s.batch} x seq ${s.seq} (${trainData.tokensPerBatch} tokens/step, ${trainData.windowsPerEpoch} steps/epoch), Adam lr ${s.lr}, clip ${s.clip}, seed ${s.seed}; ` +
      `${resumed !== null ? `resuming at step ${trainer.step}; ` : ''}running for ${limits}`,
  );
  if (valData !== null) {
    const quick = trainer.evalTokenCount();
    const all = trainer.evalTokenCount(0);
    print(
      quick < all
        ? `  validation: the first ${quick.toLocaleString('en-US')} of the ${all.toLocaleString('en-US')} held-out tokens as it goes (a quick estimate), all of them at the end`
        : `  validation: all ${all.toLocaleString('en-US')} held-out tokens`,
    );
  }
  print(`  checkpoint: ${out}`);
  print();

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
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let lastSample = { step: trainer.step, ms: performance.now() };
  // Samples start from the first words of a held-out line (chosen by the step), so that they show
  // how the model continues real text.
  const primeSource = split.val.length > 0 ? split.val : split.train;
  // The prime is real text, so it is marked: [prime] continuation.
  const sampleOnce = (): string => {
    const prime = pickPrime(primeSource, tokenizer, s.seed + trainer.step);
    const continuation = sampleText(model, tokenizer, prime, { length: sampleLength, temperature: 0.8, seed: s.seed + trainer.step });
    return indent((prime.length > 0 ? `[${prime}]${continuation}` : continuation.trimStart()).trimEnd());
  };
  const SAMPLE_NOTE = `[held-out prime] then the model's text, temperature 0.8`;
  const showSample = (): void => {
    const v = trainer.valHistory[trainer.valHistory.length - 1];
    const val = v === undefined ? 'no validation yet' : `val ${v.valLoss.toFixed(3)}${v.step !== trainer.step ? ` at step ${v.step}` : ''}`;
    view.print(`--- sample at step ${trainer.step} (${val}): ${SAMPLE_NOTE} ---\n${sampleOnce()}\n---`);
    lastSample = { step: trainer.step, ms: performance.now() };
  };
  const due = (e: Every, lastStep: number, lastMs: number, stepNow: number): boolean =>
    (e.steps > 0 && stepNow - lastStep >= e.steps) || (e.ms > 0 && performance.now() - lastMs >= e.ms);
  let lastSave = { step: trainer.step, ms: performance.now() };
  let lastLog = { step: trainer.step, ms: performance.now() };

  const onProgress = (pr: TrainProgress): void => {
    view.update(pr);
    if (pr.evaluated) {
      view.print(logLine(pr));
      lastLog = { step: pr.step, ms: performance.now() };
    } else if (valData === null && due(evalEvery, lastLog.step, lastLog.ms, pr.step)) {
      view.print(logLine(pr));
      lastLog = { step: pr.step, ms: performance.now() };
    }
    if (due(sampleEvery, lastSample.step, lastSample.ms, pr.step) && !controller.signal.aborted && !(pr.fraction !== null && pr.fraction >= 1)) {
      showSample();
    }
    if (due(saveEvery, lastSave.step, lastSave.ms, pr.step)) {
      save();
      lastSave = { step: pr.step, ms: performance.now() };
    }
  };

  let result;
  try {
    result = await trainer.run({
      steps, epochs, timeMs, signal: controller.signal, onProgress,
      evalEvery: evalEvery.steps, evalEveryMs: evalEvery.ms > 0 ? evalEvery.ms : Infinity,
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  save();
  view.done();

  // Summary.
  const tokPerSec = result.elapsedMs > 0 ? (result.tokens * 1000) / result.elapsedMs : 0;
  const why = { steps: 'step limit', epochs: 'epoch limit', time: 'time limit', signal: 'interrupted' }[result.stoppedBy];
  print();
  print(`=== done (${why}): ${result.steps} steps in ${formatDuration(result.elapsedMs)}, step ${trainer.step} in total ===`);
  print(`  ${result.tokens.toLocaleString('en-US')} tokens, ${formatRate(tokPerSec)} tokens/s overall (${result.steps > 0 ? (result.elapsedMs / result.steps).toFixed(0) : '-'} ms/step incl. validation)`);
  const recent = trainer.losses.slice(-50);
  const trainLoss = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
  // The final validation scores every held-out token, as `lstm-wasm eval` does (same lanes).
  const full = valData !== null ? scoreTokens(model, split.val, s.batch, s.seq) : null;
  const vl = full?.loss ?? null;
  const unit = s.level === 'char' ? 'char' : 'word';
  print(
    `  train loss ${trainLoss.toFixed(3)} (last ${recent.length} steps)` +
      (vl !== null
        ? `, validation loss ${vl.toFixed(3)} (perplexity ${Math.exp(vl).toFixed(2)}, ${(vl / Math.LN2).toFixed(3)} bits/${unit}) on all ${full!.tokens.toLocaleString('en-US')} held-out tokens`
        : ''),
  );
  if (trainer.valHistory.length > 0) {
    print(`  validation estimate over training time: ${trainer.valHistory.map((v) => `${formatDuration(v.elapsedMs)} ${v.valLoss.toFixed(3)}`).join(', ')}`);
  }
  print(`  checkpoint: ${out}`);
  print(`    continue: npx lstm-wasm train --resume ${out}`);
  print(`    sample:   npx lstm-wasm generate --checkpoint ${out} --prime "And "`);
  print(`    evaluate: npx lstm-wasm eval --checkpoint ${out}${files.length > 0 ? ` <held-out text>` : ''}`);
  print();
  const losses = trainer.losses.map((l, i): [number, number] => [i + 1, l]);
  const val = trainer.valHistory.map((v): [number, number] => [v.step, v.valLoss]);
  print(asciiPlot(
    [{ points: losses, mark: '.', label: 'training loss' }, { points: val, mark: 'o', label: 'validation loss' }],
    { width: 64, height: 14, xLabel: 'step' },
  ));
  print();
  if (result.stoppedBy !== 'signal' && sampleEvery.steps + sampleEvery.ms > 0 && lastSample.step !== trainer.step) {
    print(`--- final sample: ${SAMPLE_NOTE} ---\n${sampleOnce()}\n---`);
  }
  trainer.dispose();
  model.dispose();
  if (result.stoppedBy === 'signal') {
    print(`interrupted at step ${trainer.step}; checkpoint saved. Resume with: npx lstm-wasm train --resume ${out}`);
    return 130;
  }
  return 0;
}

/** The settings recorded in a checkpoint (a CliError if it was not written by `train`). */
function checkpointSettings(ck: DecodedCheckpoint, path: string): Settings {
  const settings = ck.meta.extra?.settings as Partial<Settings> | undefined;
  if (ck.meta.trainer === null || settings === undefined) {
    throw new CliError(`checkpoint ${path}: has no training state to resume (it holds weights only)`);
  }
  const merged = { ...DEFAULTS, ...settings };
  const c = ck.meta.model;
  merged.level = ck.tokenizer.level;
  merged.model = c.cell;
  merged.embed = c.embedDim;
  merged.hidden = c.hiddenSize;
  merged.layers = c.numLayers;
  merged.dropout = c.dropout;
  return merged;
}

/** The first words (about 16 characters, or 3 words) of a line of `ids`, chosen by `seed`. */
function pickPrime(ids: Int32Array, tokenizer: Tokenizer, seed: number): string {
  const newline = tokenizer.level === 'char' ? tokenizer.idOf('\n') : tokenizer.idOf('<eos>');
  const space = tokenizer.idOf(' ');
  let at = Math.floor(new Generator(seed).uniform() * ids.length);
  // The start of the next non-empty line (wrapping around).
  for (let n = 0; n < ids.length; n++, at = (at + 1) % ids.length) {
    if (ids[at] === newline && ids[(at + 1) % ids.length] !== newline) break;
  }
  const start = (at + 1) % ids.length;
  const take: number[] = [];
  for (let i = start; i < ids.length && ids[i] !== newline; i++) {
    if (tokenizer.level === 'word' ? take.length >= 3 : take.length >= 16 && ids[i] === space) break;
    take.push(ids[i]);
  }
  return take.length > 0 ? tokenizer.decode(take) : '';
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
