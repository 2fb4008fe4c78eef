/**
 * `quantize(module, { dtype })`: an inference-only copy of a model with its weight matrices stored
 * as int8 (symmetric per row, per gate row for recurrent weights, float32 scales) or float16
 * (weight-only). Biases stay float32. What it takes: a `LanguageModel`, `nn.Linear`,
 * `nn.Embedding`, `nn.LSTM`/`GRU`/`RNN`, and `nn.Sequential`/`nn.ModuleList` of those (with
 * `nn.Dropout`/`nn.Identity` inside); anything else is a ValueError naming it (a silent float32
 * part would not be what was asked). The source is not changed; the copy, in eval mode, is the
 * caller's to dispose.
 *
 * The copy computes as the float32 model does up to the weights' rounding: it generates, scores,
 * steps (fused) and saves (`encodeCheckpoint`) like any model, and refuses what only training
 * needs: train mode, inputs that require grad, an optimizer (it has no parameters).
 */
import { FormatError, ShapeError, ValueError, describeKind } from '../errors';
import { checkOptions, optionKeys } from '../options';
import { Module } from '../nn/module';
import { Embedding, Linear } from '../nn/linear';
import { RNNBase, type LSTM, type GRU, type QuantizedLayer } from '../nn/rnn';
import { ModuleList, Sequential } from '../nn/containers';
import { Dropout, Identity } from '../nn/dropout';
import { QuantizedEmbedding, QuantizedLinear, QuantizedMatrix, QuantizedModule, checkQuantDtype, type QuantDtype } from '../nn/quantized';
import { untracked } from '../memory';
import { Generator } from '../random';
import type { Tensor } from '../tensor';
import { tensor } from '../creation';
import { LanguageModel, type LanguageModelConfig } from './language-model';

export interface QuantizeOptions {
  /** 'int8' (about 4x smaller, fastest) or 'float16' (2x smaller, closest to float32). */
  dtype: QuantDtype;
}

const QUANTIZE_KEYS = optionKeys<QuantizeOptions>({ dtype: true });

export function quantize(module: LanguageModel, options: QuantizeOptions): LanguageModel;
export function quantize(module: Linear, options: QuantizeOptions): QuantizedLinear;
export function quantize(module: Embedding, options: QuantizeOptions): QuantizedEmbedding;
export function quantize<R extends RNNBase>(module: R, options: QuantizeOptions): R;
export function quantize(module: Module, options: QuantizeOptions): Module;
export function quantize(module: Module, options: QuantizeOptions): Module {
  checkOptions('quantize', options, QUANTIZE_KEYS);
  if (options === null || options === undefined) throw new ValueError("quantize: give the dtype: quantize(model, { dtype: 'int8' }) or { dtype: 'float16' }");
  const dtype = checkQuantDtype('quantize', options.dtype);
  if (!(module instanceof Module)) throw new ValueError(`quantize: expected a Module (a LanguageModel, nn.Linear, nn.Embedding, nn.LSTM/GRU/RNN), got ${describeKind(module)}`);
  return quantizeModule(module, dtype, 'module');
}

function quantizeModule(m: Module, dtype: QuantDtype, path: string): Module {
  if (m instanceof LanguageModel) return LanguageModel.quantizedFrom(m, dtype);
  if (m instanceof QuantizedModule || (m instanceof RNNBase && m.quant !== null)) throw new ValueError(`quantize: ${path} (${m.constructor.name}) is quantized already`);
  if (m instanceof RNNBase) return RNNBase.quantizedFrom(m, dtype, `${path}.`);
  if (m instanceof Linear) {
    const w = QuantizedMatrix.fromTensor(m.weight, dtype, `${path}.weight`);
    return new QuantizedLinear(w, m.bias === null ? null : untracked(() => tensor(m.bias!.toArray(), [m.bias!.size])));
  }
  if (m instanceof Embedding) return new QuantizedEmbedding(QuantizedMatrix.fromTensor(m.weight, dtype, `${path}.weight`), m.paddingIdx);
  if (m instanceof Sequential || m instanceof ModuleList) {
    const parts: Module[] = [];
    try {
      m.namedChildren().forEach(([name, child]) => parts.push(quantizeModule(child, dtype, `${path}.${name}`)));
      // Inference-only, so in eval mode all through (its Dropout copies included).
      return (m instanceof Sequential ? new Sequential(...parts) : new ModuleList(parts)).eval();
    } catch (e) {
      parts.forEach((p) => p.dispose());
      throw e;
    }
  }
  // Nothing to quantize, but the copy needs its own (disposing the copy must leave the source whole).
  if (m instanceof Dropout) return new Dropout(m.p);
  if (m instanceof Identity) return new Identity();
  throw new ValueError(
    `quantize: ${path} is a ${m.constructor.name}, which quantize does not know; it quantizes LanguageModel, nn.Linear, nn.Embedding, ` +
      'nn.LSTM/GRU/RNN and nn.Sequential/ModuleList of them (quantize the parts of your own module one by one)',
  );
}

