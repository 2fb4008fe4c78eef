// What every system runner shares: the fixed workload sizes, run options parsed from argv, the
// timing loop (warm-ups, then timed repeats until a count or a time budget), and the result file.
import { writeFileSync } from 'node:fs';

/** The workloads of the benchmark issue. Sizes are fixed; do not change them to flatter anyone. */
export const W1 = { V: 65, E: 64, H: 256, L: 2, T: 64, B: 32, lr: 2e-3 }; // train-charlm
export const W2 = { V: 65, E: 64, H: 512, L: 2, steps: 256, first: 0 }; // infer-stream
export const W3 = { I: 128, H: 256, T: 128, B: 64 }; // forward-batch
export const W3_FLOPS = 8 * W3.H * (W3.I + W3.H) * W3.B * W3.T;
/** SGEMM shapes as [M, N, K]; GFLOP/s = 2MNK/t. */
export const SGEMM_SHAPES = [[256, 256, 256], [512, 512, 512], [64, 1024, 1024]];
export const sgemmName = ([m, n, k]) => `${m}x${n}x${k}`;

/**
 * Repeat policy per workload: `warmup` untimed runs (and more, until `warmupMs` of untimed work, if
 * a runner sets it), then timed runs until `repeats` or until `budgetMs` of timed work (never fewer
 * than `min`). `slow` is for peers whose single W1 step or W3 pass takes tens of seconds
 * (TensorFlow.js cpu): fewer runs, so a full run stays under 10 min. `W2-int8` is W2 on int8 LSTM
 * weights (onnxruntime's DynamicQuantizeLSTM), the same generation, so the same plan.
 */
export function plan(quick, slow = false) {
  if (quick) {
    return {
      W1: { warmup: 1, repeats: 2, min: 2, budgetMs: 3000 },
      W2: { warmup: 1, repeats: 3, min: 1, budgetMs: 1500 },
      'W2-int8': { warmup: 1, repeats: 3, min: 1, budgetMs: 1500 },
      W3: { warmup: 1, repeats: 3, min: 1, budgetMs: 1500 },
      sgemm: { warmup: 1, repeats: 5, min: 2, budgetMs: 200 },
    };
  }
  return {
    W1: slow ? { warmup: 2, repeats: 2, min: 2, budgetMs: 0 } : { warmup: 2, repeats: 10, min: 3, budgetMs: 15000 },
    W2: { warmup: 1, repeats: 7, min: 3, budgetMs: 8000 },
    'W2-int8': { warmup: 1, repeats: 7, min: 3, budgetMs: 8000 },
    W3: slow ? { warmup: 1, repeats: 2, min: 2, budgetMs: 0 } : { warmup: 1, repeats: 10, min: 3, budgetMs: 10000 },
    sgemm: { warmup: 2, repeats: 15, min: 3, budgetMs: 2000 },
  };
}

/** argv of a system runner: --quick, --shared DIR, --out FILE, --backend NAME, --skip W1,W3. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = { quick: false, shared: null, out: null, backend: null, simd: null, dist: null, skip: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--shared') args.shared = argv[++i];
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--backend') args.backend = argv[++i];
    else if (a === '--dist') args.dist = argv[++i];
    else if (a === '--simd') args.simd = argv[++i];
    else if (a === '--skip') for (const w of argv[++i].split(',')) args.skip.add(w);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.shared || !args.out) throw new Error('usage: <system>.mjs --shared DIR --out FILE [--quick] [--backend NAME] [--simd relaxed|simd128] [--dist DIR] [--skip W1,...]');
  return args;
}

/**
 * The host's current speed, in million multiply-adds per second of a fixed scalar JS loop that
 * uses no library. This shared machine's speed drifts by up to 1.7x within seconds to minutes.
 * The probe sees the kind of drift that slows all code alike (once: probe 600 with sgemm 35
 * GFLOP/s, probe 370 with sgemm 21.5, the same 1.6x); it does not see contention for caches or
 * memory bandwidth, which at other times moved sgemm 1.5x with the probe within 5%. So a probe
 * ratio near 1 is necessary, not sufficient, for a fair comparison. The best of four 5 ms slices,
 * so one GC pause or preemption does not read as a slow host.
 */
