/**
 * End to end against PyTorch: Embedding -> 2-layer LSTM -> Linear -> cross-entropy, four steps of
 * backward, clipGradNorm and Adam; losses, norms and every parameter after every step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, optim, F, tidy, tensor, Module } from 'lstm-wasm';
import { readFixture, expectClose, type FixtureTensor } from './fixture-helpers';

interface E2E {
  vocab: number;
  embedDim: number;
  hiddenSize: number;
  numLayers: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maxNorm: number;
  inputIds: FixtureTensor;
  targetIds: FixtureTensor;
  initialParams: Record<string, FixtureTensor>;
  initialLogits: FixtureTensor;
  steps: { step: number; loss: number; totalNorm: number; params: Record<string, FixtureTensor> }[];
}

class CharModel extends Module {
  embed: nn.Embedding;
  lstm: nn.LSTM;
  head: nn.Linear;
  constructor(f: E2E) {
    super();
    this.embed = this.addModule('embed', new nn.Embedding(f.vocab, f.embedDim));
    this.lstm = this.addModule('lstm', new nn.LSTM(f.embedDim, f.hiddenSize, { numLayers: f.numLayers }));
    this.head = this.addModule('head', new nn.Linear(f.hiddenSize, f.vocab));
  }
  forward(ids: ReturnType<typeof tensor>) {
    const [out] = this.lstm.forward(this.embed.forward(ids));
    return this.head.forward(out);
  }
}

beforeAll(async () => {
  await init();
});

describe('end-to-end char LM training matches PyTorch', () => {
  for (const file of ['e2e_charlm.json', 'e2e_charlm_clip01.json']) {
    it(file, () => {
      const f = readFixture<E2E>(file);
      const model = new CharModel(f);
      model.loadStateDict(Object.fromEntries(Object.entries(f.initialParams).map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
      const params = model.parameters();
      const opt = new optim.Adam(params, { lr: f.lr, betas: f.betas, eps: f.eps, weightDecay: f.weightDecay });
      const ids = tensor(Int32Array.from(f.inputIds.data), f.inputIds.shape);
      const targets = tensor(Int32Array.from(f.targetIds.data), [f.targetIds.data.length]);
      tidy(() => expectClose(model.forward(ids), f.initialLogits, 2e-5, 'initial logits'));
      for (const step of f.steps) {
        tidy(() => {
          opt.zeroGrad();
          const logits = model.forward(ids).reshape(-1, f.vocab);
          const loss = F.crossEntropy(logits, targets);
          expect(Math.abs(loss.item() - step.loss), `step ${step.step} loss`).toBeLessThan(2e-5 * Math.max(1, Math.abs(step.loss)));
          loss.backward();
          const norm = nn.utils.clipGradNorm(params, f.maxNorm);
          expect(Math.abs(norm - step.totalNorm), `step ${step.step} norm`).toBeLessThan(1e-4 * Math.max(1, step.totalNorm));
          opt.step();
        });
        for (const [name, p] of model.namedParameters()) expectClose(p, step.params[name], 1e-4, `step ${step.step} ${name}`);
      }
      opt.dispose();
      model.dispose();
      ids.dispose();
      targets.dispose();
    });
  }
});
