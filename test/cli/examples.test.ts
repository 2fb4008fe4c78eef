// The examples beyond language modelling run (briefly, --quick) and do better than chance/baselines.
import { describe, expect, it } from 'vitest';
import { runExample } from '../support/examples';


const example = (name: string): Promise<string> => runExample(name);

describe('examples', () => {
  it('quickstart.mjs: trains, streams a sample, round-trips a checkpoint, frees everything', async () => {
    const out = await example('quickstart.mjs');
    expect(out).toMatch(/^step 50 {2}loss/m);
    expect(out).toMatch(/reloaded model samples the same text: true/);
    expect(out).toMatch(/live tensors after dispose: 0/);
  });

  it('classify-verses.mjs (many-to-one): tells the book of a verse well above chance', async () => {
    const out = await example('classify-verses.mjs');
    const m = /test accuracy (\d+\.\d)% \(chance 25%\)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(40);
  });

  it('sine-regression.mjs (many-to-many): beats the persistence baseline', async () => {
    const out = await example('sine-regression.mjs');
    const m = /test MSE: model (\d+\.\d+), persistence baseline (\d+\.\d+), predict-zero baseline (\d+\.\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    const [model, persistence, zero] = m!.slice(1).map(Number);
    expect(model).toBeLessThan(persistence * 0.7);
    expect(model).toBeLessThan(zero / 10);
  });
});
