// The browser app (examples/browser) in Debian's Chromium, headless, driven by playwright-core.
// beforeAll builds it as `npm run demo:build` does (Vite, against the package through
// examples/browser/node_modules/lstm-wasm -> this repository) and serves examples/browser/dist from
// node:http on 127.0.0.1 with the COOP/COEP headers of `npm run demo`. The tests share one page and
// run in order: the pretrained model at once, train a new model, stream, reload, bad input,
// checkpoints to and from the CLI, Train with another text than the model's, then fine-tuning the
// pretrained model on a dropped text.
//
// Responsiveness is measured three ways over 20 s of training. In the page, from before the app
// starts (addInitScript): a PerformanceObserver for 'longtask' (Chromium reports every main-thread
// task over 50 ms of wall time) and a requestAnimationFrame loop recording the gaps between frames.
// And a Chromium trace of the same window, which gives each main-thread task's CPU time: that is
// what the test holds under 50 ms. Wall time alone is not the app's to hold: on a 2-core machine the
// worker trains on one core, and Chromium's other threads and processes, and other test files,
// share the other, so a task with a few ms of work is sometimes descheduled for 50-120 ms (traces
// show such tasks at 0.5-9 ms of CPU). Those long tasks are counted and reported, not failed.
//
// Needs `npm run build` and /usr/bin/chromium; a missing Chromium fails this file,
// LSTM_WASM_NO_BROWSER=1 skips it on purpose.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, dequantize, encodeCheckpoint, init, modelFromCheckpoint } from 'lstm-wasm';
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES, collectProblems } from '../support/chromium';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const appDist = join(repoRoot, 'examples', 'browser', 'dist');
const cli = join(repoRoot, 'dist', 'cli.js');
const screenshot = join(repoRoot, 'docs', 'browser-app.png');

/** The criterion of the issue, and the training window the responsiveness is measured over. */
const VAL_TARGET = 2.5;
const VAL_DEADLINE_MS = 60_000;
const RESPONSIVE_WINDOW_MS = 20_000;

interface AppStatus {
  phase: string;
  text: { key: string; label: string; bytes: number } | null;
  model: { step: number; canTrain: boolean; parameterCount: number; settings: Record<string, unknown>; pretrained: boolean } | null;
  progress: { step: number; valLoss: number | null; tokensPerSec: number } | null;
  valHistory: { step: number; valLoss: number; trainMs: number }[];
  trainMs: number;
  stored: { step: number; savedAt: number } | null;
  message: string | null;
  error: boolean;
  generating: boolean;
  samples: number;
  firstSampleMs: number | null;
  choice: { text: string; canKeep: boolean } | null;
}

interface Probe {
  longTasks: { start: number; duration: number }[];
  frames: number[];
}

// Installed before any script of the page runs.
const PROBE = `
window.__probe = { longTasks: [], frames: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__probe.longTasks.push({ start: e.startTime, duration: e.duration });
}).observe({ type: 'longtask', buffered: true });
const frame = (t) => { window.__probe.frames.push(t); if (window.__probe.frames.length > 20000) window.__probe.frames.splice(0, 10000); requestAnimationFrame(frame); };
requestAnimationFrame(frame);
`;

const appStatus = (page: Page): Promise<AppStatus> => page.evaluate(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp);

/**
 * Serves `root` with COOP/COEP. `decodedGz`: send .gz files as `Content-Encoding: gzip`, as some
 * servers do, so the browser hands the page the decoded text.
 */
