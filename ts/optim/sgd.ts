/** torch.optim.SGD: momentum, dampening, nesterov, L2 weight decay. */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ValueError } from '../errors';
import { untracked } from '../memory';
import { Optimizer, nonNegative, optimizerOptions, type Hyper, type ParamGroup, type ParamGroupInput, type ParamState, type ParamsInput } from './optimizer';
import { optionKeys } from '../options';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** One parameter group of SGD. */
export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

const SGD_KEYS = optionKeys<SGDOptions>({ lr: true, momentum: true, dampening: true, weightDecay: true, nesterov: true });

const SGD_HYPERS: readonly Hyper[] = [
  nonNegative('lr', 'lr'),
  nonNegative('momentum', 'momentum'),
  nonNegative('dampening', 'dampening'),
  nonNegative('weightDecay', 'weight_decay'),
  {
    key: 'nesterov', torch: 'nesterov',
    check(where, v) {
      if (typeof v !== 'boolean') throw new ValueError(`${where} must be true or false, got ${String(v)}`);
    },
  },
];

export class SGD extends Optimizer<SGDParamGroup> {
  /**
   * `new SGD(params, { lr, ... })`, or `new SGD(params, lr)`. lr is required, as in PyTorch.
   * `params` is an iterable of tensors, or of parameter groups `{ params, lr?, momentum?, ... }`.
   */
  constructor(params: Iterable<Tensor>, options: SGDOptions | number);
  /** Parameter groups: lr may be left out of `options` when every group gives it. */
  constructor(params: Iterable<ParamGroupInput<Partial<SGDOptions>>>, options?: Partial<SGDOptions> | number);
  constructor(params: ParamsInput<Partial<SGDOptions>>, options?: Partial<SGDOptions> | number) {
    super(params, 'SGD', sgdDefaults(options));
  }

  /** The one group's momentum (an error with several groups: use `paramGroups[i].momentum`). */
  get momentum(): number {
    return this.single('momentum').momentum;
  }

  get dampening(): number {
    return this.single('dampening').dampening;
  }

  get weightDecay(): number {
    return this.single('weightDecay').weightDecay;
  }

  get nesterov(): boolean {
    return this.single('nesterov').nesterov;
  }

  protected hypers(): readonly Hyper[] {
    return SGD_HYPERS;
  }

  protected override checkGroup(where: string, group: Record<string, unknown>): void {
    if (group.lr === undefined) {
      if (where === 'SGD') throw new ValueError('SGD: lr is required (PyTorch has no default learning rate for SGD): new SGD(params, { lr: 0.1 }) or new SGD(params, 0.1)');
      throw new ValueError(`SGD: ${where}.lr is required (PyTorch has no default learning rate for SGD): give it in the group or in the options`);
    }
    super.checkGroup(where, group);
    if (group.nesterov === true && ((group.momentum as number) <= 0 || group.dampening !== 0)) {
      throw new ValueError(`SGD: ${where === 'SGD' ? '' : `${where}: `}nesterov momentum requires a momentum and zero dampening`);
    }
  }

  protected bufferNames(): readonly string[] {
    return ['momentum_buffer'];
  }

  /** PyTorch's SGD stores momentum_buffer None without momentum, and no step. */
  /** With groups, lr may be left out of the options when every group gives it (as PyTorch's `required`). */
  protected override checkDefaults(defaults: Record<string, unknown>): void {
    this.checkGroup('SGD', defaults.lr === undefined ? { ...defaults, lr: 0 } : defaults);
  }

  protected override bufferOptional(): boolean {
    return true;
  }

  protected override stepOptional(): boolean {
    return true;
  }

  protected createBuffers(p: Tensor, g: SGDParamGroup): Tensor[] {
    return g.momentum !== 0 ? [new Tensor(p.shape)] : [];
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: SGDParamGroup): void {
    // The kernel starts the momentum buffer (buf = grad) when told this is the first step; a group
    // given momentum after its first steps starts its buffer then, as PyTorch's None buffer does.
    let first = s.step <= 1;
    if (g.momentum !== 0 && s.buffers.length === 0) {
      s.buffers.push(untracked(() => new Tensor(p.shape)));
      first = true;
    }
    const buf = g.momentum !== 0 ? s.buffers[0].ptr : 0;
    backend().k.lw_sgd_step(p.ptr, grad.ptr, buf, p.size, g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov ? 1 : 0, first ? 1 : s.step);
  }
}

function sgdDefaults(options: Partial<SGDOptions> | number | undefined): Omit<SGDParamGroup, 'params'> {
  const o = optimizerOptions<Partial<SGDOptions>>('SGD', options, SGD_KEYS);
  // lr may be missing here only if every parameter group gives one (checked per group).
  return { lr: o.lr as number, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false };
}
