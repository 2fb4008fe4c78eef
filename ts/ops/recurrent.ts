/**
 * The recurrent stack op: runs L layers x D directions of an RNN, LSTM or GRU over a whole
 * time-major sequence, one crate call per layer-direction, as ONE autograd node.
 *
 * Its result packs every output in one flat tensor, so one node can have three results:
 *   [ output (T, B, D*P) | hN (L*D, B, P) | cN (L*D, B, H), LSTM only ]
 * Callers hand out the pieces with `flatSegment`, whose backward routes each piece's gradient
 * back into the packed gradient this op's backward reads.
 */
import { Tensor, runOp, untracked } from '../tensor';
import { backend } from '../backend/backend';
import { MAX_TENSOR_BYTES, MAX_TENSOR_ELEMENTS, checkKernelStatus, formatBytes } from '../backend/memory';
import { OutOfMemoryError } from '../errors';
import { assertTensor } from './util';
import { needsGrad, record } from '../autograd';
import { dropoutMask } from './dropout';
import { uniform_, type Generator } from '../random';

export type RecurrentMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/** Gates per mode: the weight rows are G*H with G gates (LSTM i,f,g,o; GRU r,z,n). */
export const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/** PyTorch's init of every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H)). */
export function recurrentInit(hiddenSize: number): (t: Tensor) => void {
  const bound = 1 / Math.sqrt(hiddenSize);
  return (t) => {
    uniform_(t, -bound, bound);
  };
}

/** One layer-direction's parameters; absent ones are null. */
export interface RecurrentWeights {
  wIh: Tensor; // (G*H, I_l)
  wHh: Tensor; // (G*H, P)
  bIh: Tensor | null; // (G*H)
  bHh: Tensor | null; // (G*H)
  wHr: Tensor | null; // (P, H), LSTM with projection only
}

export interface RecurrentConfig {
  mode: RecurrentMode;
  numLayers: number; // L
  directions: 1 | 2; // D
  hiddenSize: number; // H
  outSize: number; // P: projSize for a projected LSTM, else H
  dropout: number; // between layers, training only
  training: boolean;
  generator?: Generator;
}

/** Sizes of the packed result's three parts, in elements. */
export function packedSizes(cfg: RecurrentConfig, T: number, B: number): { out: number; h: number; c: number } {
  const layerDirs = cfg.numLayers * cfg.directions;
  return {
    out: T * B * cfg.directions * cfg.outSize,
    h: layerDirs * B * cfg.outSize,
    c: cfg.mode === 'LSTM' ? layerDirs * B * cfg.hiddenSize : 0,
  };
}

const NONE = 0;
const ptrOf = (t: Tensor | null): number => (t === null ? NONE : t.ptr);

/**
 * Floats of the cache one layer-direction keeps for backward, checked before anything is
 * allocated: a cache one tensor cannot hold is an `OutOfMemoryError` naming the sizes.
 */
function cacheLength(cfg: RecurrentConfig, T: number, B: number, hasProj: boolean): number {
  const k = backend().k;
  const H = cfg.hiddenSize;
  // The crate returns 2^32 - 1 for a length past the address space.
  const len = (cfg.mode === 'LSTM'
    ? k.lw_lstm_cache_len(T, B, H, cfg.outSize, hasProj ? 1 : 0)
    : cfg.mode === 'GRU' ? k.lw_gru_cache_len(T, B, H) : k.lw_rnn_cache_len(T, B, H)) >>> 0;
  if (len > MAX_TENSOR_ELEMENTS) {
    const bytes = len === 2 ** 32 - 1 ? 'more than 16 GiB' : formatBytes(len * 4);
    throw new OutOfMemoryError(
      `${cfg.mode}: the activations backward needs for T=${T}, B=${B}, H=${H} take ${bytes} per layer and ` +
        `direction, past the ${formatBytes(MAX_TENSOR_BYTES)} one buffer can hold: use shorter windows (T) or a ` +
        'smaller batch, or run under noGrad() when no gradient is needed',
    );
  }
  return len;
}

