// A TrainingSession's limits in Chromium, watched on the wire (the test gives the session its own
// Worker and counts the messages it posts):
// - generate() flow control: the worker runs at most READ_AHEAD = 64 pieces ahead of the reader,
//   so a reader that stalls piles nothing up (before: tens of thousands of pieces in a few
//   seconds), the text is the same stalled or not, return() ends the generation in the worker,
//   and an iterator dropped unfinished is cancelled once it is garbage-collected.
// - the start timeout: a worker that does not answer the hello (silent, or terminated by the
//   page) is a WorkerError after startTimeoutMs; a disposed session's worker is refused at once;
//   a worker script that posts its own message before importing lstm-wasm's worker works, whether
//   it imports that worker statically or by `await import()` (lstm-wasm's listener then comes
//   after a top-level await, and Chromium dispatches messages to the worker meanwhile).
// Chromium runs with --js-flags=--expose-gc, for window.gc(). A missing Chromium fails;
// LSTM_WASM_NO_BROWSER=1 skips on purpose.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES, collectProblems } from '../support/chromium';

const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
const TEXT = 'It was the best of times, it was the worst of times. '.repeat(60);
const SETTINGS = { hiddenSize: 16, embedDim: 8, batchSize: 4, seqLen: 16 };
/** The protocol's READ_AHEAD (ts/session/protocol.ts), and the slack allowed over it. */
const READ_AHEAD = 64;
const MAX_AHEAD = 70;

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>`;
/** A worker script that posts a message of its own before it imports lstm-wasm's worker. */
const FOREIGN_WORKER = `self.postMessage('ready');\nawait import('/dist/worker.js');\n`;
/** The same with static imports: the module that posts runs first, then lstm-wasm's worker. */
const FOREIGN_STATIC_WORKER = `import '/foreign-ready.js';\nimport '/dist/worker.js';\n`;
const APP = `
const TEXT = ${JSON.stringify(TEXT)};
const SETTINGS = ${JSON.stringify(SETTINGS)};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
/** Waits until cond() (true) or ms have passed (false). */
async function until(cond, ms) {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) return false;
    await sleep(10);
  }
  return true;
}
/** A worker from dist/ and what it posts: chunks counted by request id, replies by request id. */
function watched() {
  const worker = new Worker('/dist/worker.js', { type: 'module' });
  const chunks = new Map();
  const replies = new Map();
  worker.addEventListener('message', (e) => {
    const m = e.data;
    if (m === null || typeof m !== 'object' || typeof m.id !== 'number') return;
    if ('chunk' in m) chunks.set(m.id, (chunks.get(m.id) ?? 0) + 1);
    else if ('ok' in m) replies.set(m.id, { ok: m.ok, value: m.ok && m.value === null ? null : m.ok ? typeof m.value : m.error.message });
  });
  return { worker, chunks, replies, lastChunkId: () => Math.max(-1, ...chunks.keys()) };
}
/** The rejection of createTrainingSession(options), and how long it took (ms). */
async function openFailure(lw, options) {
  const t0 = performance.now();
  try {
    const session = await lw.createTrainingSession(options);
    await session.dispose();
    return { opened: true, ms: performance.now() - t0 };
  } catch (e) {
    return { opened: false, ms: performance.now() - t0, name: e?.name, message: String(e?.message), isWorkerError: e instanceof lw.WorkerError };
  }
}

