/**
 * Finite-difference gradient checks through the public API, one per layer type.
 *
 * For each case, L = sum_k sum(out_k * W_k) over the layer's results (output, hN, cN) with fixed
 * random W_k. The analytic gradient comes from `loss.backward()`; the numeric one is the central
 * difference (L(v + e) - L(v - e)) / (2e) of the float32 forward (summed in float64), at a few
 * randomly chosen entries of the input, of h0/c0 and of EVERY parameter. The perturbation actually
 * applied is fround(v ± e) - v, so the step is exact. eps = 1e-2 with PyTorch-default (small)
 * weights keeps the functions smooth; float32 makes the quotient noisy, so the bound is
 * |numeric - analytic| <= 2e-2 * max(|numeric|, |analytic|) + 1e-3.
 * ReLU RNNs have kinks: an entry whose one-sided differences disagree (the step crossed a kink)
 * is skipped, and most entries must still be checked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, nn, noGrad, tensor, tidy, type Tensor } from 'lstm-wasm';
import { seededUniform } from '../core/helpers';
import { type RnnSpec, buildRnn, dims, forwardRnn, randomF32 } from './rnn-testkit';

const EPS = 1e-2;
const RTOL = 2e-2;
const ATOL = 1e-3;
const ENTRIES_PER_TENSOR = 4;

beforeAll(async () => {
  await init();
});

interface Check {
  /** Tensors to perturb, by name: inputs and parameters (all float32 leaves). */
  leaves: [string, Tensor][];
  /** The layer's results for the current leaf values. */
  forward: () => Tensor[];
  /** Whether one-sided differences may disagree (ReLU kinks). */
  kinks?: boolean;
  dispose: () => void;
}

/** Runs the check; returns the number of entries compared and the worst ratio to the bound. */
function gradcheck(c: Check, seed: number): { checked: number; skipped: number; worst: number } {
  // Fixed loss weights, one per result, shaped like the results.
  const shapes = tidy(() => c.forward().map((t) => t.shape.slice()));
  const weights = shapes.map((s, k) => randomF32(s.reduce((a, b) => a * b, 1), seed * 100 + k));
  const lossValue = (): number => noGrad(() => tidy(() => {
    let total = 0;
    c.forward().forEach((t, k) => {
      const v = t.toArray();
      for (let i = 0; i < v.length; i++) total += v[i] * weights[k][i];
    });
    return total;
  }));

  for (const [, t] of c.leaves) {
    if (t.grad) {
      t.grad.dispose();
      t.grad = null;
    }
  }
  tidy(() => {
    const outs = c.forward();
    let loss = outs[0].mul(tensor(weights[0], shapes[0])).sum();
    for (let k = 1; k < outs.length; k++) loss = loss.add(outs[k].mul(tensor(weights[k], shapes[k])).sum());
    loss.backward();
  });

  const u = seededUniform(seed);
  let checked = 0;
  let skipped = 0;
  let worst = 0;
  let largest = 0;
  const failures: string[] = [];
  for (const [name, t] of c.leaves) {
    expect(t.grad, `${name} has a gradient`).toBeTruthy();
    const analytic = (t.grad as Tensor).toArray();
    const picks = new Set<number>();
    while (picks.size < Math.min(ENTRIES_PER_TENSOR, t.size)) picks.add(Math.floor(u() * t.size));
    for (const i of picks) {
      const v = t.f32()[i];
      const up = Math.fround(v + EPS);
      const down = Math.fround(v - EPS);
      t.f32()[i] = up;
      const lUp = lossValue();
      t.f32()[i] = down;
      const lDown = lossValue();
      t.f32()[i] = v;
      const numeric = (lUp - lDown) / (up - down);
      if (c.kinks) {
        const l0 = lossValue();
        const right = (lUp - l0) / (up - v);
        const left = (l0 - lDown) / (v - down);
        if (Math.abs(right - left) > 5e-2 * Math.max(1, Math.abs(numeric))) {
          skipped++;
          continue;
        }
      }
      const a = analytic[i];
      const bound = RTOL * Math.max(Math.abs(numeric), Math.abs(a)) + ATOL;
      const ratio = Math.abs(numeric - a) / bound;
      worst = Math.max(worst, ratio);
      largest = Math.max(largest, Math.abs(a));
      checked++;
      if (!(ratio <= 1)) failures.push(`${name}[${i}]: analytic ${a}, numeric ${numeric}`);
    }
  }
  expect(failures, 'entries where the analytic gradient disagrees with finite differences').toEqual([]);
  // Not vacuous: some checked gradient is well above the noise floor.
  expect(largest).toBeGreaterThan(0.05);
  return { checked, skipped, worst };
}

