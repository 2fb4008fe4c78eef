/**
 * Samples while training: each starts from the first words of a held-out line (chosen by the
 * step), shown in brackets, `[And the LORD said] unto Moses...`, so that they show how the model
 * continues real text.
 */
import { Generator } from '../random';
import { sampleText, type LanguageModel } from '../lm/language-model';
import type { Tokenizer } from '../text/tokenizer';
import type { LMTrainer } from '../training/trainer';
import { mark, type Mark } from './progress';

const TEMPERATURE = 0.8;
export const SAMPLE_NOTE = `[held-out prime] then the model's text, temperature ${TEMPERATURE}`;

export class Samples {
  /** When the last sample was shown. */
  last: Mark;

  /** Primes come from `primeSource` (the held-out ids); `seed` + the step seeds each sample. */
  constructor(
    private readonly model: LanguageModel,
    private readonly tokenizer: Tokenizer,
    private readonly trainer: LMTrainer,
    private readonly primeSource: Int32Array,
    private readonly options: { seed: number; length: number },
  ) {
    this.last = mark(trainer.step);
  }

  /** `[prime] continuation`, indented. */
  text(): string {
    const seed = this.options.seed + this.trainer.step;
    const prime = pickPrime(this.primeSource, this.tokenizer, seed);
    const continuation = sampleText(this.model, this.tokenizer, prime, { length: this.options.length, temperature: TEMPERATURE, seed });
    return indent((prime.length > 0 ? `[${prime}]${continuation}` : continuation.trimStart()).trimEnd());
  }

  /** A sample under a heading with the step and the latest validation loss (and its step, if older). */
  show(): string {
    const trainer = this.trainer;
    const v = trainer.valHistory[trainer.valHistory.length - 1];
    const val = v === undefined ? 'no validation yet' : `val ${v.valLoss.toFixed(3)}${v.step !== trainer.step ? ` at step ${v.step}` : ''}`;
    const shown = `--- sample at step ${trainer.step} (${val}): ${SAMPLE_NOTE} ---\n${this.text()}\n---`;
    this.last = mark(trainer.step);
    return shown;
  }
}

/** The first words (about 16 characters, or 3 words) of a line of `ids`, chosen by `seed`. */
function pickPrime(ids: Int32Array, tokenizer: Tokenizer, seed: number): string {
  const newline = tokenizer.idOf(tokenizer.level === 'word' ? '<eos>' : '\n');
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
