/**
 * LanguageModel: Embedding -> LSTM or GRU (stacked) -> dropout -> Linear, predicting the next token.
 *
 *   ids (T, B) int32 -> embed (T, B, E) -> rnn (T, B, H) -> logits (T, B, V)
 *
 * The recurrent state is `RecurrentState`: [h, c] for an LSTM, [h] for a GRU, each (L, B, H).
 * Generation streams tokens one at a time with the state carried from token to token.
 */
import { Tensor } from '../tensor';
import { macrotask } from '../event-loop';
import { runOp, tidy, untracked } from '../memory';
import { tensor } from '../creation';
import { noGrad } from '../autograd';
import { Generator, defaultGenerator, generatorOption } from '../random';
import { Module } from '../nn/module';
import { Embedding, Linear } from '../nn/linear';
import { Stepper, type StepperOptions } from '../nn/stepper';
import { DecodeStep } from '../nn/decode-step';
import { LSTM, GRU, RNNBase, f32Matrix, matrixRef } from '../nn/rnn';
import { QuantizedEmbedding, QuantizedLinear, QuantizedMatrix, type QuantDtype } from '../nn/quantized';
import { dropout } from '../ops/index';
import { assertTensor } from '../checks';
import { DTypeError, ShapeError, ValueError, formatShape, quoteValue } from '../errors';
import { sampleFromLogits, checkSamplingOptions, SAMPLING_KEYS, type SamplingOptions } from './sampling';
import { checkOptions, checkSignal, optionKeys } from '../options';
import type { Tokenizer } from '../text/tokenizer';

export type CellType = 'lstm' | 'gru';

export interface LanguageModelConfig {
  vocabSize: number;
  cell: CellType;
  embedDim: number;
  hiddenSize: number;
  numLayers: number;
  /** Dropout between recurrent layers and before the output layer, in training mode. */
  dropout: number;
}

/** [h, c] for an LSTM, [h] for a GRU; each (numLayers, B, hiddenSize). */
export type RecurrentState = Tensor[];

/** The model `new LanguageModel({ vocabSize })` builds: `lstm-wasm train`'s default (the training settings' defaults take theirs from here). */
export const DEFAULT_MODEL_CONFIG: Readonly<Omit<LanguageModelConfig, 'vocabSize'>> = Object.freeze({
  cell: 'lstm', embedDim: 32, hiddenSize: 128, numLayers: 1, dropout: 0,
});

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate after the prime (default 200). */
  length?: number;
  /** Seed of the sampling stream (a private Generator; the global one is not touched). */
  seed?: number;
  /** Or a generator to draw from (ignored when `seed` is given). */
  generator?: Generator;
  /** Called with each new token id as it is produced. */
  onToken?: (id: number) => void;
}

export interface AsyncGenerateOptions extends GenerateOptions {
  /** Yield to the event loop every this many tokens, so a page can paint (default 8). */
  yieldEvery?: number;
  /** Stops the stream cleanly (the iterator just ends). */
  signal?: AbortSignal;
}

/** The modules of a model being assembled (set only inside `LanguageModel.assemble`). */
interface Assembled {
  embed: Embedding | QuantizedEmbedding;
  rnn: LSTM | GRU;
  head: Linear | QuantizedLinear;
}
let assembling: Assembled | null = null;

const CONFIG_KEYS = optionKeys<LanguageModelConfig>({ vocabSize: true, cell: true, embedDim: true, hiddenSize: true, numLayers: true, dropout: true });
const MODEL_OPTION_KEYS = optionKeys<{ generator?: Generator }>({ generator: true });
const GENERATE_KEYS = [...SAMPLING_KEYS, ...optionKeys<Omit<GenerateOptions, keyof SamplingOptions>>({ length: true, seed: true, generator: true, onToken: true })];
const ASYNC_GENERATE_KEYS = [...GENERATE_KEYS, ...optionKeys<Omit<AsyncGenerateOptions, keyof GenerateOptions>>({ yieldEvery: true, signal: true })];

