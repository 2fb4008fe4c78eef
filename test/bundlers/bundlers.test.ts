// `init()` loads the wasm with NO configuration under Vite and webpack. For each bundler, a tiny
// browser app is written to a temporary project whose node_modules/lstm-wasm is the package as npm
// installs it (`npm pack` of this repository, unpacked: only the files it ships, resolved through
// its package.json "exports", as from the registry), built with the bundler's JS API and no configuration (build-app.mjs), served
// from node:http on 127.0.0.1 and run in Debian's Chromium, headless. The app does `await init()`, a
// forward and backward pass, and writes the loss and gradients into the page as JSON; they are
// compared with the same computation in plain JS here.
//
// The Vite app is also loaded under `Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'`,
// which forbids eval and new Function: it still works, so nothing on the way (library or bundler
// runtime) evaluates strings. 'wasm-unsafe-eval' itself is needed by ANY WebAssembly: CSP treats
// compiling wasm like eval, and with a script-src that has neither 'unsafe-eval' nor
// 'wasm-unsafe-eval', WebAssembly.compile/instantiate (from bytes or from a same-origin URL alike;
// 'self' does not cover them) are refused. The last test shows that refusal, so the header is known
// to be enforced.
//
// Needs `npm run build` and /usr/bin/chromium (scripts/ensure.sh installs both); a missing Chromium
// fails the browser tests, and LSTM_WASM_NO_BROWSER=1 skips them on purpose (the builds still run).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDynamicCode, findDynamicCode } from './dynamic-code';
import { CHROMIUM, CHROMIUM_ARGS, CONTENT_TYPES, collectProblems } from '../support/chromium';
import { matmulTanhReference } from '../support/matmul-tanh';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The package as npm installs it (see installPackage), and its two builds there; set in beforeAll. */
let installed = '';
let builtEsm = '';
let builtCjs = '';
const buildScript = fileURLToPath(new URL('./build-app.mjs', import.meta.url));


type Bundler = 'vite' | 'webpack';
/** How the inlined wasm (gzipped by scripts/build-wasm.sh, mtime 0, level 9) starts in base64. */
const GZIP_BASE64 = 'H4sIAAAAAAAC';
const BUNDLERS: Bundler[] = ['vite', 'webpack'];

// x is (2,3), w is (3,2); loss = sum(tanh(x @ w)).
const X = [0.5, -1, 2, 1.5, 0.25, -0.75];
const W = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];


// The session the app also runs in a worker: a small model, a few steps, a seeded sample.
const SESSION_TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const SESSION_SETTINGS = { hiddenSize: 8, embedDim: 4, batchSize: 2, seqLen: 8, seed: 3 };
const SESSION_STEPS = 3;
const SAMPLE = { prime: 'the ', length: 12, seed: 1 };
/** What the app samples from the pretrained model. */
const PRETRAINED_SAMPLE = { prime: 'And God said', options: { length: 40, seed: 2 } };
/** A message only the worker side of a session (ts/session/host.ts) holds. */
const WORKER_MARK = 'the session is not open';

