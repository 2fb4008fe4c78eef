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
 * counts, the batcher's position, the carried state and the global generator (dropout masks).
 * Restoring all of it (`exportState` / `importState`) makes a resumed run bit-identical to an
 * uninterrupted one.
 */
import { Tensor } from '../tensor';
import { tidy, keep, untracked } from '../memory';
import { tensor } from '../creation';
import { noGrad } from '../autograd';
import { defaultGenerator } from '../random';
import { Adam } from '../optim/adam';
import { clipGradNorm } from '../nn/utils';
import { crossEntropy } from '../ops/index';
import { ValueError } from '../errors';
import { LMBatcher, type BatcherPosition } from './batcher';
import type { LanguageModel, RecurrentState } from './language-model';

export interface TrainerOptions {
  /** Adam learning rate (default 2e-3). */
  lr?: number;
  /** Max global gradient norm; 0 disables clipping (default 1). */
  clip?: number;
  /** `evaluate()` reads at most this many validation windows (default 16; 0: every validation token). */
  evalWindows?: number;
  /**
   * Zero each lane's carried state every this many windows, staggered across lanes (lane b at
   * windows w with (w + b) % resetEvery === 0); 0 never does. Without it the model only meets a
   * zero state once per epoch and generates poorly from one, which is how generation starts.
   * Default 8.
   */
  resetEvery?: number;
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

/** The JSON-able part of a trainer's state; tensors go alongside (`TrainerTensors`). */
export interface TrainerStateJSON {
  step: number;
  position: BatcherPosition;
  rng: (number | null)[];
  optimizer: { type: 'adam'; lr: number; betas: [number, number]; eps: number; steps: (number | null)[] };
  /** Per-step training losses (rounded to 1e-4). */
  losses: number[];
  val: ValPoint[];
  /** Training wall time so far, across resumes. */
  elapsedMs: number;
  hasState: boolean;
}

export interface TrainerTensors {
  /** Adam's buffers per parameter (m, v), null where no step happened yet. */
  optimizer: (Float32Array[] | null)[];
  /** The carried recurrent state (null at an epoch boundary or before the first step). */
  state: { shape: number[]; data: Float32Array }[] | null;
}

const SMOOTH = 50;

export class LMTrainer {
  readonly model: LanguageModel;
  readonly optimizer: Adam;
  readonly train: LMBatcher;
  readonly val: LMBatcher | null;
  readonly clip: number;
  readonly evalWindows: number;
  readonly resetEvery: number;
  step = 0;
  /** Per-step training losses. */
  readonly losses: number[] = [];
  readonly valHistory: ValPoint[] = [];
  /** Training wall time before this process (restored from a checkpoint). */
  elapsedBeforeMs = 0;
  private state: RecurrentState | null = null;
  private runElapsedMs = 0;

  constructor(model: LanguageModel, train: LMBatcher, val: LMBatcher | null, options: TrainerOptions = {}) {
    this.model = model;
    this.train = train;
    this.val = val;
    this.clip = options.clip ?? 1;
    if (!(this.clip >= 0)) throw new ValueError(`LMTrainer: clip must be >= 0, got ${this.clip}`);
    this.evalWindows = options.evalWindows ?? 16;
    this.resetEvery = options.resetEvery ?? 8;
    if (!Number.isInteger(this.resetEvery) || this.resetEvery < 0) throw new ValueError(`LMTrainer: resetEvery must be an integer >= 0, got ${this.resetEvery}`);
    this.optimizer = new Adam(model.parameters(), { lr: options.lr ?? 2e-3 });
  }

  /** Total training wall time, across resumes. */
  get elapsedMs(): number {
    return this.elapsedBeforeMs + this.runElapsedMs;
  }

