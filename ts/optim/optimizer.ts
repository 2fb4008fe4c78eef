/**
 * Optimizer base: holds the parameters in groups (PyTorch's `param_groups`: each group its own
 * hyperparameters, the constructor's options its defaults) and, per parameter, its state buffers
 * (owned by the optimizer, created untracked, released by `dispose()`). Updates run in the crate's
 * fused kernels, which take the hyperparameters per call, so each group is updated with its own.
 * After `dispose()` every method but `dispose` throws a DisposedError; so do `step` and `zeroGrad`
 * when a parameter was disposed (its module was), before they change anything.
 *
 * `stateDict()` / `loadStateDict()` use PyTorch's structure (parameters numbered in group order):
 * `{ state: { 0: { step, exp_avg, exp_avg_sq } }, param_groups: [{ lr, betas, ..., params: [0, 1] }] }`.
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { DisposedError, ValueError, DTypeError, ShapeError, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { checkOptions } from '../options';

export interface ParamState {
  /** Number of updates applied to this parameter (PyTorch's state["step"]). */
  step: number;
  buffers: Tensor[];
}

/** A parameter group: its parameters and its hyperparameters (every one filled in). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
}

/** A group as given to a constructor: parameters, and any hyperparameter to override. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> | Tensor } & O;

/** What an optimizer constructor takes: parameters (one group), or a list of groups. */
export type ParamsInput<O> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** A state tensor in a state dict: a Tensor, or its shape and data. */
export type StateTensor = Tensor | { shape: readonly number[]; data: ArrayLike<number> };

/** A state tensor as `stateDict()` gives it: a copy, owning no WebAssembly memory. */
export interface SavedTensor {
  shape: number[];
  data: Float32Array;
}

/** `optimizer.stateDict()`: PyTorch's `state_dict()` structure, with copies of the state. */
export interface OptimizerStateDict<T = SavedTensor> {
  /** Per parameter index (numbered through the groups in order), only parameters that have state. */
  state: Record<number, { step: number } & Record<string, number | T | null>>;
  /** Each group's hyperparameters under PyTorch's names, and its parameters' indices. */
  param_groups: ({ params: number[] } & Record<string, unknown>)[];
}

/**
 * One hyperparameter: its option name (camelCase), PyTorch's name, and its check (`where` is the
 * option's name in messages, `Adam: lr` or `Adam: paramGroups[1].lr`).
 */
export interface Hyper {
  key: string;
  torch: string;
  check(where: string, value: unknown): void;
}

/**
 * PyTorch's `group['initial_lr']`: a group's rate when the first scheduler on it came (set by
 * ts/optim/lr-scheduler.ts; saved in and restored from state dicts, as PyTorch's param_groups carry it).
 */
export const initialLr = new WeakMap<object, number>();

/** Keys PyTorch 1.13 writes in param_groups for features this library does not have, with the value meaning "off". */
const TORCH_OFF: Record<string, unknown> = {
  amsgrad: false, maximize: false, foreach: null, capturable: false, differentiable: false, fused: false,
};

