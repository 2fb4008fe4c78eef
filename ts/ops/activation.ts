/** tanh, sigmoid, relu: forward kernels write y; backward reads y (tanh' = 1-y², σ' = y(1-y)). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { assertFloat } from './util';
import type { Kernels } from '../backend/kernels';

type Activation = 'tanh' | 'sigmoid' | 'relu';

const KERNELS: Record<Activation, [keyof Kernels, keyof Kernels]> = {
  tanh: ['lw_tanh_forward', 'lw_tanh_backward'],
  sigmoid: ['lw_sigmoid_forward', 'lw_sigmoid_backward'],
  relu: ['lw_relu_forward', 'lw_relu_backward'],
};

function activation(name: Activation, x: Tensor): Tensor {
  assertFloat(name, 'x', x);
  const k = backend().k as unknown as Record<string, (...args: number[]) => void>;
  const [fwd, bwd] = KERNELS[name];
  const y = new Tensor(x.shape);
  k[fwd](y.ptr, x.ptr, x.size);
  if (!needsGrad(x)) return y;
  return record(y, name, [x], (g) => {
    const gx = new Tensor(x.shape); // zeroed: the backward kernel accumulates
    k[bwd](gx.ptr, g.ptr, y.ptr, x.size);
    return [gx];
  });
}

export function tanh(x: Tensor): Tensor {
  return activation('tanh', x);
}

export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', x);
}

export function relu(x: Tensor): Tensor {
  return activation('relu', x);
}
