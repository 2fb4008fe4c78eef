/**
 * nn.RNN, nn.LSTM, nn.GRU: PyTorch's shapes, options, parameter names, gate order and init.
 * input (T, B, I), or (B, T, I) with batchFirst, or unbatched (T, I); h/c are (L*D, B, P)
 * whatever batchFirst says; output (T, B, D*P). P = projSize for a projected LSTM, else hiddenSize.
 */
import { Tensor } from '../tensor';
import { tensor } from '../creation';
import { runOp, untracked } from '../memory';
import { DTypeError, DisposedError, IndexError, ShapeError, ValueError, formatShape } from '../errors';
import {
  recurrentStack, quantizedRecurrentStack, GATES, recurrentInit, type RecurrentMode, type RecurrentWeights, type RecurrentConfig, type RecurrentOutputs,
  type QuantizedRecurrentWeights,
} from '../ops/recurrent';
import { swapLeadingDims, reshape } from '../ops/index';
import { assertTensor } from '../checks';
import { Stepper, type StepperOptions } from './stepper';
import { DecodeStep, type DecodeStack, type DecodeLayer, type DecodeMatrix } from './decode-step';
import { QuantizedMatrix, refuseGrad, type QuantDtype } from './quantized';
import { Module } from './module';
import { Generator, generatorOption } from '../random';
import { checkSize, checkFlag } from './linear';
import { checkOptions, optionKeys } from '../options';

export interface RNNBaseOptions {
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode (PyTorch semantics). */
  dropout?: number;
  bidirectional?: boolean;
  /**
   * Where the initial weights and the dropout masks are drawn from (default: the global generator,
   * seeded by `manualSeed`).
   */
  generator?: Generator;
}

export interface LSTMOptions extends RNNBaseOptions {
  /** If > 0, an LSTM with projections of that size (PyTorch `proj_size`). */
  projSize?: number;
  /**
   * Starts the forget gate's bias at this value instead of PyTorch's uniform init (not a PyTorch
   * option): `bias_ih`'s forget block (rows H..2H, gate order i, f, g, o) is set to it and
   * `bias_hh`'s to 0, so their sum is exactly this. 1 (Jozefowicz et al. 2015) keeps the cell
   * remembering from the start, which long-range dependencies need. Requires `bias`.
   */
  forgetBias?: number;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: 'tanh' | 'relu';
}

const BASE_KEYS = { numLayers: true, bias: true, batchFirst: true, dropout: true, bidirectional: true, generator: true } as const;
// GRU and RNN accept projSize: 0 as PyTorch does (anything else is refused: LSTM only).
const GRU_KEYS = [...optionKeys<RNNBaseOptions>(BASE_KEYS), 'projSize'];
const LSTM_KEYS = optionKeys<LSTMOptions>({ ...BASE_KEYS, projSize: true, forgetBias: true });
const RNN_KEYS = [...optionKeys<RNNOptions>({ ...BASE_KEYS, nonlinearity: true }), 'projSize'];

/**
 * The options of `new LSTM(I, H, third, fourth)`. PyTorch's third positional argument is
 * num_layers, so a number there is `numLayers` (`new LSTM(I, H, 2)` or `new LSTM(I, H, 2, { batchFirst:
 * true })`); PyTorch's later positionals (bias, batch_first, ...) are refused: as booleans in a row
 * they are too easy to misplace, so they are named options.
 */
function recurrentOptions<O extends RNNBaseOptions>(name: string, third: number | O | undefined, rest: unknown[], keys: readonly string[]): O {
  const hint = `pass them by name: new ${name}(inputSize, hiddenSize, numLayers, { bias, batchFirst, dropout, bidirectional })`;
  if (typeof third === 'number') {
    if (rest.length > 1 || (rest.length === 1 && (rest[0] === null || typeof rest[0] !== 'object' || Array.isArray(rest[0])))) {
      throw new ValueError(`${name}: only numLayers may be given positionally (PyTorch's order: input_size, hidden_size, num_layers); ${hint}`);
    }
    const options = (rest[0] ?? {}) as O;
    checkOptions(name, options, keys);
    if (options.numLayers !== undefined) throw new ValueError(`${name}: numLayers given twice (positionally as ${third} and in options as ${options.numLayers})`);
    return { ...options, numLayers: third };
  }
  if (typeof third === 'boolean') throw new ValueError(`${name}: the third argument is numLayers (a number) or an options object, got ${third}; ${hint}`);
  if (rest.length > 0) throw new ValueError(`${name}: expected (inputSize, hiddenSize, options), got ${rest.length} more argument(s); ${hint}`);
  checkOptions(name, third, keys);
  return (third ?? {}) as O;
}

