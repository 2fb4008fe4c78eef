/** How the browser tests start Debian's Chromium, serve files to it and watch its pages. */
import type { Page } from 'playwright-core';

/** Debian's Chromium; `LSTM_WASM_CHROMIUM` points elsewhere. Never a downloaded browser. */
export const CHROMIUM = process.env.LSTM_WASM_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, and no background networking: the machines' network is closed, and without these
 * flags Chromium keeps trying (and failing) to reach Google's services.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Starts collecting what `page` reports as broken: uncaught errors and console errors, plus
 * console warnings with `consoleWarnings` and failed requests with `failedRequests`. The browser
 * tests assert the returned list (filled as the page runs) stays empty.
 */
export function collectProblems(page: Page, { consoleWarnings = false, failedRequests = false } = {}): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || (consoleWarnings && m.type() === 'warning')) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  if (failedRequests) page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return problems;
}
