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

export class CrossEntropyLoss extends Module {
  readonly options: Readonly<CrossEntropyOptions>;
  constructor(options: CrossEntropyOptions = {}) {
    super();
    checkOptions('CrossEntropyLoss', options, CROSS_ENTROPY_KEYS);
    this.options = { ...options };
  }
  /** `F.crossEntropy(input, target, options)`: logits (N, C) or (C), int32 class targets. */
  forward(input: Tensor, target: Tensor): Tensor {
    this.assertAlive('forward');
    return crossEntropy(input, target, this.options);
  }
}

export class NLLLoss extends Module {
  readonly options: Readonly<NLLLossOptions>;
  constructor(options: NLLLossOptions = {}) {
    super();
    checkOptions('NLLLoss', options, NLL_KEYS);
    this.options = { ...options };
  }
  /** `F.nllLoss(input, target, options)`: log-probabilities (N, C), int32 class targets. */
  forward(input: Tensor, target: Tensor): Tensor {
    this.assertAlive('forward');
    return nllLoss(input, target, this.options);
  }
}

export class MSELoss extends Module {
  readonly options: Readonly<MSELossOptions>;
  constructor(options: MSELossOptions = {}) {
    super();
    checkOptions('MSELoss', options, MSE_KEYS);
    this.options = { ...options };
  }
  forward(input: Tensor, target: Tensor): Tensor {
    this.assertAlive('forward');
    return mseLoss(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Module {
  readonly options: Readonly<BCEWithLogitsOptions>;
  constructor(options: BCEWithLogitsOptions = {}) {
    super();
    checkOptions('BCEWithLogitsLoss', options, BCE_KEYS);
    this.options = { ...options };
  }
  /** `F.binaryCrossEntropyWithLogits(input, target, options)`. */
  forward(input: Tensor, target: Tensor): Tensor {
    this.assertAlive('forward');
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}
