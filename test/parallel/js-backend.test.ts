// The JS backend trains data-parallel too: the replicas start on the backend the trainer's thread
// uses (here 'js'), so a run is bit-identical across repeats and within float32 summation order of
// one thread (see data-parallel.test.ts for the tolerance).
import { describe, expect, it } from 'vitest';
import * as lw from '../../dist/index.js';
import { fullCorpus } from '../session/session-kit';

const TEXT = fullCorpus().slice(0, 50_000);

async function run(threads: number): Promise<Float32Array[]> {
  const tok = lw.buildTokenizer('char', TEXT);
  lw.manualSeed(3);
  const model = new lw.LanguageModel({ vocabSize: tok.size, cell: 'gru', embedDim: 8, hiddenSize: 16, numLayers: 1, dropout: 0 });
  const trainer = new lw.LMTrainer(model, new lw.LMBatcher(tok.encode(TEXT), 6, 8), null, { lr: 3e-3, threads });
  try {
    await trainer.run({ steps: 20 });
    return model.parameters().map((p) => p.toArray() as Float32Array);
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

describe('data-parallel training on the JS backend', () => {
  it('runs its replicas on the JS backend: repeatable, and within 5e-5 of one thread', async () => {
    await lw.init({ backend: 'js' });
    expect(lw.backendName()).toBe('js');
    const one = await run(1);
    const a = await run(2);
    const b = await run(2);
    let d = 0;
    a.forEach((x, i) => x.forEach((v, j) => {
      expect(v, `parameter ${i}[${j}] repeats`).toBe(b[i][j]);
      d = Math.max(d, Math.abs(v - one[i][j]));
    }));
    expect(d).toBeLessThan(5e-5);
  }, 60_000);
});
