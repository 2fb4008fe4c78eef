// The browser app's chart (examples/browser/src/chart.js): its pure parts, in Node. The drawing
// itself is checked in Chromium by test/browser/app.test.ts.
import { describe, expect, it } from 'vitest';
import { historyFromTrainer, LossChart, median, niceTicks, tickLabel } from '../../examples/browser/src/chart.js';

const labels = (min: number, max: number): string[] => {
  const { step, ticks } = niceTicks(min, max);
  return ticks.map((v) => tickLabel(v, step));
};

describe('browser app chart', () => {
  it('niceTicks: steps of 1, 2 or 5 x 10^k from 0 to the first tick at or past the maximum', () => {
    // The values of the issue: a loss axis to 4.51 was labelled 1.13, 2.25, 3.38, 4.51.
    expect(labels(0, 4.51)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(labels(0, 26_900)).toEqual(['0', '10k', '20k', '30k']);
    expect(labels(0, 78_800)).toEqual(['0', '20k', '40k', '60k', '80k']);
    expect(labels(0, 2_500)).toEqual(['0', '500', '1k', '1.5k', '2k', '2.5k']);
    expect(labels(0, 1.7)).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0']);
    expect(labels(0, 0.03)).toEqual(['0.00', '0.01', '0.02', '0.03']);
    expect(niceTicks(0, 0.3).ticks).toEqual([0, 0.1, 0.2, 0.3]); // not 0.30000000000000004
    expect(niceTicks(0, 0).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]); // an empty range still has an axis
    for (const max of [0.7, 3, 9.99, 123, 4567, 1e6]) {
      const { step, ticks } = niceTicks(0, max);
      expect(ticks.length, `max ${max}`).toBeLessThanOrEqual(6);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
      expect(ticks[ticks.length - 2]).toBeLessThan(max);
      expect([1, 2, 5]).toContain(Math.round(step / 10 ** Math.floor(Math.log10(step))));
    }
  });

  it('the tokens/s line is a moving median: the dips after a validation do not show', () => {
    // As the trainer reports it: tokens per batch over a moving average of the step time
    // (weight 0.1, trainer.ts), with a validation every 60 steps taking ten steps' time.
    const chart = new LossChart(null);
    let stepMs = 50;
    const speeds: number[] = [];
    for (let step = 1; step <= 300; step++) {
      const evaluated = step % 60 === 0;
      stepMs = 0.9 * stepMs + 0.1 * (evaluated ? 500 : 50);
      speeds.push(2048 * 1000 / stepMs);
      chart.add({ step, smoothLoss: 2, tokensPerSec: speeds[speeds.length - 1], evaluated, valLoss: evaluated ? 2.1 : null }, { draw: false });
    }
    expect(Math.min(...speeds), 'the reported speed dips by half').toBeLessThan(0.55 * 40_960);
    for (const [step, v] of chart.series.speed) expect(v, `step ${step}`).toBeGreaterThan(0.95 * 40_960);
    expect(chart.series.val.map(([s]) => s)).toEqual([60, 120, 180, 240, 300]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it("historyFromTrainer: the checkpoint's losses smoothed as training shows them (the mean of the last 50), and its validation points", () => {
    const losses: (number | null)[] = Array.from({ length: 120 }, (_, i) => (i < 60 ? 4 : 2));
    losses[10] = null; // a NaN loss, written as null in the JSON
    const { loss, val } = historyFromTrainer({ step: 120, losses, val: [{ step: 50, valLoss: 3.9 }, { step: 100, valLoss: null }, { step: 120, valLoss: 2.2 }] });
    expect(loss.length).toBe(120);
    expect(loss[0]).toEqual([1, 4]);
    expect(loss[59]).toEqual([60, 4]);
    expect(loss[84][0]).toBe(85);
    expect(loss[84][1]).toBeCloseTo((25 * 4 + 25 * 2) / 50, 12);
    expect(loss[119]).toEqual([120, 2]);
    expect(val).toEqual([[50, 3.9], [120, 2.2]]);
    // A history shorter than the step count (a fine-tuned model's run) ends at the step.
    expect(historyFromTrainer({ step: 1000, losses: [3, 3], val: [] }).loss).toEqual([[999, 3], [1000, 3]]);
    expect(historyFromTrainer(null)).toEqual({ loss: [], val: [] });
  });
});