const scenarios = {
  async stalled(lw) {
    const w = watched();
    const session = await lw.createTrainingSession({ text: TEXT, settings: SETTINGS, worker: w.worker });
    try {
      // The reference: the same generation read without a pause (201 pieces, then return()).
      let unstalled = '';
      let n = 0;
      for await (const piece of session.generate('And ', { length: 1_000_000, seed: 1 })) {
        unstalled += piece;
        if (++n === 201) break;
      }
      const unstalledId = w.lastChunkId();
      const unstalledEnded = await until(() => w.replies.has(unstalledId), 3000);
      // And a generation of just that length, read to its end.
      let short = '';
      for await (const piece of session.generate('And ', { length: 201, seed: 1 })) short += piece;

      const it = session.generate('And ', { length: 1_000_000, seed: 1 });
      const first = await it.next();
      const id = w.lastChunkId();
      let stalledText = first.value;
      await sleep(1000);
      const chunksAt1000 = w.chunks.get(id) ?? 0;
      await sleep(500);
      const chunksAt1500 = w.chunks.get(id) ?? 0;
      const repliedWhileStalled = w.replies.has(id);
      let read = 1;
      for (let i = 0; i < 200; i++) {
        const r = await it.next();
        if (r.done) break;
        stalledText += r.value;
        read++;
      }
      const chunksAfterReading = w.chunks.get(id) ?? 0;
      const t0 = performance.now();
      const returned = await it.return();
      const ended = await until(() => w.replies.has(id), 3000);
      const endMs = performance.now() - t0;
      const chunksAtEnd = w.chunks.get(id) ?? 0;
      await sleep(300);
      const chunksLater = w.chunks.get(id) ?? 0;
      return {
        unstalled, unstalledId, unstalledEnded, short, id, firstDone: first.done, stalledText, read, chunksAt1000, chunksAt1500,
        repliedWhileStalled, chunksAfterReading, returnedDone: returned.done, ended, endMs, reply: w.replies.get(id) ?? null,
        chunksAtEnd, chunksLater,
      };
    } finally {
      await session.dispose();
    }
  },

  async dropped(lw) {
    if (typeof window.gc !== 'function') throw new Error('window.gc is missing: Chromium was not started with --js-flags=--expose-gc');
    const w = watched();
    const session = await lw.createTrainingSession({ text: TEXT, settings: SETTINGS, worker: w.worker });
    try {
      // A generation still referenced: gc() must not end it.
      const kept = session.generate('The ', { length: 1_000_000, seed: 3 });
      await kept.next();
      const keptId = w.lastChunkId();
      // One read, then every reference dropped (the iterator lives only in this function).
      const startAndDrop = async () => {
        const dropped = session.generate('And ', { length: 1_000_000, seed: 2 });
        const r = await dropped.next();
        return typeof r.value;
      };
      const firstPiece = await startAndDrop();
      const id = w.lastChunkId();
      // Before any forced GC: the generation waits at the read-ahead limit, unanswered.
      await sleep(500);
      const chunksBeforeGc = w.chunks.get(id) ?? 0;
      const repliedBeforeGc = w.replies.has(id);
      const t0 = performance.now();
      let gcs = 0;
      while (!w.replies.has(id) && performance.now() - t0 < 5000) {
        window.gc();
        gcs++;
        await sleep(50);
      }
      const gcMs = performance.now() - t0;
      const reply = w.replies.get(id) ?? null;
      const chunksAtEnd = w.chunks.get(id) ?? 0;
      await sleep(300);
      const chunksLater = w.chunks.get(id) ?? 0;
      // The kept generation goes on: no reply, and 100 more pieces read.
      const keptRepliedAfterGc = w.replies.has(keptId);
      let keptRead = 1;
      for (let i = 0; i < 100; i++) {
        const r = await kept.next();
        if (r.done) break;
        keptRead++;
      }
      await kept.return();
      const keptEnded = await until(() => w.replies.has(keptId), 3000);
      return {
        firstPiece, id, keptId, chunksBeforeGc, repliedBeforeGc, gcs, gcMs, reply, chunksAtEnd, chunksLater, keptRepliedAfterGc, keptRead, keptEnded,
      };
    } finally {
      await session.dispose();
    }
  },

  async silent(lw) {
    const url = URL.createObjectURL(new Blob(['self.onmessage = () => {};'], { type: 'text/javascript' }));
    const silent = new Worker(url, { type: 'module' });
    return openFailure(lw, { text: TEXT, settings: SETTINGS, worker: silent, startTimeoutMs: 500 });
  },

  async terminated(lw) {
    const w = new Worker('/dist/worker.js', { type: 'module' });
    w.terminate();
    return openFailure(lw, { text: TEXT, settings: SETTINGS, worker: w, startTimeoutMs: 500 });
  },

  async disposed(lw) {
    const w = new Worker('/dist/worker.js', { type: 'module' });
    const first = await lw.createTrainingSession({ text: TEXT, settings: SETTINGS, worker: w });
    const vocabSize = first.info.vocabSize;
    await first.dispose();
    return { vocabSize, ...(await openFailure(lw, { text: TEXT, settings: SETTINGS, worker: w, startTimeoutMs: 500 })) };
  },

  // A worker script of the page's own: it posts a message of its own ('ready'), then loads
  // lstm-wasm's worker, by a static import (listening once the script has run) or by an awaited
  // dynamic import (the brief's script: lstm-wasm's listener comes after a top-level await).
  async foreignStatic(lw) {
    return foreign(lw, '/foreign-static-worker.js');
  },

  async foreignAwait(lw) {
    return foreign(lw, '/foreign-worker.js');
  },
};

