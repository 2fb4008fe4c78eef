// The lesson "why plain RNNs forget, and how the LSTM's gates fix it": its two examples run
// (--quick) and show what they claim, with thresholds that a run where the lesson did not hold
// would miss. Each writes its plots to a temporary folder, checked here to be SVG.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExample } from '../support/examples';

const out = mkdtempSync(join(tmpdir(), 'lesson-a-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const example = (name: string): Promise<string> => runExample(name, ['--out', out]);

function expectSvg(file: string): void {
  expect(readFileSync(join(out, file), 'utf8').startsWith('<svg')).toBe(true);
}

describe('lesson: word order, vanishing gradients', () => {
  it('word-order.mjs: the LSTM tells whether X comes before Y; the bag of words stays at chance', async () => {
    const stdout = await example('word-order.mjs');
    const m = /test accuracy: LSTM (\d+\.\d)%, bag-of-words (\d+\.\d)% \(chance 50%\)/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    const [lstm, bow] = m!.slice(1).map(Number);
    expect(lstm).toBeGreaterThan(80);
    // Both classes have the same bag of words: 1,000 test sequences put chance at 50 +- 1.6 (1 sd).
    expect(bow).toBeLessThan(60);
    expectSvg('word-order-accuracy.svg');
  }, 60_000);

  it('vanishing-gradients.mjs: the gradient to the first token vanishes, and the forget-gate bias lets the LSTM reach it', async () => {
    const stdout = await example('vanishing-gradients.mjs');
    const row = (pattern: string, cell: string): number[] => {
      const m = new RegExp(`^  ${cell} {2,}(\\S.*)$`, 'm').exec(stdout.slice(stdout.indexOf(pattern)));
      expect(m, stdout).not.toBeNull();
      return m![1].trim().split(/[\s%]+/).filter(Boolean).map(Number);
    };
    const accuracy = (cell: string): number[] => row('test accuracy by distance', cell);
    // Measured (2 cores, seeds fixed), d=20 and d=50: every cell without a forget bias at chance
    // (45-54%); forgetBias=1 100% at d=20 (learned by step 175 of 400) and chance at d=50;
    // forgetBias=3 100% at both (learned by step 83 and 200). 512 test sequences put chance at
    // 50 +- 2.2 (1 sd), so 70% is 9 sd above it and far below what the learning cells reach.
    const [rnn20, rnn50] = accuracy('RNN');
    const [lstm20, lstm50] = accuracy('LSTM');
    const [fb1at20, fb1at50] = accuracy('LSTM forgetBias=1');
    const [fb3at20, fb3at50] = accuracy('LSTM forgetBias=3');
    expect(Math.max(rnn20, rnn50, lstm20, lstm50, fb1at50), stdout).toBeLessThan(70);
    expect(Math.min(fb1at20, fb3at20, fb3at50), stdout).toBeGreaterThan(80);
    // At initialization, ||dLoss/dx_0|| / ||dLoss/dx_50|| measures the decay over 50 steps: measured
    // 4e-14 (RNN), 2e-10 (LSTM), 4e-4 (forgetBias=1), 0.4 (forgetBias=3).
    const ratioAtInit = (cell: string): number => {
      const m = new RegExp(`^  ${cell} +ratio +(\\S+) ->`, 'm').exec(stdout);
      expect(m, stdout).not.toBeNull();
      return Number(m![1]);
    };
    expect(ratioAtInit('RNN')).toBeLessThan(1e-8);
    expect(ratioAtInit('LSTM')).toBeLessThan(1e-6);
    expect(ratioAtInit('LSTM forgetBias=1')).toBeGreaterThan(1e-6);
    expect(ratioAtInit('LSTM forgetBias=3')).toBeGreaterThan(1e-2);
    for (const f of ['vanishing-gradients-accuracy.svg', 'vanishing-gradients-grad-init.svg', 'vanishing-gradients-grad-trained.svg']) expectSvg(f);
  }, 60_000);
});
