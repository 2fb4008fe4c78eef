/**
 * Sequence equals steps (the check from Karpathy's LSTM gist): a 1-layer unidirectional
 * LSTM/GRU/RNN over T steps equals its cell (same weights, `weight_ih_l0` -> `weight_ih`) applied
 * step by step carrying the state — outputs, final states, and gradients of
 * L = sum(output*R) + sum(hN*S) (+ sum(cN*U)) w.r.t. input, initial state and every parameter.
 * And a 2-layer LSTM fed one token per call (carrying [hN, cN]) equals the whole-sequence call.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, memory, nn, tensor, tidy, type Tensor } from 'lstm-wasm';
import {
  type Kind, buildRnn, expectNear, forwardRnn, loadValues, maxAbs, paramGrads, paramValues, randomF32,
} from './rnn-testkit';

const FORWARD_TOL = 2e-5;
const GRAD_TOL = 1e-4;

beforeAll(async () => {
  await init();
});

const T = 6;
const B = 3;
const I = 4;
const H = 5;

function makeCell(kind: Kind, bias: boolean): nn.LSTMCell | nn.GRUCell | nn.RNNCell {
  if (kind === 'LSTM') return new nn.LSTMCell(I, H, { bias });
  if (kind === 'GRU') return new nn.GRUCell(I, H, { bias });
  return new nn.RNNCell(I, H, { bias, nonlinearity: kind === 'RNN_RELU' ? 'relu' : 'tanh' });
}

describe('a 1-layer module over T steps equals its cell applied step by step', () => {
  for (const kind of ['LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU'] as const) {
    for (const bias of [true, false]) {
      it(`${kind}${bias ? '' : ' (no bias)'}`, () => {
        manualSeed(77);
        const m = buildRnn({ kind, inputSize: I, hiddenSize: H, bias });
        const c = makeCell(kind, bias);
        const toCell = (n: string) => n.replace(/_l0$/, '');
        loadValues(c, paramValues(m), toCell);
        expect(c.namedParameters().map(([n]) => n)).toEqual(m.namedParameters().map(([n]) => toCell(n)));

        const isLstm = kind === 'LSTM';
        const xData = randomF32(T * B * I, 1, -1.5, 1.5);
        const h0Data = randomF32(B * H, 2);
        const c0Data = randomF32(B * H, 3);
        const R = randomF32(T * B * H, 4);
        const S = randomF32(B * H, 5);
        const U = randomF32(B * H, 6);

        // Whole sequence.
        const seq = tidy(() => {
          const x = tensor(xData, [T, B, I], { requiresGrad: true });
          const h0 = tensor(h0Data, [1, B, H], { requiresGrad: true });
          const c0 = isLstm ? tensor(c0Data, [1, B, H], { requiresGrad: true }) : null;
          const r = forwardRnn(m, x, h0, c0);
          let loss = r.output.mul(tensor(R, [T, B, H])).sum().add(r.hN.mul(tensor(S, [1, B, H])).sum());
          if (r.cN) loss = loss.add(r.cN.mul(tensor(U, [1, B, H])).sum());
          loss.backward();
          return {
            output: r.output.toArray(), hN: r.hN.toArray(), cN: r.cN?.toArray() ?? null,
            gx: (x.grad as Tensor).toArray(), gh0: (h0.grad as Tensor).toArray(), gc0: c0 ? (c0.grad as Tensor).toArray() : null,
          };
        });

        // Step by step with the cell; x_t sliced from one leaf so its gradient gathers in one place.
        const steps = tidy(() => {
          const x = tensor(xData, [T, B, I], { requiresGrad: true });
          const h0 = tensor(h0Data, [B, H], { requiresGrad: true });
          const c0 = isLstm ? tensor(c0Data, [B, H], { requiresGrad: true }) : null;
          let h: Tensor = h0;
          let cs: Tensor | null = c0;
          const outs: Float32Array[] = [];
          let loss: Tensor | null = null;
          for (let t = 0; t < T; t++) {
            const xt = x.slice(0, t, t + 1).reshape([B, I]);
            if (c instanceof nn.LSTMCell) [h, cs] = c.forward(xt, [h, cs as Tensor]);
            else h = (c as nn.GRUCell).forward(xt, h);
            outs.push(h.toArray() as Float32Array);
            const term = h.mul(tensor(R.subarray(t * B * H, (t + 1) * B * H), [B, H])).sum();
            loss = loss === null ? term : loss.add(term);
          }
          let total = (loss as Tensor).add(h.mul(tensor(S, [B, H])).sum());
          if (cs) total = total.add(cs.mul(tensor(U, [B, H])).sum());
          total.backward();
          const output = new Float32Array(T * B * H);
          outs.forEach((o, t) => output.set(o, t * B * H));
          return {
            output, hN: h.toArray(), cN: cs?.toArray() ?? null,
            gx: (x.grad as Tensor).toArray(), gh0: (h0.grad as Tensor).toArray(), gc0: c0 ? (c0.grad as Tensor).toArray() : null,
          };
        });

        expectNear(seq.output, steps.output, FORWARD_TOL, 'output');
        expectNear(seq.hN, steps.hN, FORWARD_TOL, 'hN');
        if (isLstm) expectNear(seq.cN as Float32Array, steps.cN as Float32Array, FORWARD_TOL, 'cN');
        expectNear(seq.gx, steps.gx, GRAD_TOL, 'grad input');
        expectNear(seq.gh0, steps.gh0, GRAD_TOL, 'grad h0');
        if (isLstm) expectNear(seq.gc0 as Float32Array, steps.gc0 as Float32Array, GRAD_TOL, 'grad c0');
        expect(maxAbs(seq.gx)).toBeGreaterThan(1e-3);
        const gm = paramGrads(m);
        const gc = paramGrads(c);
        for (const [name, g] of gm) {
          expect(maxAbs(g), `grad ${name} is not all zero`).toBeGreaterThan(0);
          expectNear(g, gc.get(toCell(name)) as Float32Array, GRAD_TOL, `grad ${name}`);
        }
        m.dispose();
        c.dispose();
      });
    }
  }

  it('a cell with no state given starts from zeros, like the module with h0 = null', () => {
    manualSeed(78);
    const m = buildRnn({ kind: 'LSTM', inputSize: I, hiddenSize: H });
    const c = new nn.LSTMCell(I, H);
    loadValues(c, paramValues(m), (n) => n.replace(/_l0$/, ''));
    tidy(() => {
      const x = tensor(randomF32(B * I, 9), [1, B, I]);
      const r = forwardRnn(m, x, null, null);
      const [h, cs] = c.forward(x.reshape([B, I]));
      expectNear(h.toArray(), r.hN.toArray(), FORWARD_TOL, 'h');
      expectNear(cs.toArray(), (r.cN as Tensor).toArray(), FORWARD_TOL, 'c');
    });
    m.dispose();
    c.dispose();
  });
});

describe('token by token equals the whole sequence (2-layer LSTM)', () => {
  for (const projSize of [0, 3]) {
    it(`projSize=${projSize}: forward and gradients`, () => {
      manualSeed(91);
      const Hh = 5;
      const lstm = new nn.LSTM(I, Hh, { numLayers: 2, projSize });
      const P = projSize || Hh;
      const xData = randomF32(T * B * I, 41, -1.5, 1.5);
      const h0Data = randomF32(2 * B * P, 42);
      const c0Data = randomF32(2 * B * Hh, 43);
      const R = randomF32(T * B * P, 44);
      const S = randomF32(2 * B * P, 45);
      const U = randomF32(2 * B * Hh, 46);
      const live = memory().liveTensors;

      const run = (tokenByToken: boolean) => {
        const out = tidy(() => {
          const x = tensor(xData, [T, B, I], { requiresGrad: true });
          const h0 = tensor(h0Data, [2, B, P], { requiresGrad: true });
          const c0 = tensor(c0Data, [2, B, Hh], { requiresGrad: true });
          let output: Float32Array;
          let hN: Tensor;
          let cN: Tensor;
          let loss: Tensor;
          if (!tokenByToken) {
            let o: Tensor;
            [o, [hN, cN]] = lstm.forward(x, [h0, c0]);
            output = o.toArray() as Float32Array;
            loss = o.mul(tensor(R, [T, B, P])).sum();
          } else {
            output = new Float32Array(T * B * P);
            hN = h0;
            cN = c0;
            let acc: Tensor | null = null;
            for (let t = 0; t < T; t++) {
              let o: Tensor;
              [o, [hN, cN]] = lstm.forward(x.slice(0, t, t + 1), [hN, cN]);
              expect(Array.from(o.shape)).toEqual([1, B, P]);
              output.set(o.toArray(), t * B * P);
              const term = o.mul(tensor(R.subarray(t * B * P, (t + 1) * B * P), [1, B, P])).sum();
              acc = acc === null ? term : acc.add(term);
            }
            loss = acc as Tensor;
          }
          loss = loss.add(hN.mul(tensor(S, [2, B, P])).sum()).add(cN.mul(tensor(U, [2, B, Hh])).sum());
          loss.backward();
          return {
            output, hN: hN.toArray(), cN: cN.toArray(),
            gx: (x.grad as Tensor).toArray(), gh0: (h0.grad as Tensor).toArray(), gc0: (c0.grad as Tensor).toArray(),
          };
        });
        const grads = paramGrads(lstm);
        lstm.zeroGrad();
        return { ...out, grads };
      };
      const whole = run(false);
      const tokens = run(true);
      expectNear(tokens.output, whole.output, FORWARD_TOL, 'output');
      expectNear(tokens.hN, whole.hN, FORWARD_TOL, 'hN');
      expectNear(tokens.cN, whole.cN, FORWARD_TOL, 'cN');
      expectNear(tokens.gx, whole.gx, GRAD_TOL, 'grad input');
      expectNear(tokens.gh0, whole.gh0, GRAD_TOL, 'grad h0');
      expectNear(tokens.gc0, whole.gc0, GRAD_TOL, 'grad c0');
      for (const [name, g] of whole.grads) {
        expect(maxAbs(g), `grad ${name} is not all zero`).toBeGreaterThan(0);
        expectNear(tokens.grads.get(name) as Float32Array, g, GRAD_TOL, `grad ${name}`);
      }
      // The scopes freed every graph buffer; only the (kept) parameter gradients remain.
      expect(memory().liveTensors).toBe(live + lstm.parameters().length);
      lstm.dispose();
    });
  }
});
