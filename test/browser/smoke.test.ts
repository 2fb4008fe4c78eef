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
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES } from '../support/chromium';

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

interface SmokeResult {
  error?: string;
  got: { loss: number; dx: number[]; dw: number[] };
  ref: { loss: number; dx: number[]; dw: number[] };
  lossDiff: number;
  dxDiff: number;
  dwDiff: number;
  simd: boolean;
}

function serve(): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.html']! });
      res.end(PAGE);
      return;
    }
    const file = resolve(distDir, '.' + path.replace(/^\/dist\//, '/'));
    if (!path.startsWith('/dist/') || !file.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
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
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`);
    });
    page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

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
});