async function foreign(lw, script) {
  const w = new Worker(script, { type: 'module' });
  const own = [];
  w.addEventListener('message', (e) => {
    if (typeof e.data === 'string') own.push(e.data);
  });
  // Not the default 30 s: a hello that is never answered fails the test in 10 s.
  const session = await lw.createTrainingSession({ text: TEXT, settings: SETTINGS, worker: w, startTimeoutMs: 10_000 });
  try {
    const threads = session.info.threads;
    let timer;
    const run = await Promise.race([
      session.train({ steps: 2, evalEvery: 0 }),
      new Promise((_, fail) => (timer = setTimeout(() => fail(new Error('train({ steps: 2 }) did not finish within 10 s (threads ' + threads + ')')), 10_000))),
    ]).finally(() => clearTimeout(timer));
    let pieces = 0;
    for await (const piece of session.generate('And ', { length: 10, seed: 1 })) pieces += typeof piece === 'string' ? 1 : 0;
    return { own, steps: run.steps, finalLoss: run.finalLoss, threads, step: session.step, pieces };
  } finally {
    await session.dispose();
  }
}

try {
  const lw = await import('/dist/index.js');
  const name = new URLSearchParams(location.search).get('scenario');
  window.result = { value: await scenarios[name](lw) };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
`;

function serve(): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const fixed: Record<string, [string, string]> = { '/': [PAGE, '.html'], '/app.js': [APP, '.js'], '/foreign-worker.js': [FOREIGN_WORKER, '.js'],
      '/foreign-static-worker.js': [FOREIGN_STATIC_WORKER, '.js'], '/foreign-ready.js': ["self.postMessage('ready');\n", '.js'],
    };
    if (fixed[path] !== undefined) {
      res.writeHead(200, { 'content-type': CONTENT_TYPES[fixed[path][1]]! }).end(fixed[path][0]);
      return;
    }
    const file = resolve(distDir, '.' + path.replace(/^\/dist\//, '/'));
    if (!path.startsWith('/dist/') || !file.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

interface Failure {
  opened: boolean;
  ms: number;
  name?: string;
  message?: string;
  isWorkerError?: boolean;
}

describe.skipIf(process.env.LSTM_WASM_NO_BROWSER === '1')('TrainingSession limits in Chromium', () => {
  let browser: Browser | undefined;
  let server: Server | undefined;

  beforeAll(async () => {
    if (!existsSync(resolve(distDir, 'worker.js'))) throw new Error('dist/worker.js is missing: run `npm run build` first');
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure.sh\`, set LSTM_WASM_CHROMIUM, or set LSTM_WASM_NO_BROWSER=1 to skip browser tests`);
    }
    server = await serve();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc'] });
  });

  afterAll(async () => {
    await browser?.close();
    if (server !== undefined) await new Promise<void>((done) => server!.close(() => done()));
  });

  /** Runs one scenario of APP in a new page; its value, after checking the page raised no error. */
  async function scenario<T>(name: string): Promise<T> {
    const page = await browser!.newPage();
    const problems = collectProblems(page);
    try {
      await page.goto(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/?scenario=${name}`);
      await page.waitForFunction(() => 'result' in window, null, { timeout: 40_000 });
      const result = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as { error?: string; value: T };
      expect(result.error, result.error).toBeUndefined();
      expect(problems).toEqual([]);
      console.log(`${name}:`, JSON.stringify(result.value, (k, v) => (typeof v === 'string' && v.length > 60 ? `${v.slice(0, 60)}... (${v.length} chars)` : v)));
      return result.value;
    } finally {
      await page.close();
    }
  }

  it('a stalled reader holds the worker at READ_AHEAD pieces; the text is the same; return() ends the generation', async () => {
    const r = await scenario<{
      unstalled: string; unstalledId: number; unstalledEnded: boolean; short: string; id: number; firstDone: boolean; stalledText: string;
      read: number; chunksAt1000: number; chunksAt1500: number; repliedWhileStalled: boolean; chunksAfterReading: number;
      returnedDone: boolean; ended: boolean; endMs: number; reply: { ok: boolean; value: unknown } | null; chunksAtEnd: number; chunksLater: number;
    }>('stalled');
    // The stall: one piece read, and the worker stopped at the read-ahead limit, not thousands on.
    expect(r.firstDone).toBe(false);
    expect(r.id).toBeGreaterThan(r.unstalledId);
    expect(r.chunksAt1000).toBeGreaterThanOrEqual(READ_AHEAD / 2);
    expect(r.chunksAt1000).toBeLessThanOrEqual(MAX_AHEAD);
    // Control: the count does not grow between two samples 500 ms apart (the worker waits).
    expect(r.chunksAt1500).toBe(r.chunksAt1000);
    expect(r.repliedWhileStalled).toBe(false);
    // Reading on: 200 more pieces arrive, and the counter sees them (it is no stuck count).
    expect(r.read).toBe(201);
    expect(r.chunksAfterReading).toBeGreaterThanOrEqual(201);
    expect(r.chunksAfterReading).toBeLessThanOrEqual(201 + MAX_AHEAD);
    // Flow control changes no text: stalled = unstalled = a generation of just that length.
    expect(r.unstalled).toHaveLength(201);
    expect(r.stalledText).toBe(r.unstalled);
    expect(r.short).toBe(r.unstalled);
    // return() cancels it in the worker: its request gets its final reply, and no chunk follows.
    expect(r.unstalledEnded).toBe(true);
    expect(r.returnedDone).toBe(true);
    expect(r.ended).toBe(true);
    expect(r.reply).toEqual({ ok: true, value: null });
    expect(r.chunksLater).toBe(r.chunksAtEnd);
  }, 30_000);

  it('an iterator dropped unfinished is cancelled in the worker once it is garbage-collected', async () => {
    const r = await scenario<{
      firstPiece: string; id: number; keptId: number; chunksBeforeGc: number; repliedBeforeGc: boolean; gcs: number; gcMs: number;
      reply: { ok: boolean; value: unknown } | null; chunksAtEnd: number; chunksLater: number; keptRepliedAfterGc: boolean; keptRead: number; keptEnded: boolean;
    }>('dropped');
    expect(r.firstPiece).toBe('string');
    expect(r.id).toBeGreaterThan(r.keptId);
    // Before gc(): the dropped generation waits at the read-ahead limit, not ended.
    expect(r.repliedBeforeGc).toBe(false);
    expect(r.chunksBeforeGc).toBeGreaterThanOrEqual(READ_AHEAD / 2);
    expect(r.chunksBeforeGc).toBeLessThanOrEqual(MAX_AHEAD);
    // After gc(): the FinalizationRegistry's cancel ended it, with its final reply.
    expect(r.reply).toEqual({ ok: true, value: null });
    expect(r.chunksAtEnd).toBeLessThanOrEqual(MAX_AHEAD);
    expect(r.chunksLater).toBe(r.chunksAtEnd);
    // A generation still referenced is left alone.
    expect(r.keptRepliedAfterGc).toBe(false);
    expect(r.keptRead).toBe(101);
    expect(r.keptEnded).toBe(true);
  }, 30_000);

  it.each([
    ['that never answers', 'silent'],
    ['the page terminated', 'terminated'],
  ])('a worker %s: WorkerError after startTimeoutMs', async (_, name) => {
    const r = await scenario<Failure>(name);
    expect(r.opened).toBe(false);
    expect(r.name).toBe('WorkerError');
    expect(r.isWorkerError).toBe(true);
    expect(r.message).toContain('did not answer within 500 ms');
    expect(r.ms).toBeGreaterThanOrEqual(400);
    expect(r.ms).toBeLessThan(3000);
  }, 30_000);

  it("a disposed session's worker: WorkerError at once, saying the worker has ended", async () => {
    const r = await scenario<Failure & { vocabSize: number }>('disposed');
    expect(r.vocabSize).toBeGreaterThan(0); // the first session did open on that worker
    expect(r.opened).toBe(false);
    expect(r.name).toBe('WorkerError');
    expect(r.isWorkerError).toBe(true);
    expect(r.message).toContain('the worker given has ended');
    expect(r.ms).toBeLessThan(100);
  }, 30_000);

  it.each([
    ['statically (listening once its script has run)', 'foreignStatic'],
    ['by `await import()` (listening only after a top-level await)', 'foreignAwait'],
  ])('a worker script that posts its own message, then imports the worker %s: the session opens and trains', async (_, name) => {
    const r = await scenario<{ own: string[]; steps: number; finalLoss: number; threads: number; step: number; pieces: number }>(name);
    expect(r.own).toContain('ready'); // the foreign message was posted, and reached the page
    expect(r.steps).toBe(2);
    expect(r.step).toBe(2);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(r.pieces).toBe(10);
  }, 30_000);
});
