/**
 * Training loop for a LanguageModel: truncated BPTT over an LMBatcher with Adam and gradient
 * clipping, periodic validation, progress events, and a clean stop on an AbortSignal.
 *
 * One step: the batch's window with the state carried from the previous window (zeros when an
 * epoch starts, and for a staggered 1/resetEvery of the lanes at every window), loss = mean
 * cross-entropy over the T*B targets, backward, clip, Adam. The final state is detached (a copy
 * cut from the graph) and carried to the next window.
 *
 * Everything a step depends on is state a checkpoint holds: parameters, Adam's buffers and step
 * counts, the batcher's position, the carried state and the model's generator (dropout masks).
 * Restoring all of it (`exportState` / `importState`, serialized in trainer-state.ts) makes a
 * resumed run bit-identical to an uninterrupted one. Validation is `scoreTokens` (evaluate.ts) on
 * the validation lanes.
 *
 * How a step runs, on this thread or data-parallel across workers, is a `Steps` (parallel/steps.ts)
 * chosen once from `threads`; the run loop here is the same for both.
 */
import { Tensor } from '../tensor';
import { macrotask } from '../event-loop';
import { keep } from '../memory';
import type { Generator } from '../random';
import { Adam } from '../optim/adam';
import { DisposedError, ValueError, quoteValue } from '../errors';
import { checkCallback, checkOptions, checkSignal, optionKeys } from '../options';
import { LMBatcher, type LMBatch } from '../text/batcher';
import type { LanguageModel, RecurrentState } from '../lm/language-model';
import { scoreTokens, scoredLayout, type ScoreResult } from '../lm/evaluate';
import { LocalSteps, stepsFor, type StepResult, type Steps } from '../parallel/steps';
import { decodeTrainerState, encodeTrainerState, type TrainerStateJSON, type TrainerTensors } from './trainer-state';

export interface TrainerOptions {
  /** Adam learning rate (default 2e-3). */
  lr?: number;
  /** Max global gradient norm; 0 disables clipping (default 1). */
  clip?: number;
  /**
   * The stream the model's dropout masks come from while this trainer trains (it becomes
   * `model.generator`; default: the model's own, itself the global one unless the model was given
   * another). Checkpoints hold its state, so a resumed run draws the same masks.
   */
  generator?: Generator;
  /** `evaluate()` reads at most this many validation windows (default 16; 0: every validation token). */
  evalWindows?: number;
  /**
   * Zero each lane's carried state every this many windows, staggered across lanes (lane b at
   * windows w with (w + b) % resetEvery === 0); 0 never does. Without it the model only meets a
   * zero state once per epoch and generates poorly from one, which is how generation starts.
   * Default 8.
   */
  resetEvery?: number;
  /**
   * Data-parallel training on this many threads (default 1): each step's lanes are split across
   * this thread and `threads - 1` replica workers, each with its own copy of the model, and their
   * gradients summed in a fixed order (the same seed and threads give the same run, bit for bit;
   * other thread counts differ by float32 summation order only). At most the batch size. With
   * more than one thread, steps are asynchronous: train with `run()`.
   */
  threads?: number;
}

export interface RunOptions {
  /** Stop after this many steps of this run. */
  steps?: number;
  /** Stop after this many epochs of this run (fractions allowed). */
  epochs?: number;
  /** Stop once this much wall time has passed in this run (ms). */
  timeMs?: number;
  /** Stops the run cleanly after the current step. */
  signal?: AbortSignal;
  /** Validate every this many steps (default: every 100; 0: only at the end). */
  evalEvery?: number;
  /** Validate (also) whenever this much time has passed since the last validation (ms). */
  evalEveryMs?: number;
  /** Called after every step, and after each validation with `evaluated: true`. */
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /**
   * Called before every step: a promise returned holds the run (paused) until it settles. Time
   * spent paused counts toward neither `timeMs` nor the elapsed times and rates of progress.
   */
  pauseGate?: () => Promise<void> | undefined;
}

