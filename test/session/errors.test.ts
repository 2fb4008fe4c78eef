// Errors thrown in the worker arrive as the same classes, with the same name and message (and the
// worker's stack, marked), and leave the session usable; bad options are refused on this side.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FormatError, LstmWasmError, SettingError, ValueError, checkTrainingSettings, createTrainingSession, decodeCheckpoint, decodeTrainingText, init,
} from '../../dist/index.js';
import { SMALL, corpusText, disposeAll, generated, openSession, quiet, rejectionOf, stepReached, thrownBy, within, expectSameBytes } from './session-kit';

beforeAll(() => init());
afterEach(disposeAll);

const WORKER_MARK = '(thrown in an lstm-wasm worker)';

/** `e` is an instance of `Class` with `Class`'s name, the message `message` (or matching it), thrown in the worker. */
function expectFromWorker(e: Error, Class: new (m: string) => Error, message: string | RegExp): void {
  expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(Class);
  expect(e).toBeInstanceOf(LstmWasmError);
  expect(e.name).toBe(Class.name);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  expect(e.stack).toContain(WORKER_MARK);
}

/** `e` is an instance of `Class` with the message `message` (or matching it), thrown on this side: the worker never saw the call. */
function expectLocal(e: Error, Class: new (m: string) => Error, message: string | RegExp): void {
  expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(Class);
  expect(e.name).toBe(Class.name);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  expect(e.stack).not.toContain(WORKER_MARK);
}

/** A small session's checkpoint after a few steps. */
async function smallCheckpoint(): Promise<Uint8Array> {
  const s = await openSession({ text: corpusText(), settings: SMALL });
  await s.train({ steps: 3, evalEvery: 0 });
  const bytes = await s.checkpoint();
  await s.dispose();
  return bytes;
}

