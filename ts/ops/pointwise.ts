/**
 * Element-wise math of one tensor: neg, exp, log, sqrt, abs, pow (number exponent), clamp. One
 * kernel pair (`lw_unary_forward` / `lw_unary_backward`, crate/ops/unary.rs) with an op code and
 * up to two scalar parameters; backward reads x and the output y. Gradients follow PyTorch 1.13:
 * abs'(0) = 0, sqrt' = g / (2 sqrt x), pow(x, 0)' = 0, clamp passes the gradient where
 * min <= x <= max (bounds included) and 0 outside.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { DTypeError, ValueError } from '../errors';
import { assertFloat } from './util';
import { powTensor } from './arithmetic';
import { scalarTensor } from './broadcast';

/** The op codes of `lw_unary_forward` (crate/ops/unary.rs `UnaryOp`). */
const UNARY_CODE = { neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, pow: 5, clamp: 6 } as const;
type UnaryOp = keyof typeof UNARY_CODE;

function unary(op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  assertFloat(op, 'x', x);
  const code = UNARY_CODE[op];
  const y = new Tensor(x.shape);
  backend().k.lw_unary_forward(code, y.ptr, x.ptr, x.size, p0, p1);
  if (!needsGrad(x)) return y;
  return record(y, op, [x], (g) => {
    const gx = new Tensor(x.shape); // zeroed: the backward kernel accumulates
    backend().k.lw_unary_backward(code, gx.ptr, g.ptr, x.ptr, y.ptr, x.size, p0, p1);
    return [gx];
  });
}

/** A number argument, or a DTypeError naming the op and the argument. */
function assertNumber(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new DTypeError(`${op}: ${name} must be a number, got ${v === null ? 'null' : typeof v}`);
}

export function neg(x: Tensor): Tensor {
  return unary('neg', x);
}

export function exp(x: Tensor): Tensor {
  return unary('exp', x);
}

/** Natural logarithm: -inf at 0, NaN below. */
export function log(x: Tensor): Tensor {
  return unary('log', x);
}

export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x);
}

export function abs(x: Tensor): Tensor {
  return unary('abs', x);
}

/** `x ** exponent`: a number (C `powf` semantics, as PyTorch), or a tensor broadcast against x. */
export function pow(x: Tensor | number, exponent: number | Tensor): Tensor {
  if (typeof x === 'number' && exponent instanceof Tensor) {
    // torch.pow(2, t): a number base, broadcast as a 0-d tensor (freed here; pow keeps no reference
    // to a base that needs no gradient).
    assertNumber('pow', 'x', x);
    assertFloat('pow', 'exponent', exponent);
    const base = scalarTensor(x);
    try {
      return powTensor(base, exponent);
    } finally {
      if (!exponent.requiresGrad) base.dispose();
    }
  }
  if (typeof x === 'number') throw new DTypeError('pow: with a number base the exponent must be a Tensor (for two numbers use Math.pow)');
  if (exponent instanceof Tensor) return powTensor(x, exponent);
  assertFloat('pow', 'x', x);
  assertNumber('pow', 'exponent', exponent);
  return unary('pow', x, exponent);
}

/**
 * PyTorch `clamp(min, max)`: `min(max(x, min), max)`, so min > max gives max everywhere; NaN
 * stays NaN. At least one bound must be given (`undefined` or `null` for none).
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  assertFloat('clamp', 'x', x);
  if (min != null) assertNumber('clamp', 'min', min);
  if (max != null) assertNumber('clamp', 'max', max);
  if (min == null && max == null) throw new ValueError('clamp: at least one of min and max must be given, got neither');
  return unary('clamp', x, min ?? -Infinity, max ?? Infinity);
}
