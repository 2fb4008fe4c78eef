// The inference workloads of both onnxruntime peers (systems/onnxruntime.mjs: onnxruntime-node's
// native CPU execution provider; systems/onnxruntime-web.mjs: onnxruntime-web's wasm backend in
// Node). They share the ONNX Runtime JS API (InferenceSession, Tensor), so one runner takes the
// `ort` module and its session options; the graphs are bench/lib/onnx.mjs's, written from the same
// PyTorch-layout weights as lstm-wasm (ONNX LSTM op, Gather for the embedding, MatMul + Add for the
// head), and the checks are bench/lib/checks.mjs's.
import { W2, W3, W3_FLOPS, SGEMM_SHAPES, sgemmName, plan, measure, rate, argmax, allFinite, maxAbsDiff } from './common.mjs';
import { w2Model, w3Weights, w3Input, readReference } from './workloads.mjs';
import { checkStream, checkStreamInt8, checkForward, checkSgemm, sgemmOperands } from './checks.mjs';
import { streamStepModel, forwardModel, matmulModel } from './onnx.mjs';

/**
 * Runs W2, W2-int8, W3 and SGEMM (W1 is n/a: no training) into `report` and writes it.
 * `sessionOptions`: passed to every InferenceSession.create. `warmupMs`: extra untimed warm-up per
 * workload, by time (onnxruntime-web: V8 tiers its wasm up while it runs, see `measure`).
 * A runtime without the contrib op DynamicQuantizeLSTM (a build without contrib ops says
 * "com.microsoft:DynamicQuantizeLSTM(-1) is not a registered function/op"; one without its kernel,
 * "Could not find an implementation for DynamicQuantizeLSTM") gets W2-int8 'unavailable' with the
 * runtime's message, not 'failed'.
 */
export async function runOrtWorkloads({ ort, report, args, sessionOptions, warmupMs = {} }) {
  const base = plan(args.quick);
  const P = Object.fromEntries(Object.entries(base).map(([k, p]) => [k, { ...p, warmupMs: warmupMs[k] ?? 0 }]));
  const session = (bytes) => ort.InferenceSession.create(bytes, sessionOptions);
  const { H, L, steps } = W2;
  const zeros = () => new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
  const ids1 = (token) => new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]);

  /**
   * `steps` tokens from W2.first, the state carried through the graph's inputs and outputs. Greedy
   * (argmax fed back), or with `teacher` ids fed in instead (step i reads teacher[i - 1]).
   * Returns the ids, with the step-0 logits as `ids.logits0`. `onLogits(i, logits)` sees every
   * step's logits (only the untimed runs use it).
   */
  const generate = async (s, { teacher = null, onLogits = null } = {}) => {
    const feeds = {};
    for (let l = 0; l < L; l++) Object.assign(feeds, { [`h${l}`]: zeros(), [`c${l}`]: zeros() });
    let token = W2.first;
    const ids = [];
    for (let i = 0; i < steps; i++) {
      feeds.ids = ids1(teacher && i > 0 ? teacher[i - 1] : token);
      const out = await s.run(feeds);
      const logits = out.logits.data;
      token = argmax(logits);
      if (i === 0) ids.logits0 = Float32Array.from(logits);
      if (onLogits) onLogits(i, logits);
      for (let l = 0; l < L; l++) Object.assign(feeds, { [`h${l}`]: out[`h${l}_out`], [`c${l}`]: out[`c${l}_out`] });
      ids.push(token);
    }
    return ids;
  };

  report.data.workloads.W1 = { status: 'n/a', reason: 'inference runtime (no training)' };

  await report.workload('W2', async () => {
    const s = await session(streamStepModel(w2Model(), W2));
    const { ms, values, warmup } = await measure(() => generate(s), P.W2);
    await s.release();
    return { unit: 'tokens/s', ...rate(ms, steps), warmup, validation: checkStream(values[0], values[0].logits0, args.shared) };
  });

  // W2 with the LSTM layers as com.microsoft.DynamicQuantizeLSTM (int8 weights, per gate row
  // scales); embedding and head float32. Timed like W2; validated against float32 (checks.mjs).
  await report.workload('W2-int8', async () => {
    const weights = w2Model();
    let s;
    try {
      s = await session(streamStepModel(weights, W2, { int8: true }));
    } catch (e) {
      if (/DynamicQuantizeLSTM|com\.microsoft/.test(String(e?.message ?? e))) return { status: 'unavailable', reason: `com.microsoft.DynamicQuantizeLSTM not supported: ${String(e?.message ?? e).split('\n')[0].slice(0, 200)}` };
      throw e;
    }
    const { ms, values, warmup } = await measure(() => generate(s), P['W2-int8']);
    const ids = values[0];
    const repeatable = values.every((v) => v.join() === ids.join());
    // Untimed: the float32 model of the same runtime and the int8 one, both fed the float32
    // reference ids (lstm-wasm's, or the float32 model's own when there is none).
    const f32 = await session(streamStepModel(weights, W2));
    const ref = readReference(args.shared, 'W2-ref');
    const teacher = ref?.ids ?? await generate(f32);
    const f32Logits = [];
    await generate(f32, { teacher, onLogits: (i, l) => f32Logits.push(Float32Array.from(l)) });
    const forced = { agree: 0, steps, maxDiff: 0, finite: true };
    await generate(s, {
      teacher,
      onLogits: (i, l) => {
        if (argmax(l) === teacher[i]) forced.agree++;
        forced.maxDiff = Math.max(forced.maxDiff, maxAbsDiff(l, f32Logits[i]));
        forced.finite &&= allFinite(l);
      },
    });
    await f32.release();
    await s.release();
    return {
      unit: 'tokens/s', ...rate(ms, steps), warmup,
      validation: checkStreamInt8({ ids, repeatable, logits0: ids.logits0, f32logits0: f32Logits[0], forced }, args.shared),
    };
  });

  await report.workload('W3', async () => {
    const { I, T, B } = W3;
    const s = await session(forwardModel(w3Weights(), W3));
    const x = new ort.Tensor('float32', w3Input(), [T, B, I]);
    const { ms, values, warmup } = await measure(async () => (await s.run({ x })).y.data, P.W3);
    await s.release();
    return {
      unit: 'tokens/s', ...rate(ms, T * B), gflops: rate(ms, W3_FLOPS, 1e-9), warmup,
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
}
