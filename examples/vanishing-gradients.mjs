// Vanishing gradients, measured: why a plain RNN forgets over long distances and how the LSTM's
// gates fix it. The task: the first token of a sequence (0 or 1, flagged by a marker input) is the
// label; then come d noise tokens drawn from all 8 tokens, 0 and 1 included, so the noise cannot
// simply be given zero weight; the model reads the whole sequence and must name the first token
// from its last hidden state. The only useful information is d steps back, so the gradient that
// would teach the model to keep it must travel back d steps through the recurrence, and it shrinks
// by about the same factor at every step: it vanishes exponentially in d.
//
// Five cells, same size, same seeds, same batches: a plain tanh RNN, a GRU, an LSTM with PyTorch's
// default init (forget gate about sigmoid(0) = 0.5: the cell state is halved at every step), and
// LSTMs whose forget-gate bias starts at 1 (Jozefowicz et al. 2015; sigmoid(1) = 0.73) and at 3
// (0.95). Prints test accuracy against distance, the step where each learned, the largest gradient
// norm met (exploding gradients: clipped to 1), and ||dLoss/dx_t||, the gradient reaching the input
// at step t, at initialization and after training.
//
//   node examples/vanishing-gradients.mjs            # distances 10..200, about 100 s of CPU on 2 cores
//   node examples/vanishing-gradients.mjs --quick    # distances 20 and 50, about 12 seconds (what the tests run)
//   ... --out DIR                                    # where the SVG plots go (default examples/output/)
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, manualSeed, Generator, tensor, tidy, noGrad, grad, nn, optim, F } from 'lstm-wasm';
import { writeLinePlot } from './lib/svg-plot.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : fileURLToPath(new URL('output/', import.meta.url));
const DISTANCES = quick ? [20, 50] : [10, 20, 30, 50, 75, 100, 200];
const GRAD_DISTANCE = 50; // the run whose gradients are measured against t
const STEPS = quick ? 400 : 600; // Adam steps at each distance, for each cell (the cells that learn do so within 200)
const TOKENS = 8; // the label is token 0 or 1 at t=0; every later step is any of the 8
const V = TOKENS + 1; // a one-hot token plus a marker channel, set at t=0 only: (T, B, V)
const H = 32;
const B = 32;
const N_TEST = 512;

const CELLS = [
  { name: 'RNN', make: () => new nn.RNN(V, H) },
  { name: 'GRU', make: () => new nn.GRU(V, H) },
  { name: 'LSTM', make: () => new nn.LSTM(V, H) },
  { name: 'LSTM forgetBias=1', make: () => new nn.LSTM(V, H, { forgetBias: 1 }) },
  { name: 'LSTM forgetBias=3', make: () => new nn.LSTM(V, H, { forgetBias: 3 }) },
];

await init();

/** `batch` sequences of d+1 steps (T, B, V): the label token (0 or 1) with the marker, then d random tokens; labels (B). */
function makeBatch(d, batch, gen) {
  const T = d + 1;
  const x = new Float32Array(T * batch * V);
  const y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    y[b] = gen.uniform() < 0.5 ? 0 : 1;
    x[b * V + y[b]] = 1;
    x[b * V + TOKENS] = 1;
    for (let t = 1; t < T; t++) x[(t * batch + b) * V + Math.floor(gen.uniform() * TOKENS)] = 1;
  }
  return { x, y, T };
}

/** Logits (B, 2) from the last hidden state of a one-hot batch x (T, B, V). */
function logits(model, x) {
  const [out] = model.rnn.forward(x);
  return model.head.forward(out.select(0, out.shape[0] - 1));
}

/** ||dLoss/dx_t|| for t = 0..T-1 on a fixed batch: how much the loss still hears step t. */
function gradNorms(model, batch) {
  return tidy(() => {
    const x = tensor(batch.x, [batch.T, N_TEST, V], { requiresGrad: true });
    const loss = F.crossEntropy(logits(model, x), tensor(batch.y));
    const g = grad(loss, x)[0].toArray(); // (T, B, V)
    const per = N_TEST * V;
    return Array.from({ length: batch.T }, (_, t) => Math.sqrt(g.subarray(t * per, (t + 1) * per).reduce((s, v) => s + v * v, 0)));
  });
}

function accuracy(model, batch) {
  model.rnn.eval();
  const pred = noGrad(() => tidy(() => logits(model, tensor(batch.x, [batch.T, N_TEST, V])).argmax(1).toArray()));
  model.rnn.train();
  return pred.reduce((n, p, b) => n + (p === batch.y[b] ? 1 : 0), 0) / N_TEST;
}

