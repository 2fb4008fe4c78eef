/**
 * How a trainer's steps and scores run, behind one interface (`Steps`), so that the trainer's run
 * loop is the same on one thread and on many:
 *
 * - `LocalSteps`: on this thread. One step is forward, mean cross-entropy over the T*B targets,
 *   backward, clip, optimizer step.
 * - `DataParallelSteps`: the window's lanes split across this thread (replica 0) and `threads - 1`
 *   replica workers, each with its own copy of the model and optimizer; their gradients are summed
 *   in replica order and every replica steps on the sum (shard.ts). The same seed and threads give
 *   the same run, bit for bit; other thread counts differ by float32 summation order only.
 *
 * Neither knows the trainer: they take a window's tokens and the carried state, and give the loss
 * and the state to carry. Batches, resets of the carried state, schedules and checkpoints are the
 * trainer's (training/trainer.ts).
 */
import { tidy, untracked } from '../memory';
import { tensor } from '../creation';
import { Generator } from '../random';
import { clipGradNorm } from '../nn/utils';
import { crossEntropy } from '../ops/index';
import type { Adam } from '../optim/adam';
import type { LanguageModel, RecurrentState } from '../lm/language-model';
import { scoreTokens, type ScoreResult } from '../lm/evaluate';
import { ReplicaPool, allReplies } from './pool';
import { scoreAcross } from './inference';
import { laneRanges, putStateLanes, takeLanes, takeStateLanes } from './lanes';
import { addGradients, applyGradients, flatSize, readGradients, shardGradients } from './shard';

/** One window of a batch: tokens and their targets, (T, B) time-major. */
export interface StepWindow {
  x: Int32Array;
  y: Int32Array;
}

/** A generator's state (`Generator.getState()`). */
export type GeneratorState = ReturnType<Generator['getState']>;

/** How a score's lanes are laid out (see `scoreTokens`). */
export interface ScoreLayout {
  batchSize: number;
  seqLen: number;
  /** At most this many windows (0: every token). */
  maxWindows: number;
}

/** A step's loss and the state to carry (detached; the caller owns it). */
export interface StepResult {
  loss: number;
  state: RecurrentState;
}

/**
 * What a `Steps` gives at once (on this thread) or later (across workers). A value given at once
 * lets a one-thread run step without leaving the call, as `trainStep` does.
 */
export type Answer<T> = T | Promise<T>;

export interface Steps {
  /** The threads the steps run on (1: this one). */
  readonly threads: number;
  /** Gets the workers ready (started, holding the model and optimizer as they are here); null when there is nothing to wait for. */
  ready(): Promise<void> | null;
  /**
   * One optimizer step on `window` from `state` (null: zeros): the batch's mean loss, and the
   * final state. If it fails, the model, the optimizer and the replicas' generators are as they
   * were.
   */
  step(window: StepWindow, state: RecurrentState | null): Answer<StepResult>;
  /** `scoreTokens(model, ids, ...)`, on the steps' threads. */
  score(ids: Int32Array, layout: ScoreLayout): Answer<ScoreResult>;
  /** The dropout streams of the replicas (threads - 1; none on one thread), as states. */
  replicaGeneratorStates(): GeneratorState[];
  /**
   * Sets the replicas' dropout streams: to `states` where given, the others derived from `from`
   * (the trainer's stream: the same trainer state gives the same streams, each different).
   */
  setReplicaGenerators(from: Generator, states: readonly GeneratorState[]): void;
  /** The model or optimizer changed outside the steps: the replicas take them again before the next step. */
  invalidate(): void;
  /** No step is coming soon: the workers no longer keep the process alive while they wait. */
  idle(): void;
  /** Ends the workers (the model and optimizer are the caller's). */
  dispose(): Promise<void>;
}

/** The steps of `threads` threads: local on one, data-parallel on more. */
export function stepsFor(model: LanguageModel, optimizer: Adam, o: { clip: number; threads: number; seqLen: number; batchSize: number; valIds: Int32Array | null }): Steps {
  return o.threads > 1 ? new DataParallelSteps(model, optimizer, o) : new LocalSteps(model, optimizer, o.clip, o.seqLen, o.batchSize);
}

