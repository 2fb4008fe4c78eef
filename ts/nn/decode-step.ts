/**
 * The fused decoding step a Stepper runs for the common stack ([Embedding ->] unidirectional
 * LSTM/GRU/RNN layers, with or without projection [-> Linear head]): one kernel call per step
 * (`lw_decode_step`, crate/decode.rs) instead of an op per module, on buffers this object owns.
 * Nothing is allocated per step once the batch size is known: the plan (the stack's parameter
 * addresses, written again before every step, so a parameter replaced or disposed is seen), the
 * ids, the output and a spare state of the stepper's shapes are kept and reused.
 *
 * The kernel composes the same kernels the modules call for one step, so the numbers are those of
 * the module path, bit for bit (test/nn/decode-step.test.ts holds it to that).
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { backend } from '../backend/backend';
import { DECODE_PLAN, QUANT_DTYPES } from '../backend/kernels';
import { checkKernelStatus } from '../backend/limits';
import { checkIds } from '../ops/embedding';
import { ValueError } from '../errors';

/** A matrix as the plan takes it: float32 values, or quantized storage (int8 with row scales, float16). */
export interface DecodeMatrix {
  data: Tensor;
  scales: Tensor | null;
  rows: number;
}

/** One layer's weights for the plan. */
export interface DecodeLayer {
  wIh: DecodeMatrix;
  wHh: DecodeMatrix;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: DecodeMatrix | null;
}

/** What a fused step needs to know of a stack, read again before every step. */
export interface DecodeStack {
  kind: keyof typeof DECODE_PLAN.kinds;
  /** How every matrix of the stack is stored. */
  dtype: keyof typeof QUANT_DTYPES;
  /** One per layer (a fused stack is unidirectional). */
  layers: readonly DecodeLayer[];
  inputSize: number;
  hiddenSize: number;
  /** Width of h and of each layer's output: the projection size, or hiddenSize. */
  outSize: number;
  /** Embedding table (V_in, I): the step takes token ids. Null: it takes floats (B, I). */
  table: DecodeMatrix | null;
  /** The Linear head (V, P) and its bias; null: the output is the last layer's (B, P). */
  head: { weight: DecodeMatrix; bias: Tensor | null } | null;
}

/** Buffers for one batch size. */
interface Buffers {
  B: number;
  plan: Tensor;
  ids: Tensor;
  out: Tensor;
  /** Where the kernel writes the next state (the stepper's state shapes), then copied into the stepper's state. */
  spare: Tensor[];
}

export class DecodeStep {
  private buffers: Buffers | null = null;

  /** `stack` is called before every step (it throws if its modules were disposed). */
  constructor(private readonly stack: () => DecodeStack, private readonly name: string) {}

  /**
   * One step, or null when `input` is not one step this stack takes (a (T, B) prime, a tensor of
   * another kind): the stepper then runs its modules, which also give the errors of a bad input.
   * Returns the output as a view of this object's buffer (valid until the next step or
   * allocation) and the new state: written into `state` in place (the kernel writes a spare, which
   * is then copied over it, so a failed step leaves `state` as it was), or new tensors when
   * `state` is null.
   */
  step(input: Tensor | number | ArrayLike<number>, state: Tensor[] | null): { out: Float32Array; next: Tensor[] } | null {
    const s = this.stack();
    const B = this.batchOf(s, input);
    if (B === null) return null;
    if (state !== null && !fitsState(state, s, B)) return null; // the module path says what is wrong with it
    const buf = this.buffersFor(s, B);
    const ids = input instanceof Tensor ? input : buf.ids;
    if (!(input instanceof Tensor)) writeIds(buf.ids, input);
    if (s.table !== null) checkIds(`${this.name}.step`, ids, s.table.rows);
    writePlan(buf.plan, s, B);
    const be = backend();
    const c = (t: Tensor[] | null): number => (t !== null && t.length > 1 ? t[1].ptr : 0);
    const status = be.k.lw_decode_step(buf.plan.ptr, ids.ptr, state?.[0].ptr ?? 0, c(state), buf.spare[0].ptr, c(buf.spare), buf.out.ptr);
    checkKernelStatus(`${this.name}.step`, status, be.heapBytes());
    const next = state ?? freshState(s, B);
    next.forEach((t, i) => be.k.lw_copy(t.ptr, buf.spare[i].ptr, t.size));
    return { out: buf.out.f32(), next };
  }

  /** Frees the buffers. */
  dispose(): void {
    const b = this.buffers;
    this.buffers = null;
    if (b !== null) for (const t of [b.plan, b.ids, b.out, ...b.spare]) t.dispose();
  }

