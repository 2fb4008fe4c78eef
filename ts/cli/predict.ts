/** `lstm-wasm predict`: the k likeliest next tokens after a text, with their probabilities. */
import { feedPrime, primeIds } from '../lm/language-model';
import { modelFromCheckpoint } from '../training/checkpoint';
import type { Tokenizer } from '../text/tokenizer';
import { command, int, parseFlags, text } from './flags';
import { UsageError } from './errors';
import { modelCheckpoint } from './files';
import { noteUnknownTokens } from './generate';

export const PREDICT = command({
  name: 'predict',
  usage: '[--checkpoint <file>] [--prime <text>] [options]',
  about: `Feeds the prime to a trained model and prints the k likeliest next tokens with their
probabilities (the model's softmax after the prime's last token, no sampling): "This is an ___".
Char tokens are quoted ('\\n' a line break, '␠' a space); at word level <eos> ends a line.`,
  // Positionals are accepted only to refuse them with a hint: the text is --prime, as in generate.
  positionals: true,
  flags: {
    checkpoint: text({ arg: '<file>', help: "a checkpoint written by 'lstm-wasm train' (default: the package's pretrained model, also 'pretrained')" }),
    prime: text({ help: 'the text whose next token to predict (default: a new line, as generate starts)' }),
    'top-k': int({ arg: '<k>', help: 'how many tokens to list, at most the vocabulary size', default: 10, min: 1 }),
  },
});

export async function predictCommand(argv: string[]): Promise<number> {
  const { values: f, given, positionals } = parseFlags(PREDICT, argv);
  if (positionals.length > 0) {
    const hint = positionals.join(' ').replace(/"/g, '\\"');
    throw new UsageError(`predict takes its text as --prime, as generate does: lstm-wasm predict --prime "${hint}" ... (see: lstm-wasm predict --help)`);
  }
  const { path, checkpoint: ck } = modelCheckpoint(f.checkpoint);
  const tokenizer = ck.tokenizer;
  const V = tokenizer.size;
  if (f['top-k'] > V) {
    if (given.has('top-k')) throw new UsageError(`--top-k must be at most the vocabulary size (${V}) of ${path}, got ${f['top-k']}`);
    f['top-k'] = V;
  }
  const prime = f.prime ?? '';
  let ids = primeIds(tokenizer, prime);
  // A prime with no tokens (blank text at word level) starts where an empty one does.
  const fromStart = prime.length === 0 || ids.length === 0;
  if (ids.length === 0) ids = primeIds(tokenizer, '');
  noteUnknownTokens(tokenizer, prime, ids);

  const model = modelFromCheckpoint(ck);
  const stepper = model.stepper();
  let logits: Float32Array; // (V): after the prime's last token
  try {
    logits = feedPrime(stepper, ids, V);
  } finally {
    stepper.dispose();
    model.dispose();
  }
  const probs = softmax(logits);
  const top = Array.from({ length: V }, (_, i) => i)
    .sort((a, b) => probs[b] - probs[a] || a - b)
    .slice(0, f['top-k']);

  const shown = top.map((id) => showToken(tokenizer, id));
  const width = Math.max(5, ...shown.map((s) => [...s].length));
  const unit = tokenizer.level;
  const lines = [
    `${fromStart ? `from the start of a text (${showToken(tokenizer, ids[0])})` : `after ${ids.length} ${unit} token${ids.length === 1 ? '' : 's'}`}: the ${top.length} likeliest next of ${V}`,
    `rank  ${'token'.padEnd(width)}  probability`,
    ...top.map((id, r) => `${String(r + 1).padStart(4)}  ${padEndChars(shown[r], width)}  ${(probs[id] * 100).toFixed(2).padStart(10)}%`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** Softmax of one row of logits, in float64 (the shown probabilities add up to at most 1). */
function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** A word token as the word; a char token quoted, with line breaks, tabs and control characters escaped and a space as '␠'. */
export function showToken(tokenizer: Tokenizer, id: number): string {
  const t = tokenizer.vocab[id];
  if (tokenizer.level === 'word') return t;
  if (id === tokenizer.unkId) return '<unk>';
  const escaped = [...t]
    .map((ch) => {
      if (ch === ' ') return '␠';
      if (ch === '\n') return '\\n';
      if (ch === '\r') return '\\r';
      if (ch === '\t') return '\\t';
      if (ch === '\\' || ch === "'") return `\\${ch}`;
      const code = ch.codePointAt(0)!;
      return code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
    })
    .join('');
  return `'${escaped}'`;
}

function padEndChars(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - [...s].length));
}
