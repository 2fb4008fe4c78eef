// onnxruntime-web 1.30 in Node: its WebAssembly backend (the `wasm` execution provider, the one
// SIMD build it ships), single-threaded (`env.wasm.numThreads = 1`: no worker threads), not
// proxied to a worker, on the same workloads, graphs and checks as onnxruntime-node
// (bench/lib/ort-workloads.mjs). This is what a browser page that picks ONNX Runtime runs.
import { createRequire } from 'node:module';
import { parseArgs, Report } from '../lib/common.mjs';
import { runOrtWorkloads } from '../lib/ort-workloads.mjs';
import { matmulModel } from '../lib/onnx.mjs';

const require = createRequire(import.meta.url);
const args = parseArgs();
const report = new Report(args, {
  id: 'onnxruntime-web',
  name: 'onnxruntime-web (wasm, 1 thread)',
  deviations: [
    'inference only (W2, W2-int8, W3, SGEMM); W1 needs training, which onnxruntime-web does not do',
    'W2 and W2-int8 warm up for at least 2 s untimed (0.5 s with --quick): V8 runs the wasm in its baseline tier until the code is hot, 1,000-2,500 W2 steps here',
  ],
});

const sessionOptions = { executionProviders: ['wasm'], executionMode: 'sequential', graphOptimizationLevel: 'all' };
let ort;
try {
  ort = require('onnxruntime-web'); // Node resolves the package's "node" export, dist/ort.node.min.js
  report.data.version = ort.env.versions.web; // its "exports" do not include package.json
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  // The wasm binary loads with the first session: a runtime that cannot start is unavailable here,
  // not a failure of every workload.
  await (await ort.InferenceSession.create(matmulModel([1, 1, 1]), sessionOptions)).release();
  report.data.detail = `wasm backend, ${ort.env.wasm.numThreads} thread, SIMD ${ort.env.wasm.simd}, proxy ${ort.env.wasm.proxy}`;
} catch (e) {
  report.unavailable(e);
  process.exit(0);
}

await runOrtWorkloads({
  ort,
  report,
  args,
  sessionOptions,
  warmupMs: args.quick ? { W2: 500, 'W2-int8': 500 } : { W2: 2000, 'W2-int8': 2000 },
});
