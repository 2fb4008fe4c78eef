/** torch.optim.Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ValueError } from '../errors';
import { Optimizer, checkHyper, optimizerOptions, type ParamState } from './optimizer';
import { optionKeys } from '../options';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

const ADAM_KEYS = optionKeys<AdamOptions>({ lr: true, betas: true, eps: true, weightDecay: true });

export class Adam extends Optimizer {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly decoupled: boolean;

  /** `new Adam(params, { lr, ... })`, or `new Adam(params, lr)` (PyTorch's positional lr). */
  constructor(params: Iterable<Tensor>, options?: AdamOptions | number);
  /** @internal AdamW's path. */
  constructor(params: Iterable<Tensor>, options: AdamOptions | number | undefined, name: string, decoupled: boolean, defaultDecay: number);
  constructor(params: Iterable<Tensor>, lrOrOptions: AdamOptions | number = {}, name = 'Adam', decoupled = false, defaultDecay = 0) {
    super(params, name);
    const options = optimizerOptions<AdamOptions>(name, lrOrOptions, ADAM_KEYS);
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(this.betas) || this.betas.length !== 2) throw new ValueError(`${name}: betas must be [beta1, beta2], got ${String(this.betas)}`);
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? defaultDecay;
    this.decoupled = decoupled;
    checkHyper(name, 'lr', this.lr);
    checkHyper(name, 'eps', this.eps);
    checkHyper(name, 'weightDecay', this.weightDecay);
    for (const b of this.betas) {
      if (!(b >= 0 && b < 1)) throw new ValueError(`${name}: betas must be in [0, 1), got [${this.betas.join(', ')}]`);
    }
  }

  protected createBuffers(p: Tensor): Tensor[] {
    return [new Tensor(p.shape), new Tensor(p.shape)];
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState): void {
    const [m, v] = s.buffers;
    const kernel = this.decoupled ? backend().k.lw_adamw_step : backend().k.lw_adam_step;
    kernel(p.ptr, grad.ptr, m.ptr, v.ptr, p.size, this.lr, this.betas[0], this.betas[1], this.eps, this.weightDecay, s.step);
  }
}

export class AdamW extends Adam {
  /** `new AdamW(params, { lr, ... })`, or `new AdamW(params, lr)`; weightDecay defaults to 0.01. */
  constructor(params: Iterable<Tensor>, options: AdamOptions | number = {}) {
    super(params, options, 'AdamW', true, 0.01);
  }
}
