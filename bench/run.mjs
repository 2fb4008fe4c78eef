#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only id,id] [-- --baseline DIR]`: installs the peers on first use (bench/package.json,
// never the library's dependencies), builds lstm-wasm if dist/ is missing, runs each system in its
// own child process, one after another (one backend per process; a peer that crashes costs only its
// own row), then prints one table and writes it as JSON to bench/results/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, markdownTable, notes } from './lib/table.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');

/**
 * Every system, in run order: lstm-wasm (WASM, its SIMD128 build) first, since it writes the
 * reference outputs. `quickSkip`: workloads too slow for --quick. lstm-wasm's relaxed-SIMD build
 * runs in a Node started with --experimental-wasm-relaxed-simd (Node 20 has relaxed SIMD only
 * behind that flag; the bench opts in for that one child, the library never sets V8 flags).
 */
const SYSTEMS = [
  { id: 'lstm-wasm-wasm', file: 'lstm-wasm.mjs', backend: 'wasm', simd: 'simd128', quickSkip: [] },
  { id: 'lstm-wasm-relaxed', file: 'lstm-wasm.mjs', backend: 'wasm', simd: 'relaxed', nodeArgs: ['--experimental-wasm-relaxed-simd'], quickSkip: [] },
  { id: 'lstm-wasm-js', file: 'lstm-wasm.mjs', backend: 'js', quickSkip: ['W1', 'W3'] },
  { id: 'tfjs-wasm', file: 'tfjs.mjs', backend: 'wasm', quickSkip: ['W1'] },
  { id: 'tfjs-cpu', file: 'tfjs.mjs', backend: 'cpu', quickSkip: ['W1', 'W2', 'W3'] },
  { id: 'brain', file: 'brain.mjs', quickSkip: ['W2'] },
  { id: 'onnxruntime', file: 'onnxruntime.mjs', quickSkip: [] },
  { id: 'onnxruntime-web', file: 'onnxruntime-web.mjs', quickSkip: [] },
  { id: 'plain-js', file: 'plain-js.mjs', quickSkip: [] },
];

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const valueOf = (flag) => {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
};
const only = valueOf('--only') === undefined ? null : new Set(valueOf('--only').split(','));
// --baseline DIR: also measure another build of lstm-wasm (its dist/ folder, e.g. from a git
// worktree of an older commit) as the system `lstm-wasm-baseline`, so a change is judged by the
// ratio of the two in one run.
const baseline = valueOf('--baseline');
const unknown = argv.filter((a, i) => a !== '--quick' && !['--only', '--baseline'].includes(a) && !['--only', '--baseline'].includes(argv[i - 1]));
if (unknown.length > 0 || (baseline !== undefined && !existsSync(join(baseline, 'index.js')))) {
  console.error(
    unknown.length > 0
      ? `bench: unknown argument(s) ${unknown.join(' ')}; usage: npm run bench [-- --quick] [-- --only ${SYSTEMS.map((s) => s.id).join(',')}] [-- --baseline DIR]`
      : `bench: --baseline ${baseline} has no index.js: give the dist/ folder of another lstm-wasm build`,
  );
  process.exit(2);
}
if (only !== null && [...only].some((id) => id !== 'threads' && !SYSTEMS.some((s) => s.id === id) && id !== 'lstm-wasm-baseline')) {
  console.error(`bench: --only takes ${SYSTEMS.map((s) => s.id).join(',')},threads`);
  process.exit(2);
}
if (baseline !== undefined) {
  SYSTEMS.splice(1, 0, { id: 'lstm-wasm-baseline', file: 'lstm-wasm.mjs', backend: 'wasm', dist: baseline, quickSkip: [] });
}

