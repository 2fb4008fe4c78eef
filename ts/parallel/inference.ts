/**
 * Inference across cores, with a copy of the model in each of `threads - 1` replica workers:
 * - `score`: `scoreTokens` (a model's mean loss on a text) with its lanes split across this
 *   thread and the replicas. The lanes are independent, so the result is `scoreTokens`'s up to the
 *   order the per-lane sums are added in.
 * - `sampleTexts`: several samples at once, one per thread at a time; each is the text
 *   `sampleText` gives for the same prime and options (seeded: the same text).
 */
import { DisposedError, ValueError, describeArg, describeKind } from '../errors';
import { checkOptions, optionKeys } from '../options';
import { LanguageModel, checkGenerateOptions, primeIds, specialIds, type GenerateOptions } from '../lm/language-model';
import type { Tokenizer } from '../text/tokenizer';
import { checkScoreArgs, scoreLanes, scoredLayout, type ScoreResult } from '../lm/evaluate';
import { laneRanges } from './lanes';
import { ReplicaPool, allReplies } from './pool';
import type { ReplicaSetup } from './protocol';
import { quantizedWeightsOf } from '../lm/quantize';

/** The options of one of `ParallelInference.sampleTexts`'s samples: data only (no generator or callback). */
export type SampleOptions = Omit<GenerateOptions, 'generator' | 'onToken'>;
const SAMPLE_KEYS = optionKeys<SampleOptions>({ length: true, temperature: true, topK: true, topP: true, seed: true, suppress: true });

export class ParallelInference {
  /** The replica workers started so far (none until a call needs them; at most `threads - 1`). */
  private pool: ReplicaPool | null = null;
  /** What every replica is set up with: the model's weights as they were when this was made (null with one thread: no replica). */
  private readonly setup: Omit<ReplicaSetup, 'backend'> | null;
  /** Starting replicas, one growth at a time. */
  private growing: Promise<ReplicaPool | null> = Promise.resolve(null);
  private disposed = false;

  /**
   * Copies `model`'s weights, as they are now, for up to `threads - 1` replica workers; they start
   * when a call first needs them, no more than it can use (a score of B lanes uses at most B
   * threads, n samples n threads). Score with `score`, sample with `sampleTexts`, then `dispose`.
   */
  constructor(private readonly model: LanguageModel, readonly threads: number) {
    if (!(model instanceof LanguageModel)) throw new ValueError(`ParallelInference: model must be a LanguageModel, got ${describeKind(model)}`);
    if (!Number.isInteger(threads) || threads < 1) throw new ValueError(`ParallelInference: threads must be an integer >= 1, got ${threads}`);
    // Before any worker starts: a disposed model throws its DisposedError here, with nothing to clean up.
    const params = model.parameters();
    const quantized = model.quantization !== null;
    // The weights are copied only for replicas to take (a float32 W2 model is 13 MB).
    this.setup = threads === 1 ? null : {
      config: { ...model.config }, training: false, params: quantized ? [] : params.map((p) => p.toArray() as Float32Array),
      optimizer: null, clip: 0, valIds: null, quantized: quantized ? quantizedWeightsOf(model) : null,
    };
  }

  /** `scoreTokens(model, ids, batchSize, seqLen, maxWindows)`, lanes split across the threads. */
  async score(ids: Int32Array, batchSize: number, seqLen: number, maxWindows = 0): Promise<ScoreResult> {
    this.assertAlive('score');
    checkScoreArgs('ParallelInference.score', ids, batchSize, seqLen, maxWindows);
    // Shared memory could change under the replicas while they read it.
    if (!(ids.buffer instanceof ArrayBuffer)) ids = ids.slice();
    const { B } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
    const pool = await this.replicas(Math.min(this.threads, B) - 1);
    return scoreAcross(this.model, pool, ids, { batchSize, seqLen, maxWindows, replicasHold: false });
  }

  /**
   * The continuations of several primes, as `sampleText(model, tokenizer, prime, options)` gives
   * each, computed on the threads side by side (request i on thread i mod threads). Options are
   * data only (`length`, `temperature`, `topK`, `topP`, `seed`, `suppress`): no generator or callback.
   */
  async sampleTexts(tokenizer: Tokenizer, requests: { prime: string; options?: SampleOptions }[]): Promise<string[]> {
    this.assertAlive('sampleTexts');
    if (!isTokenizer(tokenizer)) throw new ValueError(`ParallelInference.sampleTexts: tokenizer must be a Tokenizer, got ${describeArg(tokenizer)}`);
    if (!Array.isArray(requests)) throw new ValueError(`ParallelInference.sampleTexts: requests must be an array of { prime, options }, got ${describeArg(requests)}`);
    const args = requests.map((request, i) => {
      const where = `ParallelInference.sampleTexts: requests[${i}]`;
      if (request === null || typeof request !== 'object') throw new ValueError(`${where} must be an object { prime, options }, got ${describeArg(request)}`);
      checkOptions(where, request, REQUEST_KEYS);
      const { prime, options = {} } = request;
      if (typeof prime !== 'string') throw new ValueError(`${where}.prime must be a string, got ${describeArg(prime)}`);
      checkOptions(`${where}.options`, options, SAMPLE_KEYS);
      checkGenerateOptions(`${where}.options`, options ?? {});
      return { prime: primeIds(tokenizer, prime), options: { suppress: specialIds(tokenizer), ...options } };
    });
    const threads = Math.min(this.threads, args.length);
    const pool = await this.replicas(threads - 1);
    // Replicas' requests first, so they run while this thread samples its own (request i on thread i mod threads).
    const replies = args.map((a, i) => (i % threads === 0 ? null : pool!.sample(i % threads, a)));
    const ids = args.map((a, i) => replies[i] ?? Promise.resolve(Int32Array.from(this.model.sample(a.prime, a.options))));
    return (await allReplies(ids)).map((sampled, i) => {
      const text = tokenizer.decoder(args[i].prime);
      let out = '';
      for (const id of sampled) out += text.next(id);
      return out + text.end();
    });
  }

  /** Ends the replica workers; later calls are a DisposedError. Safe to call twice. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.growing.catch(() => null);
    const pool = this.pool;
    this.pool = null;
    await pool?.dispose();
  }

  /** The pool with at least `n` replicas set up (null for none), starting those it lacks. */
  private replicas(n: number): Promise<ReplicaPool | null> {
    this.growing = this.growing.catch(() => null).then(async () => {
      this.assertAlive('a call');
      const pool = this.pool;
      if (n <= (pool?.size ?? 0) || this.setup === null) return pool;
      const grown = pool ?? (this.pool = new ReplicaPool(0, 0));
      try {
        await grown.grow(n, this.setup);
      } catch (e) {
        // A replica that could not start or take the weights: none are kept, the next call starts afresh.
        this.pool = null;
        await grown.dispose();
        throw e;
      }
      return grown;
    });
    return this.growing;
  }

  private assertAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`ParallelInference.${what}: it was disposed (its replica workers have ended); make a new one`);
  }
}

/** A Tokenizer (an interface: any object with its methods and vocabulary). */
function isTokenizer(t: unknown): t is Tokenizer {
  const o = t as Partial<Record<keyof Tokenizer, unknown>> | null;
  return o !== null && typeof o === 'object' && Array.isArray(o.vocab) && ['encode', 'decoder', 'idOf'].every((k) => typeof o[k as keyof Tokenizer] === 'function');
}

const REQUEST_KEYS = optionKeys<{ prime: string; options?: SampleOptions }>({ prime: true, options: true });

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
