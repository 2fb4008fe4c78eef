// Progress of a session's run, seen three ways at once: on('progress'), train({ onProgress }) and
// the progress() iterator. Each must see every step, in order, with TrainProgress's fields.
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainProgress } from '../../dist/index.js';
import { SMALL, corpusText, disposeAll, openSession, quiet, rejectionOf, stepReached, within } from './session-kit';

afterEach(disposeAll);

/** Every step's event (evaluated: false) has step first+1..first+n in order; validations follow their step. */
function expectEveryStep(events: TrainProgress[], first: number, n: number, evalEvery: number): void {
  const steps = events.filter((p) => !p.evaluated).map((p) => p.step);
  expect(steps).toEqual(Array.from({ length: n }, (_, i) => first + i + 1));
  const evaluated = events.filter((p) => p.evaluated).map((p) => p.step);
  const due = steps.filter((s) => s % evalEvery === 0 || s === first + n);
  expect(evaluated).toEqual(due);
  events.forEach((p, i) => {
    if (p.evaluated) expect(events[i - 1]).toMatchObject({ step: p.step, evaluated: false });
  });
}

describe('TrainingSession progress', () => {
  it('on(), onProgress and progress() each see every step of a run, with TrainProgress fields', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const N = 23;
    const EVAL = 5;
    const viaOn: TrainProgress[] = [];
    const viaOption: TrainProgress[] = [];
    const viaIterator: TrainProgress[] = [];
    const off = session.on('progress', (p) => viaOn.push(p));
    // The iterator subscribes when its loop starts, which is before train() is called.
    const iterated = (async () => {
      for await (const p of session.progress()) viaIterator.push(p);
    })();
    const result = await session.train({ steps: N, evalEvery: EVAL, onProgress: (p) => viaOption.push(p) });
    await iterated; // ends with the run
    off();

    expectEveryStep(viaOn, 0, N, EVAL);
    expect(viaOption).toEqual(viaOn);
    expect(viaIterator).toEqual(viaOn);

    const { stepsPerEpoch } = session.info;
    const tokensPerStep = SMALL.batchSize * SMALL.seqLen;
    let lastVal: number | null = null;
    for (const p of viaOn) {
      expect(Number.isFinite(p.loss) && p.loss > 0, `loss at step ${p.step}`).toBe(true);
      expect(Number.isFinite(p.smoothLoss)).toBe(true);
      expect(p.tokensPerSec).toBeGreaterThan(0);
      expect(p.msPerStep).toBeGreaterThan(0);
      expect(p.tokensPerSec).toBeCloseTo((tokensPerStep * 1000) / p.msPerStep, 6);
      expect(p.fraction).toBeCloseTo(p.step / N, 12);
      expect(p.epoch).toBeCloseTo(p.step / stepsPerEpoch, 12);
      expect(p.elapsedMs).toBeGreaterThan(0);
      if (p.evaluated) {
        expect(typeof p.valLoss).toBe('number');
        expect(Number.isFinite(p.valLoss!)).toBe(true);
        expect(p.perplexity).toBeCloseTo(Math.exp(p.valLoss!), 6);
        lastVal = p.valLoss;
      } else {
        expect(p.valLoss).toBe(lastVal); // the latest validation, null before the first
      }
    }
    expect(viaOn[0].valLoss).toBeNull();

    const last = viaOn[viaOn.length - 1];
    expect(result).toEqual({
      steps: N, stoppedBy: 'steps', elapsedMs: expect.any(Number), tokens: N * tokensPerStep, finalLoss: last.loss, valLoss: lastVal,
    });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(last.elapsedMs);
    expect(session.step).toBe(N);
    expect(session.info.step).toBe(N);
  });

  it('a second run continues the step count, and a listener unsubscribed sees nothing more', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const first: TrainProgress[] = [];
    const off = session.on('progress', (p) => first.push(p));
    await session.train({ steps: 4, evalEvery: 0 });
    off();
    const second: TrainProgress[] = [];
    const iterated = (async () => {
      for await (const p of session.progress()) second.push(p);
    })();
    const result = await session.train({ steps: 6, evalEvery: 3, onProgress: () => undefined });
    await iterated;
    expectEveryStep(first, 0, 4, Infinity);
    expectEveryStep(second, 4, 6, 3);
    expect(result.steps).toBe(6);
    expect(second[second.length - 1].fraction).toBe(1);
    expect(session.step).toBe(10);
  });

  it('progress() started after a run ended waits for the next run, and ends with it', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    await session.train({ steps: 2, evalEvery: 0 });
    const seen: number[] = [];
    const iterated = (async () => {
      for await (const p of session.progress()) if (!p.evaluated) seen.push(p.step);
    })();
    await session.train({ steps: 3, evalEvery: 0 });
    await iterated;
    expect(seen).toEqual([3, 4, 5]);
  });

  it('progress() goes on through a second train() that is refused while the run goes', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
    await stepReached(session, 2);
    const seen: number[] = [];
    let ended = false;
    const iterated = (async () => {
      for await (const p of session.progress()) seen.push(p.step);
      ended = true;
    })();
    expect((await rejectionOf(session.train({ steps: 3 }))).message).toMatch(/a run is already going/);
    const at = session.step;
    await stepReached(session, at + 3);
    expect(ended, 'progress() ended while the run went on').toBe(false);
    await session.stop();
    await run;
    await within(iterated, 5000, 'progress() after the run');
    expect(seen[seen.length - 1]).toBe(session.step);
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });
});