export interface TrainProgress {
  /** Steps done in total (across resumes). */
  step: number;
  /** Epochs done in total, fractional. */
  epoch: number;
  /** Training loss of this step. */
  loss: number;
  /** Mean training loss over the last 50 steps (less noisy). */
  smoothLoss: number;
  /** Latest validation loss (null before the first validation or without validation data). */
  valLoss: number | null;
  /** exp(valLoss), or exp(smoothLoss) without validation. */
  perplexity: number;
  /** Training throughput of recent steps. */
  tokensPerSec: number;
  msPerStep: number;
  /** Estimated time to the end of this run (null if unbounded). */
  etaMs: number | null;
  /** Fraction of this run done, 0..1 (null if unbounded). */
  fraction: number | null;
  /** Wall time of this run so far. */
  elapsedMs: number;
  /** True when this event follows a validation. */
  evaluated: boolean;
}

export interface RunResult {
  steps: number;
  stoppedBy: 'steps' | 'epochs' | 'time' | 'signal';
  elapsedMs: number;
  tokens: number;
  finalLoss: number;
  valLoss: number | null;
}

/** A validation point: total step, validation loss, and total training time at that point. */
export interface ValPoint {
  step: number;
  valLoss: number;
  elapsedMs: number;
}

const TRAINER_KEYS = optionKeys<TrainerOptions>({ lr: true, clip: true, generator: true, evalWindows: true, resetEvery: true, threads: true });
const RUN_KEYS = optionKeys<RunOptions>({
  steps: true, epochs: true, timeMs: true, signal: true, evalEvery: true, evalEveryMs: true, onProgress: true, pauseGate: true,
});

const SMOOTH = 50;

/**
 * The limits and validation schedule of a run, checked (LMTrainer.run and TrainingSession.train):
 * a ValueError naming the option. At least one of steps, epochs, timeMs.
 */
export function checkRunLimits(where: string, o: Pick<RunOptions, 'steps' | 'epochs' | 'timeMs' | 'evalEvery' | 'evalEveryMs'>): void {
  const { steps, epochs, timeMs, evalEvery, evalEveryMs } = o;
  for (const [k, v] of [['steps', steps], ['epochs', epochs], ['timeMs', timeMs]] as const) {
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new ValueError(`${where}: ${k} must be a positive number, got ${quoteValue(v)}`);
  }
  if (steps === undefined && epochs === undefined && timeMs === undefined) throw new ValueError(`${where}: give at least one of steps, epochs, timeMs`);
  if (evalEvery !== undefined && !(Number.isInteger(evalEvery) && evalEvery >= 0)) throw new ValueError(`${where}: evalEvery must be an integer >= 0 (0: only at the end), got ${quoteValue(evalEvery)}`);
  if (evalEveryMs !== undefined && !(typeof evalEveryMs === 'number' && evalEveryMs > 0)) {
    throw new ValueError(`${where}: evalEveryMs must be a positive number of ms (Infinity: never by time), got ${quoteValue(evalEveryMs)}`);
  }
}


export class LMTrainer {
  readonly model: LanguageModel;
  readonly optimizer: Adam;
  readonly train: LMBatcher;
  readonly val: LMBatcher | null;
  readonly clip: number;
  readonly evalWindows: number;
  readonly resetEvery: number;
  readonly threads: number;
  step = 0;
  /** Per-step training losses. */
  readonly losses: number[] = [];
  readonly valHistory: ValPoint[] = [];
  /** Training wall time before this process (restored from a checkpoint). */
  elapsedBeforeMs = 0;
  private state: RecurrentState | null = null;
  private disposed = false;
  private runElapsedMs = 0;
  /** How steps and scores run: on this thread, or data-parallel (threads > 1). */
  private readonly steps: Steps;
  /** True while a step is under way (data-parallel: waiting for its replicas); the state is half-way, not exportable. */
  private stepping = false;
  /** True while run() goes (a second run, or a trainStep of the caller's, is refused). */
  private running = false;

  constructor(model: LanguageModel, train: LMBatcher, val: LMBatcher | null, options: TrainerOptions = {}) {
    checkOptions('LMTrainer', options, TRAINER_KEYS);
    options ??= {};
    this.model = model;
    this.train = train;
    this.val = val;
    this.clip = options.clip ?? 1;
    if (!(this.clip >= 0)) throw new ValueError(`LMTrainer: clip must be >= 0, got ${this.clip}`);
    this.evalWindows = options.evalWindows ?? 16;
    if (!Number.isInteger(this.evalWindows) || this.evalWindows < 0) throw new ValueError(`LMTrainer: evalWindows must be an integer >= 0 (0: every validation token), got ${this.evalWindows}`);
    this.resetEvery = options.resetEvery ?? 8;
    if (!Number.isInteger(this.resetEvery) || this.resetEvery < 0) throw new ValueError(`LMTrainer: resetEvery must be an integer >= 0, got ${this.resetEvery}`);
    this.threads = options.threads ?? 1;
    if (!Number.isInteger(this.threads) || this.threads < 1 || this.threads > train.batchSize) {
      throw new ValueError(`LMTrainer: threads must be an integer from 1 to the batch size ${train.batchSize} (each thread needs a lane), got ${this.threads}`);
    }
    this.optimizer = new Adam(model.parameters(), { lr: options.lr ?? 2e-3 });
    if (options.generator !== undefined) model.generator = options.generator;
    this.steps = stepsFor(model, this.optimizer, { clip: this.clip, threads: this.threads, seqLen: train.seqLen, batchSize: train.batchSize, valIds: val?.ids ?? null });
  }

