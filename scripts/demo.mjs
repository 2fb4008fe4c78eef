// The browser app (examples/browser): builds what is missing and serves it.
//
//   npm run demo         builds dist/ (npm run build) if dist/index.js or dist/worker.js is missing,
//                        builds the app if it is missing or older than its sources, and serves it on
//                        http://localhost:5173/ (PORT=... for another port)
//   npm run demo:build   builds the app into examples/browser/dist: static files with relative
//                        paths, for any static host
//
// The app imports 'lstm-wasm' as a user's app would: examples/browser/node_modules/lstm-wasm is a
// symlink to this repository, made here when missing, so Vite resolves the package through its
// package.json "exports". The server sends COOP/COEP headers (cross-origin isolation), which the
// app does not need today but a threaded build would; serving under them keeps the app honest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const app = join(repo, 'examples', 'browser');
const out = join(app, 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function ensurePackageBuilt() {
  if (existsSync(join(repo, 'dist', 'index.js')) && existsSync(join(repo, 'dist', 'worker.js'))) return;
  console.log('demo: dist/ is missing, running npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit code ${r.status})`);
}

function ensureLink() {
  const link = join(app, 'node_modules', 'lstm-wasm');
  try {
    lstatSync(link);
    return;
  } catch {
    // missing: make it
  }
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(relative(join(app, 'node_modules'), repo) || '.', link, 'dir');
}

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

function appIsCurrent() {
  const built = join(out, 'index.html');
  if (!existsSync(built)) return false;
  const sources = [join(app, 'index.html'), join(app, 'vite.config.js'), join(app, 'src'), join(repo, 'dist', 'index.js'), join(repo, 'dist', 'worker.js'), join(repo, 'dist', 'pretrained.js'), join(repo, 'pretrained', 'kjv-byte.safetensors')];
  return statSync(built).mtimeMs >= Math.max(...sources.map(newestMtime));
}

async function buildApp() {
  const { build } = await import('vite');
  await build({ root: app, configFile: join(app, 'vite.config.js'), logLevel: 'warn' });
  console.log(`demo: built ${relative(process.cwd(), out) || out}`);
}

function serve(root, port) {
  const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(root, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    if (!file.startsWith(root + sep)) return void res.writeHead(404, headers).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`demo: serving the lstm-wasm app at http://localhost:${server.address().port}/  (Ctrl-C stops)`));
  return server;
}

const buildOnly = process.argv.includes('--build');
ensurePackageBuilt();
ensureLink();
if (buildOnly || !appIsCurrent()) await buildApp();
if (!buildOnly) serve(out, Number(process.env.PORT ?? 5173));
