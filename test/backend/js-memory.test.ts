// The JS backend's heap under a long training loop: 300 steps of an Embedding-LSTM-Linear
// language model with Adam, each in a tidy(). Freed blocks are reused from the size-class free
// lists, so after the first steps neither the live tensors nor the heap may grow.
import { beforeAll, expect, it } from 'vitest';
import { F, backendName, init, manualSeed, memory, nn, optim, tensor, tidy, type MemoryInfo } from 'lstm-wasm';

beforeAll(async () => {
  await init({ backend: 'js' });
});

it('300 LSTM training steps keep live tensors and heapBytes flat', () => {
  expect(backendName()).toBe('js');
  manualSeed(3);
  const [V, T, B, H] = [13, 12, 4, 24];
  const emb = new nn.Embedding(V, 8);
  const rnn = new nn.LSTM(8, H, { numLayers: 2, bidirectional: true });
  const head = new nn.Linear(2 * H, V);
  const params = [...emb.parameters(), ...rnn.parameters(), ...head.parameters()];
  const opt = new optim.Adam(params, { lr: 3e-3 });
  const ids = tensor(Int32Array.from({ length: T * B }, (_, i) => (i * 5 + 1) % V), [T, B], { dtype: 'int32' });
  const targets = tensor(Int32Array.from({ length: T * B }, (_, i) => (i * 5 + 6) % V), [T * B], { dtype: 'int32' });
  const lengths = [T, T - 3, 5, 1];

  let atProbe: MemoryInfo | null = null;
  const losses: number[] = [];
  for (let step = 1; step <= 300; step++) {
    losses.push(tidy(() => {
      const [h] = rnn.forward(emb.forward(ids), null, { lengths });
      const loss = F.crossEntropy(head.forward(h.reshape([T * B, 2 * H])), targets);
      loss.backward();
      nn.utils.clipGradNorm(params, 5);
      opt.step();
      opt.zeroGrad();
      return loss.item();
    }));
    if (step === 10) atProbe = memory();
  }
  const atEnd = memory();
  expect(atEnd.liveTensors).toBe(atProbe!.liveTensors);
  expect(atEnd.tensorBytes).toBe(atProbe!.tensorBytes);
  expect(atEnd.heapBytes).toBe(atProbe!.heapBytes);
  expect(losses[299]).toBeLessThan(losses[0] * 0.5);

  opt.dispose();
  for (const m of [emb, rnn, head]) m.dispose();
  ids.dispose();
  targets.dispose();
});