/** Steps on this thread. */
export class LocalSteps implements Steps {
  readonly threads = 1;

  constructor(
    private readonly model: LanguageModel, private readonly optimizer: Adam, private readonly clip: number,
    private readonly seqLen: number, private readonly batchSize: number,
  ) {}

  ready(): null {
    return null;
  }

  step(window: StepWindow, state: RecurrentState | null): StepResult {
    const V = this.model.config.vocabSize;
    const T = this.seqLen;
    const B = this.batchSize;
    const params = this.optimizer.params;
    return tidy(() => {
      const out = this.model.forward(tensor(window.x, [T, B]), state);
      const l = crossEntropy(out.logits.reshape(T * B, V), tensor(window.y, [T * B]));
      this.optimizer.zeroGrad();
      l.backward();
      if (this.clip > 0) clipGradNorm(params, this.clip);
      this.optimizer.step();
      return { loss: l.item(), state: out.state.map((s) => s.detach()) };
    });
  }

  score(ids: Int32Array, o: ScoreLayout): ScoreResult {
    return scoreTokens(this.model, ids, o.batchSize, o.seqLen, o.maxWindows);
  }

  replicaGeneratorStates(): GeneratorState[] {
    return [];
  }

  setReplicaGenerators(): void {}

  invalidate(): void {}

  idle(): void {}

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** Steps with the lanes split across this thread and `threads - 1` replica workers, started by the first step or score. */
export class DataParallelSteps implements Steps {
  readonly threads: number;
  private readonly clip: number;
  private readonly T: number;
  private readonly B: number;
  /** The text the replicas hold for scoring (a trainer's validation text), sent once at setup. */
  private readonly valIds: Int32Array | null;
  private pool: ReplicaPool | null = null;
  /** False until the replicas have the model and optimizer state as they are here. */
  private inSync = false;
  /** The dropout streams of replicas 1..threads-1 (replica 0, this thread, draws from the model's). */
  private generators: Generator[];

  constructor(
    private readonly model: LanguageModel, private readonly optimizer: Adam,
    o: { clip: number; threads: number; seqLen: number; batchSize: number; valIds: Int32Array | null },
  ) {
    this.threads = o.threads;
    this.clip = o.clip;
    this.T = o.seqLen;
    this.B = o.batchSize;
    this.valIds = o.valIds;
    this.generators = deriveGenerators(model.generator, this.threads - 1);
  }

  /**
   * One data-parallel step: this thread and each replica compute the gradients of their lanes,
   * summed here in replica order; every replica, this one included, then clips and steps on that
   * sum. If a replica fails, the workers are ended (the next step starts them afresh) and the error
   * (a WorkerError if it died) is thrown.
   */
  async ready(): Promise<void> {
    await this.readyPool();
  }

  async step(window: StepWindow, state: RecurrentState | null): Promise<StepResult> {
    const pool = await this.readyPool();
    try {
      return await this.shardedStep(pool, window, state);
    } catch (e) {
      await this.dropPool();
      throw e;
    }
  }

