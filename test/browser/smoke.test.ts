// The built ESM package in a real browser: Debian's Chromium, headless, driven by playwright-core.
// A node:http server on 127.0.0.1 serves dist/ and a page that imports /dist/index.js, runs a forward
// and backward pass, and checks the gradients against plain JS computed in the page.
// Needs `npm run build` and /usr/bin/chromium (scripts/ensure.sh installs both). A missing Chromium
// fails this file; LSTM_WASM_NO_BROWSER=1 skips it on purpose.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES, collectProblems } from '../support/chromium';
import { backendInfo, init } from 'lstm-wasm';
import * as lw from 'lstm-wasm';
// @ts-expect-error: a plain ESM file shared with the page, without types
import { lstmCase } from './lstm-case.mjs';

const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));

// Runs in the page. x is (2,3), w is (3,2), loss = sum(sigmoid(x @ w) * tanh(x @ w)):
// two element-wise branches meeting in a product, so backward has to accumulate into y's gradient.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>lstm-wasm smoke</title>
<link rel="icon" href="data:,">
<script type="module">
// Imported dynamically so that a missing export is reported back instead of stopping the script.
const lib = import('/dist/index.js');

const X = [0.5, -1, 2, 1.5, 0.25, -0.75];
const W = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];

function reference() {
  const y = [];
  for (let m = 0; m < 2; m++) for (let n = 0; n < 2; n++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += X[m * 3 + k] * W[k * 2 + n];
    y.push(s);
  }
  const sg = y.map((v) => 1 / (1 + Math.exp(-v)));
  const th = y.map(Math.tanh);
  const loss = sg.reduce((a, v, i) => a + v * th[i], 0);
  // d/dy [s(y) t(y)] = s(1-s) t + s (1 - t^2)
  const dy = y.map((_, i) => sg[i] * (1 - sg[i]) * th[i] + sg[i] * (1 - th[i] * th[i]));
  const dx = [], dw = [];
  for (let m = 0; m < 2; m++) for (let k = 0; k < 3; k++) {
    dx.push(dy[m * 2] * W[k * 2] + dy[m * 2 + 1] * W[k * 2 + 1]);
  }
  for (let k = 0; k < 3; k++) for (let n = 0; n < 2; n++) {
    dw.push(X[k] * dy[n] + X[3 + k] * dy[2 + n]);
  }
  return { loss, dx, dw };
}

const maxAbsDiff = (a, b) => a.length !== b.length ? Infinity : Math.max(...a.map((v, i) => Math.abs(v - b[i])));

try {
  const { init, tensor } = await lib;
  if (typeof init !== 'function' || typeof tensor !== 'function') {
    throw new Error('/dist/index.js does not export init and tensor');
  }
  await init();
  const x = tensor(X, [2, 3], { requiresGrad: true });
  const w = tensor(W, [3, 2], { requiresGrad: true });
  const y = x.matmul(w);
  const loss = y.sigmoid().mul(y.tanh()).sum();
  loss.backward();
  const got = { loss: loss.item(), dx: Array.from(x.grad.toArray()), dw: Array.from(w.grad.toArray()) };
  const ref = reference();
  window.smokeResult = {
    got,
    ref,
    lossDiff: Math.abs(got.loss - ref.loss),
    dxDiff: maxAbsDiff(got.dx, ref.dx),
    dwDiff: maxAbsDiff(got.dw, ref.dw),
    simd: WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11])),
  };
} catch (e) {
  window.smokeResult = { error: String(e && e.stack || e) };
}
</script>
`;

// A plain page (no bundler) whose module script, a file of its own so that a strict CSP allows it,
// trains in a worker that createTrainingSession starts from /dist/worker.js, beside /dist/index.js.
const SESSION_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>lstm-wasm session</title>
<link rel="icon" href="data:,">
<script type="module" src="/session-app.js"></script>
`;

