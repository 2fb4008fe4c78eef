/** `lstm-wasm generate`: stream text from a checkpoint to stdout. */
import { generateText, primeIds } from '../lm/language-model';
import { modelFromCheckpoint } from '../training/checkpoint';
import { countUnknown, type Tokenizer } from '../text/tokenizer';
import { command, int, num, parseFlags, text } from './flags';
import { modelCheckpoint } from './files';

export const GENERATE = command({
  name: 'generate',
  usage: '[--checkpoint <file>] [options]',
  about: 'Streams text sampled from a trained model to stdout: the prime, then its continuation.',
  positionals: false,
  flags: {
    checkpoint: text({ arg: '<file>', help: "a checkpoint written by 'lstm-wasm train' (default: the package's pretrained model, also 'pretrained')" }),
    prime: text({ help: 'text to start from (default: a new line)' }),
    length: int({ help: 'tokens to generate', default: 500, min: 0 }),
    temperature: num({ arg: '<t>', help: 'sampling temperature, 0 = greedy', default: 0.8, min: 0, max: 100 }),
    'top-k': int({ arg: '<k>', help: 'sample only from the k likeliest tokens, 0 = all', default: 0, min: 0 }),
    'top-p': num({ arg: '<p>', help: 'nucleus sampling: the likeliest tokens up to probability p', default: 1, min: 0, max: 1, minExclusive: true }),
    seed: int({ help: 'seed for sampling (default: random); the same seed gives the same text', min: 0, max: 2 ** 32 - 1 }),
  },
});

export async function generateCommand(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(GENERATE, argv);
  const ck = modelCheckpoint(f.checkpoint).checkpoint;
  const model = modelFromCheckpoint(ck);
  const tokenizer = ck.tokenizer;
  const prime = f.prime ?? '';
  const primeTokens = primeIds(tokenizer, prime);
  noteUnknownTokens(tokenizer, prime, primeTokens);
  process.stdout.write(prime);
  const options = { length: f.length, temperature: f.temperature, topK: f['top-k'], topP: f['top-p'], seed: f.seed };
  for await (const piece of generateText(model, tokenizer, prime, options)) {
    process.stdout.write(piece);
  }
  process.stdout.write('\n');
  model.dispose();
  return 0;
}

/** Says on stderr how many tokens of a (non-empty) prime the vocabulary lacks: they are read as <unk>. */
export function noteUnknownTokens(tokenizer: Tokenizer, prime: string, ids: Int32Array): void {
  const unknown = prime.length > 0 ? countUnknown(tokenizer, ids) : 0;
  if (unknown > 0) process.stderr.write(`lstm-wasm: note: ${unknown} token(s) of the prime are not in the vocabulary (read as <unk>)\n`);
}
