/**
 * Shared by the nn property tests (lengths, steps, gradcheck, modules): build a recurrent module
 * from a small spec, run it with a weighted-sum loss and read back values and gradients as plain
 * arrays, and closeness checks that name the worst element.
 *
 * Layouts (row-major): time-major x (T, B, I), batch-first x (B, T, I); h0/hN (L*D, B, P);
 * c0/cN (L*D, B, H); output (T, B, D*P) or (B, T, D*P). P = projSize || H.
 */
import { expect } from 'vitest';
import { nn, tensor, tidy, type Tensor } from 'lstm-wasm';
import { randomF32 } from '../core/helpers';

export { randomF32 };

export type Kind = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

export interface RnnSpec {
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  projSize?: number;
  batchFirst?: boolean;
  bias?: boolean;
  dropout?: number;
}

export function buildRnn(s: RnnSpec): nn.RNNBase {
  const common = {
    numLayers: s.numLayers ?? 1, bidirectional: s.bidirectional ?? false, batchFirst: s.batchFirst ?? false,
    bias: s.bias ?? true, dropout: s.dropout ?? 0,
  };
  if (s.kind === 'LSTM') return new nn.LSTM(s.inputSize, s.hiddenSize, { ...common, projSize: s.projSize ?? 0 });
  if (s.kind === 'GRU') return new nn.GRU(s.inputSize, s.hiddenSize, common);
  return new nn.RNN(s.inputSize, s.hiddenSize, { ...common, nonlinearity: s.kind === 'RNN_RELU' ? 'relu' : 'tanh' });
}

/** Sizes derived from a spec: D directions, LD = L*D state rows, P = output width per direction. */
export function dims(s: RnnSpec): { D: number; LD: number; P: number; H: number; I: number } {
  const D = s.bidirectional ? 2 : 1;
  return { D, LD: (s.numLayers ?? 1) * D, P: s.projSize ? s.projSize : s.hiddenSize, H: s.hiddenSize, I: s.inputSize };
}

export interface RnnResult {
  output: Tensor;
  hN: Tensor;
  cN: Tensor | null;
}

/** Calls the module's forward with PyTorch's argument conventions for its kind. */
export function forwardRnn(
  m: nn.RNNBase, x: Tensor, h0: Tensor | null, c0: Tensor | null,
  lengths?: readonly number[] | Int32Array | Tensor,
): RnnResult {
  const opts = lengths === undefined ? {} : { lengths };
  if (m instanceof nn.LSTM) {
    const [output, [hN, cN]] = m.forward(x, h0 !== null && c0 !== null ? [h0, c0] : null, opts);
    return { output, hN, cN };
  }
  const [output, hN] = (m as nn.GRU).forward(x, h0, opts);
  return { output, hN, cN: null };
}

/** Inputs of one run as flat float32 data with shapes; h0/c0 null means zeros. */
export interface RunInputs {
  x: Float32Array;
  xShape: number[];
  h0: Float32Array | null;
  c0: Float32Array | null;
  stateShape: number[]; // (L*D, B, P)
  cellShape: number[]; // (L*D, B, H)
  /** Loss weights: L = sum(output*R) + sum(hN*S) + sum(cN*U). */
  R: Float32Array;
  outShape: number[];
  S: Float32Array;
  U: Float32Array | null;
  lengths?: readonly number[] | Int32Array;
}

export interface RunOutputs {
  output: Float32Array;
  hN: Float32Array;
  cN: Float32Array | null;
  loss: number;
  gx: Float32Array;
  gh0: Float32Array | null;
  gc0: Float32Array | null;
}

/**
 * Forward + backward of the weighted-sum loss inside a scope; returns copies. Parameter gradients
 * ACCUMULATE into the module's `.grad` (as PyTorch), so several runs sum their gradients.
 */
export function runWithLoss(m: nn.RNNBase, inp: RunInputs): RunOutputs {
  return tidy(() => {
    const x = tensor(inp.x, inp.xShape, { requiresGrad: true });
    const h0 = inp.h0 ? tensor(inp.h0, inp.stateShape, { requiresGrad: true }) : null;
    const c0 = inp.c0 ? tensor(inp.c0, inp.cellShape, { requiresGrad: true }) : null;
    const r = forwardRnn(m, x, h0, c0, inp.lengths);
    let loss = r.output.mul(tensor(inp.R, inp.outShape)).sum().add(r.hN.mul(tensor(inp.S, inp.stateShape)).sum());
    if (r.cN !== null && inp.U !== null) loss = loss.add(r.cN.mul(tensor(inp.U, inp.cellShape)).sum());
    loss.backward();
    return {
      output: r.output.toArray() as Float32Array,
      hN: r.hN.toArray() as Float32Array,
      cN: r.cN ? (r.cN.toArray() as Float32Array) : null,
      loss: loss.item(),
      gx: (x.grad as Tensor).toArray() as Float32Array,
      gh0: h0 ? ((h0.grad as Tensor).toArray() as Float32Array) : null,
      gc0: c0 ? ((c0.grad as Tensor).toArray() as Float32Array) : null,
    };
  });
}

/** Copies of every parameter gradient, by name (zeros where there is none yet). */
export function paramGrads(m: { namedParameters(): [string, Tensor][] }): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of m.namedParameters()) {
    out.set(name, p.grad ? (p.grad.toArray() as Float32Array) : new Float32Array(p.size));
  }
  return out;
}

/** Copies of every parameter value, by name. */
export function paramValues(m: { namedParameters(): [string, Tensor][] }): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([n, p]) => [n, p.toArray() as Float32Array]));
}

/** Loads `values` (plain arrays) into a module, optionally renaming keys. */
export function loadValues(
  m: { namedParameters(): [string, Tensor][]; loadStateDict(d: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void },
  values: Map<string, Float32Array>, rename: (name: string) => string = (n) => n,
): void {
  const shapes = new Map(m.namedParameters().map(([n, p]) => [n, p.shape]));
  const dict: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const [n, v] of values) {
    const target = rename(n);
    dict[target] = { shape: shapes.get(target) ?? [v.length], data: v };
  }
  m.loadStateDict(dict);
}

/**
 * Asserts |got - want| <= tol * max(1, |want|) elementwise; the message names the worst element.
 * Non-finite values must match exactly.
 */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    let err: number;
    if (!Number.isFinite(g) || !Number.isFinite(w)) err = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) ? 0 : Infinity;
    else err = Math.abs(g - w) / Math.max(1, Math.abs(w));
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${label}: worst relative error at element ${at} (got ${got[at]}, expected ${want[at]})`).toBeLessThanOrEqual(tol);
}

/** Asserts got[i] === want[i] bitwise-equal as float32 for every i (NaN equals NaN). */
export function expectBitEqual(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const a = new Uint32Array(Float32Array.from(got).buffer);
  const b = new Uint32Array(Float32Array.from(want).buffer);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`${label}: element ${i} is ${got[i]}, expected exactly ${want[i]}`);
  }
}

/** The largest |v| in an array (to assert a check is not vacuous). */
export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}