function serve(root: string, { decodedGz = false } = {}): Promise<Server> {
  const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const types: Record<string, string> = { ...CONTENT_TYPES, '.gz': 'application/gzip' };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = resolve(root, '.' + (path === '/' ? '/index.html' : path));
    if (!file.startsWith(root + sep)) return void res.writeHead(404, headers).end();
    try {
      const body = await readFile(file);
      const encoding = decodedGz && extname(file) === '.gz' ? { 'content-encoding': 'gzip' } : {};
      res.writeHead(200, { ...headers, ...encoding, 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

/** Runs `node args...` in the repository without vitest's NODE_ENV; rejects with its output on a non-zero exit. */
async function node(args: string[], timeout = 60_000): Promise<string> {
  const env = { ...process.env };
  delete env.NODE_ENV;
  try {
    return (await run(process.execPath, args, { cwd: repoRoot, env, timeout, maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    throw new Error(`node ${args.join(' ')} exited with ${String(err.code)}\nstdout: ${err.stdout}\nstderr: ${err.stderr}`);
  }
}

/** Fills the Generate form, clicks Generate and returns the output once it is done. */
async function generate(page: Page, options: { prime: string; seed: number; length: number }): Promise<string> {
  await page.fill('#generate-form [name=prime]', options.prime);
  await page.fill('#generate-form [name=seed]', String(options.seed));
  await page.fill('#generate-form [name=length]', String(options.length));
  await page.fill('#generate-form [name=temperature]', '0.8');
  await page.fill('#generate-form [name=topK]', '0');
  await page.fill('#generate-form [name=topP]', '1');
  await page.click('#generate-button');
  await page.waitForFunction(() => document.getElementById('output')!.dataset.state !== 'streaming', null, { timeout: 30_000, polling: 100 });
  expect(await page.getAttribute('#output', 'data-state'), (await appStatus(page)).message ?? '').toBe('done');
  return (await page.textContent('#output'))!;
}

/** Clicks Download and returns the file's bytes. */
async function download(page: Page, dir: string, name: string): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(dir, name);
  await file.saveAs(path);
  return new Uint8Array(readFileSync(path));
}

/** Clicks Download int8 and returns the file's bytes. */
async function downloadInt8(page: Page, dir: string, name: string): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-int8')]);
  expect(file.suggestedFilename()).toMatch(/-int8\.safetensors$/);
  const path = join(dir, name);
  await file.saveAs(path);
  return new Uint8Array(readFileSync(path));
}

/** The shipped pretrained model's parameters, dequantized to float32, named as in a checkpoint. */
function pretrainedParams(): Record<string, Float32Array> {
  const ck = decodeCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'pretrained', 'kjv-byte.safetensors'))));
  const int8 = modelFromCheckpoint(ck);
  const model = dequantize(int8);
  try {
    return params(encodeCheckpoint(model, ck.tokenizer, null, {}));
  } finally {
    model.dispose();
    int8.dispose();
  }
}

/** The model's parameters of a checkpoint, by name. */
function params(bytes: Uint8Array): Record<string, Float32Array> {
  const ck = decodeCheckpoint(bytes);
  return Object.fromEntries(Object.entries(ck.params).map(([k, t]) => [k, t.data]));
}

/** The renderer main thread's tasks in a Chromium trace: wall and CPU (thread) time, ms. */
function mainThreadTasks(trace: Buffer): { wallMs: number; cpuMs: number }[] {
  interface TraceEvent { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }
  const parsed = JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  return events
    .filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && main.has(`${e.pid}:${e.tid}`))
    .map((e) => ({ wallMs: (e.dur ?? 0) / 1000, cpuMs: (e.tdur ?? e.dur ?? 0) / 1000 }));
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/** The shipped pretrained model's settings (its checkpoint's), read in beforeAll. */
let pretrainedSettings: Record<string, number> = {};
/**
 * The first validation point of the pretrained model fine-tuned on OTHER_TEXT is below this
 * (nats/char): the pretrained model scores 3.04 on that text before any step (`lstm-wasm eval`), a
 * new byte-level model 5.55 (ln 256).
 */
const FINE_TUNE_FIRST_VAL = 3.5;

/** How many of the chart's pixels are the training loss line's colour (#2c6fbb): 0 for an empty chart. */
const lossPixels = (page: Page): Promise<number> => page.evaluate(() => {
  const c = document.getElementById('chart') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 0x2c) < 16 && Math.abs(d[i + 1] - 0x6f) < 16 && Math.abs(d[i + 2] - 0xbb) < 16) n++;
  return n;
});

/** A text of its own for the page (a few hundred sentences; none of them the bundled corpus's). */
const OTHER_TEXT = Buffer.from(Array.from({ length: 1500 }, (_, i) =>
  `Entry ${i}: the ${['red', 'green', 'blue', 'grey'][i % 4]} boat left the harbour at ${i % 24} o'clock, carrying ${i % 7 + 1} crates of ${['tea', 'salt', 'wool'][i % 3]}.\n`).join(''));

async function waitIdle(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(() => {
    const s = (window as unknown as { __lstmApp?: AppStatus }).__lstmApp;
    return s !== undefined && s.phase === 'idle' && s.text !== null;
  }, null, { timeout, polling: 100 });
}