/**
 * x (T, B, I) time-major; h0 (L*D, B, P) and c0 (L*D, B, H) or null for zeros; lengths int32 (B)
 * or null; weights[l*D + d]. Returns the packed result described above. Memory that cannot hold
 * a buffer or a kernel's scratch is an `OutOfMemoryError`, after which nothing is left allocated.
 */
export function recurrentStack(
  cfg: RecurrentConfig, x: Tensor, h0: Tensor | null, c0: Tensor | null, lengths: Tensor | null,
  weights: readonly RecurrentWeights[],
): Tensor {
  return runOp(cfg.mode, () => recurrentStackForward(cfg, x, h0, c0, lengths, weights));
}

function recurrentStackForward(
  cfg: RecurrentConfig, x: Tensor, h0: Tensor | null, c0: Tensor | null, lengths: Tensor | null,
  weights: readonly RecurrentWeights[],
): Tensor {
  // Every buffer the kernels will read must be live before anything is allocated.
  weights.forEach((w, ld) => {
    for (const [key, t] of Object.entries(w)) if (t !== null) assertTensor(cfg.mode, `weights[${ld}].${key}`, t);
  });
  const be = backend();
  const k = be.k;
  const checked = (status: number, op: string = mode): void => checkKernelStatus(op, status, be.heapBytes());
  const [T, B, I] = x.shape;
  const { numLayers: L, directions: D, hiddenSize: H, outSize: P, mode } = cfg;
  const isLstm = mode === 'LSTM';
  const relu = mode === 'RNN_RELU' ? 1 : 0;
  const params: Tensor[] = [];
  for (const w of weights) for (const t of [w.wIh, w.wHh, w.bIh, w.bHh, w.wHr]) if (t !== null) params.push(t);
  const inputs = [x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : []), ...params];
  const training = needsGrad(...inputs);
  const sizes = packedSizes(cfg, T, B);
  const cacheLengths = training ? weights.map((w) => cacheLength(cfg, T, B, w.wHr !== null)) : [];
  const packed = new Tensor([sizes.out + sizes.h + sizes.c]);
  const hNAt = (ld: number): number => packed.ptr + 4 * (sizes.out + ld * B * P);
  const cNAt = (ld: number): number => packed.ptr + 4 * (sizes.out + sizes.h + ld * B * H);

  // Buffers that backward needs live exactly as long as `packed` (see Tensor.ownTensor).
  const own = <X extends Tensor>(t: X): X => {
    if (training) packed.ownTensor(t);
    return t;
  };
  const layerInputs: Tensor[] = []; // input of layer l (after inter-layer dropout)
  const masks: (Tensor | null)[] = [];
  const caches: (Tensor | null)[] = [];
  const temporaries: Tensor[] = [];
  let layerIn = x;
  for (let l = 0; l < L; l++) {
    const inSize = layerIn.shape[2];
    const last = l === L - 1;
    // The last layer writes straight into the packed result.
    const out = last ? null : untracked(() => new Tensor([T, B, D * P]));
    const outPtr = out === null ? packed.ptr : out.ptr;
    for (let d = 0; d < D; d++) {
      const ld = l * D + d;
      const w = weights[ld];
      let cache: Tensor | null = null;
      if (training) cache = own(untracked(() => new Tensor([cacheLengths[ld]])));
      caches.push(cache);
      const yPtr = outPtr + 4 * d * P;
      const h0Ptr = h0 === null ? NONE : h0.ptr + 4 * ld * B * P;
      if (isLstm) {
        const c0Ptr = c0 === null ? NONE : c0.ptr + 4 * ld * B * H;
        checked(k.lw_lstm_forward(T, B, inSize, H, P, layerIn.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(w.bIh), ptrOf(w.bHh),
          ptrOf(w.wHr), h0Ptr, c0Ptr, ptrOf(lengths), d, yPtr, D * P, hNAt(ld), cNAt(ld), ptrOf(cache)));
      } else if (mode === 'GRU') {
        checked(k.lw_gru_forward(T, B, inSize, H, layerIn.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(w.bIh), ptrOf(w.bHh),
          h0Ptr, ptrOf(lengths), d, yPtr, D * P, hNAt(ld), ptrOf(cache)));
      } else {
        checked(k.lw_rnn_forward(T, B, inSize, H, relu, layerIn.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(w.bIh), ptrOf(w.bHh),
          h0Ptr, ptrOf(lengths), d, yPtr, D * P, hNAt(ld), ptrOf(cache)));
      }
    }
    layerInputs.push(layerIn);
    if (out === null) break;
    // PyTorch applies dropout to every layer's output except the last, in training mode only.
    if (cfg.training && cfg.dropout > 0) {
      const mask = untracked(() => dropoutMask(out.shape, cfg.dropout, cfg.generator));
      k.lw_mul(out.ptr, out.ptr, mask.ptr, out.size);
      masks.push(own(mask));
      if (!training) temporaries.push(mask);
    } else {
      masks.push(null);
    }
    if (training) own(out);
    else temporaries.push(out);
    layerIn = out;
  }
  for (const t of temporaries) t.dispose();
  if (!training) return packed;

  return record(packed, mode, inputs, (g) => {
    const gradOf = new Map<Tensor, Tensor>();
    for (const p of params) gradOf.set(p, new Tensor(p.shape));
    const dh0 = h0 !== null && h0.requiresGrad ? new Tensor(h0.shape) : null;
    const dc0 = c0 !== null && c0.requiresGrad ? new Tensor(c0.shape) : null;
    let dyPtr = g.ptr;
    let dyOwner: Tensor | null = null;
    let dx: Tensor | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const input = layerInputs[l];
      const inSize = input.shape[2];
      const dIn = l > 0 || x.requiresGrad ? new Tensor([T, B, inSize]) : null;
      for (let d = 0; d < D; d++) {
        const ld = l * D + d;
        const w = weights[ld];
        const dw = (t: Tensor | null): number => (t === null ? NONE : (gradOf.get(t) as Tensor).ptr);
        const dyDir = dyPtr + 4 * d * P;
        const dhN = g.ptr + 4 * (sizes.out + ld * B * P);
        const dh0Ptr = dh0 === null ? NONE : dh0.ptr + 4 * ld * B * P;
        if (isLstm) {
          const dcN = g.ptr + 4 * (sizes.out + sizes.h + ld * B * H);
          const dc0Ptr = dc0 === null ? NONE : dc0.ptr + 4 * ld * B * H;
          checked(k.lw_lstm_backward(T, B, inSize, H, P, input.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(w.wHr), ptrOf(lengths), d,
            ptrOf(caches[ld]), dyDir, D * P, dhN, dcN, ptrOf(dIn), dw(w.wIh), dw(w.wHh), dw(w.bIh), dw(w.bHh),
            dw(w.wHr), dh0Ptr, dc0Ptr), `${mode} backward`);
        } else if (mode === 'GRU') {
          checked(k.lw_gru_backward(T, B, inSize, H, input.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(w.bHh), ptrOf(lengths), d,
            ptrOf(caches[ld]), dyDir, D * P, dhN, ptrOf(dIn), dw(w.wIh), dw(w.wHh), dw(w.bIh), dw(w.bHh), dh0Ptr), `${mode} backward`);
        } else {
          checked(k.lw_rnn_backward(T, B, inSize, H, relu, input.ptr, w.wIh.ptr, w.wHh.ptr, ptrOf(lengths), d,
            ptrOf(caches[ld]), dyDir, D * P, dhN, ptrOf(dIn), dw(w.wIh), dw(w.wHh), dw(w.bIh), dw(w.bHh), dh0Ptr), `${mode} backward`);
        }
      }
      if (dyOwner !== null) dyOwner.dispose();
      dyOwner = null;
      if (l > 0 && dIn !== null) {
        const mask = masks[l - 1];
        if (mask !== null) k.lw_mul(dIn.ptr, dIn.ptr, mask.ptr, dIn.size);
        dyPtr = dIn.ptr;
        dyOwner = dIn;
      } else {
        dx = dIn;
      }
    }
    return [
      dx,
      ...(h0 ? [dh0] : []),
      ...(c0 ? [dc0] : []),
      ...params.map((p) => gradOf.get(p) as Tensor),
    ];
  });
}