  /** One optimizer step on the next window; returns its loss. */
  trainStep(): number {
    const batch = this.train.next();
    if (batch.reset) this.setState(null);
    else if (this.state !== null && this.resetEvery > 0) this.resetLanes(batch.window);
    const V = this.model.config.vocabSize;
    const T = this.train.seqLen;
    const B = this.train.batchSize;
    const params = this.optimizer.params;
    const { loss, state } = tidy(() => {
      const x = tensor(batch.x, [T, B]);
      const y = tensor(batch.y, [T * B]);
      const out = this.model.forward(x, this.state);
      const l = crossEntropy(out.logits.reshape(T * B, V), y);
      this.optimizer.zeroGrad();
      l.backward();
      if (this.clip > 0) clipGradNorm(params, this.clip);
      this.optimizer.step();
      return { loss: l.item(), state: out.state.map((s) => s.detach()) };
    });
    this.setState(state);
    this.step++;
    this.losses.push(loss);
    return loss;
  }

  /**
   * Mean validation loss per token, from a zero state, over the first `maxWindows` windows of the
   * validation lanes (default `evalWindows`, a quick estimate), or with 0 over every predictable
   * token of the validation text (see `scoreTokens`); null without validation data.
   */
  evaluate(maxWindows = this.evalWindows): number | null {
    const val = this.val;
    if (val === null) return null;
    return scoreTokens(this.model, val.ids, val.batchSize, val.seqLen, maxWindows).loss;
  }

  /** How many validation tokens `evaluate(maxWindows)` scores (0 without validation data). */
  evalTokenCount(maxWindows = this.evalWindows): number {
    const val = this.val;
    if (val === null) return 0;
    return scoredLayout(val.ids.length, val.batchSize, val.seqLen, maxWindows).tokens;
  }

