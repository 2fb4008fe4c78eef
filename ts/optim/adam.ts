/** torch.optim.Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay). */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ValueError } from '../errors';
import { Optimizer, nonNegative, optimizerOptions, type Hyper, type ParamGroup, type ParamState, type ParamsInput } from './optimizer';
import { optionKeys } from '../options';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** One parameter group of Adam or AdamW. */
export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

const ADAM_KEYS = optionKeys<AdamOptions>({ lr: true, betas: true, eps: true, weightDecay: true });

const ADAM_HYPERS: readonly Hyper[] = [
  nonNegative('lr', 'lr'),
  {
    key: 'betas', torch: 'betas',
    check(where, b) {
      if (!Array.isArray(b) || b.length !== 2) throw new ValueError(`${where} must be [beta1, beta2], got ${String(b)}`);
      if (!b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) throw new ValueError(`${where} must be in [0, 1), got [${b.join(', ')}]`);
    },
  },
  nonNegative('eps', 'eps'),
  nonNegative('weightDecay', 'weight_decay'),
];

export class Adam extends Optimizer<AdamParamGroup> {
  protected readonly decoupled: boolean;

  /**
   * `new Adam(params, { lr, ... })`, or `new Adam(params, lr)` (PyTorch's positional lr). `params`
   * is an iterable of tensors, or of parameter groups `{ params, lr?, betas?, eps?, weightDecay? }`
   * whose missing options come from `options`.
   */
  constructor(params: ParamsInput<AdamOptions>, options?: AdamOptions | number);
  /** @internal AdamW's path. */
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions | number | undefined, name: string, decoupled: boolean, defaultDecay: number);
  constructor(params: ParamsInput<AdamOptions>, lrOrOptions: AdamOptions | number = {}, name = 'Adam', decoupled = false, defaultDecay = 0) {
    super(params, name, adamDefaults(name, lrOrOptions, defaultDecay));
    this.decoupled = decoupled;
  }

  /** The one group's betas (an error with several groups: use `paramGroups[i].betas`). */
  get betas(): [number, number] {
    return this.single('betas').betas;
  }

  get eps(): number {
    return this.single('eps').eps;
  }

  get weightDecay(): number {
    return this.single('weightDecay').weightDecay;
  }

  protected hypers(): readonly Hyper[] {
    return ADAM_HYPERS;
  }

  protected bufferNames(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected createBuffers(p: Tensor): Tensor[] {
    return [new Tensor(p.shape), new Tensor(p.shape)];
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: AdamParamGroup): void {
    const [m, v] = s.buffers;
    const kernel = this.decoupled ? backend().k.lw_adamw_step : backend().k.lw_adam_step;
    kernel(p.ptr, grad.ptr, m.ptr, v.ptr, p.size, g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, s.step);
  }
}

function adamDefaults(name: string, lrOrOptions: AdamOptions | number, defaultDecay: number): Omit<AdamParamGroup, 'params'> {
  const options = optimizerOptions<AdamOptions>(name, lrOrOptions, ADAM_KEYS);
  const betas = options.betas ?? [0.9, 0.999];
  return {
    lr: options.lr ?? 1e-3,
    betas: Array.isArray(betas) ? [...betas] as [number, number] : betas,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? defaultDecay,
  };
}

export class AdamW extends Adam {
  /** `new AdamW(params, { lr, ... })`, or `new AdamW(params, lr)`; weightDecay defaults to 0.01. */
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions | number = {}) {
    super(params, options, 'AdamW', true, 0.01);
  }
}
