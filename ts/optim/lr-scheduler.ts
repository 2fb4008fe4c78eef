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
import { Optimizer, initialLr } from './optimizer';
import { ValueError } from '../errors';
import { checkOptions } from '../options';


/** The optimizer's groups, each with a numeric lr. */
function groupsOf(name: string, optimizer: Optimizer): { lr: number }[] {
  if (!(optimizer instanceof Optimizer)) throw new ValueError(`${name}: the first argument must be an optimizer (optim.SGD, optim.Adam, ...)`);
  const groups = optimizer.paramGroups as { lr: number }[];
  groups.forEach((g, i) => {
    if (typeof g.lr !== 'number') throw new ValueError(`${name}: the optimizer's paramGroups[${i}] has no numeric lr`);
  });
  return groups;
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

function finiteList(name: string, key: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ValueError(`${name}: ${key} must be an array of finite numbers, got ${String(value)}`);
  }
  return [...value];
}

/**
 * The serializable state of a scheduler (`stateDict()` / `loadStateDict()`): `baseLrs` and
 * `lastLrs` one entry per parameter group; `baseLr` and `lastLr` are the first group's (what a
 * single-group state held before groups; a state without the lists loads into one group).
 */
export interface LRSchedulerState {
  lastEpoch: number;
  stepCount: number;
  baseLr: number;
  lastLr: number;
  baseLrs?: number[];
  lastLrs?: number[];
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Each group's rate when its first scheduler was created (PyTorch `base_lrs`). */
  baseLrs: number[];
  /** Steps taken; 0 right after construction (PyTorch `last_epoch`). */
  lastEpoch = -1;
  protected stepCount = 0;
  private lastLrs: number[];

  protected constructor(protected readonly name: string, optimizer: Optimizer) {
    const groups = groupsOf(name, optimizer);
    this.optimizer = optimizer;
    for (const g of groups) if (!initialLr.has(g)) initialLr.set(g, g.lr);
    this.baseLrs = groups.map((g) => initialLr.get(g) as number);
    this.lastLrs = groups.map((g) => g.lr);
  }

  /** The first group's base rate (PyTorch `base_lrs[0]`). */
  get baseLr(): number {
    return this.baseLrs[0];
  }

  set baseLr(value: number) {
    this.baseLrs[0] = value;
  }

