// pause / resume / stop of a session's run, an AbortSignal, and time paused left out of timeMs.
import { afterEach, describe, expect, it } from 'vitest';
import { SMALL, corpusText, disposeAll, openSession, quiet, sleep, stepReached, within } from './session-kit';

afterEach(disposeAll);

/** A run far longer than any test: it ends by stop() or a signal. */
const ENDLESS = { steps: 1_000_000, evalEvery: 0 };

describe('TrainingSession pause, resume and stop', () => {
  it('pause() holds the step still; resume() continues; stop() ends the run with stoppedBy signal', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const run = quiet(session.train(ENDLESS));
    await stepReached(session, 3);
    const { step } = await session.pause();
    expect(step).toBeGreaterThanOrEqual(3);
    // The paused step's progress event arrives before pause() resolves.
    expect(session.step).toBe(step);
    await sleep(300);
    expect(session.step).toBe(step);
    // A second pause while paused answers at once with the same step.
    expect(await within(session.pause(), 2000, 'pause while paused')).toEqual({ step });
    await session.resume();
    await stepReached(session, step + 3);
    await session.stop();
    const result = await within(run, 2000, 'train after stop');
    expect(result.stoppedBy).toBe('signal');
    expect(result.steps).toBe(session.step);
    expect(result.steps).toBeGreaterThanOrEqual(step + 3);
    // The session trains again after a stop.
    expect((await session.train({ steps: 2, evalEvery: 0 })).steps).toBe(2);
  });

  it('stop() of a paused run ends it at once, without another step', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const run = quiet(session.train(ENDLESS));
    await stepReached(session, 2);
    const { step } = await session.pause();
    await session.stop();
    const result = await within(run, 2000, 'train after stop');
    expect(result).toMatchObject({ stoppedBy: 'signal', steps: step });
    expect(session.step).toBe(step);
  });

  it('an AbortSignal given to train() stops the run as stop() does', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const controller = new AbortController();
    const run = quiet(session.train({ ...ENDLESS, signal: controller.signal }));
    await stepReached(session, 3);
    controller.abort();
    const result = await within(run, 2000, 'train after abort');
    expect(result.stoppedBy).toBe('signal');
    expect(result.steps).toBeGreaterThanOrEqual(3);
    // A signal whose run has ended is let go: aborting it later does nothing to the next run.
    const finished = new AbortController();
    expect(await session.train({ steps: 2, evalEvery: 0, signal: finished.signal })).toMatchObject({ stoppedBy: 'steps', steps: 2 });
    const next = quiet(session.train(ENDLESS));
    await stepReached(session, session.step + 2);
    finished.abort();
    const at = session.step;
    await stepReached(session, at + 3);
    await session.stop();
    expect(await next).toMatchObject({ stoppedBy: 'signal' });
  });

  it('a signal already aborted stops the run before (or right after) its first step', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const result = await within(session.train({ steps: 500, evalEvery: 0, signal: AbortSignal.abort() }), 5000, 'train with an aborted signal');
    expect(result.stoppedBy).toBe('signal');
    expect(result.steps).toBeLessThanOrEqual(1);
  });

  it('pause, resume and stop outside a run are harmless', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    expect(await session.pause()).toEqual({ step: 0 });
    await session.resume();
    await session.stop();
    expect(await session.pause()).toEqual({ step: 0 });
    // A pause before the run does not leave the run paused.
    const result = await within(session.train({ steps: 4, evalEvery: 0 }), 5000, 'train after a pause outside a run');
    expect(result).toMatchObject({ stoppedBy: 'steps', steps: 4 });
    expect(await session.pause()).toEqual({ step: 4 });
    await session.stop();
    expect(await session.train({ steps: 1, evalEvery: 0 })).toMatchObject({ steps: 1 });
  });

  it('time paused does not count toward timeMs nor elapsedMs', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const t0 = performance.now();
    const run = quiet(session.train({ timeMs: 1500, evalEvery: 0 }));
    await sleep(400);
    await session.pause();
    const pausedAt = session.step;
    await sleep(1000);
    expect(session.step).toBe(pausedAt);
    await session.resume();
    const result = await run;
    const wall = performance.now() - t0;
    expect(result.stoppedBy).toBe('time');
    expect(wall).toBeGreaterThanOrEqual(2300);
    expect(result.elapsedMs).toBeLessThan(1800);
    expect(result.elapsedMs).toBeGreaterThan(1000);
    expect(result.steps).toBeGreaterThan(pausedAt); // it trained after resuming
  });
});
