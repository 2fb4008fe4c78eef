/**
 * Batched inference across cores: `scoreTokens` (a model's mean loss on a text) with its lanes
 * split across this thread and replica workers, each with a copy of the model. The lanes are
 * independent, so the result is `scoreTokens`'s up to the order the per-lane sums are added in.
 */
import { ValueError } from '../errors';
import type { LanguageModel } from '../text/language-model';
import { scoreLanes, scoredLayout, type ScoreResult } from '../text/evaluate';
import { laneRanges } from './lanes';
import { ReplicaPool } from './pool';

export class ParallelScorer {
  private pool: ReplicaPool | null;
  private ready: Promise<void>;

  /** Copies `model` into `threads - 1` replica workers; score with `score`, then `dispose`. */
  constructor(private readonly model: LanguageModel, readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new ValueError(`ParallelScorer: threads must be an integer >= 1, got ${threads}`);
    this.pool = threads > 1 ? new ReplicaPool(threads - 1, 0) : null;
    this.ready = this.pool === null ? Promise.resolve() : this.pool.setup({
      config: { ...model.config }, training: false, params: model.parameters().map((p) => p.toArray() as Float32Array),
      optimizer: null, clip: 0, valIds: null,
    });
    this.ready.catch(() => undefined);
  }

  /** `scoreTokens(model, ids, batchSize, seqLen, maxWindows)`, lanes split across the threads. */
  async score(ids: Int32Array, batchSize: number, seqLen: number, maxWindows = 0): Promise<ScoreResult> {
    if (ids.length < 2) throw new ValueError(`ParallelScorer.score: ids has ${ids.length} token(s), need at least 2`);
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

  /** Ends the replica workers. */
  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.dispose();
  }
}