/** GRU and RNN options: projSize may only be 0 (PyTorch: proj_size is LSTM's). */
function withoutProjection<O extends RNNBaseOptions>(name: string, options: O): O {
  if ((options as LSTMOptions).projSize) throw new ValueError(`${name}: projSize is only supported by LSTM`);
  return options;
}

export interface ForwardOptions {
  /**
   * Per-sequence lengths (B numbers, each 1..T, any order). Outputs past a length are 0, final
   * states are each sequence's own last step (the reverse direction starts at its own last step).
   */
  lengths?: readonly number[] | Int32Array | Tensor;
}

const FORWARD_KEYS = optionKeys<ForwardOptions>({ lengths: true });

/**
 * The op's outputs, and how to let go of one: swapped for a re-laid-out copy, or not returned at
 * all. In inference the one let go is freed; when a graph is recorded the graph still needs it.
 */
export interface RecurrentRun extends RecurrentOutputs {
  replace(old: Tensor, replacement: Tensor): Tensor;
  discard(unused: Tensor): void;
}

/**
 * Runs the recurrent op for a module: what the sequence modules and the cells share. `x` (T, B, I)
 * time-major and the states (L*D, B, ·) are in the op's layout; `temps` are the caller's copies
 * made to get there. In inference nothing refers to them afterwards, so they are freed now (a
 * streaming decoder then runs in constant memory); when a graph is recorded they stay with it.
 */
export function runRecurrent(
  cfg: RecurrentConfig, weights: readonly RecurrentWeights[], x: Tensor, h: Tensor | null, c: Tensor | null,
  lengths: Int32Array | null, temps: Tensor[],
): RecurrentRun {
  return asRun(recurrentStack(cfg, x, h, c, lengths, weights), temps);
}

/** The outputs of a recurrent op as a run: its temporaries freed now unless a graph recorded them (and then kept with it). */
function asRun(out: RecurrentOutputs, temps: Tensor[]): RecurrentRun {
  const recorded = out.output.requiresGrad;
  if (!recorded) for (const t of temps) t.dispose();
  return {
    ...out,
    replace(old: Tensor, replacement: Tensor): Tensor {
      if (!recorded) old.dispose();
      return replacement;
    },
    discard(unused: Tensor): void {
      if (!recorded) unused.dispose();
    },
  };
}

export abstract class RNNBase extends Module {
  readonly mode: RecurrentMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  /** Parameters per layer-direction, index layer*D + direction (none in a quantized module). */
  protected readonly weights: RecurrentWeights[] = [];
  /**
   * The weights of an inference-only quantized copy (`RNNBase.quantizedFrom`, what `quantize`
   * makes), per layer-direction; null for a float32 module.
   */
  quant: { dtype: QuantDtype; layers: QuantizedLayer[] } | null = null;
  /**
   * The stream the initial weights were drawn from and dropout masks are drawn from; replace it to
   * give this module a dropout stream of its own.
   */
  generator: Generator;

