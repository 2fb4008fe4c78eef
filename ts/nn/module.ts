/**
 * Module: the PyTorch `nn.Module` contract. A module owns its parameters (untracked tensors that
 * no `tidy` disposes) and its child modules; `dispose()` releases them all.
 *
 * Children are found as PyTorch finds them (attribute registration): a submodule or a parameter
 * held in one of the module's own fields is registered under the field's name, with no call to
 * `addModule`. Fields are read when they are needed (`parameters()`, `namedParameters()`,
 * `stateDict()`, `train()`, `dispose()`...), not at construction, so fields a subclass assigns
 * after `super()` are found. A parameter is a tensor made by `addParameter` or marked by
 * `Parameter(t)`; other tensors in fields (caches, buffers) are not parameters. Arrays and plain
 * objects are not searched: hold several modules in a `ModuleList`.
 *
 * Names and order follow PyTorch: own parameters, then each child's under `childName.`; within
 * each, the ones registered explicitly (`addParameter`, `addModule`) in registration order, then
 * the ones found in fields, in field-definition order. One module or tensor registered both ways
 * (`this.head = this.addModule('head', ...)`) counts once, under its registered name.
 * After `dispose()` every method but `dispose` throws a DisposedError.
 */
import { Tensor } from '../tensor';
import { isHandedOver, keep, untracked } from '../memory';
import { DTypeError, DisposedError, ShapeError, ValueError, describeKind, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { checkOptions, optionKeys } from '../options';

/** Modules whose train() is running: a cycle through fields must not recurse forever. */
const switching = new Set<Module>();

/** Tensors that are parameters: made by `addParameter` or marked by `Parameter`. */
const parameterTensors = new WeakSet<Tensor>();

/**
 * Marks a float32 leaf tensor as a parameter (PyTorch `nn.Parameter`) and returns it: it requires
 * grad, leaves every `tidy` scope, and a module holding it in a field finds it, owns it (disposes
 * it with itself) and names it after the field.
 */
export function Parameter(t: Tensor): Tensor {
  if (!(t instanceof Tensor)) throw new DTypeError(`Parameter: expected a Tensor, got ${typeof t}`);
  assertTensor('Parameter', 'tensor', t);
  if (t.dtype !== 'float32') throw new DTypeError(`Parameter: only float32 tensors can be parameters, this one is ${t.dtype}`);
  t.requiresGrad_(true);
  keep(t);
  parameterTensors.add(t);
  return t;
}

/** True if `t` is a parameter (made by `addParameter` or marked by `Parameter`). */
export function isParameter(t: unknown): boolean {
  return t instanceof Tensor && parameterTensors.has(t);
}

export interface LoadStateDictOptions {
  /**
   * PyTorch's `strict` (default true): every key of the module must be in the dict and no other;
   * false loads the keys that match and reports the others (`missingKeys`, `unexpectedKeys`).
   * Shapes must match either way.
   */
  strict?: boolean;
  /** Load only the dict's keys under this prefix, stripped (`'encoder.'` for `encoder.*` of a combined file). */
  prefix?: string;
}
const LOAD_KEYS = optionKeys<LoadStateDictOptions>({ strict: true, prefix: true });

/** What `loadStateDict` did not load, as PyTorch's `load_state_dict` returns it. */
export interface LoadStateDictResult {
  /** The module's keys the dict did not have (always empty with `strict`). */
  missingKeys: string[];
  /** The dict's keys (under `prefix`, as written in the dict) the module does not have. */
  unexpectedKeys: string[];
}

/** What `loadStateDict` accepts per key: a tensor, or raw data with a shape. */
export type StateValue = Tensor | { shape: readonly number[]; data: ArrayLike<number> };

export abstract class Module {
  /** Train mode (dropout active) or eval mode. */
  training = true;
  private readonly ownParams: [string, Tensor][] = [];
  private readonly children: [string, Module][] = [];
  private disposed = false;

  /**
   * Creates a float32 parameter of `shape`, owned by this module, filled by `init` (PyTorch
   * `register_parameter`). If it cannot (out of memory, say), the module disposes itself before
   * the error propagates: a constructor that fails half-way leaves no parameters behind.
   */
  addParameter(name: string, shape: readonly number[], init: (t: Tensor) => void): Tensor {
    this.assertAlive('addParameter');
    let p: Tensor | null = null;
    try {
      p = untracked(() => new Tensor(shape, 'float32', true));
      init(p);
    } catch (e) {
      p?.dispose();
      this.dispose();
      throw e;
    }
    parameterTensors.add(p);
    this.ownParams.push([name, p]);
    return p;
  }

  /** Registers a child module under `name` (its parameters become `name.*`); returns it. */
  addModule<M extends Module>(name: string, m: M): M {
    this.assertAlive('addModule');
    if (!(m instanceof Module)) throw new ValueError(`${this.constructor.name}.addModule: '${name}' must be a Module, got ${describeKind(m)}`);
    if ((m as Module) === this) throw new ValueError(`${this.constructor.name}.addModule: a module cannot be its own child ('${name}')`);
    if (this.children.some(([n]) => n === name)) throw new ValueError(`${this.constructor.name}.addModule: a child named '${name}' is already registered`);
    this.children.push([name, m]);
    return m;
  }

  /**
   * Own parameters: registered ones, then parameters held in fields that were not registered (one
   * tensor in two fields is listed under both names, as PyTorch's state_dict does).
   */
  private ownParameters(): [string, Tensor][] {
    const out = this.ownParams.slice();
    const registered = new Set(out.map(([, p]) => p));
    for (const [field, value] of Object.entries(this)) {
      if (value instanceof Tensor && parameterTensors.has(value) && !registered.has(value)) out.push([field, value]);
    }
    return out;
  }

  /** [name, child] pairs: registered children, then modules held in fields; each module once. */
  namedChildren(): [string, Module][] {
    this.assertAlive('namedChildren');
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    for (const [name, m] of this.childList()) {
      if (seen.has(m)) continue;
      seen.add(m);
      out.push([name, m]);
    }
    return out;
  }

  /**
   * Registered children, then modules held in fields that were not registered (one module in two
   * fields is listed under both names, as PyTorch's state_dict does).
   */
  private childList(): [string, Module][] {
    const out = this.children.slice();
    const registered = new Set<Module>(out.map(([, m]) => m));
    for (const [field, value] of Object.entries(this)) {
      if (value instanceof Module && value !== this && !registered.has(value)) out.push([field, value]);
    }
    return out;
  }

  /**
   * Every [name, parameter] in PyTorch order into `out`. With `dedupe` (named_parameters) a tensor
   * or module reached twice (shared weights) appears once; without (state_dict) under every name.
   * A module already on the path from the root (a cycle through fields) is never walked again.
   */
  private collect(prefix: string, dedupe: boolean, seenParams: Set<Tensor>, visited: Set<Module>, path: Set<Module>, out: [string, Tensor][]): void {
    this.assertAlive('namedParameters');
    for (const [n, p] of this.ownParameters()) {
      if (dedupe && seenParams.has(p)) continue;
      seenParams.add(p);
      out.push([prefix + n, p]);
    }
    path.add(this);
    for (const [name, child] of this.childList()) {
      if (path.has(child) || (dedupe && visited.has(child))) continue;
      visited.add(child);
      child.collect(`${prefix}${name}.`, dedupe, seenParams, visited, path, out);
    }
    path.delete(this);
  }

  /** [name, parameter] pairs, PyTorch names and order; a shared parameter appears once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    this.assertAlive('namedParameters');
    const out: [string, Tensor][] = [];
    this.collect(prefix, true, new Set(), new Set([this]), new Set(), out);
    return out;
  }

  parameters(): Tensor[] {
    this.assertAlive('parameters');
    return this.namedParameters().map(([, p]) => p);
  }

  /** This module and every descendant, [dotted name, module], this one first as ''. */
  namedModules(): [string, Module][] {
    this.assertAlive('namedModules');
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m.childList()) walk(c, name === '' ? n : `${name}.${n}`);
    };
    walk(this, '');
    return out;
  }

  /**
   * `{ name: tensor }` of every parameter. The tensors are the module's own (like PyTorch's
   * state_dict, they share storage): read or copy them, never dispose them.
   */
  stateDict(): Record<string, Tensor> {
    this.assertAlive('stateDict');
    return Object.fromEntries(this.stateEntries());
  }

  /** Every [name, parameter] as state_dict lists them (a shared parameter under each name). */
  private stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.collect('', false, new Set(), new Set([this]), new Set(), out);
    return out;
  }

  /**
   * Copies values into the parameters. By default keys must match exactly (strict, as PyTorch's
   * default): a missing or unexpected key is a ValueError naming it; `{ strict: false }` loads the
   * keys that match and returns the others, `{ prefix }` looks only at the dict's keys under it.
   * A mis-shaped key is a ShapeError either way, and nothing is written then. The tensors of a
   * dict from `loadSafetensors` are freed as they are copied (see `markHandedOver`).
   */
  loadStateDict(dict: Record<string, StateValue>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    this.assertAlive('loadStateDict');
    checkOptions('loadStateDict', options, LOAD_KEYS);
    const { strict = true, prefix = '' } = options ?? {};
    if (typeof strict !== 'boolean') throw new ValueError(`loadStateDict: strict must be a boolean, got ${String(strict)}`);
    if (typeof prefix !== 'string') throw new ValueError(`loadStateDict: prefix must be a string like 'encoder.', got ${String(prefix)}`);
    // With a prefix, the dict's keys under it (prefix stripped) are this module's; the rest are not looked at.
    const given = new Map<string, StateValue>();
    for (const key of Object.keys(dict)) if (key.startsWith(prefix)) given.set(key.slice(prefix.length), dict[key]!);
    const all = this.stateEntries();
    const expected = new Set(all.map(([n]) => n));
    const missingKeys = all.map(([n]) => n).filter((n) => !given.has(n));
    const unexpectedKeys = [...given.keys()].filter((n) => !expected.has(n)).map((n) => prefix + n);
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length > 0) parts.push(`missing key(s): ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length > 0) parts.push(`unexpected key(s): ${unexpectedKeys.join(', ')}`);
      if (prefix === '' && missingKeys.length === all.length && unexpectedKeys.some((k) => k.includes('.'))) {
        parts.push(`if the file holds more than this module, load its part with { prefix: '${unexpectedKeys[0]!.split('.')[0]}.' }`);
      }
      throw new ValueError(`loadStateDict: ${parts.join('; ')} (or { strict: false } to load the keys that match)`);
    }
    const named = all.filter(([n]) => given.has(n));
    // Check every shape before writing anything, so a bad dict leaves the module untouched.
    const sources = named.map(([name, p]) => {
      const v = given.get(name)!;
      const shape = v instanceof Tensor ? v.shape : v.shape;
      if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
        throw new ShapeError(`loadStateDict: ${name} has shape ${formatShape(shape)}, expected ${formatShape(p.shape)}`);
      }
      if (v instanceof Tensor) assertTensor('loadStateDict', name, v);
      if (v instanceof Tensor && v.dtype !== 'float32') throw new ValueError(`loadStateDict: ${name} is ${v.dtype}, expected float32`);
      const data = v instanceof Tensor ? v.toArray() : v.data;
      if (data.length !== p.size) throw new ShapeError(`loadStateDict: ${name} has ${data.length} values, expected ${p.size}`);
      return data;
    });
    named.forEach(([, p], i) => p.f32().set(sources[i]));
    // A loader's dict is handed over (loadSafetensors): what was copied from it is freed here.
    if (isHandedOver(dict)) {
      for (const [name] of named) {
        const v = given.get(name);
        if (v instanceof Tensor && !v.isDisposed) v.dispose();
      }
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Sets train mode (dropout on) recursively; returns this. */
  train(mode = true): this {
    this.assertAlive('train');
    // Each child's own train() runs (a subclass may override it, as in PyTorch); a module already
    // being switched (a cycle through fields) is not entered again.
    if (switching.has(this)) return this;
    switching.add(this);
    try {
      this.training = mode;
      for (const [, c] of this.namedChildren()) c.train(mode);
    } finally {
      switching.delete(this);
    }
    return this;
  }

  /** Sets eval mode recursively; returns this. */
  eval(): this {
    this.assertAlive('eval');
    return this.train(false);
  }

  /** Zeroes the gradients of every parameter in place. */
  zeroGrad(): void {
    this.assertAlive('zeroGrad');
    for (const p of this.parameters()) if (p.grad !== null) p.grad.f32().fill(0);
  }

  /** Releases every parameter (and gradient) of this module and its children. */
  dispose(): void {
    if (this.disposed) return;
    const own = this.ownParameters();
    const children = this.childList();
    this.disposed = true; // first: a cycle through fields comes back here and stops
    for (const [, p] of own) p.dispose();
    for (const [, c] of children) c.dispose();
  }

  protected assertAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`${this.constructor.name}.${what}: the module was disposed`);
  }
}
