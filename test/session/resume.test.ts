// A session's checkpoint resumes exactly: B (K steps) -> checkpoint -> C (K more) ends where A (2K
// steps in one go) ends, bit for bit, with the same losses; and so does a checkpoint taken between
// two steps of a running run. Dropout is on, so the dropout stream must resume exactly too.
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainProgress } from '../../dist/index.js';
import { SMALL, corpusText, disposeAll, expectSameTraining, openSession, quiet, stepReached, trainingState, within, expectSameBytes } from './session-kit';

afterEach(disposeAll);

const K = 12;
const SETTINGS = { ...SMALL, dropout: 0.1 };

/** Training losses by step (the validation events left out). */
function lossesOf(events: TrainProgress[]): Map<number, number> {
  return new Map(events.filter((p) => !p.evaluated).map((p) => [p.step, p.loss]));
}

describe('TrainingSession resumes exactly', () => {
  it('K steps, checkpoint, a new session from { text, checkpoint }, K more steps == 2K steps in one session', async () => {
    const text = corpusText();
    const aEvents: TrainProgress[] = [];
    const a = await openSession({ text, settings: SETTINGS });
    const aResult = await a.train({ steps: 2 * K, evalEvery: 5, onProgress: (p) => aEvents.push(p) });
    const aCk = await a.checkpoint();

    const bEvents: TrainProgress[] = [];
    const b = await openSession({ text, settings: SETTINGS });
    await b.train({ steps: K, evalEvery: 5, onProgress: (p) => bEvents.push(p) });
    const bCk = await b.checkpoint();
    await b.dispose();

    const cEvents: TrainProgress[] = [];
    const c = await openSession({ text, checkpoint: bCk });
    expect(c.info.step).toBe(K);
    expect(c.info.settings).toEqual(a.info.settings);
    const cResult = await c.train({ steps: K, evalEvery: 5, onProgress: (p) => cEvents.push(p) });
    expect(cEvents.filter((p) => !p.evaluated).map((p) => p.step)).toEqual(Array.from({ length: K }, (_, i) => K + i + 1));

    expectSameTraining(await c.checkpoint(), aCk);
    expect(cResult.finalLoss).toBe(aResult.finalLoss);
    const aLoss = lossesOf(aEvents);
    for (const [step, loss] of [...lossesOf(bEvents), ...lossesOf(cEvents)]) expect(loss, `loss at step ${step}`).toBe(aLoss.get(step));
    // Validation losses too (A validated at 5, 10, 15, 20, 24; B at 5, 10, 12; C at 15, 20, 24).
    const aVal = new Map(aEvents.filter((p) => p.evaluated).map((p) => [p.step, p.valLoss]));
    for (const p of cEvents.filter((e) => e.evaluated)) expect(p.valLoss, `validation at step ${p.step}`).toBe(aVal.get(p.step));
  });

  it('a checkpoint taken between two steps of a running run resumes exactly', async () => {
    const text = corpusText();
    const a = await openSession({ text, settings: SETTINGS });
    const run = quiet(a.train({ steps: 2 * K, evalEvery: 0 }));
    await stepReached(a, 4);
    const mid = await a.checkpoint(); // no pause: answered between two steps
    const result = await within(run, 20_000, 'the run');
    expect(result.steps).toBe(2 * K);
    const s = trainingState(mid).step;
    expect(s).toBeGreaterThanOrEqual(4);
    expect(s).toBeLessThan(2 * K);
    const aCk = await a.checkpoint();

    const c = await openSession({ text, checkpoint: mid });
    expect(c.info.step).toBe(s);
    await c.train({ steps: 2 * K - s, evalEvery: 0 });
    expectSameTraining(await c.checkpoint(), aCk);
  });

  it('a checkpoint of a paused run is the state at the step pause() reports, and resumes exactly', async () => {
    const text = corpusText();
    const a = await openSession({ text, settings: SETTINGS });
    const run = quiet(a.train({ steps: 2 * K, evalEvery: 0 }));
    await stepReached(a, 3);
    const { step } = await a.pause();
    const paused = await a.checkpoint();
    expect(trainingState(paused).step).toBe(step);
    expectSameBytes(await a.checkpoint(), paused);
    await a.resume();
    await run;
    const c = await openSession({ text, checkpoint: paused });
    await c.train({ steps: 2 * K - step, evalEvery: 0 });
    expectSameTraining(await c.checkpoint(), await a.checkpoint());
  });
});