function isTensorLike(v: unknown): boolean {
  return v instanceof Tensor;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? `a string "${v}"` : String(v);
}

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /**
   * The parameter groups (PyTorch `param_groups`). Each group's hyperparameters may be changed
   * (schedulers set `group.lr`); they are checked again at every `step()`.
   */
  readonly paramGroups: G[] = [];
  /** The constructor's options, filled in: what a group that does not say takes. */
  readonly defaults: Omit<G, 'params'>;
  protected readonly state = new Map<Tensor, ParamState>();
  private disposed = false;
  /** 'SGD', 'Adam', 'AdamW': names the optimizer in errors. */
  protected readonly name: string;

  protected constructor(params: ParamsInput<object>, name: string, defaults: Omit<G, 'params'>) {
    this.name = name;
    this.defaults = defaults;
    if (params === null || params === undefined || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
      const isModule = params !== null && typeof params === 'object' && typeof (params as { parameters?: unknown }).parameters === 'function';
      throw new ValueError(`${name}: params must be an iterable of tensors or of parameter groups, got ${isModule ? `a module (pass module.parameters())` : String(params)}`);
    }
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) {
      throw new ValueError(`${name}: got an empty parameter list (a Module finds submodules and parameters held in its fields; arrays of modules need nn.ModuleList)`);
    }
    const grouped = list[0] !== null && typeof list[0] === 'object' && !isTensorLike(list[0]) && 'params' in (list[0] as object);
    if (!grouped) {
      this.checkGroup(name, defaults as Record<string, unknown>);
      this.addGroup({ params: list as Tensor[] }, 'params', 'params');
      return;
    }
    this.checkDefaults(defaults as Record<string, unknown>);
    const groups: G[] = [];
    list.forEach((g, i) => {
      if (g === null || typeof g !== 'object' || isTensorLike(g) || !('params' in g)) {
        throw new ValueError(`${name}: paramGroups[${i}] must be a parameter group { params, ... } (every entry, as paramGroups[0] is), got ${isTensorLike(g) ? 'a Tensor' : describe(g)}`);
      }
      groups.push(this.makeGroup(g as ParamGroupInput<object>, `paramGroups[${i}]`, groups));
    });
    this.paramGroups.push(...groups);
  }

  /** Every parameter, through the groups in order (PyTorch's numbering in state dicts). */
  get params(): readonly Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** The hyperparameters this optimizer has, with PyTorch's names. */
  protected abstract hypers(): readonly Hyper[];

  /** Checks a group's (or the defaults') hyperparameters, and their combinations. */
  protected checkGroup(where: string, group: Record<string, unknown>): void {
    const prefix = where === this.name ? `${this.name}: ` : `${this.name}: ${where}.`;
    for (const h of this.hypers()) h.check(`${prefix}${h.key}`, group[h.key]);
  }

  /** Checks the constructor's options when groups are given (SGD's lr may then come from every group instead). */
  protected checkDefaults(defaults: Record<string, unknown>): void {
    this.checkGroup(this.name, defaults);
  }

  /** Adds a group (PyTorch `add_param_group`): `{ params, lr?, ... }`, the rest from the defaults. */
  addParamGroup(group: ParamGroupInput<Partial<Omit<G, 'params'>>>): void {
    this.assertUsable('addParamGroup');
    this.addGroup(group, `paramGroups[${this.paramGroups.length}]`, `paramGroups[${this.paramGroups.length}].params`);
  }

  private addGroup(group: ParamGroupInput<object>, where: string, paramsName: string): void {
    this.paramGroups.push(this.makeGroup(group, where, this.paramGroups, paramsName));
  }

  /** A checked group: options known, parameters float32 tensors that require grad and are in no other group. */
  private makeGroup(input: ParamGroupInput<object>, where: string, others: readonly G[], paramsName = `${where}.params`): G {
    const { name } = this;
    const keys = ['params', ...this.hypers().map((h) => h.key)];
    if (paramsName !== 'params') checkOptions(`${name}: ${where}`, input, keys);
    const raw = input.params;
    if (raw === null || raw === undefined || (!isTensorLike(raw) && typeof (raw as Iterable<Tensor>)[Symbol.iterator] !== 'function')) {
      const isModule = raw !== null && typeof raw === 'object' && typeof (raw as { parameters?: unknown }).parameters === 'function';
      throw new ValueError(`${name}: ${paramsName} must be an iterable of tensors, got ${isModule ? 'a module (pass module.parameters())' : describe(raw)}`);
    }
    const params: Tensor[] = isTensorLike(raw) ? [raw as Tensor] : Array.from(raw as Iterable<Tensor>);
    params.forEach((p, i) => {
      if (!(p instanceof Tensor) || p.dtype !== 'float32') throw new DTypeError(`${name}: ${paramsName}[${i}] must be a float32 Tensor`);
      assertTensor(name, `${paramsName}[${i}]`, p);
      if (!p.requiresGrad) throw new ValueError(`${name}: ${paramsName}[${i}] (${formatShape(p.shape)}, ${p.dtype}) does not require grad`);
    });
    if (new Set(params).size !== params.length) throw new ValueError(`${name}: a parameter appears more than once in ${paramsName}`);
    others.forEach((g, gi) => {
      const i = params.findIndex((p) => g.params.includes(p));
      if (i >= 0) throw new ValueError(`${name}: ${paramsName}[${i}] is already in paramGroups[${gi}] (a parameter may be in one group only)`);
    });
    // Arrays (betas) are copied: a group's own never aliases the defaults' or another group's.
    const group: Record<string, unknown> = {};
    for (const h of this.hypers()) {
      const given = (input as unknown as Record<string, unknown>)[h.key];
      const v = given !== undefined ? given : (this.defaults as Record<string, unknown>)[h.key];
      group[h.key] = Array.isArray(v) ? [...v] : v;
    }
    if (paramsName !== 'params') this.checkGroup(where, group);
    group.params = params;
    return group as unknown as G;
  }

  /**
   * A hyperparameter of the one group (`optimizer.lr`, kept for single-group code); with several
   * groups there is no one value: read or set `paramGroups[i].<key>`.
   */
  protected single(key: string): G {
    if (this.paramGroups.length !== 1) {
      throw new ValueError(`${this.name}.${key}: the optimizer has ${this.paramGroups.length} parameter groups; use optimizer.paramGroups[i].${key}`);
    }
    return this.paramGroups[0];
  }

  /** The learning rate of the one parameter group (an error with several: use `paramGroups[i].lr`). */
  get lr(): number {
    return this.single('lr').lr;
  }

  set lr(value: number) {
    const group = this.single('lr');
    checkHyper(this.name, 'lr', value);
    group.lr = value;
  }

  /** Zeroes every parameter's gradient in place (keeps the buffers: no allocation per step). */
  zeroGrad(): void {
    this.assertUsable('zeroGrad');
    for (const p of this.params) if (p.grad !== null) p.grad.f32().fill(0);
  }

  /** Applies one update to every parameter that has a gradient, each with its group's hyperparameters. */
  step(): void {
    this.assertUsable('step');
    this.paramGroups.forEach((g, i) => this.checkGroup(`paramGroups[${i}]`, g as unknown as Record<string, unknown>));
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        let s = this.state.get(p);
        if (s === undefined) {
          s = { step: 0, buffers: untracked(() => this.createBuffers(p, group)) };
          this.state.set(p, s);
        }
        s.step++;
        this.update(p, p.grad, s, group);
      }
    }
  }

  /** The state buffers of a new parameter (zeroed), e.g. Adam's m and v. */
  protected abstract createBuffers(p: Tensor, group: G): Tensor[];
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: G): void;
  /** PyTorch's names of the state buffers, in `createBuffers` order (`exp_avg`, `exp_avg_sq`). */
  protected abstract bufferNames(): readonly string[];
  /** Whether a parameter's state may lack buffer `name` (PyTorch's SGD without momentum stores None). */
  protected bufferOptional(_group: Record<string, unknown>, _name: string): boolean {
    return false;
  }
  /** Whether a state entry may omit `step` (PyTorch's SGD state has none). */
  protected stepOptional(): boolean {
    return false;
  }

  /**
   * The optimizer's state as PyTorch's `state_dict()`: `state` by parameter index (numbered through
   * the groups in order; parameters not yet stepped are absent), `param_groups` with PyTorch's
   * hyperparameter names and the indices of their parameters. Tensors are copies
   * (`{ shape, data: Float32Array }`): they own no WebAssembly memory and do not change as
   * training goes on.
   */
  stateDict(): OptimizerStateDict {
    this.assertUsable('stateDict');
    const names = this.bufferNames();
    const state: OptimizerStateDict['state'] = {};
    const groups: OptimizerStateDict['param_groups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const entry: Record<string, unknown> = {};
      for (const h of this.hypers()) {
        const v = (group as unknown as Record<string, unknown>)[h.key];
        entry[h.torch] = Array.isArray(v) ? [...v] : v;
      }
      if (initialLr.has(group)) entry.initial_lr = initialLr.get(group);
      const ids: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s !== undefined) {
          const out: Record<string, number | SavedTensor | null> = { step: s.step };
          names.forEach((n, j) => {
            const b = s.buffers[j];
            out[n] = b === undefined ? null : { shape: [...b.shape], data: b.toArray() as Float32Array };
          });
          state[index] = out as { step: number };
        }
        ids.push(index++);
      }
      groups.push({ ...entry, params: ids });
    }
    return { state, param_groups: groups };
  }

  /**
   * Restores a state dict from `stateDict()` (or PyTorch's, as `{ shape, data }` tensors): the
   * groups' hyperparameters and every parameter's state. Saved group i's j-th parameter is this
   * optimizer's group i's j-th parameter. Everything is checked, and the new buffers allocated,
   * before the old are released (memory for both is needed for a moment): on an error (a
   * ValueError or ShapeError naming what does not match, or an OutOfMemoryError) nothing changes.
   */
  loadStateDict(dict: OptimizerStateDict<StateTensor>): void {
    this.assertUsable('loadStateDict');
    const where = `${this.name}.loadStateDict`;
    const { state, param_groups: saved } = checkStateDict(where, dict);
    const { groups, owners } = this.readGroups(where, saved);
    const states = Object.entries(state).map(([id, entry]) => this.readParamState(where, id, entry, owners));
    this.assign(allocateStates(states), groups);
  }

  /** Replaces the whole state (as PyTorch: a parameter not in the dict loses its state) and the groups' hyperparameters. */
  private assign(states: readonly [Tensor, ParamState][], groups: readonly SavedGroup[]): void {
    for (const s of this.state.values()) s.buffers.forEach((b) => b.dispose());
    this.state.clear();
    for (const [p, s] of states) this.state.set(p, s);
    groups.forEach((g, gi) => {
      Object.assign(this.paramGroups[gi], g.hypers);
      if (g.initialLr !== undefined) initialLr.set(this.paramGroups[gi], g.initialLr);
      else initialLr.delete(this.paramGroups[gi]);
    });
  }

  /**
   * Saved groups, checked (hyperparameters as the constructor checks them, parameter indices as
   * many as this optimizer's group has, each once), and which parameter each index stands for.
   */
  private readGroups(where: string, saved: readonly unknown[]): { groups: SavedGroup[]; owners: Map<string, Owner> } {
    if (saved.length !== this.paramGroups.length) {
      throw new ValueError(`${where}: the state dict has ${saved.length} parameter group(s), the optimizer has ${this.paramGroups.length}`);
    }
    const owners = new Map<string, Owner>();
    const groups = saved.map((sg, gi) => {
      const at = `param_groups[${gi}]`;
      if (sg === null || typeof sg !== 'object' || Array.isArray(sg)) throw new ValueError(`${where}: ${at} must be an object, got ${describe(sg)}`);
      const group = this.readGroupHypers(where, at, sg as Record<string, unknown>);
      const ids = (sg as { params?: unknown }).params;
      const params = this.paramGroups[gi].params;
      if (!Array.isArray(ids)) throw new ValueError(`${where}: ${at}.params must be an array of parameter indices, got ${describe(ids)}`);
      if (ids.length !== params.length) {
        throw new ValueError(`${where}: ${at} has ${ids.length} parameter(s), the optimizer's paramGroups[${gi}] has ${params.length}`);
      }
      ids.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0) throw new ValueError(`${where}: ${at}.params[${j}] must be an integer index >= 0, got ${describe(id)}`);
        if (owners.has(String(id))) throw new ValueError(`${where}: parameter index ${id} appears more than once in param_groups`);
        owners.set(String(id), { p: params[j], hypers: group.hypers });
      });
      return group;
    });
    return { groups, owners };
  }

  /** A saved group's hyperparameters under their option names, checked, and its initial_lr. */
  private readGroupHypers(where: string, at: string, sg: Record<string, unknown>): SavedGroup {
    const hypers = this.hypers();
    const out: Record<string, unknown> = {};
    let initial: number | undefined;
    for (const [k, v] of Object.entries(sg)) {
      if (k === 'params') continue;
      if (k === 'initial_lr') {
        if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new ValueError(`${where}: ${at}.initial_lr must be a finite number >= 0, got ${describe(v)}`);
        initial = v;
        continue;
      }
      const h = hypers.find((x) => x.torch === k);
      if (h !== undefined) out[h.key] = Array.isArray(v) ? [...v] : v;
      else if (!(k in TORCH_OFF)) throw new ValueError(`${where}: ${at} has unknown key '${k}' (${this.name} groups have ${hypers.map((x) => x.torch).join(', ')}, params, initial_lr)`);
      else if (v !== TORCH_OFF[k] && !(k === 'fused' && v === null)) throw new ValueError(`${where}: ${at}.${k} is ${String(v)}; lstm-wasm's ${this.name} does not have ${k}`);
    }
    for (const h of hypers) if (!(h.key in out)) throw new ValueError(`${where}: ${at} has no '${h.torch}'`);
    this.checkGroup(at, out);
    return { hypers: out, initialLr: initial };
  }

  /** `state[id]`, checked against its parameter: known keys, a step, and buffers of the parameter's shape. */
  private readParamState(where: string, id: string, entry: unknown, owners: ReadonlyMap<string, Owner>): SavedParamState {
    const at = `${where}: state[${id}]`;
    const owner = owners.get(id);
    if (owner === undefined) throw new ValueError(`${at} is for no parameter in param_groups (indices ${[...owners.keys()].join(', ')})`);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ValueError(`${at} must be an object, got ${describe(entry)}`);
    const names = this.bufferNames();
    const known = ['step', ...names];
    const extra = Object.keys(entry).find((k) => !known.includes(k));
    if (extra !== undefined) throw new ValueError(`${at} has unknown key '${extra}' (${this.name} state has ${known.join(', ')})`);
    const fields = entry as Record<string, unknown>;
    const step = stepOf(`${at}.step`, fields.step, this.stepOptional());
    const { p } = owner;
    const data = names.map((n) => {
      const v = fields[n];
      if ((v === null || v === undefined) && this.bufferOptional(owner.hypers, n)) return null;
      return stateData(`${at}.${n}`, v, p);
    });
    return { p, step, data };
  }

  /** Throws unless the optimizer and every parameter are alive. */
  private assertUsable(what: string): void {
    if (this.disposed) throw new DisposedError(`${this.name}.${what}: the optimizer was disposed`);
    this.params.forEach((p, i) => assertTensor(`${this.name}.${what}`, `params[${i}]`, p));
  }

  /** Releases the state buffers. Idempotent. */
  dispose(): void {
    for (const s of this.state.values()) s.buffers.forEach((b) => b.dispose());
    this.state.clear();
    this.disposed = true;
  }
}

