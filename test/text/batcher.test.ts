// LMBatcher: B contiguous lanes, windows of T, targets shifted by one, epochs, position; the split.
import { describe, expect, it } from 'vitest';
import { LMBatcher, trainValSplit } from 'lstm-wasm';

const ids = Int32Array.from({ length: 101 }, (_, i) => i); // token i is i: positions are visible

describe('LMBatcher', () => {
  it('cuts the stream into B lanes and T-long windows, time-major, targets shifted by one', () => {
    const b = new LMBatcher(ids, 4, 5);
    expect(b.laneLength).toBe(25); // floor(100 / 4)
    expect(b.windowsPerEpoch).toBe(5);
    expect(b.tokensPerBatch).toBe(20);
    const first = b.next();
    expect(first.reset).toBe(true);
    expect([first.epoch, first.window]).toEqual([0, 0]);
    // x[t*B + lane] = lane*L + t
    for (let t = 0; t < 5; t++) {
      for (let lane = 0; lane < 4; lane++) {
        expect(first.x[t * 4 + lane]).toBe(lane * 25 + t);
        expect(first.y[t * 4 + lane]).toBe(lane * 25 + t + 1);
      }
    }
    const second = b.next();
    expect(second.reset).toBe(false);
    // Window 1 of each lane continues window 0 of the same lane: state can be carried over.
    for (let lane = 0; lane < 4; lane++) expect(second.x[lane]).toBe(first.x[4 * 4 + lane] + 1);
  });

  it('uses every position of every lane once per epoch, then starts over with reset', () => {
    const b = new LMBatcher(ids, 4, 5);
    const seen: number[] = [];
    for (let w = 0; w < b.windowsPerEpoch; w++) seen.push(...b.next().x);
    expect(seen.sort((a, c) => a - c)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const again = b.next();
    expect([again.epoch, again.window, again.reset]).toEqual([1, 0, true]);
  });

  it('drops the tail that does not fill a window, and never reads past the stream', () => {
    const b = new LMBatcher(ids, 3, 7); // L = 33, 4 windows, 5 tokens of each lane unused
    expect(b.windowsPerEpoch).toBe(4);
    let max = 0;
    for (let w = 0; w < 4; w++) max = Math.max(max, ...b.next().y);
    expect(max).toBeLessThanOrEqual(100);
  });

  it('saves and restores its position', () => {
    const b = new LMBatcher(ids, 2, 10);
    b.next();
    b.next();
    const pos = b.position;
    const expected = b.next();
    const c = new LMBatcher(ids, 2, 10);
    c.position = pos;
    expect(Array.from(c.next().x)).toEqual(Array.from(expected.x));
    expect(() => (c.position = { epoch: 0, window: 99 })).toThrow(/out of range/);
  });

  it('refuses a stream too short for one batch, naming what it needs', () => {
    expect(() => new LMBatcher(ids, 10, 20)).toThrow(/101 tokens are too few for batch 10 x seq 20 \(need at least 201\)/);
    expect(() => new LMBatcher(ids, 0, 5)).toThrow(/batchSize must be a positive integer/);
  });
});

describe('trainValSplit', () => {
  it('holds out the contiguous tail', () => {
    const { train, val } = trainValSplit(ids, 0.1);
    expect(train.length).toBe(91);
    expect(val.length).toBe(10);
    expect(val[0]).toBe(91);
    expect(trainValSplit(ids, 0).val.length).toBe(0);
    expect(() => trainValSplit(ids, 1)).toThrow(/valFraction must be in \[0, 1\)/);
  });
});