export class LanguageModel extends Module {
  readonly config: Readonly<LanguageModelConfig>;
  /** The embedding, the recurrent stack and the head: float32 modules, or quantized ones (`quantize`). */
  readonly embed: Embedding | QuantizedEmbedding;
  readonly rnn: LSTM | GRU;
  readonly head: Linear | QuantizedLinear;

  private generator_: Generator;

  /**
   * `options.generator` is the stream the initial weights (embed, then rnn, then head) and then the
   * dropout masks are drawn from (default: the global one); two models with generators of their own
   * build and train without disturbing each other's randomness, or the global generator's.
   */
  constructor(config: Partial<LanguageModelConfig> & { vocabSize: number }, options: { generator?: Generator } = {}) {
    super();
    checkOptions('LanguageModel', config, CONFIG_KEYS);
    checkOptions('LanguageModel', options, MODEL_OPTION_KEYS);
    this.generator_ = generatorOption('LanguageModel', options?.generator);
    const c: LanguageModelConfig = { ...DEFAULT_MODEL_CONFIG, ...config };
    checkConfig(c);
    this.config = Object.freeze(c);
    // A quantized model's modules are given to it (LanguageModel.assemble), not built here.
    if (assembling !== null) {
      this.embed = this.addModule('embed', assembling.embed);
      this.rnn = this.addModule('rnn', assembling.rnn);
      this.head = this.addModule('head', assembling.head);
      this.training = false;
      return;
    }
    // Registration order fixes the parameter names: embed.weight, rnn.weight_ih_l0, ..., head.weight, head.bias.
    try {
      const generator = this.generator_;
      this.embed = this.addModule('embed', new Embedding(c.vocabSize, c.embedDim, { generator }));
      const rnnOptions = { numLayers: c.numLayers, dropout: c.numLayers > 1 ? c.dropout : 0, generator };
      this.rnn = this.addModule('rnn', c.cell === 'lstm' ? new LSTM(c.embedDim, c.hiddenSize, rnnOptions) : new GRU(c.embedDim, c.hiddenSize, rnnOptions));
      this.head = this.addModule('head', new Linear(c.hiddenSize, c.vocabSize, { generator }));
    } catch (e) {
      this.dispose(); // the submodules built so far (out of memory in a later one, say)
      throw e;
    }
  }

  /** How a quantized model's weights are stored (`quantize`), or null for a float32 model. */
  get quantization(): QuantDtype | null {
    return this.rnn.quant?.dtype ?? null;
  }

  /** Weights in the model: the parameters of a float32 model, the quantized values and biases of a quantized one. */
  get weightCount(): number {
    if (this.quantization === null) return this.parameters().reduce((a, p) => a + p.size, 0);
    return this.quantizedWeights().reduce((a, [, w]) => a + (w instanceof QuantizedMatrix ? w.rows * w.cols : w.size), 0);
  }

  /**
   * A quantized model's weights by their PyTorch names, in parameter order: its matrices (quantized)
   * and biases (float32 tensors, the model's own: read, never dispose). What its checkpoint holds.
   */
  quantizedWeights(): [string, QuantizedMatrix | Tensor][] {
    this.assertAlive('quantizedWeights');
    if (this.quantization === null) throw new ValueError('LanguageModel.quantizedWeights: this model is float32 (its weights are parameters(): use namedParameters())');
    const out: [string, QuantizedMatrix | Tensor][] = [['embed.weight', (this.embed as QuantizedEmbedding).weight]];
    this.rnn.quant!.layers.forEach((w, l) => {
      out.push([`rnn.weight_ih_l${l}`, w.wIh], [`rnn.weight_hh_l${l}`, w.wHh]);
      if (w.bIh !== null) out.push([`rnn.bias_ih_l${l}`, w.bIh]);
      if (w.bHh !== null) out.push([`rnn.bias_hh_l${l}`, w.bHh]);
    });
    const head = this.head as QuantizedLinear;
    out.push(['head.weight', head.weight]);
    if (head.bias !== null) out.push(['head.bias', head.bias]);
    return out;
  }

