/**
 * Helpers for the TrainingSession tests. They import the BUILT package (dist/index.js), because a
 * session starts dist/worker.js beside it; a missing build fails with a message saying so.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createTrainingSession, decodeCheckpoint, type TrainingSession, type TrainingSessionOptions } from '../../dist/index.js';
import { CLI, runCli, type CliRun } from '../support/cli';
import { expectSameBits } from '../support/bits';

export const DIST_INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
export const DIST_WORKER = fileURLToPath(new URL('../../dist/worker.js', import.meta.url));
const CORPUS = fileURLToPath(new URL('../../corpus/kjv.txt.gz', import.meta.url));

for (const f of [DIST_INDEX, DIST_WORKER, CLI]) {
  if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build (the session tests run the built package and its worker)`);
}

let corpus: string | null = null;

/** The bundled corpus, gunzipped (4.2 MB). */
export function fullCorpus(): string {
  corpus ??= gunzipSync(readFileSync(CORPUS)).toString('utf8');
  return corpus;
}

/** A slice of the corpus: real text, small enough for quick sessions. */
export function corpusText(chars = 40_000): string {
  return fullCorpus().slice(0, chars);
}

/** Small settings: a session opens in ~0.1 s and a step takes a few ms. */
export const SMALL = { hiddenSize: 16, embedDim: 8, batchSize: 4, seqLen: 16 } as const;

/** Sessions a test opened, disposed by `disposeAll` (in afterEach) so no worker keeps vitest alive. */
const open = new Set<TrainingSession>();

export async function openSession(options: TrainingSessionOptions): Promise<TrainingSession> {
  const s = await createTrainingSession(options);
  open.add(s);
  return s;
}

export async function disposeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(all.map((s) => s.dispose()));
}

/**
 * Workers a test file starts itself: the package's worker entry, or a script of the test's own
 * written to a scratch folder (named from `prefix`). Call once at the top of the file: it registers
 * the hooks that dispose the sessions and terminate the workers after each test, and remove the
 * folder after the file.
 */
export function testWorkers(prefix: string): { packageWorker(): Worker; scriptWorker(name: string, source: string): Worker } {
  let dir = '';
  const workers: Worker[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await disposeAll();
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });
  const started = (worker: Worker): Worker => {
    workers.push(worker);
    return worker;
  };
  return {
    packageWorker: () => started(new Worker(pathToFileURL(DIST_WORKER))),
    scriptWorker(name, source) {
      const file = join(dir, name);
      writeFileSync(file, source);
      return started(new Worker(pathToFileURL(file)));
    },
  };
}

/** A promise of `worker`'s exit code. */
export function exitOf(worker: Worker): Promise<number> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

/** `e` is a `Class` whose message matches `message` (the failure names the error it got). */
export function expectError(e: Error, Class: new (m: string) => Error, message: RegExp): void {
  expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(Class);
  expect(e.message).toMatch(message);
}

/** The error `f` throws in this thread. */
export function thrownBy(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** The rejection of `p`, or a failure if it resolves or takes longer than `ms`. */
export async function rejectionOf(p: Promise<unknown>, ms = 10_000): Promise<Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  try {
    await Promise.race([p, timeout]);
  } catch (e) {
    if (e instanceof Error && /^still pending after/.test(e.message)) throw e;
    return e as Error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a rejection, but it resolved');
}

/** `p`, or a failure after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the session's step reaches `step` (via its progress events). */
export function stepReached(session: TrainingSession, step: number, ms = 20_000): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (session.step >= step) return resolve();
      const off = session.on('progress', (p) => {
        if (p.step >= step) {
          off();
          resolve();
        }
      });
    }),
    ms,
    `step ${step}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** All pieces of a generate stream, joined, with their count. */
export async function generated(session: TrainingSession, prime: string, options: Parameters<TrainingSession['generate']>[1]): Promise<{ text: string; pieces: number }> {
  let text = '';
  let pieces = 0;
  for await (const piece of session.generate(prime, options)) {
    text += piece;
    pieces++;
  }
  return { text, pieces };
}

/** `lstm-wasm ...args` in `cwd`. */
export const cli = (args: string[], cwd: string): Promise<CliRun> => runCli(args, { cwd });

/** A checkpoint's parameters, Adam buffers and step, for exact comparison. */
export function trainingState(bytes: Uint8Array): {
  step: number; params: Record<string, Float32Array>; adam: (Float32Array[] | null)[]; state: Float32Array[] | null; losses: number[];
} {
  const ck = decodeCheckpoint(bytes);
  if (ck.meta.trainer === null || ck.trainer === null) throw new Error('checkpoint has no training state');
  const params: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(ck.params)) params[name] = t.data;
  const state = ck.trainer.state?.map((t) => t.data) ?? null;
  return { step: ck.meta.trainer.step, params, adam: ck.trainer.optimizer, state, losses: ck.meta.trainer.losses };
}

/** `p` with a no-op handler attached, so a test that fails before awaiting it reports no unhandled rejection. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Two checkpoints hold the same training state: step, every parameter, Adam's m and v, the carried state. */
export function expectSameTraining(a: Uint8Array, b: Uint8Array): void {
  const x = trainingState(a);
  const y = trainingState(b);
  expect(x.step).toBe(y.step);
  expect(Object.keys(x.params).sort()).toEqual(Object.keys(y.params).sort());
  for (const name of Object.keys(x.params)) expectSameBits(x.params[name], y.params[name], `parameter ${name}`);
  expect(x.adam.length).toBe(y.adam.length);
  x.adam.forEach((bufs, i) => {
    expect(bufs === null, `Adam buffers of parameter ${i}`).toBe(y.adam[i] === null);
    bufs?.forEach((buf, j) => expectSameBits(buf, y.adam[i]![j], `Adam buffer ${j} of parameter ${i}`));
  });
  expect(x.state === null).toBe(y.state === null);
  x.state?.forEach((s, k) => expectSameBits(s, y.state![k], `carried state ${k}`));
  expect(x.losses).toEqual(y.losses);
}

/** Byte arrays equal (Buffer.compare: far quicker than toEqual on checkpoint-sized arrays). */
export function expectSameBytes(a: Uint8Array, b: Uint8Array, what = 'bytes'): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  expect(Buffer.compare(a, b), `${what} differ`).toBe(0);
}
