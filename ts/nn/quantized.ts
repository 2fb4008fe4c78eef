/**
 * Quantized weights for inference (crate/quant.rs): a matrix stored as int8 (symmetric per row,
 * with f32 scales) or float16, and the modules that read such matrices: `QuantizedLinear`,
 * `QuantizedEmbedding` here; the recurrent layers keep their classes (nn/rnn.ts, `RNNBase.quant`).
 *
 * float16 is a storage format: its values (rounded to the nearest float16) are kept widened to
 * float32 and computed on as float32, bit for bit what a float32 model with those weights gives;
 * files hold them as float16 (half the size). Widening in registers at every product ran 2.8x
 * slower on WASM SIMD, which has no float16 instructions (crate/quant.rs).
 *
 * Quantized modules are inference-only: they hold no parameters (an optimizer given one refuses
 * an empty parameter list), an input that requires grad is refused (a backward through them would
 * silently give no gradient), and train mode is refused. Train the float32 model, then quantize.
 *
 * Storage: int8 values live in an int32 tensor of ceil(bytes / 4) elements (so memory accounting,
 * ownership and `dispose` are a tensor's), their scales in a float32 tensor.
 */
import { Tensor } from '../tensor';
import { runOp, untracked } from '../memory';
import { backend } from '../backend/backend';
import { QUANT_DTYPES } from '../backend/kernels';
import { checkKernelStatus } from '../backend/limits';
import { needsGrad } from '../autograd';
import { checkIds } from '../ops/embedding';
import { DTypeError, DisposedError, ShapeError, ValueError, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { Module } from './module';

/** How quantized weights are stored. */
export type QuantDtype = 'int8' | 'float16';

export const QUANT_DTYPE_NAMES: readonly QuantDtype[] = ['int8', 'float16'];

/** The largest float16 magnitude: a weight beyond it cannot be stored as float16. */
const F16_MAX = 65504;

/** A (rows, cols) weight matrix stored quantized in backend memory. Must be freed with `dispose()`. */
export class QuantizedMatrix {
  private constructor(
    readonly dtype: QuantDtype,
    readonly rows: number,
    readonly cols: number,
    /** int8: the values, row-major, in an int32 tensor of ceil(rows*cols / 4) elements; float16: the values widened, (rows, cols) float32. */
    readonly data: Tensor,
    /** int8: the scale of each row (rows); float16: null. */
    readonly scales: Tensor | null,
  ) {}

  /**
   * `w` (rows, cols) float32 quantized. A value that is not finite, or past 65504 for float16, is
   * a ValueError naming the tensor (`what`) and where: it would store garbage.
   */
  static fromTensor(w: Tensor, dtype: QuantDtype, what: string): QuantizedMatrix {
    assertTensor('quantize', what, w);
    if (w.dtype !== 'float32') throw new DTypeError(`quantize: ${what} must be float32, got ${w.dtype}`);
    if (w.ndim !== 2) throw new ShapeError(`quantize: ${what} must be a matrix (rows, cols), got ${formatShape(w.shape)}`);
    const [rows, cols] = w.shape;
    const values = w.f32();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) throw new ValueError(`quantize: ${what} has a non-finite value (${v}) at [${Math.floor(i / cols)}, ${i % cols}]; it cannot be quantized`);
      if (dtype === 'float16' && Math.abs(v) > F16_MAX) {
        throw new ValueError(`quantize: ${what} has ${v} at [${Math.floor(i / cols)}, ${i % cols}], beyond float16's largest value 65504; use int8 (scaled per row)`);
      }
    }
    const k = backend().k;
    return untracked(() => {
      if (dtype === 'int8') {
        const data = new Tensor([int8Words(rows * cols)], 'int32');
        const scales = new Tensor([rows]);
        k.lw_quantize_i8(data.ptr, scales.ptr, w.ptr, rows, cols);
        return new QuantizedMatrix(dtype, rows, cols, data, scales);
      }
      // Rounded to float16 and widened back: the float32 values a float16 file holds.
      const data = widenHalves(rows, cols, (halves) => k.lw_to_f16(halves, w.ptr, rows * cols));
      return new QuantizedMatrix(dtype, rows, cols, data, null);
    });
  }

  /**
   * A matrix from stored bytes (a checkpoint's): `bytes` holds rows*cols int8 or float16
   * (little-endian) values, `scales` (int8) rows float32. Checked: lengths, int8 in [-127, 127],
   * finite non-negative scales, finite halves.
   */
  static fromBytes(dtype: QuantDtype, rows: number, cols: number, bytes: Uint8Array, scales: Float32Array | null, what: string): QuantizedMatrix {
    checkQuantizedValues(dtype, rows, cols, bytes, scales, what);
    const n = rows * cols;
    return untracked(() => {
      if (dtype === 'int8') {
        const data = new Tensor([int8Words(n)], 'int32');
        new Uint8Array(backend().f32().buffer, data.ptr, n).set(bytes);
        const s = new Tensor([rows]);
        s.f32().set(scales!);
        return new QuantizedMatrix(dtype, rows, cols, data, s);
      }
      const data = widenHalves(rows, cols, (halves) => new Uint8Array(backend().f32().buffer, halves, 2 * n).set(bytes));
      return new QuantizedMatrix(dtype, rows, cols, data, null);
    });
  }

  /** The stored values as a file holds them (a copy): int8, or float16 little-endian. */
  bytes(): Uint8Array {
    const be = backend();
    if (this.dtype === 'int8') return new Uint8Array(be.f32().buffer, this.data.ptr, this.rows * this.cols).slice();
    const n = this.rows * this.cols;
    const halves = untracked(() => new Tensor([Math.max(1, Math.ceil(n / 2))], 'int32'));
    try {
      be.k.lw_to_f16(halves.ptr, this.data.ptr, n); // exact: the values are float16's
      return new Uint8Array(be.f32().buffer, halves.ptr, 2 * n).slice();
    } finally {
      halves.dispose();
    }
  }

  /** The float32 values this matrix stands for (rows, cols): a new tensor. */
  dequantize(): Tensor {
    if (this.dtype === 'float16') return this.data.clone();
    const out = new Tensor([this.rows, this.cols]);
    backend().k.lw_dequantize_i8(out.ptr, this.data.ptr, this.scales!.ptr, this.rows, this.cols);
    return out;
  }

  /** What the kernels compute on: int8, or float32 (float16 is widened when made). */
  get computed(): keyof typeof QUANT_DTYPES {
    return this.dtype === 'int8' ? 'int8' : 'float32';
  }

  /** The kernels' code of `computed`. */
  get code(): number {
    return QUANT_DTYPES[this.computed];
  }

  /** Bytes of a file's copy (int8 or float16 values, int8's scales). */
  get byteLength(): number {
    return this.rows * this.cols * (this.dtype === 'int8' ? 1 : 2) + (this.scales !== null ? 4 * this.rows : 0);
  }

  get isDisposed(): boolean {
    return this.data.isDisposed;
  }

  dispose(): void {
    this.data.dispose();
    this.scales?.dispose();
  }
}

