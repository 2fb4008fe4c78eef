// Data-parallel training in Chromium: a plain page from dist/ trains a session on 2 threads (the
// session's worker and one replica it starts), once WITHOUT cross-origin isolation (no
// SharedArrayBuffer: gradients travel as transferred buffers) and once with COOP/COEP headers
// (shared memory). Both must give the run Node gives, bit for bit: the transport changes nothing.
// The page asks for the SIMD128 build (Chromium would pick the relaxed one, whose fused products
// round differently from the SIMD128 build Node 20 runs): that is the build that is bit-identical
// on every engine, and the session's workers are handed the page's module.
// A missing Chromium fails; LSTM_WASM_NO_BROWSER=1 skips on purpose.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES, collectProblems } from '../support/chromium';

const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(40);
const OPTIONS = { settings: { hiddenSize: 16, embedDim: 8, batchSize: 4, seqLen: 16, seed: 5 }, threads: 2 };
const STEPS = 6;

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>`;
const APP = `
try {
  const lw = await import('/dist/index.js');
  await lw.init({ simd: 'simd128' });
  const session = await lw.createTrainingSession({ text: ${JSON.stringify(TEXT)}, ...${JSON.stringify(OPTIONS)} });
  const run = await session.train({ steps: ${STEPS}, evalEvery: 0 });
  const ck = lw.decodeCheckpoint(await session.checkpoint());
  await session.dispose();
  window.result = {
    isolated: self.crossOriginIsolated, threads: session.info.threads, finalLoss: run.finalLoss,
    params: Object.values(ck.params).map((p) => Array.from(p.data)),
  };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
`;

interface PageResult {
  error?: string;
  isolated: boolean;
  threads: number;
  finalLoss: number;
  params: number[][];
}

function serve(headers: OutgoingHttpHeaders): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const fixed: Record<string, [string, string]> = { '/': [PAGE, '.html'], '/app.js': [APP, '.js'] };
    if (fixed[path] !== undefined) {
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[fixed[path][1]]! }).end(fixed[path][0]);
      return;
    }
    const file = resolve(distDir, '.' + path.replace(/^\/dist\//, '/'));
    if (!path.startsWith('/dist/') || !file.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

/** The same session in Node (worker_threads, shared memory). */
async function inNode(): Promise<{ finalLoss: number; params: number[][] }> {
  const lw = await import('../../dist/index.js');
  const session = await lw.createTrainingSession({ text: TEXT, ...OPTIONS });
  try {
    const run = await session.train({ steps: STEPS, evalEvery: 0 });
    const ck = lw.decodeCheckpoint(await session.checkpoint());
    return { finalLoss: run.finalLoss, params: Object.values(ck.params).map((p) => Array.from(p.data)) };
  } finally {
    await session.dispose();
  }
}

describe.skipIf(process.env.LSTM_WASM_NO_BROWSER === '1')('data-parallel training in Chromium', () => {
  let browser: Browser | undefined;
  let node: { finalLoss: number; params: number[][] };

  beforeAll(async () => {
    if (!existsSync(resolve(distDir, 'worker.js'))) throw new Error('dist/worker.js is missing: run `npm run build` first');
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure.sh\`, set LSTM_WASM_CHROMIUM, or set LSTM_WASM_NO_BROWSER=1 to skip browser tests`);
    }
    node = await inNode();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    ['without cross-origin isolation (transferred buffers)', {}, false],
    ['with COOP/COEP (shared memory)', { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }, true],
  ] as const)('trains on 2 threads %s, bit-identical to Node', async (_, headers, isolated) => {
    const server = await serve(headers);
    const page = await browser!.newPage();
    const problems = collectProblems(page);
    try {
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => 'result' in window, null, { timeout: 60_000 });
      const result = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as PageResult;
      expect(result.error, result.error).toBeUndefined();
      expect(problems).toEqual([]);
      expect(result.isolated).toBe(isolated);
      expect(result.threads).toBe(2);
      expect(result.finalLoss).toBe(node.finalLoss);
      expect(result.params).toEqual(node.params);
    } finally {
      await page.close();
      await new Promise<void>((done) => server.close(() => done()));
    }
  }, 90_000);
});