  /** The states of the dropout streams of data-parallel training's replicas (threads - 1 of them). */
  get replicaGeneratorStates(): number[][] {
    return this.steps.replicaGeneratorStates();
  }

  /** The stream dropout masks come from: the model's (see `TrainerOptions.generator`). */
  get generator(): Generator {
    return this.model.generator;
  }

  /** Total training wall time, across resumes. */
  get elapsedMs(): number {
    return this.elapsedBeforeMs + this.runElapsedMs;
  }

  /** One optimizer step on the next window; returns its loss. Single-threaded trainers only (see `threads`). */
  trainStep(): number {
    this.assertAlive('trainStep');
    if (this.running) throw new ValueError('LMTrainer.trainStep: a run() of this trainer is going; a step of its own would interleave with it');
    if (!(this.steps instanceof LocalSteps)) throw new ValueError(`LMTrainer.trainStep: a trainer with threads ${this.threads} steps asynchronously; train with run()`);
    return this.stepDone(this.steps.step(this.nextBatch(), this.state));
  }

  /**
   * One step of run(), through the trainer's Steps, once they are ready. If it fails, the
   * batcher's position and the generator are put back.
   */
  private async runStep(): Promise<number> {
    const ready = this.steps.ready();
    if (ready !== null) await ready;
    const position = this.train.position;
    const rng = this.generator.getState();
    this.stepping = true;
    try {
      const answer = this.steps.step(this.nextBatch(), this.state);
      return this.stepDone(answer instanceof Promise ? await answer : answer);
    } catch (e) {
      this.train.position = position;
      this.generator.setState(rng);
      throw e;
    } finally {
      this.stepping = false;
    }
  }

  private stepDone(result: StepResult): number {
    this.setState(result.state);
    this.step++;
    this.losses.push(result.loss);
    return result.loss;
  }

  /**
   * Mean validation loss per token, from a zero state, over the first `maxWindows` windows of the
   * validation lanes (default `evalWindows`, a quick estimate), or with 0 over every predictable
   * token of the validation text (see `scoreTokens`); null without validation data.
   */
  evaluate(maxWindows = this.evalWindows): number | null {
    this.assertAlive('evaluate');
    const val = this.val;
    if (val === null) return null;
    return scoreTokens(this.model, val.ids, val.batchSize, val.seqLen, maxWindows).loss;
  }

  /**
   * The validation text scored on the trainer's threads (the replicas of a data-parallel trainer
   * already hold the model and the text): `scoreTokens` of the validation text with `batchSize`
   * lanes (default: the validation batcher's) of `seqLen` (default: the training window), at most
   * `maxWindows` windows (default `evalWindows`; 0: every token). Null without validation data.
   */
  async validate(o: { batchSize?: number; seqLen?: number; maxWindows?: number } = {}): Promise<ScoreResult | null> {
    this.assertAlive('validate');
    const val = this.val;
    if (val === null) return null;
    if (this.stepping) throw new ValueError('LMTrainer.validate: a step is half-way; validate between steps (in onProgress, or after run())');
    try {
      return await this.steps.score(val.ids, { batchSize: o.batchSize ?? val.batchSize, seqLen: o.seqLen ?? val.seqLen, maxWindows: o.maxWindows ?? this.evalWindows });
    } finally {
      if (!this.running) this.steps.idle();
    }
  }

  /** How many validation tokens `evaluate(maxWindows)` scores (0 without validation data). */
  evalTokenCount(maxWindows = this.evalWindows): number {
    const val = this.val;
    if (val === null) return 0;
    return scoredLayout(val.ids.length, val.batchSize, val.seqLen, maxWindows).tokens;
  }

