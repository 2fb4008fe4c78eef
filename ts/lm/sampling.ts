/** Picking the next token from logits: temperature, top-k and nucleus (top-p) sampling. */
import type { Generator } from '../random';
import { ValueError } from '../errors';
import { checkOptions, optionKeys } from '../options';

export interface SamplingOptions {
  /** Divides the logits; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
  /** Token ids never to produce (e.g. `<unk>`, `<pad>`). */
  suppress?: readonly number[];
}

export const SAMPLING_KEYS = optionKeys<SamplingOptions>({ temperature: true, topK: true, topP: true, suppress: true });

export function checkSamplingOptions(name: string, o: SamplingOptions): void {
  if (o.temperature !== undefined && !(typeof o.temperature === 'number' && o.temperature >= 0 && Number.isFinite(o.temperature))) {
    throw new ValueError(`${name}: temperature must be a finite number >= 0, got ${o.temperature}`);
  }
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw new ValueError(`${name}: topK must be an integer >= 0, got ${o.topK}`);
  if (o.topP !== undefined && !(typeof o.topP === 'number' && o.topP > 0 && o.topP <= 1)) throw new ValueError(`${name}: topP must be in (0, 1], got ${o.topP}`);
  if (o.suppress !== undefined) {
    if (!Array.isArray(o.suppress) && !ArrayBuffer.isView(o.suppress)) {
      throw new ValueError(`${name}: suppress must be an array of token ids, got ${typeof o.suppress === 'string' ? `the string '${o.suppress}'` : typeof o.suppress}`);
    }
    const bad = Array.from(o.suppress as ArrayLike<unknown>).findIndex((id) => !(Number.isInteger(id) && (id as number) >= 0));
    if (bad >= 0) throw new ValueError(`${name}: suppress[${bad}] must be a token id (an integer >= 0), got ${String((o.suppress as ArrayLike<unknown>)[bad])}`);
  }
}

/** Draws one index from `logits` (V numbers) with the options above and `generator`'s stream. */
export function sampleFromLogits(logits: ArrayLike<number>, options: SamplingOptions, generator: Generator): number {
  checkOptions('sampleFromLogits', options, SAMPLING_KEYS);
  options ??= {};
  const V = logits.length;
  const temperature = options.temperature ?? 1;
  const banned = options.suppress !== undefined && options.suppress.length > 0 ? new Set(options.suppress) : null;
  const allowed = (i: number): boolean => banned === null || !banned.has(i);
  if (temperature === 0) {
    let best = -1;
    for (let i = 0; i < V; i++) if (allowed(i) && (best < 0 || logits[i] > logits[best])) best = i;
    if (best < 0) throw new ValueError('sampleFromLogits: every token is suppressed');
    return best;
  }
  // Candidates in descending order of logit (ties: lower id first, so the draw is deterministic).
  let order = Array.from({ length: V }, (_, i) => i).filter(allowed).sort((a, b) => logits[b] - logits[a] || a - b);
  if (order.length === 0) throw new ValueError('sampleFromLogits: every token is suppressed');
  const k = options.topK ?? 0;
  if (k > 0 && k < V) order = order.slice(0, k);
  const max = logits[order[0]];
  const weights = order.map((i) => Math.exp((logits[i] - max) / temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  const p = options.topP ?? 1;
  if (p < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < weights.length && acc < p * total) acc += weights[keep++];
    order = order.slice(0, Math.max(1, keep));
    weights.length = order.length;
    total = weights.reduce((a, b) => a + b, 0);
  }
  let r = generator.uniform() * total;
  for (let j = 0; j < order.length; j++) {
    r -= weights[j];
    if (r < 0) return order[j];
  }
  return order[order.length - 1];
}
