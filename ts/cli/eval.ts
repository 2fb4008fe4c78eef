/** `lstm-wasm eval`: loss and perplexity of a checkpoint on a text. */
import { LMBatcher, trainValSplit } from '../text/batcher';
import { modelFromCheckpoint } from '../text/checkpoint';
import { LMTrainer } from '../text/trainer';
import { parse, int, str, type Options } from './args';
import { CliError, UsageError } from './errors';
import { CORPUS_LABEL, readCheckpoint, readCorpus, readTextFile } from './files';
import { formatDuration, formatRate } from './progress';

export const EVAL_HELP = `Usage: lstm-wasm eval --checkpoint <file> [options] [file]

Prints the model's loss (mean cross-entropy per token), perplexity and bits per token on a text:
the given file, or without one the validation part of the bundled corpus (the held-out tail
that 'train' never trains on, as its --val-split says).

  --checkpoint <file>    a checkpoint written by 'lstm-wasm train' (required)
  --batch <n>            parallel lanes (default 32; fewer for a short text)
  --seq <n>              window length (default 64)
  --max-tokens <n>       evaluate at most the first n tokens (default: all)
  -h, --help             this help
`;

const OPTIONS: Options = {
  checkpoint: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' }, 'max-tokens': { type: 'string' },
};

export async function evalCommand(argv: string[]): Promise<number> {
  const p = parse('eval', argv, OPTIONS, true);
  if (p.values.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  const path = str(p, 'checkpoint');
  if (path === undefined) throw new UsageError('eval needs --checkpoint <file> (see: lstm-wasm eval --help)');
  if (p.positionals.length > 1) throw new UsageError(`eval takes one text file, got ${p.positionals.length}`);
  let batch = int(p, 'batch', 32, 1);
  let seq = int(p, 'seq', 64, 1);
  const maxTokens = p.given.has('max-tokens') ? int(p, 'max-tokens', 0, 2) : Infinity;
  const file = p.positionals[0];
  const text = file !== undefined ? readTextFile(file) : null;
  const ck = readCheckpoint(path);
  const tokenizer = ck.tokenizer;
  let ids: Int32Array;
  let label: string;
  if (text !== null) {
    ids = tokenizer.encode(text);
    label = file!;
  } else {
    const settings = ck.meta.extra?.settings as { 'val-split'?: number } | undefined;
    const valSplit = settings?.['val-split'] ?? 0.05;
    ids = trainValSplit(tokenizer.encode(readCorpus()), valSplit > 0 ? valSplit : 0.05).val;
    label = `${CORPUS_LABEL}, validation tail`;
  }
  if (ids.length > maxTokens) ids = ids.subarray(0, maxTokens);
  if (ids.length < 2) throw new CliError(`${label}: has ${ids.length} token(s); need at least 2 to evaluate`);
  // A short text: fewer lanes, then a shorter window, so that every token but the first is scored once.
  seq = Math.min(seq, ids.length - 1);
  batch = Math.max(1, Math.min(batch, Math.floor((ids.length - 1) / seq)));
  const model = modelFromCheckpoint(ck);
  const data = new LMBatcher(ids, batch, seq);
  const trainer = new LMTrainer(model, data, data);
  const t0 = performance.now();
  const loss = trainer.evaluate(0)!;
  const ms = performance.now() - t0;
  const scored = data.windowsPerEpoch * data.tokensPerBatch;
  const unk = ids.reduce((n, id) => n + (id === tokenizer.unkId ? 1 : 0), 0);
  const unit = tokenizer.level === 'char' ? 'char' : 'word';
  process.stdout.write(
    `${label}: ${scored.toLocaleString('en-US')} ${unit} tokens scored` +
      `${unk > 0 ? ` (${unk} not in the vocabulary)` : ''}, ${formatRate((scored * 1000) / ms)} tokens/s, ${formatDuration(ms)}\n` +
      `loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(3)}  bits/${unit} ${(loss / Math.LN2).toFixed(4)}\n`,
  );
  trainer.dispose();
  model.dispose();
  return 0;
}