  private async shardedStep(pool: ReplicaPool, window: StepWindow, carriedState: RecurrentState | null): Promise<StepResult> {
    const { T, B } = this;
    const { numLayers: L, hiddenSize: H } = this.model.config;
    const ranges = laneRanges(B, this.threads);
    const carried = carriedState?.map((s) => s.f32().slice()) ?? null;
    const laneArgs = ([b0, b1]: [number, number]) => ({
      x: takeLanes(window.x, T, B, b0, b1), y: takeLanes(window.y, T, B, b0, b1), T, Bs: b1 - b0, batchTargets: T * B,
      state: carried?.map((s) => takeStateLanes(s, L, B, H, b0, b1)) ?? null,
    });
    const replies = allReplies(ranges.slice(1).map((range, i) => pool.shard(i + 1, { ...laneArgs(range), rng: this.generators[i].getState() })));
    let own: { loss: number; state: RecurrentState };
    try {
      const mine = laneArgs(ranges[0]);
      const state = mine.state === null ? null : untracked(() => mine.state!.map((s) => tensor(s, [L, mine.Bs, H])));
      try {
        own = shardGradients(this.model, this.optimizer, mine.x, mine.y, T, mine.Bs, T * B, state);
      } finally {
        state?.forEach((s) => s.dispose());
      }
    } catch (e) {
      await replies.catch(() => undefined);
      throw e;
    }
    try {
      const shards = await replies;
      const params = this.optimizer.params;
      for (const r of shards) addGradients(params, r.grads);
      pool.apply((out) => readGradients(params, out), flatSize(params));
      applyGradients(this.optimizer, this.clip);
      const next = own.state.map((s, k) => {
        const full = new Float32Array(L * B * H);
        putStateLanes(full, s.f32(), L, B, H, ranges[0][0], ranges[0][1]);
        shards.forEach((r, i) => putStateLanes(full, r.state[k], L, B, H, ranges[i + 1][0], ranges[i + 1][1]));
        return full;
      });
      shards.forEach((r, i) => this.generators[i].setState(r.rng));
      return { loss: shards.reduce((a, r) => a + r.loss, own.loss), state: untracked(() => next.map((f) => tensor(f, [L, B, H]))) };
    } finally {
      own.state.forEach((s) => s.dispose());
    }
  }

  /** `scoreTokens`, its lanes split across this thread and the replicas (which hold `valIds`, if it is that text). */
  async score(ids: Int32Array, o: ScoreLayout): Promise<ScoreResult> {
    const pool = await this.readyPool();
    try {
      return await scoreAcross(this.model, pool, ids, { ...o, replicasHold: ids === this.valIds });
    } catch (e) {
      await this.dropPool();
      throw e;
    }
  }

  replicaGeneratorStates(): GeneratorState[] {
    return this.generators.map((g) => g.getState());
  }

  setReplicaGenerators(from: Generator, states: readonly GeneratorState[]): void {
    this.generators = deriveGenerators(from, this.threads - 1).map((g, i) => {
      if (i >= states.length) return g;
      const own = new Generator(0);
      own.setState(states[i]);
      return own;
    });
  }

  invalidate(): void {
    this.inSync = false;
  }

  idle(): void {
    this.pool?.keepAlive(false);
  }

  async dispose(): Promise<void> {
    await this.dropPool();
  }

  /** The replica workers, started if needed, holding the model and optimizer state as they are here. */
  private async readyPool(): Promise<ReplicaPool> {
    if (this.pool === null) {
      this.pool = new ReplicaPool(this.threads - 1, flatSize(this.optimizer.params));
      this.inSync = false;
    }
    const pool = this.pool;
    // Before any await: an unreferenced worker's reply would not keep Node running until it arrives.
    pool.keepAlive(true);
    try {
      if (!this.inSync) {
        await pool.setup({
          config: { ...this.model.config },
          training: this.model.training,
          params: this.optimizer.params.map((p) => p.toArray() as Float32Array),
          optimizer: this.optimizer.stateDict(),
          clip: this.clip,
          valIds: this.valIds,
        });
        this.inSync = true;
      }
      return pool;
    } catch (e) {
      await this.dropPool();
      throw e;
    }
  }

  private async dropPool(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.inSync = false;
    await pool?.dispose();
  }
}

/**
 * The dropout streams of `n` replicas, derived from `from`'s state: the same state gives the same
 * streams, and each differs from every other.
 */
function deriveGenerators(from: Generator, n: number): Generator[] {
  const [a, b] = from.getState();
  return Array.from({ length: n }, (_, i) => new Generator((Math.imul(a ^ Math.imul(i + 1, 0x9e3779b9), 0x85ebca6b) ^ b) >>> 0));
}
