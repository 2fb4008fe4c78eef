/** nn.Dropout and nn.Identity. */
import { Tensor } from '../tensor';
import { dropout } from '../ops/index';
import { ValueError } from '../errors';
import { Generator, defaultGenerator } from '../random';
import { checkOptions, optionKeys } from '../options';
import { Module } from './module';

export interface DropoutOptions {
  /** Where the masks come from (default: the global generator, seeded by `manualSeed`). */
  generator?: Generator;
}
const DROPOUT_KEYS = optionKeys<DropoutOptions>({ generator: true });

/**
 * In training mode zeroes each element with probability p and scales the rest by 1/(1-p); in eval
 * mode returns its input (PyTorch `nn.Dropout(p)`).
 */
export class Dropout extends Module {
  readonly p: number;
  /** The stream masks are drawn from. */
  generator: Generator;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`Dropout: p must be a number in [0, 1], got ${String(p)}`);
    checkOptions('Dropout', options, DROPOUT_KEYS);
    this.p = p;
    this.generator = options.generator ?? defaultGenerator;
    if (!(this.generator instanceof Generator)) throw new ValueError('Dropout: generator must be a Generator');
  }

  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return dropout(x, this.p, this.training, this.generator);
  }
}

/** Returns its input (PyTorch `nn.Identity`): a placeholder in a Sequential. */
export class Identity extends Module {
  forward<T>(x: T): T {
    this.assertAlive('forward');
    return x;
  }
}
