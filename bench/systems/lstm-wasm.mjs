// lstm-wasm on the four workloads, through the built package (dist/index.js) and its public API.
// --backend wasm (default): the WebAssembly SIMD kernels; it also writes the reference outputs the
// peers validate against. --backend js: the plain-JS backend, `init({ backend: 'js' })`.
// --simd relaxed|simd128: which build of the wasm (`init({ simd })`); the relaxed one is not the
// reference (its products may round differently) and is validated like a peer.
// --dist DIR: another build's dist/ (the `lstm-wasm-baseline` system of `npm run bench -- --baseline`),
// validated against the reference like a peer.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { W1, W2, W3, W3_FLOPS, SGEMM_SHAPES, sgemmName, parseArgs, plan, measure, rate, argmax, Report } from '../lib/common.mjs';
import { w1Model, w2Model, w3Weights, w1Batch, w3Input, writeReference, readReference } from '../lib/workloads.mjs';
import { checkTrain, checkStream, checkStreamInt8, checkForward, checkSgemm, sgemmOperands } from '../lib/checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = parseArgs();
const backendName = args.backend ?? 'wasm';
const relaxed = args.simd === 'relaxed';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const report = new Report(args, args.dist
  ? { id: 'lstm-wasm-baseline', name: `lstm-wasm baseline (${args.dist})`, version: pkg.version }
  : {
    id: relaxed ? 'lstm-wasm-relaxed' : `lstm-wasm-${backendName}`,
    name: backendName === 'wasm' ? (relaxed ? 'lstm-wasm (WASM relaxed SIMD)' : 'lstm-wasm (WASM SIMD128)') : 'lstm-wasm (JS backend)',
    version: pkg.version,
  });
const P = plan(args.quick);
const isReference = backendName === 'wasm' && !args.dist && !relaxed;
const distDir = args.dist ?? join(root, 'dist');

let lw;
try {
  lw = await import(pathToFileURL(join(distDir, 'index.js')).href);
  if (backendName === 'wasm') {
    // A build from before `simd` existed takes no options (it has only the SIMD128 build).
    await lw.init(args.simd !== null && typeof lw.backendInfo === 'function' ? { simd: args.simd } : {});
    if (relaxed && lw.backendInfo?.().simd !== 'relaxed') throw new Error('asked init() for the relaxed-SIMD build, which this build of lstm-wasm does not have');
  } else {
    // Until the JS backend lands, init() ignores unknown options and would silently load WASM:
    // require the option to be declared before trusting it.
    const dts = join(distDir, 'index.d.ts');
    const declared = existsSync(dts) && /interface InitOptions[^}]*\bbackend\??:/s.test(readFileSync(dts, 'utf8'));
    if (!declared) throw new Error(`init({ backend: '${backendName}' }) is not in this build of lstm-wasm (InitOptions has no 'backend' option in dist/index.d.ts)`);
    await lw.init({ backend: backendName });
  }
  const active = typeof lw.backendName === 'function' ? lw.backendName() : 'wasm';
  if (active !== backendName) throw new Error(`asked init() for the '${backendName}' backend, got '${active}'`);
} catch (e) {
  report.unavailable(e);
  process.exit(0);
}
const { tensor, tidy, noGrad, nn, optim, F, matmul, memory } = lw;

