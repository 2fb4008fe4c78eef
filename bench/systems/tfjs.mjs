// TensorFlow.js 4.22 (--backend cpu | wasm) on the four workloads, single thread.
// The LSTM is written with tf ops as the PyTorch equations read (gates i,f,g,o, two biases), so it
// loads the same weights as lstm-wasm. It runs in "column" layout: activations are (features, B)
// and z = W_ih x + W_hh h + b uses the PyTorch-layout weights untransposed. Measured faster than
// the row layout (x W^T) on both backends here, because (1) tfjs-wasm's Slice/unstack copies the
// whole source tensor out of the heap on every call (readSync), so per-step inputs are separate
// tensors and never slices of one big projection, and (2) the cpu backend splits along axis 1
// with a slow strided loop, while gates split along axis 0 are contiguous. The embedding is a
// one-hot matMul, not tf.gather, because gather's gradient (UnsortedSegmentSum) has no wasm kernel.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { W1, W2, W3, W3_FLOPS, SGEMM_SHAPES, sgemmName, parseArgs, plan, measure, rate, argmax, Report } from '../lib/common.mjs';
import { w1Model, w2Model, w3Weights, w1Batch, w3Input, transpose2d } from '../lib/workloads.mjs';
import { checkTrain, checkStream, checkForward, checkSgemm, sgemmOperands } from '../lib/checks.mjs';

const require = createRequire(import.meta.url);
const args = parseArgs();
const backendName = args.backend ?? 'wasm';
const tf = require('@tensorflow/tfjs');
const report = new Report(args, {
  id: `tfjs-${backendName}`,
  name: `TensorFlow.js ${backendName}`,
  version: tf.version.tfjs,
  deviations: ['LSTM written with tf ops in column layout (features, batch); embedding as one-hot matMul'],
});
const P = plan(args.quick, backendName === 'cpu');

try {
  if (backendName === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(backendName))) throw new Error(`tf.setBackend('${backendName}') failed`);
  await tf.ready();
  report.data.detail = backendName === 'wasm'
    ? `SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, multithread ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}, threads set to 1`
    : 'pure JS kernels';
} catch (e) {
  report.unavailable(e);
  process.exit(0);
}

/** PyTorch-layout LSTM weights -> per layer { wih (4H, in), whh (4H, H), b (4H, 1) twice }, tf.Variables or tensors. */
function lstmParams(w, layers, asVariable) {
  const mk = (v, shape) => (asVariable ? tf.variable(tf.tensor(v, shape)) : tf.tensor(v, shape));
  const out = [];
  for (let l = 0; l < layers; l++) {
    const [G, I] = w[`weight_ih_l${l}`].shape;
    out.push({
      wih: mk(w[`weight_ih_l${l}`].data, [G, I]),
      whh: mk(w[`weight_hh_l${l}`].data, [G, G / 4]),
      bih: mk(w[`bias_ih_l${l}`].data, [G, 1]),
      bhh: mk(w[`bias_hh_l${l}`].data, [G, 1]),
    });
  }
  return out;
}

/** One step, column layout: x (in, B), h and c (H, B) -> [h, c]. */
function cell(p, x, h, c) {
  const z = tf.add(tf.add(tf.matMul(p.wih, x), tf.matMul(p.whh, h)), tf.add(p.bih, p.bhh));
  const [i, f, g, o] = tf.split(z, 4, 0);
  const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  return [tf.mul(tf.sigmoid(o), tf.tanh(c2)), c2];
}

/** xs: T tensors (in, B) -> T tensors (H, B), from zero state. Call inside tidy. */
function lstmLayer(xs, p) {
  const B = xs[0].shape[1];
  const H = p.whh.shape[1];
  let h = tf.zeros([H, B]);
  let c = tf.zeros([H, B]);
  return xs.map((x) => {
    [h, c] = cell(p, x, h, c);
    return h;
  });
}

