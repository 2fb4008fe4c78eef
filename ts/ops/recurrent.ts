/**
 * The recurrent stack op: runs L layers x D directions of an RNN, LSTM or GRU over a whole
 * time-major sequence, one crate call per layer-direction, as ONE autograd node with three
 * outputs: output (T, B, D*P), hN (L*D, B, P) and, for the LSTM, cN (L*D, B, H). Backward
 * receives each output's gradient (null for an output nothing used, which the kernels read as 0).
 */
import { Tensor } from '../tensor';
import { runOp, untracked } from '../memory';
import { tensor } from '../creation';
import { backend } from '../backend/backend';
import { DECODE_PLAN, type Kernels } from '../backend/kernels';
import { MAX_TENSOR_BYTES, MAX_TENSOR_ELEMENTS, checkKernelStatus, formatBytes } from '../backend/limits';
import { OutOfMemoryError } from '../errors';
import { assertTensor } from './util';
import { needsGrad, recordMulti } from '../autograd';
import { dropoutMask } from './dropout';
import { uniform_, type Generator } from '../random';

export type RecurrentMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/** Gates per mode: the weight rows are G*H with G gates (LSTM i,f,g,o; GRU r,z,n). */
export const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/** PyTorch's init of every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H)), drawn from `generator`. */
export function recurrentInit(hiddenSize: number, generator: Generator): (t: Tensor) => void {
  const bound = 1 / Math.sqrt(hiddenSize);
  return (t) => {
    uniform_(t, -bound, bound, generator);
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

const NONE = 0;
const ptrOf = (t: Tensor | null): number => (t === null ? NONE : t.ptr);

/** One layer-direction's forward, as pointers (0: absent); c0/cN/wHr are the LSTM's only. */
interface ForwardCall {
  T: number; B: number; I: number; H: number; P: number;
  x: number; wIh: number; wHh: number; bIh: number; bHh: number; wHr: number;
  h0: number; c0: number; lengths: number; reverse: number; y: number; ldy: number; hN: number; cN: number; cache: number;
}

/** One layer-direction's backward (accumulating into each gradient given), as pointers. */
interface BackwardCall {
  T: number; B: number; I: number; H: number; P: number;
  x: number; wIh: number; wHh: number; bHh: number; wHr: number; lengths: number; reverse: number; cache: number;
  dy: number; ldy: number; dhN: number; dcN: number; dx: number; dwIh: number; dwHh: number; dbIh: number; dbHh: number; dwHr: number;
  dh0: number; dc0: number;
}

/** The kind codes of `lw_qrnn_forward` and the decode plan (`DECODE_PLAN.kinds`). */
const KIND_CODES: Record<RecurrentMode, number> = DECODE_PLAN.kinds;

/** Each kind's kernels behind one signature: the op never branches on the kind. */
interface KindKernels {
  cacheLen(k: Kernels, T: number, B: number, H: number, P: number, hasProj: boolean): number;
  forward(k: Kernels, a: ForwardCall): number;
  backward(k: Kernels, a: BackwardCall): number;
}

const rnnKernels = (relu: number): KindKernels => ({
  cacheLen: (k, T, B, H) => k.lw_rnn_cache_len(T, B, H),
  forward: (k, a) => k.lw_rnn_forward(a.T, a.B, a.I, a.H, relu, a.x, a.wIh, a.wHh, a.bIh, a.bHh, a.h0, a.lengths, a.reverse, a.y, a.ldy, a.hN, a.cache),
  backward: (k, a) => k.lw_rnn_backward(a.T, a.B, a.I, a.H, relu, a.x, a.wIh, a.wHh, a.lengths, a.reverse, a.cache, a.dy, a.ldy, a.dhN,
    a.dx, a.dwIh, a.dwHh, a.dbIh, a.dbHh, a.dh0),
});

const KIND_KERNELS: Record<RecurrentMode, KindKernels> = {
  LSTM: {
    cacheLen: (k, T, B, H, P, hasProj) => k.lw_lstm_cache_len(T, B, H, P, hasProj ? 1 : 0),
    forward: (k, a) => k.lw_lstm_forward(a.T, a.B, a.I, a.H, a.P, a.x, a.wIh, a.wHh, a.bIh, a.bHh, a.wHr, a.h0, a.c0, a.lengths, a.reverse,
      a.y, a.ldy, a.hN, a.cN, a.cache),
    backward: (k, a) => k.lw_lstm_backward(a.T, a.B, a.I, a.H, a.P, a.x, a.wIh, a.wHh, a.wHr, a.lengths, a.reverse, a.cache, a.dy, a.ldy,
      a.dhN, a.dcN, a.dx, a.dwIh, a.dwHh, a.dbIh, a.dbHh, a.dwHr, a.dh0, a.dc0),
  },
  GRU: {
    cacheLen: (k, T, B, H) => k.lw_gru_cache_len(T, B, H),
    forward: (k, a) => k.lw_gru_forward(a.T, a.B, a.I, a.H, a.x, a.wIh, a.wHh, a.bIh, a.bHh, a.h0, a.lengths, a.reverse, a.y, a.ldy, a.hN, a.cache),
    backward: (k, a) => k.lw_gru_backward(a.T, a.B, a.I, a.H, a.x, a.wIh, a.wHh, a.bHh, a.lengths, a.reverse, a.cache, a.dy, a.ldy, a.dhN,
      a.dx, a.dwIh, a.dwHh, a.dbIh, a.dbHh, a.dh0),
  },
  RNN_TANH: rnnKernels(0),
  RNN_RELU: rnnKernels(1),
};

/**
 * Floats of the cache one layer-direction keeps for backward, checked before anything is
 * allocated: a cache one tensor cannot hold is an `OutOfMemoryError` naming the sizes.
 */
function cacheLength(cfg: RecurrentConfig, T: number, B: number, hasProj: boolean): number {
  const H = cfg.hiddenSize;
  // The crate returns 2^32 - 1 for a length past the address space.
  const len = KIND_KERNELS[cfg.mode].cacheLen(backend().k, T, B, H, cfg.outSize, hasProj) >>> 0;
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

/** What the op returns: output (T, B, D*P), hN (L*D, B, P), cN (L*D, B, H) for the LSTM, else null. */
export interface RecurrentOutputs {
  output: Tensor;
  hN: Tensor;
  cN: Tensor | null;
}

/**
 * One layer-direction's weights stored quantized (nn/quantized.ts): each matrix is its storage
 * tensor (int8 or float16 values) and, for int8, its row scales; `dtype` is the kernels' code.
 */
export interface QuantizedRecurrentWeights {
  dtype: number;
  wIh: Tensor;
  sIh: Tensor | null;
  wHh: Tensor;
  sHh: Tensor | null;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: Tensor | null;
  sHr: Tensor | null;
}

/**
 * `recurrentStack` for quantized weights, inference only (no graph, no dropout: quantized modules
 * refuse inputs that need grad and train mode): one `lw_qrnn_forward` per layer-direction.
 */
export function quantizedRecurrentStack(
  cfg: RecurrentConfig, x: Tensor, h0: Tensor | null, c0: Tensor | null, lengthValues: Int32Array | null,
  weights: readonly QuantizedRecurrentWeights[],
): RecurrentOutputs {
  return runOp(cfg.mode, () => {
    const be = backend();
    const k = be.k;
    const [T, B] = x.shape;
    const { numLayers: L, directions: D, hiddenSize: H, outSize: P, mode } = cfg;
    const kind = KIND_CODES[mode];
    const output = new Tensor([T, B, D * P]);
    const hN = new Tensor([L * D, B, P]);
    const cN = mode === 'LSTM' ? new Tensor([L * D, B, H]) : null;
    const lengths = lengthValues === null ? null : untracked(() => tensor(lengthValues, [B]));
    const temporaries: Tensor[] = lengths !== null ? [lengths] : [];
    try {
      let layerIn = x;
      for (let l = 0; l < L; l++) {
        const out = l === L - 1 ? output : untracked(() => new Tensor([T, B, D * P]));
        if (out !== output) temporaries.push(out);
        for (let d = 0; d < D; d++) {
          const ld = l * D + d;
          const w = weights[ld];
          const status = k.lw_qrnn_forward(kind, w.dtype, T, B, layerIn.shape[2], H, P, layerIn.ptr, w.wIh.ptr, ptrOf(w.sIh), w.wHh.ptr,
            ptrOf(w.sHh), ptrOf(w.bIh), ptrOf(w.bHh), ptrOf(w.wHr), ptrOf(w.sHr), h0 === null ? NONE : h0.ptr + 4 * ld * B * P,
            c0 === null || cN === null ? NONE : c0.ptr + 4 * ld * B * H, ptrOf(lengths), d, out.ptr + 4 * d * P, D * P,
            hN.ptr + 4 * ld * B * P, cN === null ? NONE : cN.ptr + 4 * ld * B * H);
          checkKernelStatus(mode, status, be.heapBytes());
        }
        layerIn = out;
      }
    } finally {
      for (const t of temporaries) t.dispose();
    }
    return { output, hN, cN };
  });
}

/**
 * x (T, B, I) time-major; h0 (L*D, B, P) and c0 (L*D, B, H) or null for zeros; `lengths` (B values,
 * each in 1..T, already checked) or null; weights[l*D + d]. Memory that cannot hold a buffer or a
 * kernel's scratch is an `OutOfMemoryError`, after which nothing is left allocated.
 */
export function recurrentStack(
  cfg: RecurrentConfig, x: Tensor, h0: Tensor | null, c0: Tensor | null, lengths: Int32Array | null,
  weights: readonly RecurrentWeights[],
): RecurrentOutputs {
  return runOp(cfg.mode, () => recurrentStackForward(cfg, x, h0, c0, lengths, weights));
}

function recurrentStackForward(
  cfg: RecurrentConfig, x: Tensor, h0: Tensor | null, c0: Tensor | null, lengthValues: Int32Array | null,
  weights: readonly RecurrentWeights[],
): RecurrentOutputs {
  // Every buffer the kernels will read must be live before anything is allocated.
  weights.forEach((w, ld) => {
    for (const [key, t] of Object.entries(w)) if (t !== null) assertTensor(cfg.mode, `weights[${ld}].${key}`, t);
  });
  const be = backend();
  const k = be.k;
  const [T, B] = x.shape;
  const { numLayers: L, directions: D, hiddenSize: H, outSize: P, mode } = cfg;
  const checked = (status: number, op: string = mode): void => checkKernelStatus(op, status, be.heapBytes());
  const isLstm = mode === 'LSTM';
  const params: Tensor[] = [];
  for (const w of weights) for (const t of [w.wIh, w.wHh, w.bIh, w.bHh, w.wHr]) if (t !== null) params.push(t);
  const inputs = [x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : []), ...params];
  // Whether this call records a node for backward (cfg.training is train mode: dropout on).
  const recording = needsGrad(...inputs);
  const cacheLengths = recording ? weights.map((w) => cacheLength(cfg, T, B, w.wHr !== null)) : [];
  const output = new Tensor([T, B, D * P]);
  const hN = new Tensor([L * D, B, P]);
  const cN = isLstm ? new Tensor([L * D, B, H]) : null;

  // Buffers backward reads besides the inputs and outputs: saved by the node when recording,
  // freed here otherwise.
  const saved: Tensor[] = [];
  const temporaries: Tensor[] = [];
  const keepFor = (t: Tensor): void => {
    (recording ? saved : temporaries).push(t);
  };
  const lengths = lengthValues === null ? null : untracked(() => tensor(lengthValues, [B]));
  if (lengths !== null) keepFor(lengths);
  const layerInputs: Tensor[] = []; // input of layer l (after inter-layer dropout)
  const masks: (Tensor | null)[] = [];
  const caches: (Tensor | null)[] = [];
  let layerIn = x;
  for (let l = 0; l < L; l++) {
    const inSize = layerIn.shape[2];
    const last = l === L - 1;
    // The last layer writes straight into the output.
    const out = last ? output : untracked(() => new Tensor([T, B, D * P]));
    for (let d = 0; d < D; d++) {
      const ld = l * D + d;
      const w = weights[ld];
      let cache: Tensor | null = null;
      if (recording) {
        cache = untracked(() => new Tensor([cacheLengths[ld]]));
        saved.push(cache);
      }
      caches.push(cache);
      const yPtr = out.ptr + 4 * d * P;
      const h0Ptr = h0 === null ? NONE : h0.ptr + 4 * ld * B * P;
      const hNPtr = hN.ptr + 4 * ld * B * P;
      checked(KIND_KERNELS[mode].forward(k, {
        T, B, I: inSize, H, P, x: layerIn.ptr, wIh: w.wIh.ptr, wHh: w.wHh.ptr, bIh: ptrOf(w.bIh), bHh: ptrOf(w.bHh), wHr: ptrOf(w.wHr),
        h0: h0Ptr, c0: c0 === null ? NONE : c0.ptr + 4 * ld * B * H, lengths: ptrOf(lengths), reverse: d, y: yPtr, ldy: D * P,
        hN: hNPtr, cN: cN === null ? NONE : cN.ptr + 4 * ld * B * H, cache: ptrOf(cache),
      }));
    }
    layerInputs.push(layerIn);
    if (last) break;
    // PyTorch applies dropout to every layer's output except the last, in train mode only.
    if (cfg.training && cfg.dropout > 0) {
      const mask = untracked(() => dropoutMask(out.shape, cfg.dropout, cfg.generator));
      k.lw_mul(out.ptr, out.ptr, mask.ptr, out.size);
      masks.push(mask);
      keepFor(mask);
    } else {
      masks.push(null);
    }
    keepFor(out);
    layerIn = out;
  }
  for (const t of temporaries) t.dispose();
  const outputs = { output, hN, cN };
  if (!recording) return outputs;

  recordMulti([output, hN, ...(cN ? [cN] : [])], mode, inputs, ([dOutput, dhN, dcN]) => {
    const gradOf = new Map<Tensor, Tensor>();
    for (const p of params) gradOf.set(p, new Tensor(p.shape));
    const dh0 = h0 !== null && h0.requiresGrad ? new Tensor(h0.shape) : null;
    const dc0 = c0 !== null && c0.requiresGrad ? new Tensor(c0.shape) : null;
    const at = (t: Tensor | null | undefined, offset: number): number => (t ? t.ptr + 4 * offset : NONE);
    let dy: Tensor | null = dOutput; // gradient of layer l's output (T, B, D*P); null is zero
    let dyOwned = false;
    let dx: Tensor | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const input = layerInputs[l];
      const inSize = input.shape[2];
      const dIn = l > 0 || x.requiresGrad ? new Tensor([T, B, inSize]) : null;
      for (let d = 0; d < D; d++) {
        const ld = l * D + d;
        const w = weights[ld];
        const dw = (t: Tensor | null): number => (t === null ? NONE : (gradOf.get(t) as Tensor).ptr);
        const dyDir = at(dy, d * P);
        const dhNPtr = at(dhN, ld * B * P);
        const dh0Ptr = at(dh0, ld * B * P);
        checked(KIND_KERNELS[mode].backward(k, {
          T, B, I: inSize, H, P, x: input.ptr, wIh: w.wIh.ptr, wHh: w.wHh.ptr, bHh: ptrOf(w.bHh), wHr: ptrOf(w.wHr), lengths: ptrOf(lengths),
          reverse: d, cache: ptrOf(caches[ld]), dy: dyDir, ldy: D * P, dhN: dhNPtr, dcN: at(dcN, ld * B * H), dx: ptrOf(dIn),
          dwIh: dw(w.wIh), dwHh: dw(w.wHh), dbIh: dw(w.bIh), dbHh: dw(w.bHh), dwHr: dw(w.wHr), dh0: dh0Ptr, dc0: at(dc0, ld * B * H),
        }), `${mode} backward`);
      }
      if (dyOwned) (dy as Tensor).dispose();
      if (l > 0 && dIn !== null) {
        const mask = masks[l - 1];
        if (mask !== null) k.lw_mul(dIn.ptr, dIn.ptr, mask.ptr, dIn.size);
        dy = dIn;
        dyOwned = true;
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
  }, saved);
  return outputs;
}
