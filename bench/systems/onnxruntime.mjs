// onnxruntime-node 1.30 (CPU execution provider, 1 intra-op and 1 inter-op thread) on the
// inference workloads. The graphs are written by bench/lib/onnx.mjs from the same PyTorch-layout
// weights as lstm-wasm (ONNX LSTM op, Gather for the embedding, MatMul + Add for the head).
import { createRequire } from 'node:module';
import { W2, W3, W3_FLOPS, SGEMM_SHAPES, sgemmName, parseArgs, plan, measure, rate, argmax, Report } from '../lib/common.mjs';
import { w2Model, w3Weights, w3Input } from '../lib/workloads.mjs';
import { checkStream, checkForward, checkSgemm, sgemmOperands } from '../lib/checks.mjs';
import { streamStepModel, forwardModel, matmulModel } from '../lib/onnx.mjs';

const require = createRequire(import.meta.url);
const args = parseArgs();
const report = new Report(args, {
  id: 'onnxruntime',
  name: 'onnxruntime-node (CPU EP, 1 thread)',
  version: require('onnxruntime-node/package.json').version,
  deviations: ['inference only (W2, W3, SGEMM); W1 needs training, which onnxruntime-node does not do'],
});
const P = plan(args.quick);

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  report.unavailable(e);
  process.exit(0);
}
const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
const session = (bytes) => ort.InferenceSession.create(bytes, sessionOptions);

report.data.workloads.W1 = { status: 'n/a', reason: 'inference runtime (no training)' };

await report.workload('W2', async () => {
  const { H, L, steps } = W2;
  const s = await session(streamStepModel(w2Model(), W2));
  const zeros = () => new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
  let logits0 = null;
  const generate = async () => {
    const feeds = {};
    for (let l = 0; l < L; l++) Object.assign(feeds, { [`h${l}`]: zeros(), [`c${l}`]: zeros() });
    let token = W2.first;
    const ids = [];
    for (let i = 0; i < steps; i++) {
      feeds.ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]);
      const out = await s.run(feeds);
      const logits = out.logits.data;
      token = argmax(logits);
      if (i === 0) logits0 = Float32Array.from(logits);
      for (let l = 0; l < L; l++) Object.assign(feeds, { [`h${l}`]: out[`h${l}_out`], [`c${l}`]: out[`c${l}_out`] });
      ids.push(token);
    }
    return ids;
  };
  const { ms, values } = await measure(generate, P.W2);
  await s.release();
  return { unit: 'tokens/s', ...rate(ms, steps), warmup: P.W2.warmup, validation: checkStream(values[0], logits0, args.shared) };
});

await report.workload('W3', async () => {
  const { I, T, B } = W3;
  const s = await session(forwardModel(w3Weights(), W3));
  const x = new ort.Tensor('float32', w3Input(), [T, B, I]);
  const { ms, values } = await measure(async () => (await s.run({ x })).y.data, P.W3);
  await s.release();
  return {
    unit: 'tokens/s', ...rate(ms, T * B), gflops: rate(ms, W3_FLOPS, 1e-9), warmup: P.W3.warmup,
    validation: checkForward(values[values.length - 1], args.shared),
  };
});

await report.workload('sgemm', async () => {
  const shapes = {};
  for (const shape of SGEMM_SHAPES) {
    const [m, n, k] = shape;
    const { a, b } = sgemmOperands(shape);
    const s = await session(matmulModel(shape));
    const feeds = { a: new ort.Tensor('float32', a, [m, k]), b: new ort.Tensor('float32', b, [k, n]) };
    const { ms, values } = await measure(async () => (await s.run(feeds)).c.data, P.sgemm);
    await s.release();
    shapes[sgemmName(shape)] = { unit: 'GFLOP/s', ...rate(ms, 2 * m * n * k, 1e-9), validation: checkSgemm(shape, a, b, values[0]) };
  }
  const ok = Object.values(shapes).every((s) => s.validation.ok);
  return { unit: 'GFLOP/s', shapes, validation: { ok, detail: ok ? 'all shapes match float64 on 64 entries' : 'mismatch vs float64' } };
});

report.write();
