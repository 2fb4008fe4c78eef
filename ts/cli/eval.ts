/** `lstm-wasm eval`: loss and perplexity of a checkpoint on a text. */
import { trainValSplit } from '../text/batcher';
import { countUnknown } from '../text/tokenizer';
import { modelFromCheckpoint } from '../training/checkpoint';
import { ParallelInference } from '../parallel/inference';
import { availableCores, defaultThreads, storedSettings } from '../training/setup';
import { DEFAULT_TRAINING_SETTINGS } from '../training/settings';
import { command, int, parseFlags, text } from './flags';
import { noteThreadsAboveCores } from './args';
import { CliError, UsageError } from './errors';
import { CORPUS_LABEL, modelCheckpoint, readCorpus, readTextFile } from './files';
import { formatDuration, formatRate } from './progress';

export const EVAL = command({
  name: 'eval',
  usage: '[--checkpoint <file>] [options] [file]',
  about: `Prints the model's loss (mean cross-entropy per token), perplexity and bits per token on a text:
the given file, or without one the validation part of the bundled corpus (the held-out tail
that 'train' never trains on, as its --val-split says). Every token but the first is scored;
on the held-out tail with the default flags the loss is the one 'train' reports at the end.`,
  positionals: true,
  flags: {
    checkpoint: text({ arg: '<file>', help: "a checkpoint written by 'lstm-wasm train' (default: the package's pretrained model, also 'pretrained')" }),
    batch: int({ help: "parallel lanes, each read from a zero state (default: the checkpoint's --batch, as 'train' validates; fewer for a short text)" }),
    seq: int({ help: "window length (default: the checkpoint's --seq)" }),
    'max-tokens': int({ help: 'evaluate at most the first n tokens (default: all)', min: 2 }),
    threads: int({ help: 'split the lanes across this many threads (default: the cores available, at most the lanes)', max: 1024 }),
  },
});

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: f, positionals } = parseFlags(EVAL, argv);
  if (positionals.length > 1) throw new UsageError(`eval takes one text file, got ${positionals.length}`);
  const file = positionals[0];
  const text = file !== undefined ? readTextFile(file) : null;
  const ck = modelCheckpoint(f.checkpoint).checkpoint;
  const stored = storedSettings(ck);
  const batch = f.batch ?? stored.batchSize;
  const seq = f.seq ?? stored.seqLen;
  const tokenizer = ck.tokenizer;
  let ids: Int32Array;
  let label: string;
  if (text !== null) {
    ids = tokenizer.encode(text);
    label = file!;
  } else {
    const valSplit = stored.valSplit > 0 ? stored.valSplit : DEFAULT_TRAINING_SETTINGS.valSplit;
    ids = trainValSplit(tokenizer.encode(readCorpus()), valSplit).val;
    label = `${CORPUS_LABEL}, validation tail`;
  }
  if (f['max-tokens'] !== undefined && ids.length > f['max-tokens']) ids = ids.subarray(0, f['max-tokens']);
  if (ids.length < 2) throw new CliError(`${label}: has ${ids.length} token(s); need at least 2 to evaluate`);
  const model = modelFromCheckpoint(ck);
  const t0 = performance.now();
  noteThreadsAboveCores(f.threads, availableCores());
  const scorer = new ParallelInference(model, f.threads ?? defaultThreads(batch));
  const { loss, tokens: scored, batchSize, seqLen } = await scorer.score(ids, batch, seq).finally(() => scorer.dispose());
  const ms = performance.now() - t0;
  const unk = countUnknown(tokenizer, ids);
  const unit = tokenizer.level;
  process.stdout.write(
    `${label}: ${scored.toLocaleString('en-US')} ${unit} tokens scored (all ${ids.length.toLocaleString('en-US')} but the first; ${batchSize} lanes, seq ${seqLen})` +
      `${unk > 0 ? `, ${unk} not in the vocabulary` : ''}, ${formatRate((scored * 1000) / ms)} tokens/s, ${formatDuration(ms)}\n` +
      `loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(3)}  bits/${unit} ${(loss / Math.LN2).toFixed(4)}\n`,
  );
  model.dispose();
  return 0;
}