  protected constructor(mode: RecurrentMode, name: string, inputSize: number, hiddenSize: number, options: LSTMOptions) {
    super();
    checkSize(name, 'inputSize', inputSize);
    checkSize(name, 'hiddenSize', hiddenSize);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    for (const flag of ['bias', 'batchFirst', 'bidirectional'] as const) checkFlag(name, flag, options[flag]);
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    this.projSize = options.projSize ?? 0;
    this.generator = generatorOption(name, options.generator);
    checkSize(name, 'numLayers', this.numLayers);
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new ValueError(`${name}: dropout must be in [0, 1], got ${this.dropout}`);
    if (!Number.isInteger(this.projSize) || this.projSize < 0) throw new ValueError(`${name}: projSize must be a non-negative integer, got ${this.projSize}`);
    if (this.projSize >= hiddenSize) throw new ValueError(`${name}: projSize (${this.projSize}) must be smaller than hiddenSize (${hiddenSize})`);

    // PyTorch: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), registered per layer then direction.
    const init = recurrentInit(hiddenSize, this.generator);
    const G = GATES[mode] * hiddenSize;
    const P = this.outSize;
    const D = this.directions;
    // A quantized copy gets its weights from the module it copies, not from an initialization.
    if (buildingQuantized) return;
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? inputSize : P * D;
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const wIh = this.addParameter(`weight_ih${sfx}`, [G, inSize], init);
        const wHh = this.addParameter(`weight_hh${sfx}`, [G, P], init);
        const bIh = this.bias ? this.addParameter(`bias_ih${sfx}`, [G], init) : null;
        const bHh = this.bias ? this.addParameter(`bias_hh${sfx}`, [G], init) : null;
        const wHr = this.projSize > 0 ? this.addParameter(`weight_hr${sfx}`, [P, hiddenSize], init) : null;
        this.weights.push({ wIh, wHh, bIh, bHh, wHr });
      }
    }
  }

  /** 2 if bidirectional, else 1. */
  get directions(): 1 | 2 {
    return this.bidirectional ? 2 : 1;
  }

  /** Width of h and of each direction's output: projSize if set, else hiddenSize. */
  get outSize(): number {
    return this.projSize > 0 ? this.projSize : this.hiddenSize;
  }

  /**
   * Runs the stack. Returns output and the final states (time-major internals, user layout out).
   * `h0`/`c0` may be null (zeros). Runs as one op: if it throws, nothing it allocated stays behind.
   */
  protected run(input: Tensor, h0: Tensor | null, c0: Tensor | null, options: ForwardOptions): { output: Tensor; hN: Tensor; cN: Tensor | null } {
    checkOptions(`${this.constructor.name}.forward`, options, FORWARD_KEYS);
    options ??= {};
    return runOp(`${this.constructor.name}.forward`, () => this.runStack(input, h0, c0, options));
  }

  private runStack(input: Tensor, h0: Tensor | null, c0: Tensor | null, options: ForwardOptions): { output: Tensor; hN: Tensor; cN: Tensor | null } {
    this.assertAlive('forward');
    const name = this.constructor.name;
    assertTensor(`${name}.forward`, 'input', input);
    if (input.dtype !== 'float32') throw new DTypeError(`${name}.forward: input must be float32, got ${input.dtype}`);
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new ShapeError(`${name}.forward: input must be 3-D ${this.batchFirst ? '(B, T, I)' : '(T, B, I)'} or unbatched 2-D (T, I), got ${formatShape(input.shape)}`);
    }
    const unbatched = input.ndim === 2;
    const features = input.shape[input.ndim - 1];
    if (features !== this.inputSize) {
      throw new ShapeError(`${name}.forward: input has ${features} features, expected inputSize=${this.inputSize}`);
    }
    if (this.quant !== null) {
      if (this.quant.layers.some((w) => w.wIh.isDisposed)) throw new DisposedError(`${name}.forward: its quantized weights were disposed`);
      refuseGrad(`${name}.forward`, input, h0, c0);
    }
    // Every check comes before the first copy, so a bad call allocates nothing.
    const T = unbatched || !this.batchFirst ? input.shape[0] : input.shape[1];
    const B = unbatched ? 1 : this.batchFirst ? input.shape[0] : input.shape[1];
    if (T === 0) throw new ShapeError(`${name}.forward: input has no time steps ${formatShape(input.shape)}`);
    const LD = this.numLayers * this.directions;
    const checkState = (s: Tensor | null, what: string, width: number): void => {
      if (s === null || s === undefined) return;
      if (!(s instanceof Tensor) || s.dtype !== 'float32') throw new DTypeError(`${name}.forward: ${what} must be a float32 Tensor`);
      assertTensor(`${name}.forward`, what, s);
      const want = unbatched ? [LD, width] : [LD, B, width];
      if (s.ndim !== want.length || s.shape.some((d, i) => d !== want[i])) {
        throw new ShapeError(`${name}.forward: ${what} has shape ${formatShape(s.shape)}, expected ${formatShape(want)} (numLayers*numDirections, ${unbatched ? '' : 'batch, '}${what === 'c0' ? 'hiddenSize' : 'hidden/proj size'})`);
      }
    };
    checkState(h0, 'h0', this.outSize);
    if (this.mode === 'LSTM') checkState(c0, 'c0', this.hiddenSize);
    const lengthValues = this.checkLengths(options.lengths, T, B, name);

    const temps: Tensor[] = [];
    const tmp = (t: Tensor): Tensor => {
      temps.push(t);
      return t;
    };
    let x = input;
    if (unbatched) x = tmp(reshape(input, [T, 1, features]));
    else if (this.batchFirst) x = tmp(swapLeadingDims(input));
    const asBatched = (st: Tensor | null, width: number): Tensor | null =>
      st === null || st === undefined ? null : unbatched ? tmp(reshape(st, [LD, 1, width])) : st;
    const h = asBatched(h0, this.outSize);
    const c = this.mode === 'LSTM' ? asBatched(c0, this.hiddenSize) : null;
    const result = this.quant !== null
      ? runQuantized(this.config(), this.quant, x, h, c, lengthValues, temps)
      : runRecurrent(this.config(), this.weights, x, h, c, lengthValues, temps);

    // Back to the caller's layout.
    const P = this.outSize;
    const D = this.directions;
    let { output, hN, cN } = result;
    if (unbatched) {
      output = result.replace(output, reshape(output, [T, D * P]));
      hN = result.replace(hN, reshape(hN, [LD, P]));
      if (cN !== null) cN = result.replace(cN, reshape(cN, [LD, this.hiddenSize]));
    } else if (this.batchFirst) {
      output = result.replace(output, swapLeadingDims(output));
    }
    return { output, hN, cN };
  }

  /** The op's configuration for this module in its current mode. */
  protected config(): RecurrentConfig {
    return {
      mode: this.mode, numLayers: this.numLayers, directions: this.directions, hiddenSize: this.hiddenSize,
      outSize: this.outSize, dropout: this.dropout, training: this.training, generator: this.generator,
    };
  }

  /** Validated lengths as int32 values, or null when none were given. */
  private checkLengths(lengths: ForwardOptions['lengths'], T: number, B: number, name: string): Int32Array | null {
    if (lengths === undefined || lengths === null) return null;
    if (lengths instanceof Tensor) assertTensor(`${name}.forward`, 'lengths', lengths);
    const values = lengths instanceof Tensor ? Array.from(lengths.toArray()) : Array.from(lengths);
    if (values.length !== B) throw new ShapeError(`${name}.forward: lengths has ${values.length} entries, expected batch size ${B}`);
    values.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 1 || v > T) {
        throw new IndexError(`${name}.forward: lengths[${i}] = ${v} is out of range (expected an integer in 1..${T}, the sequence length)`);
      }
    });
    return Int32Array.from(values);
  }

  /**
   * A Stepper over this layer: `step(x)` takes one time step, x (B, inputSize) (or a (T, B, inputSize)
   * tensor), and returns the output (B, D*H) (or (T, B, D*H)) as a Float32Array, keeping the state
   * ([h, c] for an LSTM, [h] otherwise) for the next step. Runs in eval mode (no dropout).
   */
  stepper(options: StepperOptions = {}): Stepper {
    const decode = this.bidirectional ? null : new DecodeStep(() => this.decodeStack(null, null), this.constructor.name);
    return new Stepper((x, state) => {
      const wasTraining = this.training;
      this.eval();
      try {
        const input = x.shape.length === 2 ? x.unsqueeze(0) : x;
        const [out, next] = (this as unknown as { forward(i: Tensor, s: unknown): [Tensor, Tensor | Tensor[]] }).forward(
          input, state === null ? null : this instanceof LSTM ? state : state[0],
        );
        return { output: x.shape.length === 2 ? out.squeeze(0) : out, state: Array.isArray(next) ? next : [next] };
      } finally {
        this.train(wasTraining);
      }
    }, options, decode);
  }

  /**
   * @internal This stack as one fused decoding step sees it (unidirectional only), with an
   * embedding `table` before it and a Linear `head` after it, or neither.
   */
  decodeStack(table: DecodeMatrix | null, head: DecodeStack['head']): DecodeStack {
    this.assertAlive('step');
    const layers: DecodeLayer[] = this.quant !== null
      ? this.quant.layers.map((w) => ({ wIh: matrixRef(w.wIh), wHh: matrixRef(w.wHh), bIh: w.bIh, bHh: w.bHh, wHr: w.wHr === null ? null : matrixRef(w.wHr) }))
      : this.weights.map((w) => ({ wIh: f32Matrix(w.wIh), wHh: f32Matrix(w.wHh), bIh: w.bIh, bHh: w.bHh, wHr: w.wHr === null ? null : f32Matrix(w.wHr) }));
    return {
      kind: this.mode, dtype: this.quant?.layers[0].wIh.computed ?? 'float32', layers, inputSize: this.inputSize, hiddenSize: this.hiddenSize, outSize: this.outSize, table, head,
    };
  }

  /**
   * An inference-only copy of `source` (an `LSTM`, `GRU` or `RNN`) with every weight matrix
   * quantized to `dtype` (biases stay float32): no parameters, no train mode, refusing inputs that
   * require grad. What `quantize` makes of a recurrent layer.
   */
  static quantizedFrom(source: RNNBase, dtype: QuantDtype, path = ''): RNNBase {
    source.assertAlive('quantize');
    if (source.quant !== null) throw new ValueError(`quantize: this ${source.constructor.name} is quantized already (${source.quant.dtype})`);
    const Class = source.constructor;
    if (Class !== LSTM && Class !== GRU && Class !== RNN) {
      // A subclass may take other constructor arguments or compute otherwise: not copied blindly.
      throw new ValueError(`quantize: ${Class.name} is a subclass of ${Object.getPrototypeOf(Class).name}; quantize the LSTM/GRU/RNN it holds instead`);
    }
    const names = source.namedParameters().map(([n]) => n);
    const params = source.parameters();
    const layers: QuantizedLayer[] = [];
    try {
      source.weights.forEach((w) => {
        const q = (t: Tensor): QuantizedMatrix => QuantizedMatrix.fromTensor(t, dtype, `${path}${names[params.indexOf(t)]}`);
        const bias = (t: Tensor | null): Tensor | null => (t === null ? null : untracked(() => tensor(t.toArray(), t.shape)));
        // Filled one matrix at a time, listed first: a refusal of a later one frees the earlier.
        const layer = { wIh: null, wHh: null, bIh: null, bHh: null, wHr: null } as unknown as QuantizedLayer;
        layers.push(layer);
        layer.wIh = q(w.wIh);
        layer.wHh = q(w.wHh);
        layer.wHr = w.wHr === null ? null : q(w.wHr);
        layer.bIh = bias(w.bIh);
        layer.bHh = bias(w.bHh);
      });
    } catch (e) {
      disposeLayers(layers);
      throw e;
    }
    return RNNBase.assembleQuantized(source.mode, source.inputSize, source.hiddenSize, source.options(), dtype, layers);
  }

  /**
   * A quantized module of `mode` from its layers' quantized weights (index layer*D + direction),
   * which it takes over (they are freed with it, or now if this throws): what `quantizedFrom` and
   * the checkpoint reader build. Their shapes must be the module's.
   */
  static assembleQuantized(
    mode: RecurrentMode, inputSize: number, hiddenSize: number, options: RNNBaseOptions & { projSize?: number }, dtype: QuantDtype,
    layers: QuantizedLayer[],
  ): RNNBase {
    let copy: RNNBase;
    buildingQuantized = true;
    try {
      copy = mode === 'LSTM' ? new LSTM(inputSize, hiddenSize, options)
        : mode === 'GRU' ? new GRU(inputSize, hiddenSize, options)
          : new RNN(inputSize, hiddenSize, { ...options, nonlinearity: mode === 'RNN_RELU' ? 'relu' : 'tanh' });
    } catch (e) {
      disposeLayers(layers);
      throw e;
    } finally {
      buildingQuantized = false;
    }
    const G = GATES[mode] * hiddenSize;
    const P = copy.outSize;
    const D = copy.directions;
    const name = copy.constructor.name;
    const expect = (m: QuantizedMatrix | null, rows: number, cols: number, what: string): void => {
      if (m === null || m.rows !== rows || m.cols !== cols || m.dtype !== dtype) {
        throw new ShapeError(`${name}: quantized ${what} is ${m === null ? 'missing' : `(${m.rows}, ${m.cols}) ${m.dtype}`}, expected (${rows}, ${cols}) ${dtype}`);
      }
    };
    try {
      if (layers.length !== copy.numLayers * D) throw new ShapeError(`${name}: ${layers.length} quantized layer-directions, expected ${copy.numLayers * D}`);
      layers.forEach((w, ld) => {
        const l = Math.floor(ld / D);
        expect(w.wIh, G, l === 0 ? inputSize : P * D, `weights[${ld}].wIh`);
        expect(w.wHh, G, P, `weights[${ld}].wHh`);
        if (copy.projSize > 0) expect(w.wHr, P, hiddenSize, `weights[${ld}].wHr`);
      });
    } catch (e) {
      disposeLayers(layers);
      copy.dispose();
      throw e;
    }
    copy.quant = { dtype, layers };
    copy.training = false;
    return copy;
  }

  /** The options this module was made with (what a copy of it is made with). */
  options(): RNNBaseOptions & { projSize?: number } {
    return {
      numLayers: this.numLayers, bias: this.bias, batchFirst: this.batchFirst, dropout: this.dropout, bidirectional: this.bidirectional,
      ...(this.projSize > 0 ? { projSize: this.projSize } : {}),
    };
  }

  /** Quantized: train mode is refused (inference-only); `train(false)` (what `.eval()` calls) is fine. */
  override train(mode = true): this {
    if (mode && this.quant !== null) throw new ValueError(`${this.constructor.name}: this module is quantized (${this.quant.dtype}), inference-only; train the float32 model, then quantize it`);
    return super.train(mode);
  }

  override dispose(): void {
    if (this.quant !== null) disposeLayers(this.quant.layers);
    super.dispose();
  }
}

