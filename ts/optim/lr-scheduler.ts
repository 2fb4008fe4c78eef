/**
 * Learning-rate schedulers (PyTorch `torch.optim.lr_scheduler`), with PyTorch 1.13's step
 * semantics number for number: constructing a scheduler applies its epoch-0 rate; call
 * `scheduler.step()` after `optimizer.step()`, once per epoch (or per step, as you schedule);
 * `getLastLr()` is the rate now in use. The chainable formulas are PyTorch's, so schedulers on the
 * same optimizer compose as they do there, and the rates match torch's to the last bits.
 *
 * Options come as an object (`new StepLR(opt, { stepSize: 30, gamma: 0.1 })`); as in PyTorch the
 * first required one may also be given positionally (`new StepLR(opt, 30)`).
 */
import { Optimizer } from './optimizer';
import { ValueError } from '../errors';
import { checkOptions } from '../options';

interface WithLr {
  lr: number;
}

/** PyTorch's `group['initial_lr']`: the rate an optimizer had when its first scheduler came. */
const initialLr = new WeakMap<Optimizer, number>();

function currentLr(name: string, optimizer: Optimizer): number {
  if (!(optimizer instanceof Optimizer)) throw new ValueError(`${name}: the first argument must be an optimizer (optim.SGD, optim.Adam, ...)`);
  const lr = (optimizer as unknown as WithLr).lr;
  if (typeof lr !== 'number') throw new ValueError(`${name}: the optimizer has no numeric lr`);
  return lr;
}

/** `options` as an object (checked: ts/options.ts); a number is the first required option, given positionally. */
function readOptions<T extends object>(name: string, options: T | number | undefined, positional: keyof T, known: (keyof T)[]): Partial<T> {
  if (typeof options === 'number') return { [positional]: options } as Partial<T>;
  checkOptions(name, options, known as string[]);
  return options ?? {};
}

function finite(name: string, key: string, value: unknown, check: (v: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    throw new ValueError(`${name}: ${key} must be ${expected}, got ${String(value)}`);
  }
  return value;
}

/** The serializable state of a scheduler (`stateDict()` / `loadStateDict()`). */
export interface LRSchedulerState {
  lastEpoch: number;
  stepCount: number;
  baseLr: number;
  lastLr: number;
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The optimizer's rate when its first scheduler was created (PyTorch `base_lrs[0]`). */
  baseLr: number;
  /** Steps taken; 0 right after construction (PyTorch `last_epoch`). */
  lastEpoch = -1;
  protected stepCount = 0;
  private lastLr: number;

  protected constructor(protected readonly name: string, optimizer: Optimizer) {
    const lr = currentLr(name, optimizer);
    this.optimizer = optimizer;
    if (!initialLr.has(optimizer)) initialLr.set(optimizer, lr);
    this.baseLr = initialLr.get(optimizer) as number;
    this.lastLr = lr;
  }

  /** Applies the epoch-0 rate; subclasses call it at the end of their constructor (PyTorch's `_initial_step`). */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rate at `lastEpoch`, from the optimizer's current rate (PyTorch's chainable `get_lr`). */
  protected abstract nextLr(current: number): number;

  /** Moves to the next epoch and sets the optimizer's rate. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const lr = this.nextLr(this.lr);
    (this.optimizer as unknown as WithLr).lr = lr;
    this.lastLr = lr;
  }

  /** The rate of each parameter group (one group here), as the last step set it. */
  getLastLr(): number[] {
    return [this.lastLr];
  }

  protected get lr(): number {
    return (this.optimizer as unknown as WithLr).lr;
  }

  stateDict(): LRSchedulerState & Record<string, number | string | null> {
    return { lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLr: this.baseLr, lastLr: this.lastLr };
  }

  loadStateDict(state: LRSchedulerState): void {
    for (const key of ['lastEpoch', 'stepCount', 'baseLr', 'lastLr'] as const) {
      if (typeof state?.[key] !== 'number' || !Number.isFinite(state[key])) {
        throw new ValueError(`${this.name}.loadStateDict: ${key} must be a finite number, got ${String(state?.[key])}`);
      }
    }
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.baseLr = state.baseLr;
    this.lastLr = state.lastLr;
  }
}

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/** Multiplies the rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions | number) {
    super('StepLR', optimizer);
    const o = readOptions('StepLR', options, 'stepSize', ['stepSize', 'gamma']);
    this.stepSize = finite('StepLR', 'stepSize', o.stepSize, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    this.gamma = finite('StepLR', 'gamma', o.gamma ?? 0.1, (v) => v >= 0, 'a number >= 0');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    return this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

export interface ExponentialLROptions {
  gamma: number;
}

/** Multiplies the rate by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions | number) {
    super('ExponentialLR', optimizer);
    const o = readOptions('ExponentialLR', options, 'gamma', ['gamma']);
    this.gamma = finite('ExponentialLR', 'gamma', o.gamma, (v) => v >= 0, 'a number >= 0');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    return this.lastEpoch === 0 ? lr : lr * this.gamma;
  }
}

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

/** Cosine annealing from the base rate to `etaMin` over `tMax` epochs (and back, periodically, as PyTorch's). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions | number) {
    super('CosineAnnealingLR', optimizer);
    const o = readOptions('CosineAnnealingLR', options, 'tMax', ['tMax', 'etaMin']);
    this.tMax = finite('CosineAnnealingLR', 'tMax', o.tMax, (v) => v > 0, 'a number > 0');
    this.etaMin = finite('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0, (v) => v >= 0, 'a number >= 0');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    const { lastEpoch: e, tMax: T, etaMin: m, baseLr: base } = this;
    if (e === 0) return lr;
    if (this.stepCount === 1 && e > 0) return m + ((base - m) * (1 + Math.cos((e * Math.PI) / T))) / 2;
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((base - m) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - m) + m;
  }
}

export interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

/** Scales the rate linearly from `startFactor` to `endFactor` over `totalIters` epochs (warm-up). */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions | number = {}) {
    super('LinearLR', optimizer);
    const o = readOptions('LinearLR', options, 'startFactor', ['startFactor', 'endFactor', 'totalIters']);
    const factor = (v: number): boolean => v >= 0 && v <= 1;
    this.startFactor = finite('LinearLR', 'startFactor', o.startFactor ?? 1 / 3, factor, 'in [0, 1]');
    this.endFactor = finite('LinearLR', 'endFactor', o.endFactor ?? 1, factor, 'in [0, 1]');
    this.totalIters = finite('LinearLR', 'totalIters', o.totalIters ?? 5, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return lr * s;
    if (e > n) return lr;
    return lr * (1 + (f - s) / (n * s + (e - 1) * (f - s)));
  }
}

