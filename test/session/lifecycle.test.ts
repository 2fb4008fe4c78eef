// The worker's life: one that dies (terminated from outside, or a script that fails or exits)
// rejects every pending and later call with a WorkerError; dispose() rejects pending calls with a
// DisposedError and ends the thread; checkpoint bytes arrive as whole buffers of their own.
import { describe, expect, it } from 'vitest';
import { DisposedError, WorkerError, createTrainingSession, type TrainingSession } from '../../dist/index.js';
import { SMALL, corpusText, exitOf, generated, openSession, quiet, rejectionOf, stepReached, testWorkers, within, expectSameBytes } from './session-kit';

const { packageWorker, scriptWorker } = testWorkers('lstm-wasm-session-workers-');

/** Starts an endless run and a long generation that has streamed at least one piece; both still pending. */
async function busy(session: TrainingSession): Promise<{ run: Promise<unknown>; generation: Promise<number> }> {
  const run = quiet(session.train({ steps: 1_000_000, evalEvery: 0 }));
  await stepReached(session, 2);
  let pieces = 0;
  let started!: () => void;
  const streaming = new Promise<void>((resolve) => (started = resolve));
  const generation = quiet((async () => {
    for await (const piece of session.generate('', { length: 10_000_000, seed: 1 })) {
      void piece;
      if (++pieces === 1) started();
    }
    return pieces;
  })());
  await within(streaming, 10_000, 'the first piece');
  return { run, generation };
}

function expectWorkerError(e: Error): void {
  expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(WorkerError);
  expect(e.name).toBe('WorkerError');
  expect(e.message).toMatch(/the training worker exited \(code \d+\); this session is closed/);
}

describe('a TrainingSession whose worker dies', () => {
  it('rejects every pending call, and every later one, with a WorkerError', async () => {
    const worker = packageWorker();
    const exited = exitOf(worker);
    const session = await openSession({ text: corpusText(), settings: SMALL, worker });
    const { run, generation } = await busy(session);
    const progressEnded = (async () => {
      for await (const p of session.progress()) void p;
    })();
    const evaluation = quiet(session.evaluate(corpusText(200_000)));
    await worker.terminate();
    await within(exited, 5000, "the worker's exit");

    expectWorkerError(await rejectionOf(run, 5000));
    expectWorkerError(await rejectionOf(generation, 5000));
    // evaluate() may have been answered before the worker died; if not, it was rejected the same way.
    await within(evaluation.then(() => undefined, expectWorkerError), 5000, 'evaluate');
    await within(progressEnded, 5000, 'progress() after the death'); // ends, no error
    expectWorkerError(session.closedReason!);

    expectWorkerError(await rejectionOf(session.checkpoint(), 1000));
    expectWorkerError(await rejectionOf(session.train({ steps: 1 }), 1000));
    expectWorkerError(await rejectionOf(session.pause(), 1000));
    expectWorkerError(await rejectionOf(session.evaluate('some text'), 1000));
    expectWorkerError(await rejectionOf(generated(session, 'And ', { length: 5 }), 1000));
    await within(session.dispose(), 5000, 'dispose after the death');
  });

  it('a worker script that throws at top level makes createTrainingSession reject with a WorkerError', async () => {
    const worker = scriptWorker('throws.mjs', "throw new Error('boom at the top level of the worker');\n");
    const e = await rejectionOf(createTrainingSession({ text: corpusText(), settings: SMALL, worker }), 10_000);
    expect(e).toBeInstanceOf(WorkerError);
    expect(e.message).toMatch(/the training worker failed: Error: boom at the top level of the worker/);
  });

  it('a worker that exits (or is not an lstm-wasm worker and just ends) makes createTrainingSession reject with a WorkerError', async () => {
    const exits = scriptWorker('exits.mjs', 'process.exit(3);\n');
    const e = await rejectionOf(createTrainingSession({ text: corpusText(), worker: exits }), 10_000);
    expect(e).toBeInstanceOf(WorkerError);
    expect(e.message).toMatch(/exited \(code 3\)/);
    const ends = scriptWorker('ends.mjs', '// not a training worker: nothing keeps it alive\n');
    const e2 = await rejectionOf(createTrainingSession({ text: corpusText(), worker: ends }), 10_000);
    expect(e2).toBeInstanceOf(WorkerError);
    expect(e2.message).toMatch(/exited \(code 0\)/);
  });
});

describe('TrainingSession.dispose', () => {
  it('rejects pending calls with a DisposedError, ends the worker thread, and can be called twice', async () => {
    const worker = packageWorker();
    const exited = exitOf(worker);
    const session = await openSession({ text: corpusText(), settings: SMALL, worker });
    const { run, generation } = await busy(session);
    const disposed = session.dispose();
    for (const p of [run, generation]) {
      const e = await rejectionOf(p, 5000);
      expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(DisposedError);
      expect(e.message).toBe('TrainingSession: the session was disposed');
    }
    await within(disposed, 5000, 'dispose');
    expect(typeof (await within(exited, 5000, "the worker's exit"))).toBe('number');
    await within(session.dispose(), 1000, 'a second dispose');
    // Disposed, not dead: the reason stays a DisposedError though the worker's exit followed.
    expect(session.closedReason).toBeInstanceOf(DisposedError);
    expect(await rejectionOf(session.checkpoint(), 1000)).toBeInstanceOf(DisposedError);
    expect(await rejectionOf(session.train({ steps: 1 }), 1000)).toBeInstanceOf(DisposedError);
    expect(await rejectionOf(generated(session, '', { length: 3 }), 1000)).toBeInstanceOf(DisposedError);
  });

  it('of an idle session (its own worker) resolves, twice at once', async () => {
    const session = await createTrainingSession({ text: corpusText(), settings: SMALL });
    await within(Promise.all([session.dispose(), session.dispose()]), 5000, 'two disposes');
    expect(session.closedReason).toBeInstanceOf(DisposedError);
  });
});

describe('TrainingSession checkpoint bytes', () => {
  it('are a Uint8Array owning its whole buffer; five in a row without training are identical', async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    await session.train({ steps: 3, evalEvery: 0 });
    const all: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) all.push(await session.checkpoint());
    for (const bytes of all) {
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(bytes.length);
      expectSameBytes(bytes, all[0]);
    }
    expect(new Set(all.map((b) => b.buffer)).size).toBe(5); // each its own buffer
    // Writing into one changes neither the others nor the next checkpoint.
    all[1].fill(0);
    expectSameBytes(all[2], all[0]);
    expectSameBytes(await session.checkpoint(), all[0]);
  });

  it("the caller's bytes stay usable (copied to the worker, not transferred); a view into a larger buffer works", async () => {
    const session = await openSession({ text: corpusText(), settings: SMALL });
    await session.train({ steps: 2, evalEvery: 0 });
    const bytes = await session.checkpoint();
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 8);
    const view = padded.subarray(8, 8 + bytes.length);
    const loaded = await openSession({ checkpoint: view });
    expect(view.length).toBe(bytes.length);
    expectSameBytes(view, bytes);
    const back = await loaded.checkpoint();
    expectSameBytes(back, bytes);
    expect(back.byteOffset).toBe(0);
    expect(back.buffer.byteLength).toBe(back.length);

    const text = new TextEncoder().encode(corpusText());
    const fromBytes = await openSession({ text, checkpoint: bytes.buffer as ArrayBuffer });
    expect(text.length).toBe(corpusText().length); // ASCII corpus: one byte per char
    expect(fromBytes.info.step).toBe(2);
    expect(bytes.buffer.byteLength).toBe(bytes.length); // not detached
  });
});