export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options?: LSTMOptions);
  constructor(inputSize: number, hiddenSize: number, numLayers: number, options?: LSTMOptions);
  constructor(inputSize: number, hiddenSize: number, third?: number | LSTMOptions, ...rest: unknown[]) {
    const options = recurrentOptions('LSTM', third, rest, LSTM_KEYS);
    super('LSTM', 'LSTM', inputSize, hiddenSize, options);
    const forgetBias = (options as LSTMOptions).forgetBias;
    if (forgetBias !== undefined) {
      if (typeof forgetBias !== 'number' || !Number.isFinite(forgetBias)) throw new ValueError(`LSTM: forgetBias must be a finite number, got ${String(forgetBias)}`);
      if (!this.bias) throw new ValueError('LSTM: forgetBias needs bias: true (there is no bias to set)');
      const H = hiddenSize;
      for (const [name, p] of this.namedParameters()) {
        if (name.startsWith('bias_ih')) p.f32().fill(forgetBias, H, 2 * H);
        else if (name.startsWith('bias_hh')) p.f32().fill(0, H, 2 * H);
      }
    }
  }

  /** Returns [output, [hN, cN]], also by name ({ output, hN, cN }); hx = [h0, c0] (both, or neither for zeros). */
  forward(input: Tensor, hx?: [Tensor, Tensor] | null, options: ForwardOptions = {}): LSTMOutput {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new ValueError('LSTM.forward: hx must be [h0, c0]');
    }
    const { output, hN, cN } = this.run(input, hx ? hx[0] : null, hx ? hx[1] : null, options);
    return Object.assign([output, [hN, cN as Tensor]] as [Tensor, [Tensor, Tensor]], { output, hN, cN: cN as Tensor });
  }
}