export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

/** Multiplies the rate by `factor` when the metric given to `step(metric)` stops improving for `patience` epochs. */
export class ReduceLROnPlateau {
  readonly optimizer: Optimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions | 'min' | 'max' = {}) {
    const name = 'ReduceLROnPlateau';
    this.lastLr = currentLr(name, optimizer);
    this.optimizer = optimizer;
    const o: ReduceLROnPlateauOptions = typeof options === 'string'
      ? { mode: options }
      : readOptions(name, options, 'mode', ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    if (o.mode !== undefined && o.mode !== 'min' && o.mode !== 'max') throw new ValueError(`${name}: mode must be 'min' or 'max', got ${String(o.mode)}`);
    if (o.thresholdMode !== undefined && o.thresholdMode !== 'rel' && o.thresholdMode !== 'abs') {
      throw new ValueError(`${name}: thresholdMode must be 'rel' or 'abs', got ${String(o.thresholdMode)}`);
    }
    this.mode = o.mode ?? 'min';
    this.thresholdMode = o.thresholdMode ?? 'rel';
    this.factor = finite(name, 'factor', o.factor ?? 0.1, (v) => v >= 0 && v < 1, 'in [0, 1)');
    this.patience = finite(name, 'patience', o.patience ?? 10, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    this.threshold = finite(name, 'threshold', o.threshold ?? 1e-4, (v) => v >= 0, 'a number >= 0');
    this.cooldown = finite(name, 'cooldown', o.cooldown ?? 0, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    this.minLr = finite(name, 'minLr', o.minLr ?? 0, (v) => v >= 0, 'a number >= 0');
    this.eps = finite(name, 'eps', o.eps ?? 1e-8, (v) => v >= 0, 'a number >= 0');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Records this epoch's metric (e.g. the validation loss) and lowers the rate if it has plateaued. */
  step(metric: number): void {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new ValueError(`ReduceLROnPlateau.step: metric must be a number, got ${String(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const opt = this.optimizer as unknown as WithLr;
      const newLr = Math.max(opt.lr * this.factor, this.minLr);
      if (opt.lr - newLr > this.eps) opt.lr = newLr;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = (this.optimizer as unknown as WithLr).lr;
  }

  getLastLr(): number[] {
    return [this.lastLr];
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  stateDict(): { best: number; numBadEpochs: number; cooldownCounter: number; lastEpoch: number; lastLr: number } {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: this.lastLr };
  }

  loadStateDict(state: { best: number; numBadEpochs: number; cooldownCounter: number; lastEpoch: number; lastLr: number }): void {
    for (const key of ['best', 'numBadEpochs', 'cooldownCounter', 'lastEpoch', 'lastLr'] as const) {
      if (typeof state?.[key] !== 'number' || Number.isNaN(state[key])) {
        throw new ValueError(`ReduceLROnPlateau.loadStateDict: ${key} must be a number, got ${String(state?.[key])}`);
      }
    }
    this.best = state.best;
    this.numBadEpochs = state.numBadEpochs;
    this.cooldownCounter = state.cooldownCounter;
    this.lastEpoch = state.lastEpoch;
    this.lastLr = state.lastLr;
  }
}