/** A quantized weight matrix as a checkpoint stores it. */
export interface RawQuantized {
  shape: [number, number];
  /** int8 values, or float16 little-endian. */
  bytes: Uint8Array;
  /** int8: the row scales. */
  scales: Float32Array | null;
}

export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * A quantized LanguageModel from a checkpoint's matrices and biases (checked by `decodeQuantized`;
 * their values are checked here as they are taken: int8 in [-127, 127], finite scales and halves,
 * a FormatError naming the tensor otherwise).
 */
export function quantizedModelFrom(
  config: LanguageModelConfig, dtype: QuantDtype, matrices: Record<string, RawQuantized>, biases: Record<string, RawTensor>,
): LanguageModel {
  const made: { dispose(): void }[] = [];
  const matrix = (name: string): QuantizedMatrix => {
    const m = matrices[name];
    if (m === undefined) throw new FormatError(`checkpoint weights do not match its model config: missing tensor 'model.${name}'`);
    try {
      const q = QuantizedMatrix.fromBytes(dtype, m.shape[0], m.shape[1], m.bytes, m.scales, `checkpoint: model.${name}`);
      made.push(q);
      return q;
    } catch (e) {
      if (e instanceof ValueError || e instanceof ShapeError) throw new FormatError(e.message);
      throw e;
    }
  };
  const bias = (name: string): Tensor => {
    const b = biases[name];
    const t = untracked(() => tensor(b.data, b.shape));
    made.push(t);
    return t;
  };
  try {
    const embed = new QuantizedEmbedding(matrix('embed.weight'), null);
    const layers: QuantizedLayer[] = [];
    for (let l = 0; l < config.numLayers; l++) {
      layers.push({
        wIh: matrix(`rnn.weight_ih_l${l}`), wHh: matrix(`rnn.weight_hh_l${l}`), bIh: bias(`rnn.bias_ih_l${l}`), bHh: bias(`rnn.bias_hh_l${l}`), wHr: null,
      });
    }
    const head = new QuantizedLinear(matrix('head.weight'), bias('head.bias'));
    // From here the modules own what was made.
    made.length = 0;
    made.push(embed, head);
    const rnn = RNNBase.assembleQuantized(config.cell === 'lstm' ? 'LSTM' : 'GRU', config.embedDim, config.hiddenSize,
      { numLayers: config.numLayers, dropout: config.numLayers > 1 ? config.dropout : 0 }, dtype, layers) as LSTM | GRU;
    made.length = 0;
    return LanguageModel.assemble(config, { embed, rnn, head });
  } catch (e) {
    made.forEach((m) => m.dispose());
    throw e;
  }
}

/** A quantized model's weights as `quantizedModelFrom` takes them (to rebuild it elsewhere: a replica worker). */
export function quantizedWeightsOf(model: LanguageModel): { dtype: QuantDtype; matrices: Record<string, RawQuantized>; biases: Record<string, RawTensor> } {
  const matrices = Object.create(null) as Record<string, RawQuantized>;
  const biases = Object.create(null) as Record<string, RawTensor>;
  for (const [name, w] of model.quantizedWeights()) {
    if (w instanceof QuantizedMatrix) matrices[name] = { shape: [w.rows, w.cols], bytes: w.bytes(), scales: (w.scales?.toArray() as Float32Array | undefined) ?? null };
    else biases[name] = { shape: w.shape.slice(), data: w.toArray() as Float32Array };
  }
  return { dtype: model.quantization!, matrices, biases };
}

export interface DequantizeOptions {
  /** The copy's generator (dropout); default: the quantized model's. */
  generator?: Generator;
}
const DEQUANTIZE_KEYS = optionKeys<DequantizeOptions>({ generator: true });

/**
 * A float32 LanguageModel with the weights a quantized one stands for (int8 values times their
 * row scales, float16 widened): what fine-tuning a quantized model starts from. The source is not
 * changed; the copy, in train mode, is the caller's to dispose.
 */
export function dequantize(model: LanguageModel, options: DequantizeOptions = {}): LanguageModel {
  if (!(model instanceof LanguageModel)) throw new ValueError(`dequantize: expected a LanguageModel, got ${describeKind(model)}`);
  checkOptions('dequantize', options, DEQUANTIZE_KEYS);
  const generator = options?.generator;
  if (model.quantization === null) throw new ValueError('dequantize: this model is float32 already');
  const weights = model.quantizedWeights();
  const copy = new LanguageModel(model.config, { generator: generator ?? new Generator(0) });
  try {
    untracked(() => {
      const dict: Record<string, Tensor> = {};
      try {
        for (const [name, w] of weights) dict[name] = w instanceof QuantizedMatrix ? w.dequantize() : w.clone();
        copy.loadStateDict(dict);
      } finally {
        for (const t of Object.values(dict)) t.dispose();
      }
    });
    if (generator === undefined) copy.generator = model.generator;
    return copy;
  } catch (e) {
    copy.dispose();
    throw e;
  }
}
