/**
 * nn.LSTMCell, nn.GRUCell, nn.RNNCell: one time step, PyTorch names (weight_ih, weight_hh,
 * bias_ih, bias_hh) and init. They run the same crate kernels as the sequence modules with T = 1.
 */
import { Tensor } from '../tensor';
import { runOp } from '../memory';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors';
import { GATES, recurrentInit, type RecurrentMode, type RecurrentConfig, type RecurrentWeights } from '../ops/recurrent';
import { runRecurrent } from './rnn';
import { reshape } from '../ops/index';
import { assertTensor } from '../checks';
import { Module } from './module';
import { checkSize, checkFlag } from './linear';
import { checkOptions, optionKeys } from '../options';
import { generatorOption, type Generator } from '../random';

export interface CellOptions {
  bias?: boolean;
  /** Where the initial weights are drawn from (default: the global generator, seeded by `manualSeed`). */
  generator?: Generator;
}
export interface RNNCellOptions extends CellOptions {
  nonlinearity?: 'tanh' | 'relu';
}
const CELL_KEYS = optionKeys<CellOptions>({ bias: true, generator: true });
const RNN_CELL_KEYS = optionKeys<RNNCellOptions>({ bias: true, generator: true, nonlinearity: true });

/** A cell's checked options: its bias flag and the generator its weights are drawn from. */
function cellOptions(name: string, options: CellOptions | undefined, keys: readonly string[]): { bias: boolean; generator: Generator } {
  checkOptions(name, options, keys);
  checkFlag(name, 'bias', options?.bias);
  return { bias: options?.bias ?? true, generator: generatorOption(name, options?.generator) };
}

abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  protected readonly mode: RecurrentMode;
  protected readonly w: RecurrentWeights;

  protected constructor(mode: RecurrentMode, name: string, inputSize: number, hiddenSize: number, { bias, generator }: { bias: boolean; generator: Generator }) {
    super();
    checkSize(name, 'inputSize', inputSize);
    checkSize(name, 'hiddenSize', hiddenSize);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.bias = bias;
    const init = recurrentInit(hiddenSize, generator);
    const G = GATES[mode] * hiddenSize;
    this.w = {
      wIh: this.addParameter('weight_ih', [G, inputSize], init),
      wHh: this.addParameter('weight_hh', [G, hiddenSize], init),
      bIh: bias ? this.addParameter('bias_ih', [G], init) : null,
      bHh: bias ? this.addParameter('bias_hh', [G], init) : null,
      wHr: null,
    };
  }

  /**
   * input (B, I) or (I); states (B, H) or (H). Returns the new h (and c for LSTM). Runs as one op:
   * if it throws, nothing it allocated stays behind.
   */
  protected step(input: Tensor, h: Tensor | null, c: Tensor | null): { h: Tensor; c: Tensor | null } {
    return runOp(`${this.constructor.name}.forward`, () => this.stepOnce(input, h, c));
  }

  private stepOnce(input: Tensor, h: Tensor | null, c: Tensor | null): { h: Tensor; c: Tensor | null } {
    this.assertAlive('forward');
    const name = this.constructor.name;
    if (!(input instanceof Tensor) || input.dtype !== 'float32') throw new DTypeError(`${name}.forward: input must be a float32 Tensor`);
    assertTensor(`${name}.forward`, 'input', input);
    if ((input.ndim !== 1 && input.ndim !== 2) || input.shape[input.ndim - 1] !== this.inputSize) {
      throw new ShapeError(`${name}.forward: input has shape ${formatShape(input.shape)}, expected (batch, ${this.inputSize}) or (${this.inputSize})`);
    }
    const unbatched = input.ndim === 1;
    const B = unbatched ? 1 : input.shape[0];
    const H = this.hiddenSize;
    const want = unbatched ? [H] : [B, H];
    const check = (st: Tensor | null, what: string): void => {
      if (st === null || st === undefined) return;
      if (!(st instanceof Tensor) || st.dtype !== 'float32' || st.ndim !== want.length || st.shape.some((d, i) => d !== want[i])) {
        throw new ShapeError(`${name}.forward: ${what} has shape ${st instanceof Tensor ? formatShape(st.shape) : typeof st}, expected ${formatShape(want)}`);
      }
      assertTensor(`${name}.forward`, what, st);
    };
    // Check everything before the first copy, so a bad call allocates nothing.
    check(h, 'hx');
    check(c, 'cx');
    // One step is a sequence of length 1: (B, I) -> (1, B, I), states (B, H) -> (1, B, H).
    const temps: Tensor[] = [];
    const asSequence = (t: Tensor, width: number): Tensor => {
      const r = reshape(t, [1, B, width]);
      temps.push(r);
      return r;
    };
    const x = asSequence(input, this.inputSize);
    const state = (st: Tensor | null): Tensor | null => (st === null || st === undefined ? null : asSequence(st, H));
    const cfg: RecurrentConfig = { mode: this.mode, numLayers: 1, directions: 1, hiddenSize: H, outSize: H, dropout: 0, training: this.training };
    const result = runRecurrent(cfg, [this.w], x, state(h), state(c), null, temps);
    const shape = unbatched ? [H] : [B, H];
    result.discard(result.output); // a one-step sequence's output repeats hN
    const hOut = result.replace(result.hN, reshape(result.hN, shape));
    const cOut = result.cN === null ? null : result.replace(result.cN, reshape(result.cN, shape));
    return { h: hOut, c: cOut };
  }
}

export class LSTMCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, options: CellOptions = {}) {
    super('LSTM', 'LSTMCell', inputSize, hiddenSize, cellOptions('LSTMCell', options, CELL_KEYS));
  }

  /** Returns [h', c']; hx = [h, c] or omitted for zeros. */
  forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) throw new ValueError('LSTMCell.forward: hx must be [h, c]');
    const { h, c } = this.step(input, hx ? hx[0] : null, hx ? hx[1] : null);
    return [h, c as Tensor];
  }
}

export class GRUCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, options: CellOptions = {}) {
    super('GRU', 'GRUCell', inputSize, hiddenSize, cellOptions('GRUCell', options, CELL_KEYS));
  }

  /** Returns h'. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, hx ?? null, null).h;
  }
}

export class RNNCell extends CellBase {
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    const checked = cellOptions('RNNCell', options, RNN_CELL_KEYS);
    const nl = options?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new ValueError(`RNNCell: nonlinearity must be 'tanh' or 'relu', got '${nl}'`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', 'RNNCell', inputSize, hiddenSize, checked);
    this.nonlinearity = nl;
  }

  /** Returns h'. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, hx ?? null, null).h;
  }
}
