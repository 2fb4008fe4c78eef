/** Dropout (PyTorch `F.dropout`): in training, zeroes elements with probability p and scales the rest by 1/(1-p). */
import { Tensor } from '../tensor';
import { defaultGenerator, type Generator } from '../random';
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

export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  assertFloat('dropout', 'x', x);
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const mask = dropoutMask(x.shape, p, generator);
  const out = mul(x, mask);
  out.ownTensor(mask);
  return out;
}
