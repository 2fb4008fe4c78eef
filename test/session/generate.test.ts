// Streaming generation from a session: pieces, determinism by seed, generation during a run (from
// a snapshot of the weights), and leaving the loop early.
import { afterEach, describe, expect, it } from 'vitest';
import { SMALL, corpusText, disposeAll, generated, openSession, quiet, stepReached, within, expectSameBytes } from './session-kit';

afterEach(disposeAll);

describe('TrainingSession.generate', () => {
  it('streams one piece per token; the same seed gives the same text, another seed other text', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    await session.train({ steps: 15, evalEvery: 0 });
    const a = await generated(session, 'And ', { length: 40, seed: 3 });
    expect(a.pieces).toBe(40); // char level: one character per piece
    expect(a.text).toHaveLength(40);
    expect(await generated(session, 'And ', { length: 40, seed: 3 })).toEqual(a);
    expect((await generated(session, 'And ', { length: 40, seed: 4 })).text).not.toBe(a.text);
    // Generation changes nothing training depends on: the checkpoint is the same before and after.
    const before = await session.checkpoint();
    await generated(session, '', { length: 30, seed: 1, temperature: 0.7, topK: 5 });
    expectSameBytes(await session.checkpoint(), before);
  });

  it('works during a run: training goes on while it streams', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
    await stepReached(session, 3);
    const stepsSeen: number[] = [];
    const off = session.on('progress', (p) => stepsSeen.push(p.step));
    let pieces = 0;
    for await (const piece of session.generate('And ', { length: 400, seed: 2 })) {
      expect(typeof piece).toBe('string');
      pieces++;
    }
    off();
    expect(pieces).toBe(400);
    // Steps went on between the pieces (the worker yields to its event loop every few tokens).
    expect(stepsSeen.length).toBeGreaterThan(0);
    await stepReached(session, session.step + 2);
    await session.stop();
    expect((await run).stoppedBy).toBe('signal');
  });

  it("paused, the same seed gives the same text, equal to a new session's from the paused checkpoint", async () => {
    const text = corpusText();
    const session = await openSession({ text, settings: SMALL });
    const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
    await stepReached(session, 10);
    const { step } = await session.pause();
    const ck = await session.checkpoint();
    const first = await generated(session, 'The ', { length: 60, seed: 5 });
    expect(await generated(session, 'The ', { length: 60, seed: 5 })).toEqual(first);
    await session.stop();
    await run;
    // From the checkpoint alone (generation only), and with the text (a trainable session).
    const loaded = await openSession({ checkpoint: ck });
    expect(loaded.info.canTrain).toBe(false);
    expect(await generated(loaded, 'The ', { length: 60, seed: 5 })).toEqual(first);
    const resumed = await openSession({ text, checkpoint: ck });
    expect(await generated(resumed, 'The ', { length: 60, seed: 5 })).toEqual(first);
    // stop() of a paused run runs no step: the first session still has the checkpoint's weights.
    expect(session.step).toBe(step);
    expect(await generated(session, 'The ', { length: 60, seed: 5 })).toEqual(first);
  });

  it('a generation started during a run uses the weights of the moment it started', async () => {
    // Paused at step s: start a long generation, resume training while it streams; its text must
    // equal the text generated at step s from the checkpoint, though the weights change meanwhile.
    const text = corpusText();
    const session = await openSession({ text, settings: SMALL });
    const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
    await stepReached(session, 5);
    const { step } = await session.pause();
    const ck = await session.checkpoint();
    const stream = session.generate('And ', { length: 1500, seed: 9 });
    let out = '';
    const first = await stream.next(); // the generate request has been handled: its snapshot is taken
    out += first.value ?? '';
    const stepsDuring: number[] = [];
    const off = session.on('progress', (p) => stepsDuring.push(p.step));
    await session.resume();
    for await (const piece of stream) out += piece;
    off();
    expect(stepsDuring.length, 'steps trained while the generation streamed').toBeGreaterThan(0);
    await stepReached(session, step + 3);
    await session.stop();
    await run;
    expect(session.step).toBeGreaterThan(step);
    const loaded = await openSession({ checkpoint: ck });
    expect(out).toBe((await generated(loaded, 'And ', { length: 1500, seed: 9 })).text);
  });

  it('leaving the loop early (break or a signal) ends the stream quietly; the session stays usable', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    await session.train({ steps: 5, evalEvery: 0 });
    let pieces = 0;
    const loop = async (): Promise<void> => {
      for await (const piece of session.generate('', { length: 1_000_000, seed: 1 })) {
        expect(piece.length).toBeGreaterThan(0);
        if (++pieces === 3) break;
      }
    };
    await within(loop(), 5000, 'a generation left after 3 pieces');
    expect(pieces).toBe(3);

    const controller = new AbortController();
    let signalled = 0;
    for await (const piece of session.generate('', { length: 1_000_000, seed: 1, signal: controller.signal })) {
      void piece;
      if (++signalled === 4) controller.abort();
    }
    expect(signalled).toBe(4);

    // Still usable: generate, train, evaluate, checkpoint.
    expect((await generated(session, 'And ', { length: 10, seed: 1 })).pieces).toBe(10);
    expect(await session.train({ steps: 3, evalEvery: 0 })).toMatchObject({ steps: 3, stoppedBy: 'steps' });
    expect((await session.evaluate(corpusText(3000))).tokens).toBe(2999);
    expect((await session.checkpoint()).length).toBeGreaterThan(0);
  });
});