const SESSION_APP = `
try {
  const { createTrainingSession, FormatError } = await import('/dist/index.js');
  const session = await createTrainingSession({ text: 'to be or not to be, that is the question. '.repeat(30), settings: { hiddenSize: 8, batchSize: 2, seqLen: 8 } });
  const steps = [];
  session.on('progress', (p) => { if (!p.evaluated) steps.push(p.step); });
  const run = await session.train({ steps: 4 });
  let text = '';
  for await (const piece of session.generate('to ', { length: 10, seed: 2 })) text += piece;
  let error = null;
  try {
    await createTrainingSession({ checkpoint: new Uint8Array([1, 2, 3]) });
  } catch (e) {
    error = { isFormatError: e instanceof FormatError, name: e.name, message: e.message };
  }
  await session.dispose();
  window.sessionResult = { steps, stoppedBy: run.stoppedBy, text, error };
} catch (e) {
  window.sessionResult = { error: String(e && e.stack || e) };
}
`;

// The build init() picks in Chromium (relaxed SIMD: Chrome 114+), or the one `?simd=` names, and
// the LSTM case (lstm-case.mjs) computed with it.
const BUILD_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>lstm-wasm builds</title>
<link rel="icon" href="data:,">
<script type="module">
try {
  const lw = await import('/dist/index.js');
  const { lstmCase } = await import('/lstm-case.mjs');
  const simd = new URL(location.href).searchParams.get('simd');
  await lw.init(simd === null ? {} : { simd });
  window.buildResult = { info: lw.backendInfo(), ...lstmCase(lw) };
} catch (e) {
  window.buildResult = { error: String(e && e.stack || e) };
}
</script>
`;
const LSTM_CASE_FILE = fileURLToPath(new URL('./lstm-case.mjs', import.meta.url));

interface BuildResult {
  error?: string;
  info: { name: string; simd: string; relaxedSimdSupported: boolean };
  out: number[];
  dx: number[];
  dw: number[];
}

/** max |a - b| / max(1, max |b|) */
function relDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]) / scale), 0);
}

interface SessionResult {
  error?: unknown;
  steps: number[];
  stoppedBy: string;
  text: string;
}

interface SmokeResult {
  error?: string;
  got: { loss: number; dx: number[]; dw: number[] };
  ref: { loss: number; dx: number[]; dw: number[] };
  lossDiff: number;
  dxDiff: number;
  dwDiff: number;
  simd: boolean;
}

/** Serves the pages above and dist/; a `?csp=<policy>` on the page's URL sets that CSP on every response after it. */
function serve(): Promise<Server> {
  let csp: string | null = null;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (path === '/session.html') csp = url.searchParams.get('csp');
    const headers = csp !== null && path !== '/' ? { 'content-security-policy': csp } : {};
    const pages: Record<string, [string, string]> = {
      '/': [PAGE, '.html'], '/index.html': [PAGE, '.html'], '/session.html': [SESSION_PAGE, '.html'], '/session-app.js': [SESSION_APP, '.js'],
      '/builds.html': [BUILD_PAGE, '.html'], '/lstm-case.mjs': [await readFile(LSTM_CASE_FILE, 'utf8'), '.js'],
    };
    if (pages[path] !== undefined) {
      const [body, ext] = pages[path];
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[ext]! });
      res.end(body);
      return;
    }
    const file = resolve(distDir, '.' + path.replace(/^\/dist\//, '/'));
    if (!path.startsWith('/dist/') || !file.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

describe.skipIf(process.env.LSTM_WASM_NO_BROWSER === '1')('browser smoke (Chromium)', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!existsSync(resolve(distDir, 'index.js'))) {
      throw new Error('dist/index.js is missing: run `npm run build` first');
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure.sh\` (installs Debian's chromium), ` +
          'set LSTM_WASM_CHROMIUM to a Chromium binary, or set LSTM_WASM_NO_BROWSER=1 to skip browser tests',
      );
    }
    server = await serve();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });

  it('runs forward and backward from /dist/index.js with gradients matching plain JS', async () => {
    const page = await browser!.newPage();
    const pageErrors = collectProblems(page, { failedRequests: true });

    const { port } = server!.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'smokeResult' in window, null, { timeout: 30_000 });
    const result = (await page.evaluate(() => (window as unknown as { smokeResult: unknown }).smokeResult)) as SmokeResult;
    await page.close();

    expect(result.error, 'the page threw').toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(result.simd).toBe(true);
    expect(result.got.dx).toHaveLength(6);
    expect(result.got.dw).toHaveLength(6);
    const detail = JSON.stringify({ got: result.got, ref: result.ref });
    expect(result.lossDiff, `|loss - reference|; ${detail}`).toBeLessThan(1e-5);
    expect(result.dxDiff, `max |x.grad - reference|; ${detail}`).toBeLessThan(1e-5);
    expect(result.dwDiff, `max |w.grad - reference|; ${detail}`).toBeLessThan(1e-5);
  });

  it('picks the relaxed-SIMD build in Chromium, downloads only that one, and agrees with the SIMD128 build within float32 rounding', async () => {
    await init();
    expect(backendInfo().simd).toBe('simd128');
    const reference = lstmCase(lw) as { out: number[]; dx: number[]; dw: number[] };
    const { port } = server!.address() as AddressInfo;
    const runPage = async (query: string): Promise<{ result: BuildResult; requests: string[] }> => {
      const page = await browser!.newPage();
      const problems = collectProblems(page, { failedRequests: true });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(new URL(r.url()).pathname));
      await page.goto(`http://127.0.0.1:${port}/builds.html${query}`);
      await page.waitForFunction(() => 'buildResult' in window, null, { timeout: 30_000 });
      const result = (await page.evaluate(() => (window as unknown as { buildResult: unknown }).buildResult)) as BuildResult;
      await page.close();
      expect(result.error, 'the page threw').toBeUndefined();
      expect(problems).toEqual([]);
      return { result, requests };
    };
    const chunk = (requests: string[], name: string) => requests.filter((p) => p.startsWith(`/dist/${name}-`));

    const relaxed = await runPage('');
    expect(relaxed.result.info).toEqual({ name: 'wasm', simd: 'relaxed', relaxedSimdSupported: true });
    expect(chunk(relaxed.requests, 'inline-relaxed.generated')).toHaveLength(1);
    expect(chunk(relaxed.requests, 'inline.generated'), 'the SIMD128 build is not downloaded').toEqual([]);
    // Fused multiply-adds round once where mul + add round twice: close, not equal.
    for (const key of ['out', 'dx', 'dw'] as const) {
      expect(relDiff(relaxed.result[key], reference[key]), key).toBeLessThan(1e-5);
    }

    const simd128 = await runPage('?simd=simd128');
    expect(simd128.result.info.simd).toBe('simd128');
    expect(chunk(simd128.requests, 'inline-relaxed.generated')).toEqual([]);
    // The SIMD128 build is bit-identical across engines: Chromium's V8 and this Node's.
    expect(simd128.result.out).toEqual(reference.out);
    expect(simd128.result.dw).toEqual(reference.dw);
  });

  it.each([
    ['no CSP', null],
    ["CSP script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'wasm-unsafe-eval'"],
  ])('a plain module page trains in the worker from /dist/worker.js (%s)', async (_, csp) => {
    const page = await browser!.newPage();
    const problems = collectProblems(page);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    const { port } = server!.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/session.html${csp !== null ? `?csp=${encodeURIComponent(csp)}` : ''}`);
    await page.waitForFunction(() => 'sessionResult' in window, null, { timeout: 30_000 });
    const result = (await page.evaluate(() => (window as unknown as { sessionResult: unknown }).sessionResult)) as SessionResult;
    await page.close();
    expect(result.error === null || typeof result.error === 'object', String(result.error)).toBe(true);
    expect(problems).toEqual([]);
    expect(requests).toContain('/dist/worker.js');
    expect(result.steps).toEqual([1, 2, 3, 4]);
    expect(result.stoppedBy).toBe('steps');
    expect(result.text).toHaveLength(10);
    expect(result.error).toEqual({ isFormatError: true, name: 'FormatError', message: expect.stringMatching(/^not a valid checkpoint: /) });
  });
});