function int8Words(n: number): number {
  return Math.max(1, Math.ceil(n / 4));
}

/** A (rows, cols) float32 tensor of the float16 values `fill` writes at the address it is given (scratch, freed here). */
function widenHalves(rows: number, cols: number, fill: (halves: number) => void): Tensor {
  const n = rows * cols;
  const halves = new Tensor([Math.max(1, Math.ceil(n / 2))], 'int32');
  try {
    fill(halves.ptr);
    const data = new Tensor([rows, cols]);
    backend().k.lw_from_f16(data.ptr, halves.ptr, n);
    return data;
  } finally {
    halves.dispose();
  }
}

/**
 * Stored quantized values checked before anything trusts them (what a file holds): `bytes` rows*cols
 * int8 or float16 (little-endian) values, int8 in [-127, 127] with `scales` one finite value >= 0
 * per row, float16 finite. A ShapeError or ValueError naming `what`.
 */
export function checkQuantizedValues(dtype: QuantDtype, rows: number, cols: number, bytes: Uint8Array, scales: Float32Array | null, what: string): void {
  const n = rows * cols;
  const size = dtype === 'int8' ? 1 : 2;
  if (bytes.length !== n * size) throw new ShapeError(`${what}: ${bytes.length} bytes for a (${rows}, ${cols}) ${dtype} matrix, expected ${n * size}`);
  if (dtype === 'int8') {
    if (scales === null || scales.length !== rows) throw new ShapeError(`${what}: int8 needs ${rows} row scales, got ${scales?.length ?? 0}`);
    const bad = scales.findIndex((v) => !(Number.isFinite(v) && v >= 0));
    if (bad >= 0) throw new ValueError(`${what}: scale ${bad} is ${scales[bad]}; scales must be finite and >= 0`);
    const at = bytes.indexOf(0x80);
    if (at >= 0) throw new ValueError(`${what}: int8 value -128 at ${at}; symmetric int8 weights are in [-127, 127]`);
  } else {
    for (let i = 0; i < n; i++) {
      if ((bytes[2 * i + 1] & 0x7c) === 0x7c) throw new ValueError(`${what}: float16 value ${i} is infinite or NaN`);
    }
  }
}

/** A ValueError when `dtype` is not a quantized dtype. */
export function checkQuantDtype(where: string, dtype: unknown): QuantDtype {
  if (dtype === 'int8' || dtype === 'float16') return dtype;
  const hint = dtype === 'qint8' || dtype === 'torch.qint8' ? " (PyTorch's torch.qint8 is 'int8' here)" : dtype === 'float32' ? ' (float32 is the model itself: there is nothing to quantize)' : '';
  throw new ValueError(`${where}: dtype must be 'int8' or 'float16', got ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}${hint}`);
}

