/** How the browser tests start Debian's Chromium and serve files to it. */

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
