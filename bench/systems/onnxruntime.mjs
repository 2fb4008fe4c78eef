// onnxruntime-node 1.30 (its native CPU execution provider, 1 intra-op and 1 inter-op thread) on
// the inference workloads: W2, W2-int8, W3, SGEMM, run by bench/lib/ort-workloads.mjs (shared with
// onnxruntime-web) on the graphs of bench/lib/onnx.mjs.
import { createRequire } from 'node:module';
import { parseArgs, Report } from '../lib/common.mjs';
import { runOrtWorkloads } from '../lib/ort-workloads.mjs';

const require = createRequire(import.meta.url);
const args = parseArgs();
const report = new Report(args, {
  id: 'onnxruntime',
  name: 'onnxruntime-node (CPU EP, 1 thread)',
  deviations: ['inference only (W2, W2-int8, W3, SGEMM); W1 needs training, which onnxruntime-node does not do'],
});

let ort;
try {
  report.data.version = require('onnxruntime-node/package.json').version;
  ort = require('onnxruntime-node');
} catch (e) {
  report.unavailable(e);
  process.exit(0);
}

await runOrtWorkloads({
  ort,
  report,
  args,
  sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' },
});