/** Refuses an input that requires grad: a backward through quantized weights would give no gradient. */
export function refuseGrad(where: string, ...inputs: (Tensor | null)[]): void {
  if (needsGrad(...inputs)) {
    throw new ValueError(`${where}: quantized modules are inference-only, and this input requires grad; run them under noGrad(), or train the float32 model and quantize it after`);
  }
}

/** What every quantized module shares: no parameters, no train mode, its storage freed with it. */
export abstract class QuantizedModule extends Module {
  constructor() {
    super();
    this.training = false;
  }

  /** The quantized matrices this module owns (freed by `dispose`). */
  protected abstract matrices(): QuantizedMatrix[];

  /** Train mode is refused (quantized modules are inference-only); `train(false)` (what `.eval()` calls) is fine. */
  override train(mode = true): this {
    if (mode) throw new ValueError(`${this.constructor.name}: quantized modules are inference-only; train the float32 model, then quantize it`);
    return super.train(false);
  }

  /** Bytes of quantized storage (and f32 biases) this module holds. */
  abstract get byteLength(): number;

  override dispose(): void {
    for (const m of this.matrices()) if (!m.isDisposed) m.dispose();
    super.dispose();
  }

  protected assertUsable(what: string): void {
    this.assertAlive(what);
    if (this.matrices().some((m) => m.isDisposed)) throw new DisposedError(`${this.constructor.name}.${what}: its weights were disposed`);
  }
}

/** `nn.Linear` with quantized weight (outFeatures, inFeatures) and a float32 bias. */
export class QuantizedLinear extends QuantizedModule {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** A float32 buffer (not a parameter). */
  readonly bias: Tensor | null;

  constructor(readonly weight: QuantizedMatrix, bias: Tensor | null) {
    super();
    this.outFeatures = weight.rows;
    this.inFeatures = weight.cols;
    this.bias = bias;
  }

  protected matrices(): QuantizedMatrix[] {
    return [this.weight];
  }

  get byteLength(): number {
    return this.weight.byteLength + (this.bias !== null ? 4 * this.bias.size : 0);
  }

  /** x (..., inFeatures) -> (..., outFeatures). */
  forward(x: Tensor): Tensor {
    this.assertUsable('forward');
    return runOp('QuantizedLinear.forward', () => {
      assertTensor('QuantizedLinear.forward', 'x', x);
      if (x.dtype !== 'float32') throw new DTypeError(`QuantizedLinear.forward: x must be float32, got ${x.dtype}`);
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
        throw new ShapeError(`QuantizedLinear.forward: input has ${x.shape[x.ndim - 1] ?? 0} features ${formatShape(x.shape)}, expected inFeatures=${this.inFeatures}`);
      }
      refuseGrad('QuantizedLinear.forward', x);
      const rows = x.size / this.inFeatures;
      const out = new Tensor([...x.shape.slice(0, -1), this.outFeatures]);
      const be = backend();
      const w = this.weight;
      checkKernelStatus('QuantizedLinear.forward', be.k.lw_qmatmul(w.code, out.ptr, x.ptr, w.data.ptr, w.scales?.ptr ?? 0, rows, w.rows, w.cols, 0), be.heapBytes());
      if (this.bias !== null) be.k.lw_add_bcast(out.ptr, out.ptr, this.bias.ptr, rows, this.outFeatures);
      return out;
    });
  }

  override dispose(): void {
    this.bias?.dispose();
    super.dispose();
  }
}

/** `nn.Embedding` with a quantized table (numEmbeddings, embeddingDim). */
export class QuantizedEmbedding extends QuantizedModule {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(readonly weight: QuantizedMatrix, readonly paddingIdx: number | null) {
    super();
    this.numEmbeddings = weight.rows;
    this.embeddingDim = weight.cols;
  }

  protected matrices(): QuantizedMatrix[] {
    return [this.weight];
  }

  get byteLength(): number {
    return this.weight.byteLength;
  }

  /** int32 ids (any shape) -> (...ids.shape, embeddingDim). */
  forward(ids: Tensor): Tensor {
    this.assertUsable('forward');
    return runOp('QuantizedEmbedding.forward', () => {
      assertTensor('QuantizedEmbedding.forward', 'ids', ids);
      if (ids.dtype !== 'int32') throw new DTypeError(`QuantizedEmbedding.forward: ids must be int32, got ${ids.dtype}`);
      checkIds('QuantizedEmbedding.forward', ids, this.numEmbeddings);
      const out = new Tensor([...ids.shape, this.embeddingDim]);
      const w = this.weight;
      backend().k.lw_qembedding(w.code, out.ptr, w.data.ptr, w.scales?.ptr ?? 0, ids.ptr, ids.size, w.rows, w.cols);
      return out;
    });
  }
}
