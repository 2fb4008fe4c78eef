/**
 * nn.RNN / nn.LSTM / nn.GRU against PyTorch 1.13 on every case in test/fixtures/rnn: outputs,
 * final states, and gradients of L = sum(output*Wo) + sum(hN*Wh) (+ sum(cN*Wc)) w.r.t. the
 * input, the initial states and every parameter. Forward within 2e-5, gradients within 1e-4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, tidy, memory, type Tensor } from 'lstm-wasm';
import { listFixtures, readFixture, toTensor, expectClose, type FixtureTensor } from './fixture-helpers';

const FORWARD_TOL = 2e-5;
const GRAD_TOL = 1e-4;

interface RnnCase {
  name: string;
  mode: 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  bidirectional: boolean;
  projSize: number;
  lengths?: number[];
  params: Record<string, FixtureTensor>;
  input: FixtureTensor;
  h0: FixtureTensor | null;
  c0: FixtureTensor | null;
  output: FixtureTensor;
  hN: FixtureTensor;
  cN: FixtureTensor | null;
  lossWeights: { output: FixtureTensor; hN: FixtureTensor; cN: FixtureTensor | null };
  grads: { input: FixtureTensor; h0: FixtureTensor | null; c0: FixtureTensor | null; params: Record<string, FixtureTensor> };
}

export function buildModule(c: RnnCase): nn.RNNBase {
  const common = { numLayers: c.numLayers, bias: c.bias, batchFirst: c.batchFirst, bidirectional: c.bidirectional };
  if (c.mode === 'LSTM') return new nn.LSTM(c.inputSize, c.hiddenSize, { ...common, projSize: c.projSize });
  if (c.mode === 'GRU') return new nn.GRU(c.inputSize, c.hiddenSize, common);
  return new nn.RNN(c.inputSize, c.hiddenSize, { ...common, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
}

beforeAll(async () => {
  await init();
});

describe('recurrent modules match PyTorch fixtures', () => {
  for (const file of listFixtures('rnn')) {
    it(file.replace('.json', ''), () => {
      const c = readFixture<RnnCase>(`rnn/${file}`);
      const m = buildModule(c);
      m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }])));
      expect(m.namedParameters().map(([n]) => n)).toEqual(Object.keys(c.params));
      const live = memory().liveTensors;
      tidy(() => {
        const x = toTensor(c.input, true);
        const h0 = c.h0 ? toTensor(c.h0, true) : null;
        const c0 = c.c0 ? toTensor(c.c0, true) : null;
        const opts = c.lengths ? { lengths: c.lengths } : {};
        let output: Tensor;
        let hN: Tensor;
        let cN: Tensor | null = null;
        if (m instanceof nn.LSTM) {
          [output, [hN, cN]] = m.forward(x, h0 && c0 ? [h0, c0] : null, opts);
        } else {
          [output, hN] = (m as nn.GRU).forward(x, h0, opts);
        }
        expectClose(output, c.output, FORWARD_TOL, 'output');
        expectClose(hN, c.hN, FORWARD_TOL, 'hN');
        if (c.cN) expectClose(cN, c.cN, FORWARD_TOL, 'cN');

        let loss = output.mul(toTensor(c.lossWeights.output)).sum().add(hN.mul(toTensor(c.lossWeights.hN)).sum());
        if (cN && c.lossWeights.cN) loss = loss.add(cN.mul(toTensor(c.lossWeights.cN)).sum());
        loss.backward();
        expectClose(x.grad, c.grads.input, GRAD_TOL, 'grad input');
        if (h0 && c.grads.h0) expectClose(h0.grad, c.grads.h0, GRAD_TOL, 'grad h0');
        if (c0 && c.grads.c0) expectClose(c0.grad, c.grads.c0, GRAD_TOL, 'grad c0');
        for (const [name, p] of m.namedParameters()) expectClose(p.grad, c.grads.params[name], GRAD_TOL, `grad ${name}`);
      });
      m.dispose();
      // Everything the forward/backward made is gone with the scope and the module.
      expect(memory().liveTensors).toBe(live - Object.keys(c.params).length);
    });
  }
});
