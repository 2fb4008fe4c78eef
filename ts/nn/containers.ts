/**
 * nn.Sequential and nn.ModuleList: modules that hold modules, named "0", "1", ... as in PyTorch
 * (`0.weight`, `1.bias`). Both can be indexed (`seq[0]`, `list[1]`) and iterated. A plain array of
 * modules in a field is not searched for parameters (see module.ts): use a ModuleList.
 */
import { Tensor } from '../tensor';
import { IndexError, ValueError } from '../errors';
import { Module } from './module';

/** A module with a one-input `forward`, as Sequential chains them. */
interface Forwardable {
  forward(x: unknown): unknown;
}

/** Modules in order under "0", "1", ...: the shared part of Sequential and ModuleList. */
abstract class IndexedModules extends Module implements Iterable<Module> {
  [index: number]: Module;
  private readonly items: Module[] = [];

  protected constructor(name: string, modules: Iterable<Module>) {
    super();
    if (modules === null || modules === undefined || typeof (modules as Iterable<Module>)[Symbol.iterator] !== 'function') {
      throw new ValueError(`${name}: expected modules, got ${String(modules)}`);
    }
    for (const m of modules) this.push(name, m);
  }

  protected push(name: string, m: Module): void {
    const i = this.items.length;
    if (!(m instanceof Module)) {
      throw new ValueError(`${name}: item ${i} must be a Module, got ${m === null ? 'null' : typeof m === 'object' ? (m as object).constructor.name : typeof m}`);
    }
    this.addModule(String(i), m);
    this.items.push(m);
    // Indexable like PyTorch's (seq[0]); not enumerable, so field discovery does not see it twice.
    Object.defineProperty(this, i, { value: m, enumerable: false, configurable: false, writable: false });
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end, as PyTorch). */
  at(index: number): Module {
    const n = this.items.length;
    if (!Number.isInteger(index) || index < -n || index >= n) {
      throw new IndexError(`${this.constructor.name}: index ${index} is out of range for ${n} modules`);
    }
    return this.items[index < 0 ? index + n : index];
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }
}

/** nn.Sequential(m0, m1, ...): forward(x) = m_n(...m1(m0(x))). */
export class Sequential extends IndexedModules {
  constructor(...modules: Module[]) {
    super('Sequential', modules);
    modules.forEach((m, i) => {
      if (typeof (m as unknown as Partial<Forwardable>).forward !== 'function') {
        throw new ValueError(`Sequential: module ${i} (${m.constructor.name}) has no forward method`);
      }
    });
  }

  /** Runs each module on the previous one's output. */
  forward(x: Tensor): Tensor;
  forward(x: unknown): unknown;
  forward(x: unknown): unknown {
    this.assertAlive('forward');
    let y = x;
    for (const m of this) y = (m as unknown as Forwardable).forward(y);
    return y;
  }
}

/** nn.ModuleList([m0, m1, ...]): holds modules (registered, named "0", "1", ...); no forward. */
export class ModuleList extends IndexedModules {
  constructor(modules: Iterable<Module> = []) {
    super('ModuleList', modules);
  }

  /** Adds a module at the end; returns this. */
  append(m: Module): this {
    this.assertAlive('append');
    this.push('ModuleList.append', m);
    return this;
  }
}
