/** torch.optim.SGD: momentum, dampening, nesterov, L2 weight decay. */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ValueError } from '../errors';
import { Optimizer, checkHyper, optimizerOptions, type ParamState } from './optimizer';
import { optionKeys } from '../options';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

const SGD_KEYS = optionKeys<SGDOptions>({ lr: true, momentum: true, dampening: true, weightDecay: true, nesterov: true });

export class SGD extends Optimizer {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  /** `new SGD(params, { lr, ... })`, or `new SGD(params, lr)`. lr is required, as in PyTorch. */
  constructor(params: Iterable<Tensor>, options: SGDOptions | number) {
    super(params, 'SGD');
    const o = optimizerOptions<SGDOptions>('SGD', options, SGD_KEYS);
    if (o.lr === undefined) throw new ValueError('SGD: lr is required (PyTorch has no default learning rate for SGD): new SGD(params, { lr: 0.1 }) or new SGD(params, 0.1)');
    options = o;
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (typeof this.nesterov !== 'boolean') throw new ValueError(`SGD: nesterov must be true or false, got ${String(this.nesterov)}`);
    checkHyper('SGD', 'lr', this.lr);
    checkHyper('SGD', 'momentum', this.momentum);
    checkHyper('SGD', 'dampening', this.dampening);
    checkHyper('SGD', 'weightDecay', this.weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ValueError('SGD: nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected createBuffers(p: Tensor): Tensor[] {
    return this.momentum !== 0 ? [new Tensor(p.shape)] : [];
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState): void {
    const buf = s.buffers.length > 0 ? s.buffers[0].ptr : 0;
    backend().k.lw_sgd_step(p.ptr, grad.ptr, buf, p.size, this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov ? 1 : 0, s.step);
  }
}
