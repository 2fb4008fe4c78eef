/** Dropout (PyTorch `F.dropout`): in training, zeroes elements with probability p and scales the rest by 1/(1-p). */
import { Tensor } from '../tensor';
import { defaultGenerator, Generator } from '../random';
import { checkOptions, optionKeys } from '../options';
import { ValueError } from '../errors';
import { assertFloat } from './util';
import { mul } from './arithmetic';

/** A float32 mask of 0 and 1/(1-p) in the given shape. */
export function dropoutMask(shape: readonly number[], p: number, generator: Generator = defaultGenerator): Tensor {
  const mask = new Tensor(shape);
  const data = new Float32Array(mask.size);
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < data.length; i++) data[i] = generator.uniform() >= p ? keepScale : 0;
  mask.f32().set(data);
  return mask;
}

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Only drops in training (default true, as PyTorch's `F.dropout`). */
  training?: boolean;
  /** Where the mask comes from (default: the global generator). */
  generator?: Generator;
}
const DROPOUT_KEYS = optionKeys<DropoutOptions>({ p: true, training: true, generator: true });

/**
 * `dropout(x, p, training, generator)` as PyTorch's positional order, or `dropout(x, { p, training,
 * generator })`.
 */
export function dropout(x: Tensor, pOrOptions: number | DropoutOptions = 0.5, training = true, generator?: Generator): Tensor {
  assertFloat('dropout', 'x', x);
  let p: number;
  if (typeof pOrOptions === 'number') {
    p = pOrOptions;
  } else {
    if (training !== true || generator !== undefined) throw new ValueError('dropout: with an options object, pass training and generator in it');
    checkOptions('dropout', pOrOptions, DROPOUT_KEYS);
    p = pOrOptions?.p ?? 0.5;
    training = pOrOptions?.training ?? true;
    generator = pOrOptions?.generator;
  }
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`dropout: p must be in [0, 1], got ${String(p)}`);
  if (typeof training !== 'boolean') throw new ValueError(`dropout: training must be true or false, got ${String(training)}`);
  if (generator !== undefined && !(generator instanceof Generator)) throw new ValueError('dropout: generator must be a Generator');
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const mask = dropoutMask(x.shape, p, generator);
  const out = mul(x, mask);
  out.ownTensor(mask);
  return out;
}