await report.workload('W1', async () => {
  const { T, B, V } = W1;
  const w = w1Model();
  const embedT = tf.variable(tf.tensor(transpose2d(w.embed.weight.data, V, W1.E), [W1.E, V]));
  const layers = lstmParams(w.lstm, W1.L, true);
  const headW = tf.variable(tf.tensor(w.head.weight.data, [V, W1.H]));
  const headB = tf.variable(tf.tensor(w.head.bias.data, [V, 1]));
  const vars = [embedT, headW, headB, ...layers.flatMap((l) => [l.wih, l.whh, l.bih, l.bhh])];
  const opt = tf.train.adam(W1.lr, 0.9, 0.999, 1e-8);
  const batch = w1Batch();
  const ids = Array.from({ length: T }, (_, t) => tf.tensor(batch.x.subarray(t * B, (t + 1) * B), [B], 'int32'));
  const y = tf.oneHot(tf.tensor(batch.y, [T * B], 'int32'), V);
  let live1 = 0;
  const step = () => {
    const cost = opt.minimize(() => {
      let xs = ids.map((id) => tf.matMul(embedT, tf.oneHot(id, V), false, true)); // (E, B)
      for (const l of layers) xs = lstmLayer(xs, l);
      const logitsT = tf.add(tf.matMul(headW, tf.concat(xs, 1)), headB); // (V, T*B), column t*B+b
      return tf.losses.softmaxCrossEntropy(y, tf.transpose(logitsT));
    }, true, vars);
    const loss = cost.dataSync()[0];
    cost.dispose();
    live1 ||= tf.memory().numTensors;
    return loss;
  };
  const { ms, values } = await measure(step, P.W1);
  const leaked = tf.memory().numTensors - live1;
  const validation = checkTrain(values, args.shared, true);
  if (leaked !== 0) Object.assign(validation, { ok: false, detail: `${validation.detail}; ${leaked} tensors leaked` });
  tf.dispose([y, ...ids, ...vars]);
  opt.dispose();
  return { unit: 'tokens/s', ...rate(ms, T * B), warmup: P.W1.warmup, validation, losses: values.map((v) => +v.toFixed(5)) };
});

await report.workload('W2', async () => {
  const w = w2Model();
  const embed = tf.tensor(w.embed.weight.data, [W2.V, W2.E]);
  const layers = lstmParams(w.lstm, W2.L, false);
  const headW = tf.tensor(w.head.weight.data, [W2.V, W2.H]);
  const headB = tf.tensor(w.head.bias.data, [W2.V, 1]);
  let logits0 = null;
  const generate = () => {
    let state = layers.flatMap(() => [tf.zeros([W2.H, 1]), tf.zeros([W2.H, 1])]);
    let token = W2.first;
    const ids = [];
    for (let i = 0; i < W2.steps; i++) {
      const next = tf.tidy(() => {
        let x = tf.reshape(tf.gather(embed, tf.tensor1d([token], 'int32')), [W2.E, 1]);
        const st = [];
        layers.forEach((l, k) => {
          const [h, c] = cell(l, x, state[2 * k], state[2 * k + 1]);
          st.push(h, c);
          x = h;
        });
        const logits = tf.add(tf.matMul(headW, x), headB).dataSync();
        token = argmax(logits);
        if (i === 0) logits0 = Float32Array.from(logits);
        return st;
      });
      tf.dispose(state);
      state = next;
      ids.push(token);
    }
    tf.dispose(state);
    return ids;
  };
  const { ms, values } = await measure(generate, P.W2);
  const validation = checkStream(values[0], logits0, args.shared);
  tf.dispose([embed, headW, headB, ...layers.flatMap((l) => Object.values(l))]);
  return { unit: 'tokens/s', ...rate(ms, W2.steps), warmup: P.W2.warmup, validation };
});

await report.workload('W3', async () => {
  const { I, T, B } = W3;
  const [p] = lstmParams(w3Weights(), 1, false);
  const x = w3Input();
  // Input preparation, untimed: the (T, B, I) input as T tensors (I, B).
  const xs = Array.from({ length: T }, (_, t) => tf.tensor(transpose2d(x.subarray(t * B * I, (t + 1) * B * I), B, I), [I, B]));
  const forward = () => tf.transpose(tf.stack(lstmLayer(xs, p)), [0, 2, 1]); // (T, B, H)
  const { ms } = await measure(() => tf.tidy(() => {
    forward();
  }), P.W3);
  const out = tf.tidy(() => forward().dataSync());
  const validation = checkForward(out, args.shared);
  tf.dispose([...xs, ...Object.values(p)]);
  return { unit: 'tokens/s', ...rate(ms, T * B), gflops: rate(ms, W3_FLOPS, 1e-9), warmup: P.W3.warmup, validation };
});

await report.workload('sgemm', async () => {
  const shapes = {};
  for (const shape of SGEMM_SHAPES) {
    const [m, n, k] = shape;
    const { a, b } = sgemmOperands(shape);
    const A = tf.tensor(a, [m, k]);
    const Bt = tf.tensor(b, [k, n]);
    const validation = checkSgemm(shape, a, b, tf.tidy(() => tf.matMul(A, Bt).dataSync()));
    const { ms } = await measure(() => tf.tidy(() => {
      tf.matMul(A, Bt);
    }), P.sgemm);
    tf.dispose([A, Bt]);
    shapes[sgemmName(shape)] = { unit: 'GFLOP/s', ...rate(ms, 2 * m * n * k, 1e-9), validation };
  }
  const ok = Object.values(shapes).every((s) => s.validation.ok);
  return { unit: 'GFLOP/s', shapes, validation: { ok, detail: ok ? 'all shapes match float64 on 64 entries' : 'mismatch vs float64' } };
});

report.write();