  /** Train mode is refused for a quantized model (inference-only). */
  override train(mode = true): this {
    if (mode && this.quantization !== null) {
      throw new ValueError(`LanguageModel: this model is quantized (${this.quantization}), inference-only; train the float32 model, then quantize it`);
    }
    return super.train(mode);
  }

  /**
   * An inference-only copy of `source` with its weight matrices quantized to `dtype` (biases stay
   * float32): what `quantize(model, { dtype })` returns. It generates, scores and saves as any
   * model does; it has no parameters and refuses train mode and inputs that require grad.
   */
  static quantizedFrom(source: LanguageModel, dtype: QuantDtype): LanguageModel {
    source.assertAlive('quantize');
    if (source.quantization !== null) throw new ValueError(`quantize: this LanguageModel is quantized already (${source.quantization})`);
    const src = { embed: source.embed as Embedding, head: source.head as Linear };
    const parts: Module[] = [];
    try {
      const embed = new QuantizedEmbedding(QuantizedMatrix.fromTensor(src.embed.weight, dtype, 'embed.weight'), src.embed.paddingIdx);
      parts.push(embed);
      const rnn = RNNBase.quantizedFrom(source.rnn, dtype, 'rnn.') as LSTM | GRU;
      parts.push(rnn);
      const headWeight = QuantizedMatrix.fromTensor(src.head.weight, dtype, 'head.weight');
      const head = new QuantizedLinear(headWeight, src.head.bias === null ? null : untracked(() => tensor(src.head.bias!.toArray(), [src.head.bias!.size])));
      parts.push(head);
      return LanguageModel.assemble(source.config, { embed, rnn, head }, source.generator);
    } catch (e) {
      parts.forEach((p) => p.dispose());
      throw e;
    }
  }

  /** @internal A model of `config` made of the modules given (a quantized one: `quantizedFrom`, the checkpoint reader). */
  static assemble(config: LanguageModelConfig, modules: Assembled, generator: Generator = defaultGenerator): LanguageModel {
    assembling = modules;
    try {
      return new LanguageModel(config, { generator });
    } finally {
      assembling = null;
    }
  }

  /** The stream dropout masks are drawn from (between layers and before the output layer). */
  get generator(): Generator {
    return this.generator_;
  }

  set generator(g: Generator) {
    if (!(g instanceof Generator)) throw new ValueError('LanguageModel.generator must be a Generator');
    this.generator_ = g;
    this.rnn.generator = g;
  }

  /** Number of tensors in a RecurrentState (2 for LSTM, 1 for GRU). */
  get stateSize(): number {
    return this.config.cell === 'lstm' ? 2 : 1;
  }

  /**
   * ids (T, B) int32 (or (T,) for one sequence) and the state from the previous window (null:
   * zeros). Returns logits (T, B, V) and the final state. The returned tensors belong to the
   * caller (or the enclosing `tidy`).
   */
  forward(ids: Tensor, state: RecurrentState | null = null): { logits: Tensor; state: RecurrentState } {
    this.assertAlive('forward');
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32') throw new DTypeError('LanguageModel.forward: ids must be an int32 Tensor');
    assertTensor('LanguageModel.forward', 'ids', ids);
    if (ids.ndim !== 2) throw new ShapeError(`LanguageModel.forward: ids must be (T, B), got ${formatShape(ids.shape)}`);
    if (state !== null && state.length !== this.stateSize) {
      throw new ValueError(`LanguageModel.forward: state has ${state.length} tensors, expected ${this.stateSize} for ${this.config.cell}`);
    }
    // Before the embedding allocates: a disposed state would otherwise fail inside the RNN.
    state?.forEach((s, i) => assertTensor('LanguageModel.forward', `state[${i}]`, s));
    // One unit: a state the recurrent layer refuses (its shape, or grad into a quantized model)
    // frees the embedding's output made before it.
    return runOp('LanguageModel.forward', () => {
      const x = this.embed.forward(ids);
      let out: Tensor;
      let next: RecurrentState;
      if (this.rnn instanceof LSTM) {
        const [o, [h, c]] = this.rnn.forward(x, state ? [state[0], state[1]] : null);
        out = o;
        next = [h, c];
      } else {
        const [o, h] = this.rnn.forward(x, state ? state[0] : null);
        out = o;
        next = [h];
      }
      if (this.training && this.config.dropout > 0) out = dropout(out, this.config.dropout, true, this.generator_);
      return { logits: this.head.forward(out), state: next };
    });
  }