// The app, as a user would write it. Top-level await: both bundlers support it by default.
// After the gradients it trains a model with createTrainingSession, whose worker the bundler must
// find through the library's `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`.
// Then it loads the pretrained model through a dynamic import of 'lstm-wasm/pretrained', whose
// weights the bundler must emit as a file of the app through `new URL('../pretrained/...', import.meta.url)`.
const APP = `import { init, tensor, createTrainingSession, sampleText, ValueError } from 'lstm-wasm';

const out = document.getElementById('result');
try {
  await init();
  const x = tensor(${JSON.stringify(X)}, [2, 3], { requiresGrad: true });
  const w = tensor(${JSON.stringify(W)}, [3, 2], { requiresGrad: true });
  const loss = x.matmul(w).tanh().sum();
  loss.backward();
  const result = { loss: loss.item(), dx: Array.from(x.grad.toArray()), dw: Array.from(w.grad.toArray()) };
  const session = await createTrainingSession({ text: ${JSON.stringify(SESSION_TEXT)}, settings: ${JSON.stringify(SESSION_SETTINGS)} });
  const run = await session.train({ steps: ${SESSION_STEPS} });
  const pieces = [];
  for await (const piece of session.generate(${JSON.stringify(SAMPLE.prime)}, { length: ${SAMPLE.length}, seed: ${SAMPLE.seed} })) pieces.push(piece);
  let typedError = null;
  try {
    await session.evaluate('A'); // refused in the worker: the error crosses as its class
  } catch (e) {
    typedError = { isValueError: e instanceof ValueError, name: e.name, message: e.message };
  }
  const checkpointBytes = (await session.checkpoint()).length;
  await session.dispose();
  result.session = { steps: run.steps, finalLoss: run.finalLoss, pieces, typedError, checkpointBytes };
  const { loadPretrained } = await import('lstm-wasm/pretrained');
  const pretrained = await loadPretrained();
  result.pretrained = sampleText(pretrained.model, pretrained.tokenizer, ${JSON.stringify(PRETRAINED_SAMPLE.prime)}, ${JSON.stringify(PRETRAINED_SAMPLE.options)});
  pretrained.model.dispose();
  out.textContent = JSON.stringify(result);
} catch (e) {
  out.textContent = JSON.stringify({ error: String((e && e.stack) || e) });
}
out.dataset.done = 'true';
`;

const html = (title: string, script: string) => `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
</head>
<body>
<pre id="result"></pre>
${script}
</body>
</html>
`;

// Warnings that mean a module could not be resolved or bundled for the browser (node:fs, a dynamic
// import the bundler could not follow, ...). Any other warning fails too, except size hints.
const UNRESOLVABLE =
  /externali[sz]ed for browser compatibility|can't resolve|cannot resolve|could not be resolved|failed to resolve|module not found|unresolved|UnhandledSchemeError|critical dependency|node:|\bfs\b/i;
// Rolldown's PLUGIN_TIMINGS says a build was slow (a loaded machine): a timing hint, not a problem.
const HARMLESS = /exceed(s)? the recommended size limit|asset size limit|entrypoint size limit|performance recommendations|chunks are larger than|\[PLUGIN_TIMINGS\]/i;

interface BuildResult {
  warnings: string[];
  errors: string[];
  modules: string[];
  files: string[];
}

/**
 * The package as npm installs it: `npm pack` of this repository, unpacked in `into`, so the apps see
 * only the files package.json ships. (A link to the repository itself would also show bundlers its
 * tsconfig.json, whose `paths` map 'lstm-wasm' to ts/index.ts: webpack 5.113 reads them by default.)
 */
async function installPackage(into: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', into], { cwd: repoRoot, timeout: 120_000, maxBuffer: 64 << 20 });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  await run('tar', ['-xzf', join(into, filename), '-C', into]);
  return join(into, 'package');
}

