/**
 * Module: the PyTorch `nn.Module` contract. A module owns its parameters (untracked tensors that
 * no `tidy` disposes) and its child modules; `dispose()` releases them all.
 * Parameter names and order follow PyTorch: own parameters in registration order, then each
 * child's under `childName.`.
 * After `dispose()` every method but `dispose` throws a DisposedError.
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { DisposedError, ShapeError, ValueError, formatShape } from '../errors';
import { assertTensor } from '../ops/util';

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
    this.ownParams.push([name, p]);
    return p;
  }

  /** Registers a child module under `name` (its parameters become `name.*`); returns it. */
  addModule<M extends Module>(name: string, m: M): M {
    this.assertAlive('addModule');
    this.children.push([name, m]);
    return m;
  }

  /** [name, parameter] pairs, PyTorch names and order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    this.assertAlive('namedParameters');
    const out: [string, Tensor][] = this.ownParams.map(([n, p]) => [prefix + n, p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    this.assertAlive('parameters');
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * `{ name: tensor }` of every parameter. The tensors are the module's own (like PyTorch's
   * state_dict, they share storage): read or copy them, never dispose them.
   */
  stateDict(): Record<string, Tensor> {
    this.assertAlive('stateDict');
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters. Keys must match exactly (strict, as PyTorch's default):
   * a missing, unexpected or mis-shaped key is a ShapeError/ValueError naming it.
   */
  loadStateDict(dict: Record<string, StateValue>): void {
    this.assertAlive('loadStateDict');
    const named = this.namedParameters();
    const expected = new Set(named.map(([n]) => n));
    const missing = named.map(([n]) => n).filter((n) => !(n in dict));
    const unexpected = Object.keys(dict).filter((n) => !expected.has(n));
    if (missing.length > 0 || unexpected.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing key(s): ${missing.join(', ')}`);
      if (unexpected.length > 0) parts.push(`unexpected key(s): ${unexpected.join(', ')}`);
      throw new ValueError(`loadStateDict: ${parts.join('; ')}`);
    }
    // Check every shape before writing anything, so a bad dict leaves the module untouched.
    const sources = named.map(([name, p]) => {
      const v = dict[name];
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
  }

  /** Sets train mode (dropout on) recursively; returns this. */
  train(mode = true): this {
    this.assertAlive('train');
    this.training = mode;
    for (const [, c] of this.children) c.train(mode);
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
    for (const [, p] of this.ownParams) p.dispose();
    for (const [, c] of this.children) c.dispose();
    this.disposed = true;
  }

  protected assertAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`${this.constructor.name}.${what}: the module was disposed`);
  }
}