  /**
   * Streams `length` sampled token ids after feeding `prime` (at least one id), carrying the state.
   * Runs in eval mode without gradients (the mode is restored afterwards); memory stays flat.
   */
  *sample(prime: ArrayLike<number>, options: GenerateOptions = {}): globalThis.Generator<number, void, undefined> {
    checkOptions('LanguageModel.sample', options, GENERATE_KEYS);
    yield* this.sampleChecked(prime, options ?? {});
  }

  /** `sample` once its options are known to hold only sampling keys (generate's are checked in generate). */
  private *sampleChecked(prime: ArrayLike<number>, options: AsyncGenerateOptions): globalThis.Generator<number, void, undefined> {
    checkGenerateOptions('LanguageModel.generate', options);
    const length = options.length ?? 200;
    if (prime.length === 0) throw new ValueError('LanguageModel.generate: prime must hold at least one token');
    for (let i = 0; i < prime.length; i++) {
      const id = prime[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new ValueError(`LanguageModel.generate: prime[${i}] = ${id} is out of range for a vocabulary of ${this.config.vocabSize}`);
      }
    }
    const sampling: SamplingOptions = { temperature: options.temperature, topK: options.topK, topP: options.topP, suppress: options.suppress };
    const gen = options.seed !== undefined ? new Generator(options.seed) : options.generator ?? new Generator((Math.random() * 2 ** 32) >>> 0);
    const V = this.config.vocabSize;
    const stepper = this.stepper();
    try {
      let logits = feedPrime(stepper, prime, V);
      for (let i = 0; i < length; i++) {
        const id = sampleFromLogits(logits, sampling, gen);
        options.onToken?.(id);
        yield id;
        if (i + 1 < length) logits = stepper.stepView(id);
      }
    } finally {
      stepper.dispose();
    }
  }

  /**
   * A Stepper over this model: `step(ids)` takes one token per lane (or a (T, B) ids tensor) and
   * returns the logits (B, V) (or (T, B, V)) as a Float32Array, keeping the state for the next
   * step. Runs in eval mode (no dropout) whatever the model's mode.
   */
  stepper(options: StepperOptions = {}): Stepper {
    const decode = new DecodeStep(() => {
      this.assertAlive('stepper');
      const table = this.embed instanceof Embedding ? f32Matrix(this.embed.weight) : matrixRef(this.embed.weight);
      const head = this.head instanceof Linear ? f32Matrix(this.head.weight) : matrixRef(this.head.weight);
      return this.rnn.decodeStack(table, { weight: head, bias: this.head.bias });
    }, 'LanguageModel');
    return new Stepper((x, state) => {
      const wasTraining = this.training;
      this.eval();
      try {
        const out = this.forward(x, state);
        return { output: out.logits, state: out.state };
      } finally {
        this.train(wasTraining);
      }
    }, options, decode);
  }

  /** `sample`, as an async iterator that yields to the event loop every `yieldEvery` tokens. */
  async *generate(prime: ArrayLike<number>, options: AsyncGenerateOptions = {}): AsyncGenerator<number, void, undefined> {
    checkOptions('LanguageModel.generate', options, ASYNC_GENERATE_KEYS);
    options ??= {};
    checkSignal('LanguageModel.generate', options.signal);
    if (options.yieldEvery !== undefined && !(Number.isInteger(options.yieldEvery) && options.yieldEvery >= 1)) {
      throw new ValueError(`LanguageModel.generate: yieldEvery must be an integer >= 1, got ${options.yieldEvery}`);
    }
    const every = options.yieldEvery ?? 8;
    let n = 0;
    for (const id of this.sampleChecked(prime, options)) {
      if (options.signal?.aborted) return;
      yield id;
      if (++n % every === 0) await macrotask();
    }
  }
}