  /** Trains until a stop condition; yields to the event loop between steps (so signals get through). */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const { steps, epochs, timeMs, signal, onProgress } = options;
    for (const [k, v] of [['steps', steps], ['epochs', epochs], ['timeMs', timeMs]] as const) {
      if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new ValueError(`LMTrainer.run: ${k} must be a positive number, got ${v}`);
    }
    if (steps === undefined && epochs === undefined && timeMs === undefined) throw new ValueError('LMTrainer.run: give at least one of steps, epochs, timeMs');
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
    const now = (): number => performance.now() - start;
    for (;;) {
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
      loss = this.trainStep();
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
        valLoss = this.evaluate();
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

  /** Everything needed to continue exactly: JSON plus raw buffers. */
  exportState(): { json: TrainerStateJSON; tensors: TrainerTensors } {
    const list = this.optimizer.stateList();
    return {
      json: {
        step: this.step,
        position: this.train.position,
        rng: defaultGenerator.getState().map((v) => (Number.isNaN(v) ? null : v)),
        optimizer: {
          type: 'adam', lr: this.optimizer.lr, betas: [...this.optimizer.betas], eps: this.optimizer.eps,
          steps: list.map((s) => (s === null ? null : s.step)),
        },
        losses: this.losses.map((l) => Math.round(l * 1e4) / 1e4),
        val: this.valHistory.slice(),
        elapsedMs: Math.round(this.elapsedMs),
        hasState: this.state !== null,
      },
      tensors: {
        optimizer: list.map((s) => (s === null ? null : s.buffers.map((b) => b.toArray() as Float32Array))),
        state: this.state === null ? null : this.state.map((s) => ({ shape: s.shape.slice(), data: s.toArray() as Float32Array })),
      },
    };
  }

  /**
   * Restores `exportState()` output (the model's parameters are restored separately). Everything
   * is checked against this trainer first (Adam's buffers against the parameters, the carried state
   * against (numLayers, batchSize, hiddenSize), the position against the batcher, the generator
   * state): a ValueError then, and nothing has changed. Only an allocation failure (an
   * OutOfMemoryError, thrown as is) can stop it midway; nothing leaks then, but the optimizer may
   * hold a mix of old and new state.
   */
  importState(json: TrainerStateJSON, tensors: TrainerTensors): void {
    const where = 'LMTrainer.importState';
    const params = this.optimizer.params;
    const steps = json.optimizer.steps;
    if (steps.length !== params.length || tensors.optimizer.length !== steps.length) {
      throw new ValueError(`${where}: optimizer state has ${steps.length} entries for ${params.length} parameters`);
    }
    steps.forEach((s, i) => {
      const bufs = tensors.optimizer[i];
      if (s === null) return;
      // Adam's two moments, each the size of its parameter.
      if (bufs === null || bufs.length !== 2 || bufs.some((b) => b.length !== params[i].size)) {
        throw new ValueError(`${where}: Adam state of parameter ${i} must be 2 buffers of ${params[i].size} values, got ${bufs === null ? 'none' : bufs.map((b) => b.length).join(' and ')}`);
      }
    });
    const { numLayers, hiddenSize } = this.model.config;
    const stateShape = [numLayers, this.train.batchSize, hiddenSize];
    if (tensors.state !== null) {
      if (tensors.state.length !== this.model.stateSize) {
        throw new ValueError(`${where}: carried state has ${tensors.state.length} tensors, expected ${this.model.stateSize}`);
      }
      tensors.state.forEach((s, k) => {
        if (s.shape.length !== 3 || s.shape.some((d, i) => d !== stateShape[i]) || s.data.length !== stateShape[0] * stateShape[1] * stateShape[2]) {
          throw new ValueError(`${where}: carried state ${k} has shape [${s.shape.join(', ')}], expected [${stateShape.join(', ')}] (numLayers, batch, hiddenSize)`);
        }
      });
    }
    const { epoch, window } = json.position;
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(window) || window < 0 || window >= this.train.windowsPerEpoch) {
      throw new ValueError(`${where}: position {epoch: ${epoch}, window: ${window}} is out of range (windows per epoch: ${this.train.windowsPerEpoch})`);
    }
    const rng = json.rng;
    if (rng.length !== 5 || !rng.slice(0, 4).every((v) => Number.isInteger(v) && v! >= 0 && v! < 2 ** 32) || rng.slice(0, 4).every((v) => v === 0)) {
      throw new ValueError(`${where}: rng must be 4 uint32 words (not all zero) and a spare, got ${rng.length} values`);
    }
    // Allocate first, then change: a failed allocation leaves the trainer as it was.
    const state = tensors.state === null ? null : untracked(() => {
      const out: Tensor[] = [];
      try {
        for (const s of tensors.state!) out.push(tensor(s.data, s.shape));
      } catch (e) {
        out.forEach((t) => t.dispose());
        throw e;
      }
      return out;
    });
    try {
      this.optimizer.loadStateList(steps.map((s, i) => (s === null ? null : { step: s, buffers: tensors.optimizer[i]! })));
    } catch (e) {
      state?.forEach((t) => t.dispose());
      throw e;
    }
    this.train.position = { epoch, window };
    this.optimizer.lr = json.optimizer.lr;
    defaultGenerator.setState(rng.map((v) => (v === null ? NaN : v)));
    this.step = json.step;
    // JSON writes a NaN loss as null. A loop, not push(...losses): a long history would overflow the stack.
    this.losses.length = 0;
    for (const l of json.losses as (number | null)[]) this.losses.push(l ?? NaN);
    this.valHistory.length = 0;
    for (const p of json.val) this.valHistory.push({ step: p.step, valLoss: (p.valLoss as number | null) ?? NaN, elapsedMs: p.elapsedMs });
    this.elapsedBeforeMs = json.elapsedMs;
    this.runElapsedMs = 0;
    this.setState(state);
  }

