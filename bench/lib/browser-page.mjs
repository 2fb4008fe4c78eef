// What the browser measurements share: a page served on 127.0.0.1 (fixed bodies by path, and
// folders of files under a prefix), opened in Debian's Chromium, whose script sets
// `window.result`; the result comes back (an `error` in it is thrown).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.map': 'application/json' };

/**
 * Serves `fixed` ({ path: [body, extension] }) and the files of `dirs` ({ '/dist/': folder }),
 * with `headers` on every response; opens `/` in Chromium and waits (up to 10 min) for
 * `window.result`. Returns it with the browser's version.
 */
export async function runPage({ fixed, dirs, headers = {} }) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const body = fixed[path];
    if (body) return res.writeHead(200, { ...headers, 'content-type': TYPES[body[1]] ?? 'text/plain; charset=utf-8' }).end(body[0]);
    const prefix = Object.keys(dirs).find((p) => path.startsWith(p));
    if (prefix === undefined || path.includes('..')) return res.writeHead(404).end();
    try {
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(await readFile(join(dirs[prefix], path.slice(prefix.length))));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const browser = await chromium.launch({ executablePath: process.env.LSTM_WASM_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => 'result' in window, null, { timeout: 600_000 });
    const result = await page.evaluate(() => window.result);
    if (result.error) throw new Error(result.error);
    return { result, browserVersion: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}