/** A saved group, checked: its hyperparameters under their option names, and its initial_lr if it has one. */
interface SavedGroup {
  hypers: Record<string, unknown>;
  initialLr: number | undefined;
}

/** The parameter a saved index stands for, and the hyperparameters of its saved group. */
interface Owner {
  p: Tensor;
  hypers: Record<string, unknown>;
}

/** A saved parameter state, checked: its step and its buffers' data (null for an optional buffer left out). */
interface SavedParamState {
  p: Tensor;
  step: number;
  data: (ArrayLike<number> | null)[];
}

/** The dict's two parts, checked to be an array and an object (their contents are checked by the optimizer). */
function checkStateDict(where: string, dict: unknown): { state: object; param_groups: unknown[] } {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new ValueError(`${where}: the state dict must be an object { state, param_groups }, got ${describe(dict)}`);
  checkOptions(where, dict, ['state', 'param_groups']);
  const { state, param_groups: groups } = dict as { state?: unknown; param_groups?: unknown };
  if (!Array.isArray(groups)) throw new ValueError(`${where}: param_groups must be an array, got ${describe(groups)}`);
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new ValueError(`${where}: state must be an object, got ${describe(state)}`);
  return { state, param_groups: groups };
}

/**
 * A saved step as a number: an integer in [0, 2^32) (the kernels take it as u32), or PyTorch
 * 1.13's 0-d tensor holding one; 1 when there is none and `optional` (PyTorch's SGD saves none).
 */