  /** The batch of `input` as one step of this stack, or null when it is not one. */
  private batchOf(s: DecodeStack, input: Tensor | number | ArrayLike<number>): number | null {
    if (input instanceof Tensor) {
      if (input.isDisposed) return null;
      if (s.table !== null) return input.dtype === 'int32' && input.ndim === 2 && input.shape[0] === 1 && input.shape[1] > 0 ? input.shape[1] : null;
      if (input.dtype !== 'float32' || input.shape[input.ndim - 1] !== s.inputSize) return null;
      if (input.ndim === 2) return input.shape[0] > 0 ? input.shape[0] : null;
      return input.ndim === 3 && input.shape[0] === 1 && input.shape[1] > 0 ? input.shape[1] : null;
    }
    if (s.table === null) return null;
    const n = typeof input === 'number' ? 1 : input.length;
    return n > 0 ? n : null;
  }

  private buffersFor(s: DecodeStack, B: number): Buffers {
    const words = DECODE_PLAN.header + DECODE_PLAN.layerWords * s.layers.length;
    const outLen = B * (s.head !== null ? s.head.weight.rows : s.outSize);
    const b = this.buffers;
    if (b !== null && b.B === B && b.plan.size === words && b.out.size === outLen && fitsState(b.spare, s, B)) return b;
    this.dispose();
    this.buffers = untracked(() => ({
      B,
      plan: new Tensor([words], 'int32'),
      ids: new Tensor([B], 'int32'),
      out: new Tensor([outLen]),
      spare: freshState(s, B),
    }));
    return this.buffers;
  }
}

/** The widths of the state tensors: [h, c] for an LSTM (h is the projection's width), [h] otherwise. */
function stateWidths(s: DecodeStack): number[] {
  return s.kind === 'LSTM' ? [s.outSize, s.hiddenSize] : [s.hiddenSize];
}

function freshState(s: DecodeStack, B: number): Tensor[] {
  return untracked(() => stateWidths(s).map((w) => new Tensor([s.layers.length, B, w])));
}

/** Whether `state` is the stack's state for B lanes: (L, B, width) float32 tensors, as many as it has. */
function fitsState(state: Tensor[], s: DecodeStack, B: number): boolean {
  const widths = stateWidths(s);
  return state.length === widths.length &&
    state.every((t, i) => t.dtype === 'float32' && t.ndim === 3 && t.shape[0] === s.layers.length && t.shape[1] === B && t.shape[2] === widths[i]);
}

/** The plan's words (crate/decode.rs): the header, then each layer's parameter addresses. */
function writePlan(plan: Tensor, s: DecodeStack, B: number): void {
  const P = DECODE_PLAN;
  const addr = (t: Tensor | null | undefined): number => (t === null || t === undefined ? 0 : t.ptr);
  const words = plan.heapView() as Int32Array;
  words[P.kind] = P.kinds[s.kind];
  words[P.layers] = s.layers.length;
  words[P.batch] = B;
  words[P.input] = s.inputSize;
  words[P.hidden] = s.hiddenSize;
  words[P.proj] = s.outSize;
  words[P.table] = addr(s.table?.data);
  words[P.tableRows] = s.table?.rows ?? 0;
  words[P.headWeight] = addr(s.head?.weight.data);
  words[P.headBias] = addr(s.head?.bias);
  words[P.vocab] = s.head?.weight.rows ?? 0;
  words[P.dtype] = QUANT_DTYPES[s.dtype];
  words[P.tableScales] = addr(s.table?.scales);
  words[P.headScales] = addr(s.head?.weight.scales);
  s.layers.forEach((w, l) => {
    const at = P.header + l * P.layerWords;
    words[at] = addr(w.wIh.data);
    words[at + 1] = addr(w.wHh.data);
    words[at + 2] = addr(w.bIh);
    words[at + 3] = addr(w.bHh);
    words[at + 4] = addr(w.wHr?.data);
    words[at + 5] = addr(w.wIh.scales);
    words[at + 6] = addr(w.wHh.scales);
    words[at + 7] = addr(w.wHr?.scales);
  });
}

/** Token ids into the ids buffer, each an integer (their range is `checkIds`'s). */
function writeIds(ids: Tensor, input: number | ArrayLike<number>): void {
  const out = ids.heapView() as Int32Array;
  const n = typeof input === 'number' ? 1 : input.length;
  for (let i = 0; i < n; i++) {
    const id = typeof input === 'number' ? input : input[i];
    if (!Number.isInteger(id)) throw new ValueError(`Stepper.step: token id ${i} must be an integer, got ${id}`);
    out[i] = id;
  }
}