export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options?: RNNBaseOptions);
  constructor(inputSize: number, hiddenSize: number, numLayers: number, options?: RNNBaseOptions);
  constructor(inputSize: number, hiddenSize: number, third?: number | RNNBaseOptions, ...rest: unknown[]) {
    super('GRU', 'GRU', inputSize, hiddenSize, withoutProjection('GRU', recurrentOptions('GRU', third, rest, GRU_KEYS)));
  }

  /** Returns [output, hN], also by name ({ output, hN }). */
  forward(input: Tensor, h0?: Tensor | null, options: ForwardOptions = {}): RNNOutput {
    const { output, hN } = this.run(input, h0 ?? null, null, options);
    return Object.assign([output, hN] as [Tensor, Tensor], { output, hN });
  }
}

export class RNN extends RNNBase {
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(inputSize: number, hiddenSize: number, options?: RNNOptions);
  constructor(inputSize: number, hiddenSize: number, numLayers: number, options?: RNNOptions);
  constructor(inputSize: number, hiddenSize: number, third?: number | RNNOptions, ...rest: unknown[]) {
    const options = withoutProjection('RNN', recurrentOptions<RNNOptions>('RNN', third, rest, RNN_KEYS));
    const nl = options.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new ValueError(`RNN: nonlinearity must be 'tanh' or 'relu', got '${nl}'`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', 'RNN', inputSize, hiddenSize, options);
    this.nonlinearity = nl;
  }

  /** Returns [output, hN], also by name ({ output, hN }). */
  forward(input: Tensor, h0?: Tensor | null, options: ForwardOptions = {}): RNNOutput {
    const { output, hN } = this.run(input, h0 ?? null, null, options);
    return Object.assign([output, hN] as [Tensor, Tensor], { output, hN });
  }
}


/**
 * `LSTM.forward`'s result, by position as PyTorch's tuple (`const [output, [hN, cN]] = lstm.forward(x)`)
 * or by name (`const { output, hN, cN } = lstm.forward(x)`).
 */
export type LSTMOutput = [output: Tensor, state: [hN: Tensor, cN: Tensor]] & { output: Tensor; hN: Tensor; cN: Tensor };
/** `GRU.forward`'s and `RNN.forward`'s result: `[output, hN]`, or `{ output, hN }`. */
export type RNNOutput = [output: Tensor, hN: Tensor] & { output: Tensor; hN: Tensor };

/** Set while `RNNBase.quantizedFrom` builds a copy: its constructor makes no parameters. */
let buildingQuantized = false;

/** A recurrent layer-direction's quantized weights (biases stay float32). */
export interface QuantizedLayer {
  wIh: QuantizedMatrix;
  wHh: QuantizedMatrix;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: QuantizedMatrix | null;
}

function disposeLayers(layers: QuantizedLayer[]): void {
  for (const w of layers) {
    for (const m of [w.wIh, w.wHh, w.wHr]) if (m !== null && m !== undefined && !m.isDisposed) m.dispose();
    for (const b of [w.bIh, w.bHh]) if (b !== null && !b.isDisposed) b.dispose();
  }
}

/** A float32 matrix (a parameter) as the decode plan takes it. */
export function f32Matrix(t: Tensor): DecodeMatrix {
  return { data: t, scales: null, rows: t.shape[0] };
}

/** A quantized matrix as the decode plan takes it. */
export function matrixRef(m: QuantizedMatrix): DecodeMatrix {
  return { data: m.data, scales: m.scales, rows: m.rows };
}

/** `runRecurrent` for a quantized module (inference only: nothing is recorded). */
function runQuantized(
  cfg: RecurrentConfig, quant: { dtype: QuantDtype; layers: QuantizedLayer[] }, x: Tensor, h: Tensor | null, c: Tensor | null,
  lengths: Int32Array | null, temps: Tensor[],
): RecurrentRun {
  const weights: QuantizedRecurrentWeights[] = quant.layers.map((w) => ({
    dtype: w.wIh.code, wIh: w.wIh.data, sIh: w.wIh.scales, wHh: w.wHh.data, sHh: w.wHh.scales, bIh: w.bIh, bHh: w.bHh,
    wHr: w.wHr?.data ?? null, sHr: w.wHr?.scales ?? null,
  }));
  return asRun(quantizedRecurrentStack(cfg, x, h, c, lengths, weights), temps);
}