function stepOf(where: string, given: unknown, optional: boolean): number {
  let step = given === undefined && optional ? 1 : given;
  if (step instanceof Tensor) {
    if (step.size === 1 && step.shape.length === 0) step = (step.toArray() as ArrayLike<number>)[0];
  } else if (step !== null && typeof step === 'object' && 'data' in step && 'shape' in step) {
    const { shape, data } = step as { shape: unknown; data: ArrayLike<number> };
    if (Array.isArray(shape) && shape.length === 0 && data?.length === 1) step = data[0];
  }
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > 0xffffffff) {
    throw new ValueError(`${where} must be an integer >= 0, got ${describe(given)}`);
  }
  return step;
}

/** The state buffers, allocated untracked and filled (on an allocation failure, none is left allocated). */
function allocateStates(states: readonly SavedParamState[]): [Tensor, ParamState][] {
  const made: [Tensor, ParamState][] = [];
  try {
    untracked(() => {
      for (const { p, step, data } of states) {
        const buffers: Tensor[] = [];
        made.push([p, { step, buffers }]);
        for (const d of data) {
          if (d === null) continue;
          const b = new Tensor(p.shape);
          buffers.push(b);
          b.f32().set(d);
        }
      }
    });
  } catch (e) {
    for (const [, s] of made) s.buffers.forEach((b) => b.dispose());
    throw e;
  }
  return made;
}