/**
 * Checks what `generate`/`sample` read of their options besides the keys: length, seed and the
 * sampling options (a ValueError naming the option, before anything is computed).
 */
export function checkGenerateOptions(name: string, o: Omit<GenerateOptions, 'generator' | 'onToken'>): void {
  if (o.length !== undefined && !(Number.isInteger(o.length) && o.length >= 0)) throw new ValueError(`${name}: length must be an integer >= 0, got ${o.length}`);
  if (o.seed !== undefined && !(typeof o.seed === 'number' && Number.isFinite(o.seed))) {
    throw new ValueError(`${name}: seed must be a finite number, got ${quoteValue(o.seed)}`);
  }
  checkSamplingOptions(name, o);
}

/**
 * Generated text, piece by piece (one token's text each: '' for the first bytes of a character
 * of several, at byte level; U+FFFD last if the text ends inside one), for a model and its tokenizer.
 * `<unk>`, `<pad>` and `<bos>` are never produced unless `options.suppress` says otherwise.
 */
export async function* generateText(
  model: LanguageModel, tokenizer: Tokenizer, prime: string, options: AsyncGenerateOptions = {},
): AsyncGenerator<string, void, undefined> {
  checkOptions('generateText', options, ASYNC_GENERATE_KEYS);
  const ids = primeIds(tokenizer, prime);
  const text = tokenizer.decoder(ids);
  for await (const id of model.generate(ids, { suppress: specialIds(tokenizer), ...options })) yield text.next(id);
  const rest = text.end();
  if (rest !== '') yield rest;
}

/** Synchronous `generateText`, returning the whole continuation. */
export function sampleText(model: LanguageModel, tokenizer: Tokenizer, prime: string, options: GenerateOptions = {}): string {
  checkOptions('sampleText', options, GENERATE_KEYS);
  const ids = primeIds(tokenizer, prime);
  const text = tokenizer.decoder(ids);
  let out = '';
  for (const id of model.sample(ids, { suppress: specialIds(tokenizer), ...options })) out += text.next(id);
  return out + text.end();
}

/**
 * Feeds `prime` (T token ids of one sequence) to a LanguageModel's stepper in one step ((T, 1)
 * ids) and returns the logits (V) after its last token: what predicts the next one.
 */
export function feedPrime(stepper: Stepper, prime: ArrayLike<number>, vocabSize: number): Float32Array {
  if (prime.length === 0) throw new ValueError('feedPrime: prime must hold at least one token (an empty text starts from primeIds(tokenizer, \'\'))');
  const ids = tensor(Int32Array.from(prime), [prime.length, 1]);
  try {
    return stepper.step(ids).subarray((prime.length - 1) * vocabSize);
  } finally {
    ids.dispose();
  }
}

/** Tokens text generation never produces by default: `<unk>`, `<pad>`, `<bos>` (those in the vocabulary). */
export function specialIds(tokenizer: Tokenizer): number[] {
  return ['<unk>', '<pad>', '<bos>'].map((t) => tokenizer.vocab.indexOf(t)).filter((i) => i >= 0);
}

/** The prime's ids; an empty prime starts at a line break (char) or `<bos>` (word). */
export function primeIds(tokenizer: Tokenizer, prime: string): Int32Array {
  if (prime.length > 0) return tokenizer.encode(prime);
  const start = tokenizer.level === 'word' ? '<bos>' : '\n';
  return Int32Array.of(tokenizer.idOf(start));
}

function checkConfig(c: LanguageModelConfig): void {
  for (const k of ['vocabSize', 'embedDim', 'hiddenSize', 'numLayers'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ValueError(`LanguageModel: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.cell !== 'lstm' && c.cell !== 'gru') throw new ValueError(`LanguageModel: cell must be 'lstm' or 'gru', got '${c.cell as string}'`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ValueError(`LanguageModel: dropout must be in [0, 1), got ${c.dropout}`);
}