describe('TrainingSession errors', () => {
  it('train({ steps: 0 }) is a ValueError on this side (the run limits LMTrainer.run checks), and the session still trains', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    expectLocal(await rejectionOf(session.train({ steps: 0 })), ValueError, 'TrainingSession.train: steps must be a positive number, got 0');
    expectLocal(await rejectionOf(session.train({})), ValueError, 'TrainingSession.train: give at least one of steps, epochs, timeMs');
    expect(await session.train({ steps: 2, evalEvery: 0 })).toMatchObject({ steps: 2 });
  });

  it("an unknown settings key is a ValueError naming the setting it looks like ('hidden_size': hiddenSize)", async () => {
    const settings = { hidden_size: 16 } as unknown as Record<string, number>;
    const local = thrownBy(() => checkTrainingSettings(settings, 'createTrainingSession: settings'));
    const e = await rejectionOf(createTrainingSession({ text: corpusText(), settings }));
    expectLocal(e, ValueError, local.message);
    expect(e.message).toMatch(/'hidden_size'.*hiddenSize/);
    const range = await rejectionOf(createTrainingSession({ text: corpusText(), settings: { hiddenSize: 0 } }));
    // A setting out of range is a SettingError (a ValueError) carrying the setting's name as data.
    expectLocal(range, SettingError, 'createTrainingSession: settings: hiddenSize must be an integer in [1, 8192], got 0');
    expect(range).toBeInstanceOf(ValueError);
    expect((range as SettingError).settings).toEqual(['hiddenSize']);
  });

  it('corrupt checkpoint bytes are a FormatError with the message decodeCheckpoint gives', async () => {
    const good = await smallCheckpoint();
    const flipped = good.slice();
    flipped[flipped.length - 5] ^= 0x40; // in the last tensor's data: the checksum catches it
    const garbage = new Uint8Array(100).fill(7);
    for (const bytes of [flipped, garbage, good.subarray(0, good.length >> 1)]) {
      const local = thrownBy(() => decodeCheckpoint(bytes));
      expect(local).toBeInstanceOf(FormatError);
      expectFromWorker(await rejectionOf(createTrainingSession({ checkpoint: bytes })), FormatError, local.message);
      expectFromWorker(await rejectionOf(createTrainingSession({ text: corpusText(), checkpoint: bytes })), FormatError, local.message);
    }
    expect(thrownBy(() => decodeCheckpoint(flipped)).message).toMatch(/checksum/);
  });

  it('binary, non-UTF-8, empty and blank texts are FormatErrors (bytes from the worker, strings on this side)', async () => {
    const cases: (string | Uint8Array)[] = [
      Uint8Array.from([0x41, 0x42, 0, 0x43, 0x0a]), // NUL: binary
      Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), // Latin-1, not UTF-8
      new Uint8Array(0),
      '',
      '  \n\t ',
    ];
    for (const text of cases) {
      const local = thrownBy(() => decodeTrainingText(typeof text === 'string' ? new TextEncoder().encode(text) : text));
      const e = await rejectionOf(createTrainingSession({ text, settings: SMALL }));
      if (typeof text === 'string') expectLocal(e, FormatError, local.message);
      else expectFromWorker(e, FormatError, local.message);
    }
    expect(thrownBy(() => decodeTrainingText(Uint8Array.of(0x41, 0))).message).toMatch(/binary/);
    // An ArrayBuffer is read as UTF-8 bytes too.
    expectFromWorker(await rejectionOf(createTrainingSession({ text: new ArrayBuffer(0) })), FormatError, 'file is empty');
  });

  it('a text too short for one window is a ValueError saying what to change', async () => {
    const e = await rejectionOf(createTrainingSession({ text: 'In the beginning', settings: SMALL }));
    expectFromWorker(e, SettingError, /use a longer text or a smaller batchSize\/seqLen$/);
    expect(e).toBeInstanceOf(ValueError);
  });

  it('a session from a checkpoint without text cannot train (ValueError); it generates, evaluates and checkpoints', async () => {
    const bytes = await smallCheckpoint();
    const session = await openSession({ checkpoint: bytes });
    expect(session.info).toMatchObject({ canTrain: false, step: 3, trainTokens: 0, stepsPerEpoch: 0 });
    expectFromWorker(await rejectionOf(session.train({ steps: 1 })), ValueError, /opened from a checkpoint without text/);
    expect((await session.evaluate(corpusText(2000))).tokens).toBe(1999);
    expect((await generated(session, 'And ', { length: 5, seed: 1 })).pieces).toBe(5);
    expect(await session.pause()).toEqual({ step: 3 });
    expectSameBytes(await session.checkpoint(), bytes);
  });

  it('a second train() during a run is a ValueError; the first run goes on', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
    await stepReached(session, 2);
    expectFromWorker(await rejectionOf(session.train({ steps: 5 })), ValueError, /a run is already going/);
    // Refused, its signal (aborted already) is not the run's: the run goes on.
    expectFromWorker(await rejectionOf(session.train({ steps: 5, signal: AbortSignal.abort() })), ValueError, /a run is already going/);
    const at = session.step;
    await stepReached(session, at + 2);
    await session.stop();
    expect(await within(run, 5000, 'the first run')).toMatchObject({ stoppedBy: 'signal' });
  });

  it('a session with neither text nor checkpoint is a ValueError', async () => {
    expectLocal(
      await rejectionOf(createTrainingSession({})), ValueError,
      'createTrainingSession: give a text to train on, a checkpoint, or both (to resume training)',
    );
  });

  it("resuming with other text, or settings that contradict the checkpoint's, is refused", async () => {
    const bytes = await smallCheckpoint();
    expectFromWorker(
      await rejectionOf(createTrainingSession({ text: corpusText(30_000), checkpoint: bytes })),
      FormatError, /the checkpoint was trained on other text/,
    );
    expectFromWorker(
      await rejectionOf(createTrainingSession({ text: corpusText(), checkpoint: bytes, settings: { hiddenSize: 32 } })),
      ValueError, /settings\.hiddenSize 32 does not match the checkpoint \(trained with 16\)/,
    );
    // Settings that agree with it are fine.
    const s = await openSession({ text: corpusText(), checkpoint: bytes, settings: { hiddenSize: 16 } });
    expect(s.info.step).toBe(3);
  });

  it('evaluate() of too little text, and bad options, are ValueErrors', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    expectFromWorker(await rejectionOf(session.evaluate('A')), ValueError, /has 1 token\(s\); need at least 2/);
    expectLocal(await rejectionOf(session.evaluate(corpusText(500), { maxTokens: 1 })), ValueError, /maxTokens must be an integer >= 2/);
    expectFromWorker(await rejectionOf(session.evaluate('')), FormatError, 'file is empty');
  });

  it('misspelled or mistyped options are refused on this side, before the worker sees them', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    const local = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
      const e = await rejectionOf(p);
      expect(e).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(message);
      expect(e.stack).not.toContain(WORKER_MARK);
    };
    await local(session.train({ step: 5 } as never), /TrainingSession\.train: unknown option 'step' \(did you mean steps\?\)/);
    await local(session.train({ steps: 5, onProgress: 3 as never }), /onProgress must be a function/);
    await local(session.evaluate(42 as never), /text must be a string or UTF-8 bytes, got 42/);
    await local((async () => session.generate(7 as never).next())(), /prime must be a string, got 7/);
    await local(createTrainingSession({ text: 5 as never }), /text must be a string, a Uint8Array or an ArrayBuffer/);
    await local(createTrainingSession({ text: 'x', worker: {} as never }), /worker must be a Worker/);
    expect(() => session.on('step' as never, () => undefined)).toThrow(ValueError);
    // None of that hurt the session.
    expect(await session.train({ steps: 1, evalEvery: 0 })).toMatchObject({ steps: 1 });
  });
});
