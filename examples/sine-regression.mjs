// Many-to-many sequence regression: read a noisy sine wave and predict, at every step, the next
// clean value. Each sequence has its own period (12-40 steps), amplitude and phase, so the model
// must infer them from what it has seen. LSTM(1 -> 32) -> Linear(32 -> 1) at every time step,
// mean squared error. Prints the test error next to two baselines.
//
//   node examples/sine-regression.mjs            # 400 steps, about 10 seconds
//   node examples/sine-regression.mjs --quick    # a few seconds (what the tests run)
import { init, manualSeed, Generator, tensor, tidy, noGrad, nn, optim, F } from 'lstm-wasm';

const quick = process.argv.includes('--quick');
const T = 60;
const B = 32;
const H = 32;
const NOISE = 0.15;
const STEPS = quick ? 120 : 400;

await init();
manualSeed(0);
const rng = new Generator(0);

/** B sequences: inputs x (T, B, 1) noisy, targets y (T, B, 1) the clean value one step later. */
function makeBatch(batch, gen) {
  const x = new Float32Array(T * batch);
  const y = new Float32Array(T * batch);
  for (let b = 0; b < batch; b++) {
    const period = 12 + 28 * gen.uniform();
    const amp = 0.5 + gen.uniform();
    const phase = 2 * Math.PI * gen.uniform();
    for (let t = 0; t < T; t++) {
      const clean = (k) => amp * Math.sin((2 * Math.PI * k) / period + phase);
      x[t * batch + b] = clean(t) + NOISE * gen.normal();
      y[t * batch + b] = clean(t + 1);
    }
  }
  return { x, y };
}

const lstm = new nn.LSTM(1, H);
const head = new nn.Linear(H, 1);
const params = [...lstm.parameters(), ...head.parameters()];
const opt = new optim.Adam(params, { lr: 1e-2 });
const predict = (x, batch) => head.forward(lstm.forward(tensor(x, [T, batch, 1]))[0]);

const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  const { x, y } = makeBatch(B, rng);
  const loss = tidy(() => {
    const l = F.mseLoss(predict(x, B), tensor(y, [T, B, 1]));
    opt.zeroGrad();
    l.backward();
    nn.utils.clipGradNorm(params, 1);
    opt.step();
    return l.item();
  });
  if (step % Math.max(1, Math.floor(STEPS / 5)) === 0) console.log(`step ${step}  mse ${loss.toFixed(4)}`);
}

// Test on fresh sequences; skip the first 10 steps of each, where nothing can be known yet.
const N = 256;
const { x, y } = makeBatch(N, new Generator(12345));
lstm.eval();
const pred = noGrad(() => tidy(() => predict(x, N).toArray()));
let model = 0;
let persistence = 0;
let zero = 0;
let count = 0;
for (let t = 10; t < T; t++) {
  for (let b = 0; b < N; b++) {
    const i = t * N + b;
    model += (pred[i] - y[i]) ** 2;
    persistence += (x[i] - y[i]) ** 2; // "the next value is the current reading"
    zero += y[i] ** 2;
    count++;
  }
}
console.log(`\n${N} test sequences of ${T} steps, noise sd ${NOISE}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`test MSE: model ${(model / count).toFixed(4)}, persistence baseline ${(persistence / count).toFixed(4)}, predict-zero baseline ${(zero / count).toFixed(4)}`);