/** The data of a state tensor, checked: a live float32 Tensor or `{ shape, data }` of `p`'s shape. */
function stateData(where: string, v: unknown, p: Tensor): ArrayLike<number> {
  let shape: readonly number[];
  let data: ArrayLike<number>;
  if (v instanceof Tensor) {
    assertTensor(where, 'tensor', v);
    if (v.dtype !== 'float32') throw new DTypeError(`${where} is ${v.dtype}, expected float32`);
    shape = v.shape;
    data = v.toArray() as ArrayLike<number>;
  } else if (v !== null && typeof v === 'object' && Array.isArray((v as { shape?: unknown }).shape) && typeof (v as { data?: ArrayLike<number> }).data?.length === 'number') {
    ({ shape, data } = v as { shape: number[]; data: ArrayLike<number> });
  } else {
    throw new ValueError(`${where} must be a Tensor or { shape, data }, got ${describe(v)}`);
  }
  if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
    throw new ShapeError(`${where} has shape ${formatShape(shape)}, expected ${formatShape(p.shape)} (its parameter's)`);
  }
  if (data.length !== p.size) throw new ShapeError(`${where} has ${data.length} values, expected ${p.size}`);
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== 'number') throw new ValueError(`${where}.data[${i}] must be a number, got ${describe(data[i])}`);
  }
  return data;
}

/**
 * An optimizer's options: an options object (checked against `keys`), or a number as PyTorch's
 * positional lr (`new Adam(params, 0.01)`).
 */
export function optimizerOptions<O extends { lr?: number }>(name: string, lrOrOptions: O | number | undefined, keys: readonly string[]): O {
  if (typeof lrOrOptions === 'number') return { lr: lrOrOptions } as O;
  checkOptions(name, lrOrOptions, keys);
  return (lrOrOptions ?? {}) as O;
}

export function checkHyper(name: string, key: string, value: number, min = 0): void {
  if (typeof value !== 'number' || !(value >= min) || !Number.isFinite(value)) {
    throw new ValueError(`${name}: ${key} must be a finite number >= ${min}, got ${value}`);
  }
}

/** A Hyper for a finite number >= 0. */
export function nonNegative(key: string, torch: string): Hyper {
  return {
    key, torch,
    check(where, value) {
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw new ValueError(`${where} must be a finite number >= 0, got ${String(value)}`);
    },
  };
}