  /** Trains until a stop condition; yields to the event loop between steps (so signals get through). */
  async run(options: RunOptions = {}): Promise<RunResult> {
    this.assertAlive('run');
    checkOptions('LMTrainer.run', options, RUN_KEYS);
    options ??= {};
    checkRunLimits('LMTrainer.run', options);
    checkSignal('LMTrainer.run', options.signal);
    checkCallback('LMTrainer.run', 'onProgress', options.onProgress);
    checkCallback('LMTrainer.run', 'pauseGate', options.pauseGate);
    // Two runs at once would interleave their steps on one model and optimizer, each reporting all of them.
    if (this.running) throw new ValueError('LMTrainer.run: a run of this trainer is already going; await it (or stop it by its signal) first');
    this.running = true;
    // The caller may have changed the model or optimizer since the last run: the replicas are set up again.
    this.steps.invalidate();
    try {
      return await this.runSteps(options);
    } finally {
      this.running = false;
      this.steps.idle();
    }
  }

  private async runSteps(options: RunOptions): Promise<RunResult> {
    const { steps, epochs, timeMs, signal, onProgress, pauseGate } = options;
    const maxSteps = Math.min(steps ?? Infinity, epochs !== undefined ? Math.max(1, Math.round(epochs * this.train.windowsPerEpoch)) : Infinity);
    const evalEvery = options.evalEvery ?? 100;
    const evalEveryMs = options.evalEveryMs ?? Infinity;
    const start = performance.now();
    const startElapsed = this.runElapsedMs;
    const firstStep = this.step;
    let stepMsAvg = 0;
    let lastEvalAt = start;
    let valLoss: number | null = this.valHistory.length > 0 ? this.valHistory[this.valHistory.length - 1].valLoss : null;
    let loss = NaN;
    let stoppedBy: RunResult['stoppedBy'] = 'steps';
    let pausedMs = 0;
    const now = (): number => performance.now() - start - pausedMs;
    for (;;) {
      const gate = pauseGate?.();
      if (gate !== undefined) {
        const t = performance.now();
        await gate;
        const waited = performance.now() - t;
        pausedMs += waited;
        lastEvalAt += waited;
      }
      if (signal?.aborted) {
        stoppedBy = 'signal';
        break;
      }
      const done = this.step - firstStep;
      if (done >= maxSteps) {
        stoppedBy = steps !== undefined && done >= steps ? 'steps' : 'epochs';
        break;
      }
      if (timeMs !== undefined && now() >= timeMs) {
        stoppedBy = 'time';
        break;
      }
      const t0 = performance.now();
      loss = await this.runStep();
      const ms = performance.now() - t0;
      // Average over recent steps; the first step (warm-up, memory growth) is not representative.
      stepMsAvg = done === 0 ? ms : done < 10 ? (stepMsAvg * done + ms) / (done + 1) : 0.9 * stepMsAvg + 0.1 * ms;
      this.runElapsedMs = startElapsed + now();
      const isLast = this.step - firstStep >= maxSteps || (timeMs !== undefined && now() + stepMsAvg >= timeMs);
      const evalDue = (evalEvery > 0 && this.step % evalEvery === 0) || performance.now() - lastEvalAt >= evalEveryMs || isLast;
      const emit = async (evaluated: boolean): Promise<void> => {
        if (onProgress === undefined) return;
        await onProgress(this.progress(loss, valLoss, stepMsAvg, now(), this.step - firstStep, maxSteps, timeMs, evaluated));
      };
      await emit(false);
      if (evalDue && this.val !== null && !signal?.aborted) {
        valLoss = (await this.steps.score(this.val.ids, { batchSize: this.val.batchSize, seqLen: this.val.seqLen, maxWindows: this.evalWindows })).loss;
        lastEvalAt = performance.now();
        this.runElapsedMs = startElapsed + now();
        this.valHistory.push({ step: this.step, valLoss: valLoss!, elapsedMs: this.elapsedMs });
        await emit(true);
      }
      await macrotask();
    }
    this.runElapsedMs = startElapsed + now();
    const ran = this.step - firstStep;
    return { steps: ran, stoppedBy, elapsedMs: now(), tokens: ran * this.train.tokensPerBatch, finalLoss: loss, valLoss };
  }