export function hostProbe(ms = 20) {
  if (!probeWarm) {
    // The first calls run before the JIT has optimized the loop (a first probe read 15 of 250).
    probeWarm = true;
    for (let i = 0; i < 5; i++) hostProbe(20);
  }
  const a = PROBE_DATA;
  let s = 0;
  let best = 0;
  const end = performance.now() + ms;
  do {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      for (let i = 0; i < 4096; i++) s += a[i] * a[(i * 7) & 4095];
      n += 4096;
      dt = performance.now() - t0;
    } while (dt < ms / 4);
    best = Math.max(best, n / (dt * 1000));
  } while (performance.now() < end);
  if (Number.isNaN(s)) throw new Error('hostProbe: impossible NaN'); // keeps `s` alive
  return best;
}
const PROBE_DATA = Float64Array.from({ length: 4096 }, (_, i) => (i % 97) * 1e-3);
let probeWarm = false;

/** Host probes taken by `measure` since the last `takeProbes()`. */
let probes = [];
export function takeProbes() {
  const p = probes;
  probes = [];
  return p;
}

/**
 * Runs `fn` (sync or async) `warmup` times untimed (more if needed to fill `warmupMs` of untimed
 * work: V8 runs a large WebAssembly module's functions in its baseline tier until they are hot,
 * so onnxruntime-web's W2 takes 1,000-2,500 steps to reach its speed), then timed until
 * `repeats` runs or `budgetMs` of timed work (at least `min` runs), with a host probe (untimed)
 * before each timed run. Returns the per-run milliseconds, what each run returned (warm-ups
 * first) and the number of warm-up runs done.
 */
export async function measure(fn, { warmup, warmupMs = 0, repeats, min, budgetMs }) {
  const values = [];
  const w0 = performance.now();
  for (let i = 0; i < warmup || performance.now() - w0 < warmupMs; i++) values.push(await fn());
  warmup = values.length;
  const ms = [];
  let spent = 0;
  while (ms.length < repeats && (ms.length < min || spent < budgetMs)) {
    probes.push(hostProbe());
    const t0 = performance.now();
    const v = await fn();
    const dt = performance.now() - t0;
    values.push(v);
    ms.push(dt);
    spent += dt;
  }
  return { ms, values, warmup };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Turns per-run milliseconds into a rate: `work` units per run (tokens, or flops for GFLOP/s with scale 1e-9). */
export function rate(ms, work, scale = 1) {
  const per = ms.map((m) => (work * scale) / (m / 1000));
  return { median: (work * scale) / (median(ms) / 1000), min: Math.min(...per), max: Math.max(...per), runs: ms.length, ms: ms.map((m) => +m.toFixed(3)) };
}

export function argmax(xs, offset = 0, n = xs.length - offset) {
  let best = 0;
  for (let i = 1; i < n; i++) if (xs[offset + i] > xs[offset + best]) best = i;
  return best;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i] - b[i]);
    if (!(x <= d)) d = Number.isNaN(x) ? Infinity : x;
  }
  return d;
}

export function allFinite(xs) {
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) return false;
  return true;
}

/**
 * Collects one system's results and writes them as JSON to `--out`, also on failure. Each workload
 * is run in a try block, so a peer that cannot do one workload still reports the others.
 */
export class Report {
  constructor(args, system) {
    this.args = args;
    this.data = { ...system, status: 'ok', quick: args.quick, node: process.version, workloads: {} };
  }

  /** Runs `fn` for workload `name` unless skipped; `fn` returns the workload record. */
  async workload(name, fn) {
    if (this.args.skip.has(name)) {
      this.data.workloads[name] = { status: 'skipped', reason: 'skipped by the runner (--quick or --skip)' };
      return;
    }
    const t0 = performance.now();
    takeProbes();
    try {
      const rec = await fn();
      const host = takeProbes();
      this.data.workloads[name] = { status: rec.validation?.ok === false ? 'invalid' : 'ok', ...rec };
      if (host.length > 0) this.data.workloads[name].host = +median(host).toFixed(1);
    } catch (e) {
      this.data.workloads[name] = { status: 'failed', error: String(e?.stack ?? e).split('\n').slice(0, 4).join('\n') };
    }
    const w = this.data.workloads[name];
    const what = w.status === 'ok' || w.status === 'invalid'
      ? `${w.status}${w.median !== undefined ? ` median ${w.median.toFixed(1)} ${w.unit}` : ''}${w.validation ? `; ${w.validation.detail}` : ''}`
      : `${w.status}: ${w.error ?? w.reason}`;
    console.log(`[${this.data.id}] ${name} ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }

  unavailable(error) {
    this.data.status = 'unavailable';
    this.data.error = String(error?.message ?? error);
    this.write();
  }

  write() {
    writeFileSync(this.args.out, JSON.stringify(this.data, null, 1));
  }
}