function rnnCheck(spec: RnnSpec, withState: boolean, lengths?: number[]): Check {
  const m = buildRnn(spec);
  const { LD, P, H, I } = dims(spec);
  const T = 4;
  const B = 3;
  const x = tensor(randomF32(T * B * I, 501), spec.batchFirst ? [B, T, I] : [T, B, I], { requiresGrad: true });
  const h0 = withState ? tensor(randomF32(LD * B * P, 502), [LD, B, P], { requiresGrad: true }) : null;
  const c0 = withState && spec.kind === 'LSTM' ? tensor(randomF32(LD * B * H, 503), [LD, B, H], { requiresGrad: true }) : null;
  const leaves: [string, Tensor][] = [['input', x]];
  if (h0) leaves.push(['h0', h0]);
  if (c0) leaves.push(['c0', c0]);
  leaves.push(...m.namedParameters());
  return {
    leaves,
    kinks: spec.kind === 'RNN_RELU',
    forward: () => {
      const r = forwardRnn(m, x, h0, c0, lengths);
      return r.cN ? [r.output, r.hN, r.cN] : [r.output, r.hN];
    },
    dispose: () => {
      m.dispose();
      for (const t of [x, h0, c0]) t?.dispose();
    },
  };
}

function cellCheck(kind: 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU'): Check {
  const I = 3;
  const H = 4;
  const B = 2;
  const cell = kind === 'LSTM' ? new nn.LSTMCell(I, H) : kind === 'GRU' ? new nn.GRUCell(I, H)
    : new nn.RNNCell(I, H, { nonlinearity: kind === 'RNN_RELU' ? 'relu' : 'tanh' });
  const x = tensor(randomF32(B * I, 601), [B, I], { requiresGrad: true });
  const h = tensor(randomF32(B * H, 602), [B, H], { requiresGrad: true });
  const c = tensor(randomF32(B * H, 603), [B, H], { requiresGrad: true });
  const leaves: [string, Tensor][] = [['input', x], ['hx', h]];
  if (kind === 'LSTM') leaves.push(['cx', c]);
  leaves.push(...cell.namedParameters());
  return {
    leaves,
    kinks: kind === 'RNN_RELU',
    forward: () => {
      if (cell instanceof nn.LSTMCell) return cell.forward(x, [h, c]);
      return [(cell as nn.GRUCell).forward(x, h)];
    },
    dispose: () => {
      cell.dispose();
      for (const t of [x, h, c]) t.dispose();
    },
  };
}

describe('finite-difference gradient checks', () => {
  const cases: [string, () => Check][] = [
    ['LSTM 2 layers bidirectional', () => rnnCheck({ kind: 'LSTM', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, true)],
    ['LSTM projSize=3 2 layers bidirectional', () => rnnCheck({ kind: 'LSTM', inputSize: 3, hiddenSize: 5, projSize: 3, numLayers: 2, bidirectional: true }, true)],
    ['LSTM projSize=2 uni, batchFirst, zero state', () => rnnCheck({ kind: 'LSTM', inputSize: 3, hiddenSize: 4, projSize: 2, batchFirst: true }, false)],
    ['LSTM bidirectional with lengths [4, 2, 3]', () => rnnCheck({ kind: 'LSTM', inputSize: 3, hiddenSize: 4, bidirectional: true }, true, [4, 2, 3])],
    ['GRU 2 layers bidirectional', () => rnnCheck({ kind: 'GRU', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, true)],
    ['GRU no bias', () => rnnCheck({ kind: 'GRU', inputSize: 3, hiddenSize: 4, bias: false }, true)],
    ['RNN tanh 2 layers bidirectional', () => rnnCheck({ kind: 'RNN_TANH', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, true)],
    ['RNN relu 2 layers', () => rnnCheck({ kind: 'RNN_RELU', inputSize: 3, hiddenSize: 4, numLayers: 2 }, true)],
    ['LSTMCell', () => cellCheck('LSTM')],
    ['GRUCell', () => cellCheck('GRU')],
    ['RNNCell tanh', () => cellCheck('RNN_TANH')],
    ['RNNCell relu', () => cellCheck('RNN_RELU')],
    ['Linear on (2, 3, 5) input', () => {
      const lin = new nn.Linear(5, 4);
      const x = tensor(randomF32(2 * 3 * 5, 701), [2, 3, 5], { requiresGrad: true });
      return {
        leaves: [['input', x], ...lin.namedParameters()],
        forward: () => [lin.forward(x)],
        dispose: () => {
          lin.dispose();
          x.dispose();
        },
      };
    }],
    ['Embedding feeding an LSTM (repeated ids)', () => {
      const emb = new nn.Embedding(6, 3);
      const lstm = new nn.LSTM(3, 4);
      const ids = tensor(Int32Array.from([1, 4, 4, 0, 1, 1, 5, 4]), [4, 2]);
      // Scale the N(0,1) table down so the LSTM stays in its smooth range.
      emb.weight.f32().set(emb.weight.toArray().map((v) => 0.5 * v));
      return {
        leaves: [...emb.namedParameters().map(([n, p]) => [`embedding.${n}`, p] as [string, Tensor]), ...lstm.namedParameters()],
        forward: () => {
          const [out, [hN, cN]] = lstm.forward(emb.forward(ids));
          return [out, hN, cN];
        },
        dispose: () => {
          emb.dispose();
          lstm.dispose();
          ids.dispose();
        },
      };
    }],
  ];
  cases.forEach(([name, make], n) => {
    it(name, () => {
      manualSeed(300 + n);
      const check = make();
      const { checked, skipped } = gradcheck(check, 900 + n);
      // Kink skips are rare; most entries must have been compared.
      expect(checked).toBeGreaterThanOrEqual(Math.ceil(0.75 * (checked + skipped)));
      check.dispose();
    });
  });
});