/** Writes a project: `files` (path -> text) plus node_modules/lstm-wasm -> the installed package. */
function writeProject(dir: string, files: Record<string, string>) {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(installed, join(dir, 'node_modules', 'lstm-wasm'), 'dir');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

function viteProject(dir: string, entry: string) {
  writeProject(dir, {
    // As create-vite writes it.
    'package.json': JSON.stringify({ name: 'vite-app', private: true, type: 'module' }, null, 2),
    'index.html': html('lstm-wasm + Vite', '<script type="module" src="/src/main.js"></script>'),
    'src/main.js': entry,
  });
}

function webpackProject(dir: string, entry: string) {
  writeProject(dir, {
    // As `npm init -y` writes it: no "type", so webpack parses src/index.js as javascript/auto.
    'package.json': JSON.stringify({ name: 'webpack-app', private: true }, null, 2),
    'src/index.js': entry,
  });
}

/** Runs build-app.mjs in `dir` (see there) without vitest's NODE_ENV=test. */
async function build(bundler: Bundler, dir: string): Promise<BuildResult> {
  const env = { ...process.env };
  delete env.NODE_ENV;
  const { stdout } = await run(process.execPath, [buildScript, bundler], { cwd: dir, env, timeout: 120_000, maxBuffer: 16 << 20 }).catch(
    (e: unknown) => {
      const err = e as { code?: unknown; stderr?: string; stdout?: string };
      throw new Error(`${bundler} build in ${dir} exited with ${err.code}\nstdout: ${err.stdout}\nstderr: ${err.stderr}`);
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as BuildResult;
  if (bundler === 'webpack' && result.errors.length === 0) {
    // webpack makes no HTML page without a plugin: write the one a user would, next to dist/main.js.
    writeFileSync(join(dir, 'dist', 'index.html'), html('lstm-wasm + webpack', '<script src="main.js"></script>'));
  }
  return result;
}

interface Served {
  url: string;
  /** Every path requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 (random port), with `headers` on every response. */
async function serve(root: string, headers: OutgoingHttpHeaders = {}): Promise<Served> {
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push(path);
    const file = resolve(root, '.' + (path === '/' ? '/index.html' : path));
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) {
      res.writeHead(404, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

interface AppResult {
  error?: string;
  loss: number;
  dx: number[];
  dw: number[];
  session: {
    steps: number;
    finalLoss: number;
    pieces: string[];
    typedError: { isValueError: boolean; name: string; message: string } | null;
    checkpointBytes: number;
  };
  pretrained: string;
}

/** The same session in Node (worker_threads, from dist/): what the page's worker must reproduce. */
async function sessionInNode(): Promise<{ finalLoss: number; text: string }> {
  const lib = (await import(pathToFileURL(builtEsm).href)) as typeof import('../../ts/index');
  const session = await lib.createTrainingSession({ text: SESSION_TEXT, settings: SESSION_SETTINGS });
  try {
    const run = await session.train({ steps: SESSION_STEPS });
    let text = '';
    for await (const piece of session.generate(SAMPLE.prime, { length: SAMPLE.length, seed: SAMPLE.seed })) text += piece;
    return { finalLoss: run.finalLoss, text };
  } finally {
    await session.dispose();
  }
}

/** The app's sample of the pretrained model, in Node from the package's file. */
async function pretrainedInNode(): Promise<string> {
  const lib = (await import(pathToFileURL(builtEsm).href)) as typeof import('../../ts/index');
  await lib.init();
  const ck = lib.decodeCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'pretrained', 'kjv-byte.safetensors'))));
  const model = lib.modelFromCheckpoint(ck);
  try {
    return lib.sampleText(model, ck.tokenizer, PRETRAINED_SAMPLE.prime, PRETRAINED_SAMPLE.options);
  } finally {
    model.dispose();
  }
}

describe('bundled with no configuration', () => {
  let tmp: string | undefined;
  const projects = {} as Record<Bundler, string>;
  const builds = {} as Record<Bundler, BuildResult>;

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first');
    tmp = mkdtempSync(join(tmpdir(), 'lstm-wasm-bundlers-'));
    installed = realpathSync(await installPackage(tmp));
    builtEsm = join(installed, 'dist', 'index.js');
    builtCjs = join(installed, 'dist', 'index.cjs');
    projects.vite = join(tmp, 'vite-app');
    projects.webpack = join(tmp, 'webpack-app');
    viteProject(projects.vite, APP);
    webpackProject(projects.webpack, APP);
    const [vite, webpack] = await Promise.all([build('vite', projects.vite), build('webpack', projects.webpack)]);
    builds.vite = vite;
    builds.webpack = webpack;
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe.each(BUNDLERS)('%s', (bundler) => {
    it('builds without errors or warnings about unresolvable modules', () => {
      const { errors, warnings } = builds[bundler];
      expect(errors, errors.join('\n\n')).toEqual([]);
      expect(warnings.filter((w) => UNRESOLVABLE.test(w)), warnings.join('\n\n')).toEqual([]);
      expect(warnings.filter((w) => !HARMLESS.test(w)), 'unexpected warnings').toEqual([]);
    });

    it('takes dist/index.js (the "import" condition of "exports") and inlines the wasm', () => {
      const { modules, files } = builds[bundler];
      expect(modules, `modules in the ${bundler} bundle`).toContain(builtEsm);
      expect(modules, 'the CommonJS build must not be bundled for the browser').not.toContain(builtCjs);
      expect(files.filter((f) => f.endsWith('.wasm')), 'no separate .wasm asset: the module is inlined').toEqual([]);
      const js = files.filter((f) => f.endsWith('.js'));
      expect(js.length).toBeGreaterThan(0);
      const text = js.map((f) => readFileSync(join(projects[bundler], 'dist', f), 'utf8')).join('\n');
      expect(text, 'the bundle holds the gzipped wasm as base64 (a gzip header)').toContain(GZIP_BASE64);
    });

    it("bundles the session's worker (dist/worker.js) as a chunk of its own, not into the page's code", () => {
      const js = builds[bundler].files.filter((f) => f.endsWith('.js'));
      const entry = bundler === 'vite' ? js.find((f) => /^assets\/index-.*\.js$/.test(f)) : 'main.js';
      expect(entry, `the entry chunk among ${js.join(', ')}`).toBeDefined();
      const holdsHost = (f: string) => readFileSync(join(projects[bundler], 'dist', f), 'utf8').includes(WORKER_MARK);
      expect(js.filter((f) => f !== entry && holdsHost(f)), `a worker chunk among ${js.join(', ')}`).toHaveLength(1);
      expect(holdsHost(entry!), 'the worker side of the session is not in the page bundle').toBe(false);
    });

    it("emits the pretrained model's weights as a file of the app, and only the chunk of 'lstm-wasm/pretrained' refers to it", () => {
      const { files } = builds[bundler];
      const weights = files.filter((f) => f.endsWith('.safetensors'));
      expect(weights, `among ${files.join(', ')}`).toHaveLength(1);
      expect(readFileSync(join(projects[bundler], 'dist', weights[0]!))).toEqual(readFileSync(join(repoRoot, 'pretrained', 'kjv-byte.safetensors')));
      const js = files.filter((f) => f.endsWith('.js'));
      const name = weights[0]!.split('/').at(-1)!;
      const referring = js.filter((f) => readFileSync(join(projects[bundler], 'dist', f), 'utf8').includes(name));
      expect(referring, `the chunks naming ${name}`).toHaveLength(1);
      const entry = bundler === 'vite' ? js.find((f) => /^assets\/index-.*\.js$/.test(f)) : 'main.js';
      expect(referring[0], 'the weights are named by a chunk of their own (a dynamic import), not the entry').not.toBe(entry);
    });

    it('emits JavaScript that calls no eval and no Function constructor (bundler runtime included)', () => {
      for (const f of builds[bundler].files.filter((name) => name.endsWith('.js'))) {
        const found = findDynamicCode(readFileSync(join(projects[bundler], 'dist', f), 'utf8'), f);
        expect(found, describeDynamicCode(found, `${bundler} dist/${f}`)).toEqual([]);
      }
    });
  });

  // Shows that the warning check above can fail: an app that imports node:fs/promises is reported.
  it('would report an app that imports node:fs (control)', async () => {
    const entry = `import { readFile } from 'node:fs/promises';\ndocument.body.textContent = String(readFile);\n`;
    viteProject(join(tmp!, 'vite-control'), entry);
    webpackProject(join(tmp!, 'webpack-control'), entry);
    const [vite, webpack] = await Promise.all([build('vite', join(tmp!, 'vite-control')), build('webpack', join(tmp!, 'webpack-control'))]);
    expect([...vite.warnings, ...vite.errors].filter((w) => UNRESOLVABLE.test(w)).length, JSON.stringify(vite)).toBeGreaterThan(0);
    expect([...webpack.warnings, ...webpack.errors].filter((w) => UNRESOLVABLE.test(w)).length, JSON.stringify(webpack)).toBeGreaterThan(0);
  });

  describe.skipIf(process.env.LSTM_WASM_NO_BROWSER === '1')('in Chromium', () => {
    let browser: Browser | undefined;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(
          `Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure.sh\` (installs Debian's chromium), ` +
            'set LSTM_WASM_CHROMIUM to a Chromium binary, or set LSTM_WASM_NO_BROWSER=1 to skip browser tests',
        );
      }
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
    });

    /** Loads the built app of `bundler` and returns what it wrote, plus every error the page showed. */
    async function load(bundler: Bundler, headers: OutgoingHttpHeaders = {}) {
      const served = await serve(join(projects[bundler], 'dist'), headers);
      const page = await browser!.newPage();
      const problems = collectProblems(page, { consoleWarnings: true, failedRequests: true });
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      // Every CSP violation, including an eval or new Function whose EvalError the code caught and
      // survived (that logs nothing to the console). Injected by the DevTools protocol, so the CSP
      // under test does not block this script itself.
      await page.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { cspViolations: string[] }).cspViolations = seen;
        document.addEventListener('securitypolicyviolation', (e) => {
          seen.push(`${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`);
        });
      });
      try {
        await page.goto(served.url);
        await page.waitForSelector('#result[data-done]', { state: 'attached', timeout: 30_000 });
        const result = JSON.parse((await page.textContent('#result')) ?? '') as AppResult;
        await page.waitForTimeout(100); // violation events are dispatched as tasks: let any pending one run
        const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
        return { result, problems, violations, requests: served.requests };
      } finally {
        await page.close();
        await served.close();
      }
    }

    let nodeSession: Promise<{ finalLoss: number; text: string }> | undefined;
    let pretrainedText: Promise<string> | undefined;

    /** The page's gradients match plain JS, and its worker session matches the same session run in Node. */
    async function expectCorrect(result: AppResult) {
      expect(result.error, 'the app threw').toBeUndefined();
      const node = await (nodeSession ??= sessionInNode());
      const s = result.session;
      expect(s.steps).toBe(SESSION_STEPS);
      expect(s.finalLoss, 'the worker trained the same steps as Node did').toBe(node.finalLoss);
      expect(s.pieces, 'generate streamed one piece per character').toHaveLength(SAMPLE.length);
      expect(s.pieces.join(''), 'the same seeded sample as in Node').toBe(node.text);
      expect(s.typedError).toEqual({
        isValueError: true, name: 'ValueError', message: 'TrainingSession.evaluate: the text has 1 token(s); need at least 2 to evaluate',
      });
      expect(s.checkpointBytes).toBeGreaterThan(1000);
      expect(result.pretrained, 'the pretrained model samples in the page as in Node').toBe(await (pretrainedText ??= pretrainedInNode()));
      const ref = matmulTanhReference(X, W);
      const detail = JSON.stringify({ got: result, ref });
      expect(result.dx).toHaveLength(6);
      expect(result.dw).toHaveLength(6);
      expect(Math.abs(result.loss - ref.loss), `|loss - reference|; ${detail}`).toBeLessThan(1e-5);
      result.dx.forEach((v, i) => expect(Math.abs(v - ref.dx[i]!), `x.grad[${i}]; ${detail}`).toBeLessThan(1e-5));
      result.dw.forEach((v, i) => expect(Math.abs(v - ref.dw[i]!), `w.grad[${i}]; ${detail}`).toBeLessThan(1e-5));
    }

    it.each(BUNDLERS)('the %s app runs init(), forward and backward, matching plain JS, and trains in a worker as Node does', async (bundler) => {
      const { result, problems, violations, requests } = await load(bundler);
      await expectCorrect(result);
      expect(problems).toEqual([]);
      expect(violations).toEqual([]);
      expect(requests.filter((p) => p.endsWith('.wasm')), 'the inlined module needs no request').toEqual([]);
      const workerChunk = builds[bundler].files.filter((f) => f.endsWith('.js') && readFileSync(join(projects[bundler], 'dist', f), 'utf8').includes(WORKER_MARK));
      expect(requests, 'the page started the worker from its chunk').toContain(`/${workerChunk[0]}`);
      const weights = builds[bundler].files.filter((f) => f.endsWith('.safetensors'));
      expect(requests.filter((p) => p.endsWith('.safetensors')), 'the weights were fetched once, from the app\'s own file').toEqual([`/${weights[0]}`]);
      // The budget of issue 22: with two wasm builds in the package, the code a page that imports
      // lstm-wasm downloads (HTML and JS, gzipped as a server sends them) stays under 150 KB:
      // Chromium runs the relaxed build, and only that build's chunk is requested. The session's
      // worker is code the page loads once it starts a session: it carries no wasm (it is handed
      // the page's compiled module), and is reported apart. The model's weights are data.
      const dist = (p: string) => join(projects[bundler], 'dist', p === '/' ? 'index.html' : p.slice(1));
      const code = [...new Set(requests)].filter((p) => !p.endsWith('.safetensors'));
      const gz = new Map(code.map((p) => [p, gzipSync(readFileSync(dist(p)), { level: 9 }).length]));
      const isWorker = (p: string) => p !== '/' && readFileSync(dist(p), 'utf8').includes(WORKER_MARK);
      const sum = (paths: string[]) => paths.reduce((a, p) => a + gz.get(p)!, 0);
      const page = code.filter((p) => !isWorker(p));
      const workerCode = code.filter(isWorker);
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      console.log(`${bundler} app, gzipped: the page's code ${kb(sum(page))} (${page.map((p) => `${p} ${kb(gz.get(p)!)}`).join(', ')}); the session worker ${kb(sum(workerCode))}`);
      expect(sum(page), page.join(', ')).toBeLessThan(150 * 1024);
      const inlined = code.filter((p) => p !== '/' && readFileSync(dist(p), 'utf8').includes(GZIP_BASE64));
      expect(inlined, 'one chunk with an inlined wasm build was downloaded').toHaveLength(1);
      expect(workerCode.filter((p) => inlined.includes(p)), 'the worker carries no wasm of its own').toEqual([]);
    });

    it("the Vite app, worker included, runs under CSP script-src 'self' 'wasm-unsafe-eval' (no 'unsafe-eval')", async () => {
      const csp = "script-src 'self' 'wasm-unsafe-eval'";
      const { result, problems, violations } = await load('vite', { 'content-security-policy': csp });
      await expectCorrect(result);
      expect(problems).toEqual([]);
      expect(violations, 'an eval or new Function, even caught, is a "script-src eval" violation').toEqual([]);
    });

    it("without 'wasm-unsafe-eval' the same page cannot compile the wasm (the header is enforced)", async () => {
      const { result, problems, violations } = await load('vite', { 'content-security-policy': "script-src 'self'" });
      expect(result.error, JSON.stringify({ result, problems })).toMatch(/^WasmLoadError: lstm-wasm: .*WebAssembly/);
      expect(result.error).toMatch(/Content Security Policy/i);
      expect(violations.length, 'the refusal is a "script-src wasm-eval" violation').toBeGreaterThan(0);
      expect(violations.every((v) => v.startsWith('script-src blocked wasm-eval')), violations.join('\n')).toBe(true);
    });
  });
});