  /** Applies the epoch-0 rate; subclasses call it at the end of their constructor (PyTorch's `_initial_step`). */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** A group's rate at `lastEpoch`, from its current rate and base rate (PyTorch's chainable `get_lr`). */
  protected abstract nextLr(current: number, base: number): number;

  /** Moves to the next epoch and sets every group's rate. */
  step(): void {
    const groups = groupsOf(this.name, this.optimizer);
    if (groups.length !== this.baseLrs.length) {
      throw new ValueError(`${this.name}.step: the optimizer has ${groups.length} parameter groups, the scheduler was made for ${this.baseLrs.length}`);
    }
    this.stepCount++;
    this.lastEpoch++;
    const lrs = groups.map((g, i) => this.nextLr(g.lr, this.baseLrs[i]));
    groups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLrs = lrs;
  }

  /** The rate of each parameter group, as the last step set it. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): LRSchedulerState & Record<string, number | string | null | number[]> {
    return {
      lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLr: this.baseLrs[0], lastLr: this.lastLrs[0],
      baseLrs: [...this.baseLrs], lastLrs: [...this.lastLrs],
    };
  }

  loadStateDict(state: LRSchedulerState): void {
    for (const key of ['lastEpoch', 'stepCount', 'baseLr', 'lastLr'] as const) {
      if (typeof state?.[key] !== 'number' || !Number.isFinite(state[key])) {
        throw new ValueError(`${this.name}.loadStateDict: ${key} must be a finite number, got ${String(state?.[key])}`);
      }
    }
    const n = this.baseLrs.length;
    const list = (key: 'baseLrs' | 'lastLrs', first: number): number[] => {
      const v = state[key];
      if (v === undefined) {
        if (n !== 1) throw new ValueError(`${this.name}.loadStateDict: ${key} is missing (the optimizer has ${n} parameter groups)`);
        return [first];
      }
      const got = finiteList(`${this.name}.loadStateDict`, key, v);
      if (got.length !== n) throw new ValueError(`${this.name}.loadStateDict: ${key} has ${got.length} entries, the optimizer has ${n} parameter groups`);
      return got;
    };
    const baseLrs = list('baseLrs', state.baseLr);
    const lastLrs = list('lastLrs', state.lastLr);
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.baseLrs = baseLrs;
    this.lastLrs = lastLrs;
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

  protected nextLr(lr: number, base: number): number {
    const { lastEpoch: e, tMax: T, etaMin: m } = this;
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
  /** The lowest rate: one for every group, or one per group. */
  minLr?: number | number[];
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
  /** Each group's lowest rate (PyTorch `min_lrs`). */
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLrs: number[];

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions | 'min' | 'max' = {}) {
    const name = 'ReduceLROnPlateau';
    const groups = groupsOf(name, optimizer);
    this.lastLrs = groups.map((g) => g.lr);
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
    const minLr = o.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups.length) throw new ValueError(`${name}: minLr has ${minLr.length} entries, expected one per parameter group (${groups.length})`);
      this.minLrs = minLr.map((v, i) => finite(name, `minLr[${i}]`, v, (x) => x >= 0, 'a number >= 0'));
    } else {
      this.minLrs = groups.map(() => finite(name, 'minLr', minLr, (v) => v >= 0, 'a number >= 0'));
    }
    this.eps = finite(name, 'eps', o.eps ?? 1e-8, (v) => v >= 0, 'a number >= 0');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Records this epoch's metric (e.g. the validation loss) and lowers the rate if it has plateaued. */
  step(metric: number): void {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new ValueError(`ReduceLROnPlateau.step: metric must be a number, got ${String(metric)}`);
    const groups = groupsOf('ReduceLROnPlateau.step', this.optimizer);
    if (groups.length !== this.minLrs.length) {
      throw new ValueError(`ReduceLROnPlateau.step: the optimizer has ${groups.length} parameter groups, the scheduler was made for ${this.minLrs.length}`);
    }
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
      groups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLrs = groups.map((g) => g.lr);
  }

  /** The first group's lowest rate. */
  get minLr(): number {
    return this.minLrs[0];
  }

  /** The rate of each parameter group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** `lastLr` is the first group's rate, `lastLrs` every group's. */
  stateDict(): PlateauState & { lastLrs: number[] } {
    return {
      best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch,
      lastLr: this.lastLrs[0], lastLrs: [...this.lastLrs],
    };
  }

  /** Loads a `stateDict()`; one without `lastLrs` (saved before groups) loads into a single-group optimizer. */
  loadStateDict(state: PlateauState): void {
    for (const key of ['best', 'numBadEpochs', 'cooldownCounter', 'lastEpoch', 'lastLr'] as const) {
      if (typeof state?.[key] !== 'number' || Number.isNaN(state[key])) {
        throw new ValueError(`ReduceLROnPlateau.loadStateDict: ${key} must be a number, got ${String(state?.[key])}`);
      }
    }
    const n = this.minLrs.length;
    let lastLrs = [state.lastLr];
    if (state.lastLrs !== undefined) {
      lastLrs = finiteList('ReduceLROnPlateau.loadStateDict', 'lastLrs', state.lastLrs);
      if (lastLrs.length !== n) throw new ValueError(`ReduceLROnPlateau.loadStateDict: lastLrs has ${lastLrs.length} entries, the optimizer has ${n} parameter groups`);
    } else if (n !== 1) {
      throw new ValueError(`ReduceLROnPlateau.loadStateDict: lastLrs is missing (the optimizer has ${n} parameter groups)`);
    }
    this.best = state.best;
    this.numBadEpochs = state.numBadEpochs;
    this.cooldownCounter = state.cooldownCounter;
    this.lastEpoch = state.lastEpoch;
    this.lastLrs = lastLrs;
  }
}

/** ReduceLROnPlateau's serializable state. */
export interface PlateauState {
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  lastLr: number;
  lastLrs?: number[];
}
