/**
 * Inference across cores, with a copy of the model in each of `threads - 1` replica workers:
 * - `score`: `scoreTokens` (a model's mean loss on a text) with its lanes split across this
 *   thread and the replicas. The lanes are independent, so the result is `scoreTokens`'s up to the
 *   order the per-lane sums are added in.
 * - `sampleTexts`: several samples at once, one per thread at a time; each is the text
 *   `sampleText` gives for the same prime and options (seeded: the same text).
 */
import { ValueError } from '../errors';
import { checkOptions, optionKeys } from '../options';
import { primeIds, specialIds, type GenerateOptions, type LanguageModel } from '../text/language-model';
import type { Tokenizer } from '../text/tokenizer';
import { scoreLanes, scoredLayout, type ScoreResult } from '../text/evaluate';
import { laneRanges } from './lanes';
import { ReplicaPool } from './pool';

const SAMPLE_KEYS = optionKeys<Omit<GenerateOptions, 'generator' | 'onToken'>>({ length: true, temperature: true, topK: true, topP: true, seed: true, suppress: true });

export class ParallelInference {
  private pool: ReplicaPool | null;
  private ready: Promise<void>;

  /** Copies `model` into `threads - 1` replica workers; score with `score`, then `dispose`. */
  constructor(private readonly model: LanguageModel, readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new ValueError(`ParallelInference: threads must be an integer >= 1, got ${threads}`);
    this.pool = threads > 1 ? new ReplicaPool(threads - 1, 0) : null;
    this.ready = this.pool === null ? Promise.resolve() : this.pool.setup({
      config: { ...model.config }, training: false, params: model.parameters().map((p) => p.toArray() as Float32Array),
      optimizer: null, clip: 0, valIds: null,
    });
    this.ready.catch(() => undefined);
  }

  /** `scoreTokens(model, ids, batchSize, seqLen, maxWindows)`, lanes split across the threads. */
  async score(ids: Int32Array, batchSize: number, seqLen: number, maxWindows = 0): Promise<ScoreResult> {
    if (ids.length < 2) throw new ValueError(`ParallelInference.score: ids has ${ids.length} token(s), need at least 2`);
    await this.ready;
    const { T, B, tokens } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
    const ranges = laneRanges(B, Math.min(this.threads, B));
    const pool = this.pool;
    const pending = Promise.allSettled(ranges.slice(1).map((lanes, i) => pool!.score(i + 1, { ids, batchSize, seqLen, maxWindows, lanes })));
    let own: number;
    try {
      own = scoreLanes(this.model, ids, batchSize, seqLen, maxWindows, ranges[0]).lossSum;
    } finally {
      await pending;
    }
    const results = await pending;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const total = results.reduce((a, r) => a + (r as PromiseFulfilledResult<{ lossSum: number }>).value.lossSum, own);
    return { loss: total / tokens, tokens, batchSize: B, seqLen: T };
  }

  /**
   * The continuations of several primes, as `sampleText(model, tokenizer, prime, options)` gives
   * each, computed on the threads side by side (request i on thread i mod threads). Options are
   * data only (`length`, `temperature`, `topK`, `topP`, `seed`, `suppress`): no generator or callback.
   */
  async sampleTexts(tokenizer: Tokenizer, requests: { prime: string; options?: Omit<GenerateOptions, 'generator' | 'onToken'> }[]): Promise<string[]> {
    await this.ready;
    const args = requests.map(({ prime, options = {} }) => {
      checkOptions('ParallelInference.sampleTexts', options, SAMPLE_KEYS);
      return { prime: primeIds(tokenizer, prime), options: { suppress: specialIds(tokenizer), ...options } };
    });
    const ids: Promise<Int32Array>[] = [];
    // Replicas' requests first, so they run while this thread samples its own.
    const own: number[] = [];
    args.forEach((a, i) => {
      const r = i % this.threads;
      if (r === 0) own.push(i);
      ids[i] = r === 0 ? Promise.resolve(new Int32Array(0)) : this.pool!.sample(r, a);
    });
    for (const i of own) ids[i] = Promise.resolve(Int32Array.from(this.model.sample(args[i].prime, args[i].options)));
    const results = await Promise.allSettled(ids);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return results.map((r, i) => {
      const prime = args[i].prime;
      let prev: number | null = prime[prime.length - 1];
      let out = '';
      for (const id of (r as PromiseFulfilledResult<Int32Array>).value) {
        out += tokenizer.decodeNext(id, prev);
        prev = id;
      }
      return out;
    });
  }

  /** Ends the replica workers. */
  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.dispose();
  }
}