  /** Releases the optimizer state and the carried state (not the model). */
  dispose(): void {
    this.setState(null);
    this.optimizer.dispose();
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

export interface ScoreResult {
  /** Mean cross-entropy per scored token (nats). */
  loss: number;
  /** Tokens scored (predicted targets). */
  tokens: number;
  /** The lanes and window length used (after fitting them to a short text). */
  batchSize: number;
  seqLen: number;
}

/**
 * Where `scoreTokens` reads: n ids give n - 1 targets. B lanes of L = floor((n - 1) / B) targets
 * each (as LMBatcher cuts them), B first reduced so that a lane holds at least one window of T,
 * and T to n - 1 when the text is shorter. Windows are ceil(L / T), the last one shorter when T
 * does not divide L; the R = n - 1 - B*L targets at the very end continue the last lane.
 */
function scoredLayout(n: number, batchSize: number, seqLen: number, maxWindows: number) {
  const T = Math.max(1, Math.min(seqLen, n - 1));
  const B = Math.max(1, Math.min(batchSize, Math.floor((n - 1) / T)));
  const L = Math.floor((n - 1) / B);
  const allWindows = Math.ceil(L / T);
  const all = !(maxWindows > 0 && maxWindows < allWindows);
  const windows = all ? allWindows : maxWindows;
  const rest = all ? n - 1 - B * L : 0;
  return { T, B, L, windows, rest, tokens: B * Math.min(L, windows * T) + rest };
}

/**
 * The model's mean loss per token on `ids` (at least 2), in eval mode without gradients, each lane
 * from a zero state carried window to window. With `maxWindows` 0 every token but the first is
 * scored exactly once: the full windows, the shorter last window of each lane, and the few
 * targets past the last whole lane, which run as a batch of one continuing the last lane's state
 * (so the result is the same as running each lane in one piece). With `maxWindows` > 0 only the
 * first that many windows of the lanes are scored.
 */
export function scoreTokens(model: LanguageModel, ids: Int32Array, batchSize: number, seqLen: number, maxWindows = 0): ScoreResult {
  if (ids.length < 2) throw new ValueError(`scoreTokens: ids has ${ids.length} token(s), need at least 2`);
  const { T, B, L, windows, rest, tokens } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
  const V = model.config.vocabSize;
  const wasTraining = model.training;
  model.eval();
  let state: RecurrentState | null = null;
  let total = 0;
  // Runs `x`/`y` ((t, b) time-major) from `state`, adds the summed loss, keeps the final state.
  const step = (x: Int32Array, y: Int32Array, t: number, b: number): void => {
    const out = tidy(() => {
      const r = model.forward(tensor(x, [t, b]), state);
      return { loss: crossEntropy(r.logits.reshape(t * b, V), tensor(y, [t * b]), { reduction: 'sum' }).item(), state: r.state };
    });
    state?.forEach((s) => s.dispose());
    state = out.state;
    total += out.loss;
  };
  try {
    noGrad(() => {
      for (let w = 0; w < windows; w++) {
        const t = Math.min(T, L - w * T);
        const x = new Int32Array(t * B);
        const y = new Int32Array(t * B);
        for (let b = 0; b < B; b++) {
          const base = b * L + w * T;
          for (let i = 0; i < t; i++) {
            x[i * B + b] = ids[base + i];
            y[i * B + b] = ids[base + i + 1];
          }
        }
        step(x, y, t, B);
      }
      if (rest > 0) {
        // The last lane's state, (layers, B, H) -> (layers, 1, H).
        const last = (state as RecurrentState).map((s) => {
          const [layers, , H] = s.shape;
          const v = s.f32();
          const lane = new Float32Array(layers * H);
          for (let l = 0; l < layers; l++) lane.set(v.subarray((l * B + B - 1) * H, (l * B + B) * H), l * H);
          return tensor(lane, [layers, 1, H]);
        });
        (state as RecurrentState).forEach((s) => s.dispose());
        state = last;
        const start = B * L;
        step(ids.slice(start, start + rest), ids.slice(start + 1, start + rest + 1), rest, 1);
      }
    });
  } finally {
    (state as RecurrentState | null)?.forEach((s) => s.dispose());
    model.train(wasTraining);
  }
  return { loss: total / tokens, tokens, batchSize: B, seqLen: T };
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
