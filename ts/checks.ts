/**
 * Checks of a tensor argument, below everything that takes tensors (autograd, ops, modules):
 * each error names the function, the argument and what it got.
 */
import { Tensor } from './tensor';
import { DTypeError, DisposedError, formatShape } from './errors';

/** `t` is a live (not disposed) Tensor. */
export function assertTensor(op: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) {
    throw new DTypeError(`${op}: ${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  if (t.isDisposed) throw new DisposedError(`${op}: ${name} (tensor #${t.id} ${formatShape(t.shape)}) was disposed`);
}

export function assertFloat(op: string, name: string, t: Tensor): void {
  assertTensor(op, name, t);
  if (t.dtype !== 'float32') throw new DTypeError(`${op}: ${name} must be float32, got ${t.dtype} (convert with .float())`);
}

export function assertInt(op: string, name: string, t: Tensor): void {
  assertTensor(op, name, t);
  if (t.dtype !== 'int32') throw new DTypeError(`${op}: ${name} must be int32, got ${t.dtype}`);
}
