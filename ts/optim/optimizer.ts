/**
 * Optimizer base: holds the parameters and, per parameter, its state buffers (owned by the
 * optimizer, created untracked, released by `dispose()`). Updates run in the crate's fused kernels.
 * After `dispose()` every method but `dispose` throws a DisposedError; so do `step` and `zeroGrad`
 * when a parameter was disposed (its module was), before they change anything.
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { DisposedError, ValueError, DTypeError } from '../errors';
import { assertTensor } from '../ops/util';
import { checkOptions } from '../options';

export interface ParamState {
  /** Number of updates applied to this parameter (PyTorch's state["step"]). */
  step: number;
  buffers: Tensor[];
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  protected readonly state = new Map<Tensor, ParamState>();
  private disposed = false;
  /** 'SGD', 'Adam', 'AdamW': names the optimizer in errors. */
  private readonly name: string;

  constructor(params: Iterable<Tensor>, name: string) {
    this.name = name;
    if (params === null || params === undefined || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
      const isModule = params !== null && typeof params === 'object' && typeof (params as { parameters?: unknown }).parameters === 'function';
      throw new ValueError(`${name}: params must be an iterable of tensors, got ${isModule ? `a module (pass module.parameters())` : String(params)}`);
    }
    this.params = Array.from(params);
    if (this.params.length === 0) {
      throw new ValueError(`${name}: got an empty parameter list (a Module finds submodules and parameters held in its fields; arrays of modules need nn.ModuleList)`);
    }
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor) || p.dtype !== 'float32') {
        throw new DTypeError(`${name}: params[${i}] must be a float32 Tensor`);
      }
      assertTensor(name, `params[${i}]`, p);
      if (!p.requiresGrad) throw new ValueError(`${name}: params[${i}] ${p.toString()} does not require grad`);
    });
    if (new Set(this.params).size !== this.params.length) throw new ValueError(`${name}: a parameter appears more than once`);
  }

  /** Zeroes every parameter's gradient in place (keeps the buffers: no allocation per step). */
  zeroGrad(): void {
    this.assertUsable('zeroGrad');
    for (const p of this.params) if (p.grad !== null) p.grad.f32().fill(0);
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    this.assertUsable('step');
    for (const p of this.params) {
      if (p.grad === null) continue;
      let s = this.state.get(p);
      if (s === undefined) {
        s = { step: 0, buffers: untracked(() => this.createBuffers(p)) };
        this.state.set(p, s);
      }
      s.step++;
      this.update(p, p.grad, s);
    }
  }

  /** The state buffers of a new parameter (zeroed), e.g. Adam's m and v. */
  protected abstract createBuffers(p: Tensor): Tensor[];
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState): void;

  /** Per-parameter state in parameter order (null where no step happened yet), for checkpoints. */
  stateList(): ({ step: number; buffers: Tensor[] } | null)[] {
    this.assertUsable('stateList');
    return this.params.map((p) => this.state.get(p) ?? null);
  }

  /** Restores state saved by `stateList` (copies the buffers' data). */
  loadStateList(list: readonly ({ step: number; buffers: Float32Array[] } | null)[]): void {
    this.assertUsable('loadStateList');
    if (list.length !== this.params.length) {
      throw new ValueError(`loadStateList: ${list.length} entries for ${this.params.length} parameters`);
    }
    list.forEach((entry, i) => {
      const p = this.params[i];
      const old = this.state.get(p);
      if (old) old.buffers.forEach((b) => b.dispose());
      this.state.delete(p);
      if (entry === null) return;
      const buffers = untracked(() => this.createBuffers(p));
      if (buffers.length !== entry.buffers.length || buffers.some((b, j) => b.size !== entry.buffers[j].length)) {
        buffers.forEach((b) => b.dispose());
        throw new ValueError(`loadStateList: state of parameter ${i} does not match its shape ${p.toString()}`);
      }
      buffers.forEach((b, j) => b.f32().set(entry.buffers[j]));
      this.state.set(p, { step: entry.step, buffers });
    });
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
