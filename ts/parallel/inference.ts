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
import { ReplicaPool, allReplies } from './pool';

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
    return scoreAcross(this.model, this.pool, ids, { batchSize, seqLen, maxWindows, replicasHold: false });
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
    // Replicas' requests first, so they run while this thread samples its own (request i on thread i mod threads).
    const replies = args.map((a, i) => (i % this.threads === 0 ? null : this.pool!.sample(i % this.threads, a)));
    const ids = args.map((a, i) => replies[i] ?? Promise.resolve(Int32Array.from(this.model.sample(a.prime, a.options))));
    return (await allReplies(ids)).map((sampled, i) => {
      const prime = args[i].prime;
      let prev: number | null = prime[prime.length - 1];
      let out = '';
      for (const id of sampled) {
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

/**
 * `scoreTokens` of `model` on `ids` with the layout's lanes split in contiguous ranges: this
 * thread scores the first, replica r of `pool` (null: none) the r-th, and the sums are added in
 * that order. `replicasHold`: the replicas were set up with `ids` as their validation text
 * (a trainer's), so they are not sent again.
 */
export async function scoreAcross(
  model: LanguageModel, pool: ReplicaPool | null, ids: Int32Array,
  o: { batchSize: number; seqLen: number; maxWindows: number; replicasHold: boolean },
): Promise<ScoreResult> {
  const { batchSize, seqLen, maxWindows } = o;
  const { T, B, tokens } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
  const ranges = laneRanges(B, Math.min(1 + (pool?.size ?? 0), B));
  const replies = allReplies(ranges.slice(1).map((lanes, i) => pool!.score(i + 1, { ids: o.replicasHold ? null : ids, batchSize, seqLen, maxWindows, lanes })));
  let own: number;
  try {
    own = scoreLanes(model, ids, batchSize, seqLen, maxWindows, ranges[0]).lossSum;
  } catch (e) {
    await replies.catch(() => undefined);
    throw e;
  }
  const total = (await replies).reduce((a, r) => a + r.lossSum, own);
  return { loss: total / tokens, tokens, batchSize: B, seqLen: T };
}
