/** nn.LSTMCell / GRUCell / RNNCell against PyTorch 1.13 (test/fixtures/cells.json). */
import { beforeAll, describe, it } from 'vitest';
import { init, nn, tidy } from 'lstm-wasm';
import { readFixture, toTensor, expectClose, type FixtureTensor } from './fixture-helpers';

interface CellCase {
  name: string;
  cell: 'LSTMCell' | 'GRUCell' | 'RNNCell';
  mode: string;
  inputSize: number;
  hiddenSize: number;
  bias: boolean;
  params: Record<string, FixtureTensor>;
  input: FixtureTensor;
  hx: FixtureTensor | null;
  cx: FixtureTensor | null;
  hOut: FixtureTensor;
  cOut: FixtureTensor | null;
  lossWeights: { h: FixtureTensor; c: FixtureTensor | null };
  grads: { input: FixtureTensor; hx: FixtureTensor | null; cx: FixtureTensor | null; params: Record<string, FixtureTensor> };
}

beforeAll(async () => {
  await init();
});

describe('recurrent cells match PyTorch fixtures', () => {
  for (const c of readFixture<{ cells: CellCase[] }>('cells.json').cells) {
    it(c.name, () => {
      const cell =
        c.cell === 'LSTMCell' ? new nn.LSTMCell(c.inputSize, c.hiddenSize, { bias: c.bias })
        : c.cell === 'GRUCell' ? new nn.GRUCell(c.inputSize, c.hiddenSize, { bias: c.bias })
        : new nn.RNNCell(c.inputSize, c.hiddenSize, { bias: c.bias, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
      cell.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
      tidy(() => {
        const x = toTensor(c.input, true);
        const hx = c.hx ? toTensor(c.hx, true) : null;
        const cx = c.cx ? toTensor(c.cx, true) : null;
        let h;
        let cOut = null;
        if (cell instanceof nn.LSTMCell) [h, cOut] = cell.forward(x, hx && cx ? [hx, cx] : null);
        else h = (cell as nn.GRUCell).forward(x, hx);
        expectClose(h, c.hOut, 2e-5, 'h');
        if (c.cOut) expectClose(cOut, c.cOut, 2e-5, 'c');
        let loss = h.mul(toTensor(c.lossWeights.h)).sum();
        if (cOut && c.lossWeights.c) loss = loss.add(cOut.mul(toTensor(c.lossWeights.c)).sum());
        loss.backward();
        expectClose(x.grad, c.grads.input, 1e-4, 'grad input');
        if (hx && c.grads.hx) expectClose(hx.grad, c.grads.hx, 1e-4, 'grad hx');
        if (cx && c.grads.cx) expectClose(cx.grad, c.grads.cx, 1e-4, 'grad cx');
        for (const [name, p] of cell.namedParameters()) expectClose(p.grad, c.grads.params[name], 1e-4, `grad ${name}`);
      });
      cell.dispose();
    });
  }
});