const acc = CELLS.map(() => []); // acc[cell][distance index]
const maxNorm = CELLS.map(() => []); // the largest total gradient norm seen before clipping
const learnedAt = CELLS.map(() => []); // the first step where the smoothed training loss fell below 0.1 (null: never)
const norms = { init: [], trained: [] }; // [cell] -> ||dLoss/dx_t|| per t, at GRAD_DISTANCE
const t0 = performance.now();
for (const d of DISTANCES) {
  const test = makeBatch(d, N_TEST, new Generator(1000 + d));
  CELLS.forEach((cell, c) => {
    manualSeed(d); // every cell starts from the same seed and sees the same batches
    const rng = new Generator(d);
    const model = { rnn: cell.make(), head: new nn.Linear(H, 2) };
    const params = [...model.rnn.parameters(), ...model.head.parameters()];
    const opt = new optim.Adam(params, { lr: 3e-3 });
    if (d === GRAD_DISTANCE) norms.init[c] = gradNorms(model, test);
    let largest = 0;
    let smoothed = Math.log(2);
    let learned = null;
    for (let step = 1; step <= STEPS; step++) {
      const { x, y, T } = makeBatch(d, B, rng);
      const loss = tidy(() => {
        const l = F.crossEntropy(logits(model, tensor(x, [T, B, V])), tensor(y));
        opt.zeroGrad();
        l.backward();
        largest = Math.max(largest, nn.utils.clipGradNorm(params, 1));
        opt.step();
        return l.item();
      });
      smoothed = 0.9 * smoothed + 0.1 * loss;
      if (learned === null && smoothed < 0.1) learned = step;
    }
    if (d === GRAD_DISTANCE) norms.trained[c] = gradNorms(model, test);
    acc[c].push(accuracy(model, test));
    maxNorm[c].push(largest);
    learnedAt[c].push(learned);
    model.rnn.dispose();
    model.head.dispose();
    opt.dispose();
  });
  console.log(`distance ${String(d).padStart(3)}: ${CELLS.map((cell, c) => `${cell.name} ${pct(acc[c].at(-1))}`).join(', ')}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

const seconds = (performance.now() - t0) / 1000;
console.log(`\nlabel = the marked first token, then d random tokens; hidden ${H}, batch ${B}, ${STEPS} Adam steps per distance, ${N_TEST} test sequences, ${seconds.toFixed(1)} s`);
console.log('test accuracy by distance d (chance 50%):');
console.log(`  ${'cell'.padEnd(18)}${DISTANCES.map((d) => `d=${d}`.padStart(8)).join('')}`);
CELLS.forEach((cell, c) => console.log(`  ${cell.name.padEnd(18)}${acc[c].map((a) => pct(a).padStart(8)).join('')}`));
console.log('training step where the (smoothed) loss fell below 0.1 (- never):');
CELLS.forEach((cell, c) => console.log(`  ${cell.name.padEnd(18)}${learnedAt[c].map((s) => String(s ?? '-').padStart(8)).join('')}`));
console.log('largest gradient norm before clipping (clipped to 1):');
CELLS.forEach((cell, c) => console.log(`  ${cell.name.padEnd(18)}${maxNorm[c].map((n) => n.toPrecision(3).padStart(8)).join('')}`));
console.log(`||dLoss/dx_t|| at d=${GRAD_DISTANCE}, first token (t=0) against last (t=${GRAD_DISTANCE}), at init -> after training:`);
CELLS.forEach((cell, c) => {
  const ratio = (n) => (n[0] / n[GRAD_DISTANCE]).toExponential(1);
  console.log(`  ${cell.name.padEnd(18)} ratio ${ratio(norms.init[c]).padStart(8)} -> ${ratio(norms.trained[c]).padStart(8)}`);
});

const series = (values, xs) => CELLS.map((cell, c) => ({ label: cell.name, points: values[c].map((v, i) => [xs ? xs[i] : i, v]) }));
const files = [
  writeLinePlot(join(outDir, 'vanishing-gradients-accuracy.svg'), {
    title: 'Test accuracy against distance', xLabel: 'distance d (noise tokens after the label)', yLabel: 'test accuracy', series: series(acc, DISTANCES),
  }),
  writeLinePlot(join(outDir, 'vanishing-gradients-grad-init.svg'), {
    title: `||dLoss/dx_t|| at initialization (d=${GRAD_DISTANCE})`, xLabel: 't (the label is at t=0, the loss reads t=d)', yLabel: '||dLoss/dx_t||', series: series(norms.init), logY: true,
  }),
  writeLinePlot(join(outDir, 'vanishing-gradients-grad-trained.svg'), {
    title: `||dLoss/dx_t|| after training (d=${GRAD_DISTANCE})`, xLabel: 't (the label is at t=0, the loss reads t=d)', yLabel: '||dLoss/dx_t||', series: series(norms.trained), logY: true,
  }),
];
console.log(`\nplots: ${files.join(', ')}`);

function pct(a) {
  return `${(a * 100).toFixed(1)}%`;
}
