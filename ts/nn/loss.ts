/**
 * The losses as modules (PyTorch `nn.CrossEntropyLoss`, `nn.NLLLoss`, `nn.MSELoss`,
 * `nn.BCEWithLogitsLoss`): the options of the functional form, checked when the module is made,
 * applied by `forward(input, target)`. A `weight` tensor given in the options stays the caller's.
 */
import type { Tensor } from '../tensor';
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss, nllLoss } from '../ops/index';
import {
  BCE_KEYS, CROSS_ENTROPY_KEYS, MSE_KEYS, NLL_KEYS,
  type BCEWithLogitsOptions, type CrossEntropyOptions, type MSELossOptions, type NLLLossOptions,
} from '../ops/loss';
import { checkOptions } from '../options';
import { Module } from './module';

/** A loss function with its options, fixed when made. */
abstract class Loss<O extends object> extends Module {
  readonly options: Readonly<O>;
  protected constructor(
    name: string,
    keys: readonly string[],
    options: O,
    private readonly loss: (input: Tensor, target: Tensor, options: O) => Tensor,
  ) {
    super();
    checkOptions(name, options, keys);
    this.options = { ...options };
  }

  forward(input: Tensor, target: Tensor): Tensor {
    this.assertAlive('forward');
    return this.loss(input, target, this.options);
  }
}

/** `F.crossEntropy(input, target, options)`: logits (N, C) or (C), int32 class targets. */
export class CrossEntropyLoss extends Loss<CrossEntropyOptions> {
  constructor(options: CrossEntropyOptions = {}) {
    super('CrossEntropyLoss', CROSS_ENTROPY_KEYS, options, crossEntropy);
  }
}

/** `F.nllLoss(input, target, options)`: log-probabilities (N, C), int32 class targets. */
export class NLLLoss extends Loss<NLLLossOptions> {
  constructor(options: NLLLossOptions = {}) {
    super('NLLLoss', NLL_KEYS, options, nllLoss);
  }
}

/** `F.mseLoss(input, target, options)`. */
export class MSELoss extends Loss<MSELossOptions> {
  constructor(options: MSELossOptions = {}) {
    super('MSELoss', MSE_KEYS, options, mseLoss);
  }
}

/** `F.binaryCrossEntropyWithLogits(input, target, options)`. */
export class BCEWithLogitsLoss extends Loss<BCEWithLogitsOptions> {
  constructor(options: BCEWithLogitsOptions = {}) {
    super('BCEWithLogitsLoss', BCE_KEYS, options, binaryCrossEntropyWithLogits);
  }
}