describe.skipIf(process.env.LSTM_WASM_NO_BROWSER === '1')('browser app (Chromium)', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let tmp: string;
  let pageErrors: string[] = [];
  /** Generated with seed 11 from the trained model, before any reload. */
  let reference = '';
  let trainedStep = 0;
  /** The steps of the trained model's validations, as the page saw them. */
  let trainedValSteps: number[] = [];

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'index.js')) || !existsSync(join(repoRoot, 'dist', 'worker.js'))) {
      throw new Error('dist/index.js or dist/worker.js is missing: run `npm run build` first');
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure.sh\` (installs Debian's chromium), ` +
          'set LSTM_WASM_CHROMIUM to a Chromium binary, or set LSTM_WASM_NO_BROWSER=1 to skip browser tests',
      );
    }
    tmp = mkdtempSync(join(tmpdir(), 'lstm-wasm-app-'));
    await node([join(repoRoot, 'scripts', 'demo.mjs'), '--build'], 120_000);
    await init();
    pretrainedSettings = decodeCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'pretrained', 'kjv-byte.safetensors')))).meta.extra.settings as Record<string, number>;
    server = await serve(appDist);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await context.addInitScript(PROBE);
    page = await context.newPage();
    pageErrors = collectProblems(page, { failedRequests: true });
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens with the pretrained model ready: Generate works at once, and a seed gives the CLI\'s text', async () => {
    await waitIdle(page);
    const readyAtMs = await page.evaluate(() => performance.now());
    const ready = await appStatus(page);
    expect(ready.error, ready.message ?? '').toBe(false);
    expect(ready.model, 'a fresh browser profile opens the pretrained model').toMatchObject({ pretrained: true, canTrain: false, step: 0 });
    expect(ready.model!.settings).toMatchObject({ level: 'byte', numLayers: pretrainedSettings.numLayers, hiddenSize: pretrainedSettings.hiddenSize });
    expect(ready.message).toMatch(/pretrained model is ready/);
    expect(await page.textContent('#checkpoint-label')).toMatch(/^The pretrained model: LSTM \d+x\d+ over bytes/);
    expect(await page.textContent('#stats')).toMatch(/^Pretrained for [\d,]+ steps; validation loss \d\.\d{3} nats\/char/);
    // The two ways on: fine-tune it on the chosen text, or a new model; the form keeps the small preset for the latter.
    expect(await page.textContent('#train')).toBe('Fine-tune on this text');
    expect(await page.textContent('#new-model')).toBe('Train a new model');
    expect(await page.isEnabled('#train')).toBe(true);
    expect(await page.isEnabled('#new-model')).toBe(true);
    expect(await page.isDisabled('#use-pretrained')).toBe(true);
    expect(await page.inputValue('#settings [name=preset]')).toBe('small');
    // Nothing of the package's own model is stored in the browser.
    expect(ready.stored).toBeNull();

    const prime = 'And God said';
    const inPage = await generate(page, { prime, seed: 5, length: 120 });
    const cliText = await node([cli, 'generate', '--prime', prime, '--seed', '5', '--length', '120', '--temperature', '0.8', '--top-k', '0', '--top-p', '1']);
    expect(inPage).toBe(cliText.replace(/\n$/, ''));
    expect(inPage.length).toBeGreaterThan(prime.length + 60);
    console.log(`browser app: the pretrained model ready ${Math.round(readyAtMs)} ms after navigation; "${inPage.slice(0, 80)}..."`);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it(`trains a new model on the bundled corpus to a validation loss under ${VAL_TARGET} within 60 s, the main thread never blocked`, async () => {
    await waitIdle(page);
    const ready = await appStatus(page);
    expect(ready.text?.key).toBe('bundled');
    expect(ready.text!.bytes).toBeGreaterThan(4_000_000); // gunzipped in the page
    expect(ready.model?.pretrained).toBe(true);
    // The text buttons stand apart (they used to touch).
    const files = (await page.locator('label:has(#text-files)').boundingBox())!;
    const corpus = (await page.locator('#use-corpus').boundingBox())!;
    const apart = Math.max(corpus.x - (files.x + files.width), corpus.y - (files.y + files.height));
    expect(apart, `Your .txt files ${JSON.stringify(files)}, Bundled corpus ${JSON.stringify(corpus)}`).toBeGreaterThanOrEqual(4);

    await page.selectOption('#settings [name=preset]', 'small');
    const clickedAt = Date.now();
    await page.click('#new-model');
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.progress !== null, null, { timeout: 30_000, polling: 50 });
    await browser!.startTracing(page, { categories: ['devtools.timeline', 'toplevel'] });
    const windowStart = await page.evaluate(() => performance.now());
    const firstStepAfterMs = Date.now() - clickedAt;

    await page.waitForFunction(
      (target) => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.valHistory.some((v) => v.valLoss < target),
      VAL_TARGET, { timeout: VAL_DEADLINE_MS + 15_000, polling: 250 },
    );
    const reachedAfterMs = Date.now() - clickedAt;
    const below = (await appStatus(page)).valHistory.find((v) => v.valLoss < VAL_TARGET)!;

    // Keep training until the measured window is long enough, then picture the app mid-training.
    const elapsed = await page.evaluate(() => performance.now());
    if (elapsed - windowStart < RESPONSIVE_WINDOW_MS) await page.waitForTimeout(RESPONSIVE_WINDOW_MS - (elapsed - windowStart) + 500);
    const windowEnd = await page.evaluate(() => performance.now());
    const trace = mainThreadTasks(await browser!.stopTracing());
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot });
    const mid = await appStatus(page);

    // Pause holds the run (no step for a while), Resume continues it.
    await page.click('#pause');
    await page.waitForFunction(() => document.body.dataset.phase === 'paused', null, { timeout: 10_000 });
    await page.waitForTimeout(300);
    const pausedAt = (await appStatus(page)).progress!.step;
    await page.waitForTimeout(1000);
    expect((await appStatus(page)).progress!.step, 'no step while paused').toBe(pausedAt);
    await page.click('#pause');
    await page.waitForFunction((at) => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.progress!.step > at + 2, pausedAt, { timeout: 10_000 });

    await page.click('#stop');
    await waitIdle(page);
    const probe = await page.evaluate(() => (window as unknown as { __probe: Probe }).__probe);
    const status = await appStatus(page);

    const inWindow = probe.longTasks.filter((t) => t.start + t.duration >= windowStart && t.start <= windowEnd);
    const frames = probe.frames.filter((t) => t >= windowStart && t <= windowEnd);
    const gaps = frames.slice(1).map((t, i) => t - frames[i]);
    const maxGap = Math.max(...gaps);
    const sortedGaps = [...gaps].sort((a, b) => a - b);
    const report = {
      firstStepAfterMs,
      valBelowTargetAfterMs: reachedAfterMs,
      valBelowTargetTrainingMs: Math.round(below.trainMs),
      valBelowTargetStep: below.step,
      valLossThen: below.valLoss,
      tokensPerSec: Math.round(mid.progress!.tokensPerSec),
      windowMs: Math.round(windowEnd - windowStart),
      tracedTasks: trace.length,
      longestTaskCpuMs: round1(Math.max(...trace.map((t) => t.cpuMs))),
      longestTaskWallMs: round1(Math.max(...trace.map((t) => t.wallMs))),
      longTasksInWindow: inWindow.length,
      longestLongTaskMs: inWindow.length > 0 ? Math.max(...inWindow.map((t) => t.duration)) : 0,
      longTasksWholePage: probe.longTasks.map((t) => [Math.round(t.start - windowStart), Math.round(t.duration)]),
      frames: frames.length,
      maxFrameGapMs: Math.round(maxGap),
      p99FrameGapMs: Math.round(sortedGaps[Math.floor(sortedGaps.length * 0.99)] ?? 0),
      stepsTrained: status.model!.step,
      samples: mid.samples,
      firstSampleMs: mid.firstSampleMs,
    };
    console.log(`browser app: ${JSON.stringify(report)}`);

    expect(pageErrors).toEqual([]);
    expect(reachedAfterMs, `validation loss under ${VAL_TARGET} (from clicking Train); ${JSON.stringify(report)}`).toBeLessThanOrEqual(VAL_DEADLINE_MS);
    expect(windowEnd - windowStart).toBeGreaterThanOrEqual(RESPONSIVE_WINDOW_MS);
    expect(trace.length, 'the trace saw the main thread').toBeGreaterThan(100);
    expect(trace.filter((t) => t.cpuMs > 50), `main-thread tasks over 50 ms of CPU while training; ${JSON.stringify(report)}`).toEqual([]);
    expect(frames.length, 'requestAnimationFrame ran while training').toBeGreaterThan(100);
    // A first sample 3 s into the run (and its 160 characters), then one every 5 s.
    expect(mid.firstSampleMs, `the first sample; ${JSON.stringify(report)}`).toBeLessThanOrEqual(6_000);
    expect(mid.samples, `samples appeared while training; ${JSON.stringify(report)}`).toBeGreaterThanOrEqual(Math.floor(mid.trainMs / 5_000) - 1);
    expect(await page.locator('#samples li').count()).toBeGreaterThan(0);
    // Stop saved the model in IndexedDB.
    expect(status.stored?.step).toBe(status.model!.step);
    expect(status.error).toBe(false);
    trainedStep = status.model!.step;
    trainedValSteps = status.valHistory.map((v) => v.step);
  }, 150_000);

  it('streams generated text into the page', async () => {
    await page.evaluate(() => {
      const out = document.getElementById('output')!;
      const seen: { length: number; state: string | undefined }[] = [];
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      new MutationObserver(() => seen.push({ length: out.textContent!.length, state: out.dataset.state })).observe(out, {
        childList: true, characterData: true, subtree: true, attributes: true,
      });
    });
    const polled: number[] = [];
    await page.fill('#generate-form [name=length]', '3000');
    await page.fill('#generate-form [name=seed]', '3');
    await page.click('#generate-button');
    while ((await page.getAttribute('#output', 'data-state')) === 'streaming') {
      polled.push((await page.textContent('#output'))!.length);
      await page.waitForTimeout(20);
    }
    const seen = await page.evaluate(() => (window as unknown as { __seen: { length: number; state: string | undefined }[] }).__seen);
    const streaming = [...new Set(seen.filter((s) => s.state === 'streaming').map((s) => s.length))];
    const final = (await page.textContent('#output'))!;
    expect(await page.getAttribute('#output', 'data-state')).toBe('done');
    expect(final.length).toBeGreaterThan(3000);
    // The text arrived in pieces over many tasks, not at once at the end.
    expect(streaming.length, `lengths seen while streaming: ${streaming.slice(0, 20).join(', ')}...; polled ${polled.join(', ')}`).toBeGreaterThan(10);
    expect(streaming.filter((n) => n > 'And the LORD said'.length && n < final.length).length).toBeGreaterThan(5);
    expect(pageErrors).toEqual([]);
  });

  it('keeps the checkpoint across a reload (IndexedDB): the same seed gives the same text', async () => {
    reference = await generate(page, { prime: 'And the LORD said', seed: 11, length: 200 });
    expect(reference.length).toBeGreaterThan(150);
    await page.reload();
    await waitIdle(page);
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.model !== null, null, { timeout: 30_000 });
    const status = await appStatus(page);
    expect(status.model!.step).toBe(trainedStep);
    expect(status.stored!.step).toBe(trainedStep);
    expect(status.model!.settings.hiddenSize).toBe(128);
    // The chart and the stats show the model's history from its checkpoint, not "Not trained yet.".
    expect(status.valHistory.map((v) => v.step)).toEqual(trainedValSteps);
    expect(status.trainMs).toBeGreaterThan(RESPONSIVE_WINDOW_MS);
    const stats = (await page.textContent('#stats'))!;
    expect(stats).toMatch(new RegExp(`^step ${trainedStep} · loss \\d\\.\\d{3} · validation \\d\\.\\d{3} nats/char · \\d+ s \\(restored from the checkpoint\\)$`));
    expect(await lossPixels(page), 'the restored loss line is drawn').toBeGreaterThan(300);
    expect(await generate(page, { prime: 'And the LORD said', seed: 11, length: 200 })).toBe(reference);
    expect(pageErrors).toEqual([]);
  });

  it('shows bad input (binary, empty, dropped, corrupt checkpoint) in the page and keeps the model and its stored checkpoint', async () => {
    const message = async (): Promise<string> => {
      const s = await appStatus(page);
      expect(s.error).toBe(true);
      expect(await page.textContent('#message')).toBe(s.message);
      return s.message!;
    };
    const good = await download(page, tmp, 'good.safetensors');

    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    await page.setInputFiles('#text-files', { name: 'picture.txt', mimeType: 'text/plain', buffer: binary });
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.error, null, { timeout: 10_000 });
    expect(await message()).toMatch(/picture\.txt.*FormatError.*binary|FormatError.*picture\.txt.*binary/);

    await page.evaluate(() => document.getElementById('message')!.setAttribute('hidden', ''));
    await page.setInputFiles('#text-files', { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
    await page.waitForFunction(() => /empty\.txt/.test((window as unknown as { __lstmApp: AppStatus }).__lstmApp.message ?? ''), null, { timeout: 10_000 });
    expect(await message()).toMatch(/FormatError.*empty\.txt: file is empty/);

    // The same by drag-and-drop onto the text area.
    const dropped = await page.evaluateHandle(() => {
      const data = new DataTransfer();
      data.items.add(new File([], 'dropped.txt', { type: 'text/plain' }));
      return data;
    });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dropped });
    await page.waitForFunction(() => /dropped\.txt/.test((window as unknown as { __lstmApp: AppStatus }).__lstmApp.message ?? ''), null, { timeout: 10_000 });
    expect(await message()).toMatch(/FormatError.*dropped\.txt: file is empty/);

    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1000] ^= 0x40; // a flipped bit in a tensor: the checksum refuses it
    await page.setInputFiles('#upload', { name: 'corrupt.safetensors', mimeType: 'application/octet-stream', buffer: corrupt });
    await page.waitForFunction(() => /corrupt\.safetensors/.test((window as unknown as { __lstmApp: AppStatus }).__lstmApp.message ?? ''), null, { timeout: 10_000 });
    expect(await message()).toMatch(/Could not open corrupt\.safetensors: FormatError: .*(crc|checksum)/i);

    await page.setInputFiles('#upload', { name: 'notes.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a checkpoint at all') });
    await page.waitForFunction(() => /notes\.safetensors/.test((window as unknown as { __lstmApp: AppStatus }).__lstmApp.message ?? ''), null, { timeout: 10_000 });
    // The header length those 8 bytes of text spell, read exactly as a 64-bit integer (not rounded through a double).
    const notesLength = Buffer.from('not a checkpoint at all').readBigUInt64LE(0);
    expect(await message()).toMatch(new RegExp(`Could not open notes\\.safetensors: FormatError: not a valid checkpoint: header length ${notesLength} exceeds`));

    // Nothing was lost: the text, the model in the page, and (after a reload) the stored one.
    let status = await appStatus(page);
    expect(status.text!.key).toBe('bundled');
    expect(status.model!.step).toBe(trainedStep);
    expect(status.stored!.step).toBe(trainedStep);
    expect(await page.isVisible('#message')).toBe(true);
    expect(await generate(page, { prime: 'And the LORD said', seed: 11, length: 200 })).toBe(reference);
    await page.reload();
    await waitIdle(page);
    status = await appStatus(page);
    expect(status.model!.step).toBe(trainedStep);
    expect(await generate(page, { prime: 'And the LORD said', seed: 11, length: 200 })).toBe(reference);
    expect(pageErrors).toEqual([]);
  });

  it('reads the corpus from a server that sends it with Content-Encoding: gzip (already decoded)', async () => {
    const decoding = await serve(appDist, { decodedGz: true });
    const context = await browser!.newContext();
    try {
      const other = await context.newPage();
      const errors: string[] = [];
      other.on('pageerror', (e) => errors.push(e.message));
      await other.goto(`http://127.0.0.1:${(decoding.address() as AddressInfo).port}/`);
      await waitIdle(other);
      const status = await appStatus(other);
      expect(status.text!.key).toBe('bundled');
      expect(status.text!.bytes).toBe((await appStatus(page)).text!.bytes);
      expect(status.error, status.message ?? '').toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await new Promise<void>((done) => decoding.close(() => done()));
    }
  });

  it("exchanges checkpoints with the CLI: the page's download generates and resumes there, the CLI's uploads here", async () => {
    // Page -> CLI.
    const fromPage = await download(page, tmp, 'page.safetensors');
    const file = join(tmp, 'page.safetensors');
    const cliText = await node([cli, 'generate', '--checkpoint', file, '--seed', '1', '--length', '50', '--prime', 'And']);
    expect(cliText.length).toBeGreaterThan(40);
    // The CLI's sampling from these weights is the page's, token for token.
    expect(await generate(page, { prime: 'And', seed: 1, length: 50 })).toBe(cliText.replace(/\n$/, ''));
    // The page's checkpoint is the one it stored: the same parameters.
    const storedBase64 = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((ok, fail) => {
        const r = indexedDB.open('lstm-wasm-app');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
      const record = await new Promise<{ bytes: Uint8Array }>((ok, fail) => {
        const r = db.transaction('checkpoints').objectStore('checkpoints').get('current');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
      db.close();
      let s = '';
      for (let i = 0; i < record.bytes.length; i += 0x8000) s += String.fromCharCode(...record.bytes.subarray(i, i + 0x8000));
      return btoa(s);
    });
    expect(params(fromPage)).toEqual(params(new Uint8Array(Buffer.from(storedBase64, 'base64'))));
    // Trained on the bundled corpus under the CLI's name for it, so `train --resume` continues it.
    const resumed = join(tmp, 'resumed.safetensors');
    await node([cli, 'train', '--resume', file, '--steps', '2', '--sample-every', '0', '--out', resumed], 90_000);
    expect(decodeCheckpoint(new Uint8Array(readFileSync(resumed))).meta.trainer!.step).toBe(trainedStep + 2);

    // CLI -> page.
    const fromCli = join(tmp, 'cli.safetensors');
    await node([cli, 'train', '--steps', '3', '--hidden', '32', '--sample-every', '0', '--out', fromCli], 90_000);
    await page.setInputFiles('#upload', fromCli);
    // Opened, then saved in IndexedDB.
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.stored?.step === 3, null, { timeout: 30_000 });
    await waitIdle(page);
    const status = await appStatus(page);
    expect(status.error).toBe(false);
    expect(status.model!.settings.hiddenSize).toBe(32);
    expect(status.model!.step).toBe(3);
    const cliBytes = new Uint8Array(readFileSync(fromCli));
    const uploaded = await download(page, tmp, 'uploaded.safetensors');
    const a = params(cliBytes);
    const b = params(uploaded);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(b[k], k).toEqual(a[k]);

    // Train continues the CLI's model on the bundled corpus (it was trained on it, under the same name).
    await page.click('#train');
    await page.waitForFunction(() => ((window as unknown as { __lstmApp: AppStatus }).__lstmApp.progress?.step ?? 0) > 6, null, { timeout: 30_000 });
    await page.click('#stop');
    await waitIdle(page);
    const continued = await appStatus(page);
    expect(continued.error, continued.message ?? '').toBe(false);
    expect(continued.model!.settings.hiddenSize).toBe(32);
    expect(continued.stored!.step).toBe(continued.model!.step);
    expect(continued.model!.step).toBeGreaterThan(6);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('offers the quantized download: an int8 checkpoint about a quarter of the size, which the CLI evaluates close to float32', async () => {
    await waitIdle(page);
    const full = await download(page, tmp, 'for-int8.safetensors');
    const small = await downloadInt8(page, tmp, 'small-int8.safetensors');
    const ck = decodeCheckpoint(small);
    expect(ck.quantized?.dtype).toBe('int8');
    expect(ck.meta.trainer).toBeNull();
    // Weights against weights (both files also hold the vocabulary and settings; the float32 one Adam's moments too).
    const weightBytes = Object.values(params(full)).reduce((a, p) => a + 4 * p.length, 0);
    const quantizedBytes = Object.values(ck.quantized!.matrices).reduce((a, m) => a + m.bytes.length + 4 * (m.scales?.length ?? 0), 0) +
      Object.values(ck.params).reduce((a, p) => a + 4 * p.data.length, 0);
    expect(quantizedBytes).toBeLessThan(0.32 * weightBytes);
    expect(small.length).toBeLessThan(full.length);
    const loss = async (file: string): Promise<number> => {
      const out = await node([cli, 'eval', '--checkpoint', join(tmp, file), '--max-tokens', '20000'], 90_000);
      return Number(/loss (\d+\.\d+)/.exec(out)![1]);
    };
    const [lf, lq] = [await loss('for-int8.safetensors'), await loss('small-int8.safetensors')];
    expect(Math.abs(lq - lf), `int8 ${lq} vs float32 ${lf}`).toBeLessThan(0.02);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('offers a new model, fine-tuning, or more training on its own text when Train meets another text (no error)', async () => {
    await waitIdle(page);
    const before = await appStatus(page);
    expect(before.text!.key).toBe('bundled');
    const chooseOther = async (): Promise<void> => {
      await page.setInputFiles('#text-files', { name: 'harbour.txt', mimeType: 'text/plain', buffer: OTHER_TEXT });
      await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.text?.key.startsWith('files:harbour.txt'), null, { timeout: 10_000 });
    };
    const trainUntil = async (step: number): Promise<void> => {
      await page.waitForFunction((s) => ((window as unknown as { __lstmApp: AppStatus }).__lstmApp.progress?.step ?? 0) > s, step, { timeout: 30_000 });
      await page.click('#stop');
      await waitIdle(page);
    };

    await chooseOther();
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.choice !== null, null, { timeout: 10_000 });
    let status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.choice).toEqual({ text: status.text!.label, canKeep: true });
    expect(await page.isVisible('#choice')).toBe(true);
    expect(await page.textContent('#choice-text')).toMatch(/trained on bundled corpus.*not on harbour\.txt/);
    expect(await page.isVisible('#choice-new')).toBe(true);
    expect(await page.isVisible('#choice-keep')).toBe(true);
    expect(status.model!.step, 'asking changed nothing').toBe(before.model!.step);

    // Keep training: back to the bundled corpus, the same model continues. Long enough that a new
    // model's step count below stays under it however far past its own stop request it runs: a
    // loaded machine let a new run reach 47 steps between `> 3` being seen and the stop taking
    // effect, when this phase had only reached 27.
    await page.click('#choice-keep');
    await trainUntil(before.model!.step + 150);
    status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.text!.key).toBe('bundled');
    expect(status.model!.settings.hiddenSize).toBe(before.model!.settings.hiddenSize);
    expect(status.model!.step).toBeGreaterThan(before.model!.step + 150);
    expect(await page.isVisible('#choice')).toBe(false);
    const kept = status.model!.step;

    // A new model on the other text.
    await chooseOther();
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.choice !== null, null, { timeout: 10_000 });
    await page.click('#choice-new');
    await trainUntil(3);
    status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.text!.key).toMatch(/^files:harbour\.txt:/);
    expect(status.model!.step).toBeLessThan(kept);
    expect(status.stored!.step).toBe(status.model!.step);
    expect(status.valHistory.every((v) => v.step <= status.model!.step)).toBe(true);

    // After a reload the page no longer has harbour.txt: Train on the corpus asks for it again.
    await page.reload();
    await waitIdle(page);
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.choice !== null, null, { timeout: 10_000 });
    status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.choice!.canKeep).toBe(false);
    expect(await page.isVisible('#choice-keep')).toBe(false);
    expect(await page.textContent('#choice-text')).toMatch(/trained on harbour\.txt.*choose harbour\.txt again/);

    // Fine-tune: the harbour model goes on from its weights on the corpus, a new run with its shape and the fine-tuning lr.
    expect(await page.isVisible('#choice-finetune')).toBe(true);
    await page.click('#choice-finetune');
    await trainUntil(2);
    status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.text!.key).toBe('bundled');
    expect(status.model!.settings.hiddenSize).toBe(before.model!.settings.hiddenSize);
    expect(status.model!.settings.lr).toBe(0.001);
    expect(status.model!.step).toBeLessThan(kept);
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('fine-tunes the pretrained model on a dropped text: its shape, the fine-tuning lr, and a low validation loss from the first point', async () => {
    await waitIdle(page);
    const before = await appStatus(page);
    await page.click('#use-pretrained');
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.model?.pretrained === true, null, { timeout: 30_000 });
    await waitIdle(page);
    let status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.message).toMatch(new RegExp(`Your model saved in this browser \\(step ${before.stored!.step}\\) stays saved`));
    expect(status.stored!.step, 'the stored model is kept').toBe(before.stored!.step);
    expect(await page.textContent('#train')).toBe('Fine-tune on this text');

    const dropped = await page.evaluateHandle((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'harbour-log.txt', { type: 'text/plain' }));
      return data;
    }, OTHER_TEXT.toString('utf8'));
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dropped });
    await page.waitForFunction(() => (window as unknown as { __lstmApp: AppStatus }).__lstmApp.text?.key.startsWith('files:harbour-log.txt'), null, { timeout: 10_000 });
    expect((await appStatus(page)).message).toMatch(/Fine-tune on this text adapts the pretrained model/);

    await page.click('#train');
    await page.waitForFunction(() => {
      const s = (window as unknown as { __lstmApp: AppStatus }).__lstmApp;
      return s.valHistory.length >= 1 && (s.progress?.step ?? 0) >= 3;
    }, null, { timeout: 90_000, polling: 100 });
    await page.click('#stop');
    await waitIdle(page, 60_000);
    status = await appStatus(page);
    expect(status.error, status.message ?? '').toBe(false);
    expect(status.choice, 'no question: the pretrained model is fine-tuned').toBeNull();
    expect(status.model).toMatchObject({ pretrained: false, canTrain: true });
    expect(status.model!.settings).toMatchObject({ level: 'byte', hiddenSize: pretrainedSettings.hiddenSize, numLayers: pretrainedSettings.numLayers, lr: 0.001 });
    expect(status.text!.key).toMatch(/^files:harbour-log\.txt:/);
    expect(status.valHistory[0].valLoss, JSON.stringify(status.valHistory.slice(0, 3))).toBeLessThan(FINE_TUNE_FIRST_VAL);
    // From the pretrained weights: after a few Adam steps at lr 1e-3 (each moves a weight by about
    // lr at most) every weight is within a few thousandths of the pretrained model's, dequantized.
    const tuned = params(await download(page, tmp, 'fine-tuned.safetensors'));
    const base = pretrainedParams();
    expect(Object.keys(tuned).sort()).toEqual(Object.keys(base).sort());
    const bound = 0.0015 * status.model!.step;
    for (const [name, w] of Object.entries(base)) {
      let max = 0;
      for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(tuned[name][i] - w[i]));
      expect(max, `${name}: ${status.model!.step} steps`).toBeLessThan(bound);
    }
    expect(status.stored!.step, 'the fine-tuned model replaced the stored one').toBe(status.model!.step);
    expect(await page.textContent('#train')).toBe('Train');

    // After a reload the fine-tuned model opens, not the pretrained one.
    await page.reload();
    await waitIdle(page);
    status = await appStatus(page);
    expect(status.model).toMatchObject({ pretrained: false, step: status.stored!.step });
    expect(status.model!.settings.hiddenSize).toBe(pretrainedSettings.hiddenSize);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
