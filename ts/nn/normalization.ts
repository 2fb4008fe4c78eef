/** nn.LayerNorm (PyTorch `torch.nn.LayerNorm`). */
import { Tensor } from '../tensor';
import { layerNorm } from '../ops/index';
import { checkNormalizedShape } from '../ops/norm';
import { ValueError } from '../errors';
import { checkOptions, optionKeys } from '../options';
import { Module } from './module';
import { checkFlag } from './linear';

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learned per-element `weight` (ones) and `bias` (zeros) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
}
const LAYER_NORM_KEYS = optionKeys<LayerNormOptions>({ eps: true, elementwiseAffine: true });

/**
 * Normalizes the trailing `normalizedShape` dims of its input to mean 0 and variance 1 (biased),
 * then applies `weight` and `bias` (state dict `weight`, `bias`, as in PyTorch).
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    checkOptions('LayerNorm', options, LAYER_NORM_KEYS);
    checkFlag('LayerNorm', 'elementwiseAffine', options.elementwiseAffine);
    const eps = options.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
      throw new ValueError(`LayerNorm: eps must be a finite number >= 0, got ${String(eps)}`);
    }
    this.normalizedShape = Object.freeze(checkNormalizedShape('LayerNorm', normalizedShape));
    this.eps = eps;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    if (this.elementwiseAffine) {
      this.weight = this.addParameter('weight', this.normalizedShape, (t) => t.f32().fill(1));
      this.bias = this.addParameter('bias', this.normalizedShape, () => undefined); // zeros
    } else {
      this.weight = null;
      this.bias = null;
    }
  }

  /** x (..., *normalizedShape) -> the same shape. */
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