function sh(cmd, args, opts = {}) {
  console.log(`bench: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

// Peers: bench's own lockfile, installed into bench/node_modules. onnxruntime-node's install script
// only fetches GPU providers; the CPU binary ships in the package, so the script is skipped. An
// install from before a peer was added (bench/package.json lists a package node_modules lacks) is
// redone; if that fails, the missing peers report themselves unavailable.
const peerInstall = () => sh('npm', ['ci', '--prefix', 'bench', '--no-audit', '--no-fund'], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
const peers = Object.keys(JSON.parse(readFileSync(join(benchDir, 'package.json'), 'utf8')).dependencies);
if (!existsSync(join(benchDir, 'node_modules', '.package-lock.json'))) peerInstall();
else if (peers.some((p) => !existsSync(join(benchDir, 'node_modules', p, 'package.json')))) {
  try {
    peerInstall();
  } catch (e) {
    console.warn(`bench: warning: ${e.message}; peers not installed are reported unavailable`);
  }
}
const distEntry = join(root, 'dist', 'index.js');
if (!existsSync(distEntry)) sh('npm', ['run', 'build']);
else {
  const newest = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
  if (Math.max(newest(join(root, 'ts')), newest(join(root, 'crate'))) > statSync(distEntry).mtimeMs) {
    console.warn('bench: warning: dist/ is older than ts/ or crate/; this measures the last build (run `npm run build` to refresh)');
  }
}

const shared = mkdtempSync(join(tmpdir(), 'lstm-wasm-bench-'));
const childTimeoutMs = quick ? 90_000 : 420_000;

/** Runs one system in a child process; resolves to its result JSON, or a failure record. */
function runSystem(sys) {
  const out = join(shared, `${sys.id}.json`);
  const args = [join(benchDir, 'systems', sys.file), '--shared', shared, '--out', out];
  if (sys.backend) args.push('--backend', sys.backend);
  if (sys.simd) args.push('--simd', sys.simd);
  if (sys.dist) args.push('--dist', sys.dist);
  if (quick) args.push('--quick');
  if (quick && sys.quickSkip.length > 0) args.push('--skip', sys.quickSkip.join(','));
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(sys.nodeArgs ?? []), ...args], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const secs = (performance.now() - t0) / 1000;
      let result = null;
      if (existsSync(out)) {
        try {
          result = JSON.parse(readFileSync(out, 'utf8'));
        } catch {}
      }
      if (result === null || code !== 0) {
        const why = signal === 'SIGKILL' ? `killed after ${childTimeoutMs / 1000} s` : `exit ${code ?? signal}`;
        const tail = stderr.trim().split('\n').slice(-3).join(' / ');
        result = { ...(result ?? {}), id: sys.id, name: result?.name ?? sys.id, status: 'failed', error: `${why}${tail ? `: ${tail}` : ''}`, workloads: result?.workloads ?? {} };
      }
      result.seconds = +secs.toFixed(1);
      console.log(`bench: ${sys.id} ${result.status} in ${secs.toFixed(1)} s`);
      resolve(result);
    });
  });
}

const started = new Date();
const loadBefore = loadavg()[0];
const t0 = performance.now();
const results = [];
for (const sys of SYSTEMS) if (!only || only.has(sys.id)) results.push(await runSystem(sys));

// Data-parallel scaling of lstm-wasm itself (bench/threads.mjs): W1 and W3 on 1..cores threads.
let threads = null;
if (!only || only.has('threads')) {
  const file = join(shared, 'threads.json');
  const r = spawnSync(process.execPath, [join(benchDir, 'threads.mjs'), '--out', file, ...(quick ? ['--quick'] : [])], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: childTimeoutMs });
  threads = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { valid: false, error: `bench/threads.mjs exited ${r.status ?? r.signal}` };
  threads.table = (r.stdout ?? '').trim();
  console.log(`bench: threads ${threads.valid ? 'ok' : 'failed'}`);
}
rmSync(shared, { recursive: true, force: true });

const rows = summarize(results);
const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version.slice(1)}`;
const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
const date = started.toISOString().slice(0, 10);
const quickNote = quick
  ? `\n--quick: fewer runs; skipped ${SYSTEMS.filter((s) => s.quickSkip.length).map((s) => `${s.id} ${s.quickSkip.join('/')}`).join(', ')}.`
  : '';
// Other work on the machine skews every row; the 1-minute load average says how much there was.
const load = `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`;
const header = `Machine: ${machine} (${load}). Date: ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC. Command: \`${command}\` (${((performance.now() - t0) / 1000).toFixed(0)} s).${quickNote}`;
const table = markdownTable(rows);
const refProbe = rows.find((r) => r.id === 'lstm-wasm-wasm' && r.key === 'W1')?.host;
// The host probe (bench/lib/common.mjs) tracks the shared machine's drift; say how to read it.
const hostNote = 'host speed: the median of a fixed scalar-JS probe timed just before each run, relative to lstm-wasm\'s on the same '
  + 'workload (1.00× = same host speed). Below 1 the system ran while the shared host was slower, so its ratio favours lstm-wasm by '
  + 'about that factor; above 1, the reverse. The probe does not see contention for caches or memory bandwidth, so 1.00× is '
  + `necessary, not sufficient, for a fair ratio (bench/README.md).${refProbe !== undefined ? ` lstm-wasm's W1 probe: ${refProbe.toFixed(0)} Mop/s.` : ''}`;
console.log(`\n${header}\n\n${table}\n\n${hostNote}\n\n${notes(results, rows)}\n`);
if (threads !== null) console.log(`${threads.table || threads.error}\n`);

const resultsDir = join(benchDir, 'results');
mkdirSync(resultsDir, { recursive: true });
const json = JSON.stringify({ date: started.toISOString(), machine, load, command, quick, hostNote, seconds: Math.round((performance.now() - t0) / 1000), rows, systems: results, threads }, null, 1);
// Quick runs are smoke tests and --only / --baseline runs are partial: neither replaces the full results.
const files = quick ? ['quick.json'] : only !== null || baseline !== undefined ? ['partial.json'] : [`${date}.json`, 'latest.json'];
for (const f of files) writeFileSync(join(resultsDir, f), json);
console.log(`bench: wrote ${files.map((f) => `bench/results/${f}`).join(', ')}`);
// Peers may fail or be unavailable; lstm-wasm (WASM) itself must run and validate (the CI smoke test).
const own = results.find((r) => r.id === 'lstm-wasm-wasm');
const ownBad = (own && (own.status !== 'ok' || Object.values(own.workloads).some((w) => w.status === 'failed' || w.status === 'invalid'))) || (threads !== null && !threads.valid);
process.exit(ownBad ? 1 : 0);
