/** nn.Linear and nn.Embedding. */
import { Tensor } from '../tensor';
import { generatorOption, uniform_, normal_, type Generator } from '../random';
import { embedding, linear } from '../ops/index';
import { IndexError, ValueError } from '../errors';
import { Module } from './module';
import { checkOptions, optionKeys } from '../options';

export interface LinearOptions {
  /** Adds a learned bias (default true). */
  bias?: boolean;
  /** Where the initial weights are drawn from (default: the global generator, seeded by `manualSeed`). */
  generator?: Generator;
}
const LINEAR_KEYS = optionKeys<LinearOptions>({ bias: true, generator: true });

export interface EmbeddingOptions {
  /** This row is zeroed and never updated by gradients (negative counts from the end). */
  paddingIdx?: number | null;
  /** Where the initial weights are drawn from (default: the global generator, seeded by `manualSeed`). */
  generator?: Generator;
}
const EMBEDDING_KEYS = optionKeys<EmbeddingOptions>({ paddingIdx: true, generator: true });

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  /** PyTorch init: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a=sqrt(5)). */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkOptions('Linear', options, LINEAR_KEYS);
    checkFlag('Linear', 'bias', options?.bias);
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    const generator = generatorOption('Linear', options?.generator);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter('weight', [outFeatures, inFeatures], (t) => uniform_(t, -bound, bound, generator));
    this.bias = options?.bias === false ? null : this.addParameter('bias', [outFeatures], (t) => uniform_(t, -bound, bound, generator));
  }

  /** x (..., inFeatures) → (..., outFeatures). */
  forward(x: Tensor): Tensor {
    this.assertAlive('forward');
    return linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  readonly weight: Tensor;

  /** PyTorch init: N(0, 1), with the paddingIdx row zeroed (and never updated by gradients). */
  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    checkOptions('Embedding', options, EMBEDDING_KEYS);
    checkSize('Embedding', 'numEmbeddings', numEmbeddings);
    checkSize('Embedding', 'embeddingDim', embeddingDim);
    const generator = generatorOption('Embedding', options?.generator);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = options?.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new IndexError(`Embedding: paddingIdx ${pad} is out of range for ${numEmbeddings} embeddings`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = this.addParameter('weight', [numEmbeddings, embeddingDim], (t) => {
      normal_(t, 0, 1, generator);
      if (pad !== null) t.f32().fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
    });
  }

  /** int32 ids (any shape) → (...ids.shape, embeddingDim). */
  forward(ids: Tensor): Tensor {
    this.assertAlive('forward');
    return embedding(ids, this.weight, this.paddingIdx);
  }
}

export function checkSize(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new ValueError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/** An optional boolean option: undefined or a boolean, nothing else (`bias: 0` is a mistake). */
export function checkFlag(op: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw new ValueError(`${op}: ${name} must be true or false, got ${typeof v} ${String(v)}`);
}