  private progress(
    loss: number, valLoss: number | null, msPerStep: number, elapsed: number, done: number, maxSteps: number,
    timeMs: number | undefined, evaluated: boolean,
  ): TrainProgress {
    const recent = this.losses.slice(-SMOOTH);
    const smoothLoss = recent.reduce((a, b) => a + b, 0) / recent.length;
    let etaMs: number | null = null;
    let fraction: number | null = null;
    if (Number.isFinite(maxSteps)) {
      etaMs = (maxSteps - done) * msPerStep;
      fraction = done / maxSteps;
    }
    if (timeMs !== undefined) {
      const left = Math.max(0, timeMs - elapsed);
      if (etaMs === null || left < etaMs) {
        etaMs = left;
        fraction = Math.min(1, elapsed / timeMs);
      }
    }
    return {
      step: this.step,
      epoch: this.step / this.train.windowsPerEpoch,
      loss,
      smoothLoss,
      valLoss,
      perplexity: Math.exp(valLoss ?? smoothLoss),
      tokensPerSec: msPerStep > 0 ? (this.train.tokensPerBatch * 1000) / msPerStep : 0,
      msPerStep,
      etaMs,
      fraction,
      elapsedMs: elapsed,
      evaluated,
    };
  }

  /** Everything needed to continue exactly: JSON plus raw buffers (see trainer-state.ts). */
  exportState(): { json: TrainerStateJSON; tensors: TrainerTensors } {
    this.assertAlive('exportState');
    if (this.stepping) throw new ValueError('LMTrainer.exportState: a data-parallel step is half-way; export between steps (in onProgress, or after run())');
    return encodeTrainerState(this, this.state);
  }

  /**
   * Restores `exportState()` output (the model's parameters are restored separately). Everything
   * is checked against this trainer first (`decodeTrainerState`, then the optimizer's
   * `loadStateDict`): a ValueError then, and nothing has changed. An allocation failure (an
   * OutOfMemoryError, thrown as is) changes nothing either.
   */
  importState(json: TrainerStateJSON, tensors: TrainerTensors): void {
    this.assertAlive('importState');
    if (this.running) throw new ValueError('LMTrainer.importState: a run() of this trainer is going; import before or after it');
    const restored = decodeTrainerState(this, json, tensors);
    try {
      this.optimizer.loadStateDict(restored.optimizer);
    } catch (e) {
      restored.state?.forEach((t) => t.dispose());
      throw e;
    }
    this.train.position = restored.position;
    this.generator.setState(restored.rng);
    // Replicas the checkpoint has streams for continue them; any others start from streams derived from the restored state.
    this.steps.setReplicaGenerators(this.generator, restored.replicaRng);
    this.steps.invalidate();
    this.step = restored.step;
    // A loop, not push(...losses): a long history would overflow the stack.
    this.losses.length = 0;
    for (const l of restored.losses) this.losses.push(l);
    this.valHistory.length = 0;
    for (const p of restored.val) this.valHistory.push(p);
    this.elapsedBeforeMs = restored.elapsedMs;
    this.runElapsedMs = 0;
    this.setState(restored.state);
  }

  /** Releases the optimizer state and the carried state (not the model); the trainer is done. */
  dispose(): void {
    void this.steps.dispose();
    this.setState(null);
    this.optimizer.dispose();
    this.disposed = true;
  }

  private assertAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`LMTrainer.${what}: the trainer was disposed`);
  }

  /** The next window, with the carried state zeroed where it starts afresh (an epoch, or the lanes due for a reset). */
  private nextBatch(): LMBatch {
    const batch = this.train.next();
    if (batch.reset) this.setState(null);
    else if (this.state !== null && this.resetEvery > 0) this.resetLanes(batch.window);
    return batch;
  }

  /** Zeroes the carried state of the lanes due for a reset at window `w` (in place: it is a detached copy). */
  private resetLanes(w: number): void {
    const B = this.train.batchSize;
    for (let b = 0; b < B; b++) {
      if ((w + b) % this.resetEvery !== 0) continue;
      for (const s of this.state!) {
        const [L, , H] = s.shape;
        const v = s.f32();
        for (let l = 0; l < L; l++) v.fill(0, (l * B + b) * H, (l * B + b + 1) * H);
      }
    }
  }

  private setState(next: RecurrentState | null): void {
    if (this.state !== null && this.state !== next) this.state.forEach((s: Tensor) => s.dispose());
    next?.forEach((s) => keep(s));
    this.state = next;
  }
}