function load(module, weights) {
  module.loadStateDict(Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
  return module;
}

function charModel(cfg, w) {
  const embed = load(new nn.Embedding(cfg.V, cfg.E), w.embed);
  const lstm = load(new nn.LSTM(cfg.E, cfg.H, { numLayers: cfg.L }), w.lstm);
  const head = load(new nn.Linear(cfg.H, cfg.V), w.head);
  return { embed, lstm, head, dispose: () => [embed, lstm, head].forEach((m) => m.dispose()) };
}

await report.workload('W1', async () => {
  const { T, B, V } = W1;
  const m = charModel(W1, w1Model());
  const params = [...m.embed.parameters(), ...m.lstm.parameters(), ...m.head.parameters()];
  const opt = new optim.Adam(params, { lr: W1.lr });
  const batch = w1Batch();
  const x = tensor(batch.x, [T, B]);
  const y = tensor(batch.y, [T * B]);
  let live1 = 0;
  const step = () => {
    const loss = tidy(() => {
      const [out] = m.lstm.forward(m.embed.forward(x));
      const l = F.crossEntropy(m.head.forward(out).reshape(T * B, V), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l.item();
    });
    // Gradients and Adam's moments are allocated by the first step; after it the count must stay flat.
    live1 ||= memory().liveTensors;
    return loss;
  };
  const { ms, values } = await measure(step, P.W1);
  const leaked = memory().liveTensors - live1;
  if (isReference) writeReference(args.shared, 'W1-losses', values);
  const validation = checkTrain(values, args.shared, !isReference);
  if (leaked !== 0) Object.assign(validation, { ok: false, detail: `${validation.detail}; ${leaked} tensors leaked after the first step` });
  x.dispose(); y.dispose(); m.dispose();
  return { unit: 'tokens/s', ...rate(ms, T * B), warmup: P.W1.warmup, validation, losses: values.map((v) => +v.toFixed(5)) };
});

// Every W2 row warms up for at least a second untimed (0.3 s with --quick), as onnxruntime-web does
// for two: V8 first runs new wasm code in its baseline tier, and a path first taken in the timed
// runs (the int8 kernels) would be measured half-compiled.
const W2_PLAN = { ...P.W2, warmupMs: args.quick ? 300 : 1000 };
const W2Q_PLAN = { ...P['W2-int8'], warmupMs: args.quick ? 300 : 1000 };

/**
 * W2 as users generate: a LanguageModel with the W2 weights and its stepper (the fused decoding
 * step, one kernel call per token), greedy, reading the logits where they are (`stepView`). The
 * model is the W2 model: `embed`, `rnn` (the LSTM) and `head` are the charModel's modules' weights.
 */
function w2LanguageModel() {
  const w = w2Model();
  const model = new lw.LanguageModel({ vocabSize: W2.V, cell: 'lstm', embedDim: W2.E, hiddenSize: W2.H, numLayers: W2.L, dropout: 0 });
  const dict = {};
  for (const [part, weights] of [['embed', w.embed], ['rnn', w.lstm], ['head', w.head]]) {
    for (const [k, v] of Object.entries(weights)) dict[`${part}.${k}`] = { shape: v.shape, data: v.data };
  }
  model.loadStateDict(dict);
  return model.eval();
}

/** `W2.steps` greedy tokens from a LanguageModel's stepper; `teacher` feeds those ids instead (untimed checks). */
function stepperGenerate(model, { teacher = null, onLogits = null } = {}) {
  const s = model.stepper();
  let token = W2.first;
  const ids = [];
  try {
    for (let i = 0; i < W2.steps; i++) {
      const logits = s.stepView(token);
      if (i === 0) ids.logits0 = Float32Array.from(logits);
      onLogits?.(i, logits);
      token = argmax(logits);
      ids.push(token);
      if (teacher !== null) token = teacher[i];
    }
  } finally {
    s.dispose();
  }
  return ids;
}

// W2 through the modules one step at a time (nn.Embedding, nn.LSTM.forward, nn.Linear), as a user
// of the module API writes a decoding loop: a dozen tensors a step. Kept beside the fused W2 to
// show what the fused step saves; it writes the reference the peers validate against.
await report.workload('W2-modules', async () => {
  const m = charModel(W2, w2Model());
  m.lstm.eval();
  let logits0 = null;
  const gaps = [];
  const generate = () => noGrad(() => {
    let state = null;
    let token = W2.first;
    const ids = [];
    for (let i = 0; i < W2.steps; i++) {
      const next = tidy(() => {
        const [out, st] = m.lstm.forward(m.embed.forward(tensor(Int32Array.of(token), [1, 1])), state);
        const logits = m.head.forward(out).reshape(W2.V).toArray();
        token = argmax(logits);
        if (i === 0) logits0 = logits;
        if (isReference && gaps.length < W2.steps) gaps.push(logits[token] - Math.max(...logits.filter((_, j) => j !== token)));
        return st;
      });
      if (state) state.forEach((s) => s.dispose());
      state = next;
      ids.push(token);
    }
    state.forEach((s) => s.dispose());
    return ids;
  });
  const { ms, values, warmup } = await measure(generate, W2_PLAN);
  const ids = values[0];
  const repeatable = values.every((v) => v.join() === ids.join());
  if (isReference) writeReference(args.shared, 'W2-ref', { ids, logits0: Array.from(logits0), gaps });
  const validation = isReference
    ? { ok: repeatable, detail: `reference ids (${new Set(ids).size} distinct), identical across ${values.length} runs: ${repeatable}` }
    : checkStream(ids, logits0, args.shared);
  m.dispose();
  return { unit: 'tokens/s', ...rate(ms, W2.steps), warmup, validation };
});

// W2: the fused decoding step (LanguageModel.stepper), float32: the same logits as the modules'
// path, bit for bit, so it is validated against the reference like any system.
await report.workload('W2', async () => {
  const model = w2LanguageModel();
  const { ms, values, warmup } = await measure(() => stepperGenerate(model), W2_PLAN);
  model.dispose();
  return { unit: 'tokens/s', ...rate(ms, W2.steps), warmup, validation: checkStream(values[0], values[0].logits0, args.shared) };
});

/** W2 with the model quantized (`quantize`): timed like W2, validated as onnxruntime's int8 is (checks.mjs). */
async function quantizedW2(dtype) {
  if (typeof lw.quantize !== 'function') return { status: 'unavailable', reason: 'this build has no quantize()' };
  const f32 = w2LanguageModel();
  const q = lw.quantize(f32, { dtype });
  const { ms, values, warmup } = await measure(() => stepperGenerate(q), W2Q_PLAN);
  const ids = values[0];
  const repeatable = values.every((v) => v.join() === ids.join());
  const ref = readReference(args.shared, 'W2-ref');
  const teacher = ref?.ids ?? stepperGenerate(f32);
  const f32Logits = [];
  stepperGenerate(f32, { teacher, onLogits: (i, l) => f32Logits.push(Float32Array.from(l)) });
  const forced = { agree: 0, steps: W2.steps, maxDiff: 0, finite: true };
  stepperGenerate(q, {
    teacher,
    onLogits: (i, l) => {
      if (argmax(l) === teacher[i]) forced.agree++;
      for (let j = 0; j < l.length; j++) forced.maxDiff = Math.max(forced.maxDiff, Math.abs(l[j] - f32Logits[i][j]));
      forced.finite &&= l.every(Number.isFinite);
    },
  });
  q.dispose();
  f32.dispose();
  return {
    unit: 'tokens/s', ...rate(ms, W2.steps), warmup,
    validation: checkStreamInt8({ ids, repeatable, logits0: ids.logits0, f32logits0: f32Logits[0], forced }, args.shared),
  };
}

await report.workload('W2-int8', () => quantizedW2('int8'));
await report.workload('W2-f16', () => quantizedW2('float16'));

await report.workload('W3', async () => {
  const { I, H, T, B } = W3;
  const lstm = load(new nn.LSTM(I, H), w3Weights());
  lstm.eval();
  const x = tensor(w3Input(), [T, B, I]);
  const { ms } = await measure(() => noGrad(() => tidy(() => {
    lstm.forward(x);
  })), P.W3);
  const out = noGrad(() => tidy(() => lstm.forward(x)[0].toArray()));
  if (isReference) writeReference(args.shared, 'W3-out', out);
  const validation = isReference ? { ok: out.every(Number.isFinite), detail: 'reference output, finite' } : checkForward(out, args.shared);
  x.dispose(); lstm.dispose();
  const r = rate(ms, T * B);
  return { unit: 'tokens/s', ...r, gflops: rate(ms, W3_FLOPS, 1e-9), warmup: P.W3.warmup, validation };
});

await report.workload('sgemm', async () => {
  const shapes = {};
  for (const shape of SGEMM_SHAPES) {
    const [m, n, k] = shape;
    const { a, b } = sgemmOperands(shape);
    const A = tensor(a, [m, k]);
    const Bt = tensor(b, [k, n]);
    const c = tidy(() => matmul(A, Bt).toArray());
    const validation = checkSgemm(shape, a, b, c);
    const { ms } = await measure(() => tidy(() => {
      matmul(A, Bt);
    }), P.sgemm);
    A.dispose(); Bt.dispose();
    shapes[sgemmName(shape)] = { unit: 'GFLOP/s', ...rate(ms, 2 * m * n * k, 1e-9), validation };
  }
  const ok = Object.values(shapes).every((s) => s.validation.ok);
  return { unit: 'GFLOP/s', shapes, validation: { ok, detail: ok ? 'all shapes match float64 on 64 entries' : 'mismatch vs float64' } };
});

report.write();
