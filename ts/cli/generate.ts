/** `lstm-wasm generate`: stream text from a checkpoint to stdout. */
import { generateText, primeIds } from '../text/language-model';
import { modelFromCheckpoint } from '../text/checkpoint';
import { parse, int, num, str, type Options } from './args';
import { UsageError } from './errors';
import { readCheckpoint } from './files';

export const GENERATE_HELP = `Usage: lstm-wasm generate --checkpoint <file> [options]

Streams text sampled from a trained model to stdout: the prime, then its continuation.

  --checkpoint <file>    a checkpoint written by 'lstm-wasm train' (required)
  --prime <text>         text to start from (default: a new line)
  --length <n>           tokens to generate (default 500)
  --temperature <t>      sampling temperature, 0 = greedy (default 0.8)
  --top-k <k>            sample only from the k likeliest tokens, 0 = all (default 0)
  --top-p <p>            nucleus sampling: the likeliest tokens up to probability p (default 1)
  --seed <n>             seed for sampling (default: random); the same seed gives the same text
  -h, --help             this help
`;

const OPTIONS: Options = {
  checkpoint: { type: 'string' }, prime: { type: 'string' }, length: { type: 'string' }, temperature: { type: 'string' },
  'top-k': { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' },
};

export async function generateCommand(argv: string[]): Promise<number> {
  const p = parse('generate', argv, OPTIONS, false);
  if (p.values.help) {
    process.stdout.write(GENERATE_HELP);
    return 0;
  }
  const path = str(p, 'checkpoint');
  if (path === undefined) throw new UsageError('generate needs --checkpoint <file> (see: lstm-wasm generate --help)');
  const length = int(p, 'length', 500, 0);
  const temperature = num(p, 'temperature', 0.8, 0, 100);
  const topK = int(p, 'top-k', 0, 0);
  const topP = num(p, 'top-p', 1, 0, 1, true);
  const seed = p.given.has('seed') ? int(p, 'seed', 0, 0, 2 ** 32 - 1) : undefined;
  const prime = str(p, 'prime') ?? '';
  const ck = readCheckpoint(path);
  const model = modelFromCheckpoint(ck);
  const tokenizer = ck.tokenizer;
  const primeTokens = primeIds(tokenizer, prime);
  const unknown = prime.length > 0 ? Array.from(primeTokens).filter((id) => id === tokenizer.unkId).length : 0;
  if (unknown > 0) process.stderr.write(`lstm-wasm: note: ${unknown} token(s) of the prime are not in the vocabulary (read as <unk>)\n`);
  process.stdout.write(prime);
  for await (const piece of generateText(model, tokenizer, prime, { length, temperature, topK, topP, seed })) {
    process.stdout.write(piece);
  }
  process.stdout.write('\n');
  model.dispose();
  return 0;
}
