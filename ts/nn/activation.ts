/** Activations as modules (PyTorch `nn.ReLU`, `nn.Tanh`, `nn.Sigmoid`, `nn.Softmax`, `nn.LogSoftmax`), for Sequential. */
import type { Tensor } from '../tensor';
import { logSoftmax, relu, sigmoid, softmax, tanh } from '../ops/index';
import { ValueError } from '../errors';
import { Module } from './module';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return relu(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return sigmoid(x);
  }
}

/** The dim of `nn.Softmax(dim)` / `nn.Softmax({ dim })`; PyTorch's implicit dim (deprecated there) is refused. */
function dimOf(name: string, given: unknown): number {
  const dim = typeof given === 'object' && given !== null ? (given as { dim?: unknown }).dim : given;
  if (typeof given === 'object' && given !== null && Object.keys(given).some((k) => k !== 'dim')) {
    throw new ValueError(`${name}: the only option is dim, got ${Object.keys(given).filter((k) => k !== 'dim').join(', ')}`);
  }
  if (!Number.isInteger(dim)) {
    throw new ValueError(`${name}: give the dim, as PyTorch's ${name}(dim=-1): new nn.${name}(-1) (an implicit dim is deprecated in PyTorch), got ${String(dim)}`);
  }
  return dim as number;
}

/** An activation along one dim, given when made. */
abstract class AlongDim extends Module {
  readonly dim: number;
  protected constructor(name: string, dim: unknown, private readonly fn: (x: Tensor, dim: number) => Tensor) {
    super();
    this.dim = dimOf(name, dim);
  }
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return this.fn(x, this.dim);
  }
}

export class Softmax extends AlongDim {
  constructor(dim: number | { dim: number }) {
    super('Softmax', dim, softmax);
  }
}

export class LogSoftmax extends AlongDim {
  constructor(dim: number | { dim: number }) {
    super('LogSoftmax', dim, logSoftmax);
  }
}
