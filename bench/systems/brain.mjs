// brain.js 1.6.1, adapted as closely as its fixed architecture allows (the deviations are listed in
// the report and printed under the table). Its recurrent nets process one sequence at a time; we
// drive its Equation objects directly (the same calls its train()/run() make) so that the timed
// work is the network, not its string formatting.
import { createRequire } from 'node:module';
import { W1, W2, W3, W3_FLOPS, parseArgs, plan, measure, rate, argmax, allFinite, Report } from '../lib/common.mjs';
import { w1Batch, w3Input } from '../lib/workloads.mjs';
import { checkTrain } from '../lib/checks.mjs';

const require = createRequire(import.meta.url);
const args = parseArgs();
const brain = require('brain.js');
const report = new Report(args, {
  id: 'brain',
  name: 'brain.js (batch 1)',
  version: require('brain.js/package.json').version,
  deviations: [
    'batch 1: one sequence per step/run (brain.js has no batch dimension); tokens/s counts the tokens of the sequences it ran',
    "its LSTM keeps no separate cell state: it computes f*h(t-1) + i*g, not f*c(t-1) + i*g, so the recurrence is not PyTorch's",
    'its own embedding (a (V+1) x E input matrix) and output layer over V+1 classes (index 0 = start/end token); own init (U(-0.08, 0.08)); no weights shared',
    'W1: RMSprop with gradient clipping (its only optimizer), update per sequence, not Adam on a batch of 32; the step also runs the start/end token',
    'W3: LSTMTimeStep (dense inputs) with its mandatory output layer (outputSize 1, included in the time); W3 runs 4 of the 64 sequences per timed run',
  ],
});
const P = plan(args.quick);

/** Forward-only over equation i of `net` with row `index`, growing the unrolled graph as brain.js's run() does. */
function equationAt(net, i) {
  while (net.model.equations.length <= i) net.bindEquation();
  return net.model.equations[i];
}

await report.workload('W1', async () => {
  const { T, B, V, E, H, L } = W1;
  const net = new brain.recurrent.LSTM({ inputSize: E, inputRange: V, outputSize: V, hiddenLayers: Array(L).fill(H), learningRate: W1.lr });
  net.initialize();
  const { x } = w1Batch();
  const seq = Array.from({ length: T }, (_, t) => x[t * B]); // sequence b = 0 of the batch
  // trainPattern = trainInput (forward + loss) + backpropagate + adjustWeights (RMSprop).
  const step = () => net.trainPattern(seq, true);
  const { ms, values } = await measure(step, P.W1);
  return { unit: 'tokens/s', ...rate(ms, T), warmup: P.W1.warmup, validation: checkTrain(values, args.shared, false), losses: values.map((v) => +v.toFixed(5)), note: 'loss: its own error (perplexity/100)' };
});

await report.workload('W2', async () => {
  const { V, E, H, L, steps } = W2;
  const net = new brain.recurrent.LSTM({ inputSize: E, inputRange: V, outputSize: V, hiddenLayers: Array(L).fill(H) });
  net.initialize();
  let finite = true;
  const generate = () => {
    let token = W2.first;
    const ids = [];
    for (let i = 0; i < steps; i++) {
      const out = equationAt(net, i).runIndex(token).weights; // state carried by equation i-1's outputs
      finite &&= allFinite(out);
      token = argmax(out);
      ids.push(token);
    }
    return ids;
  };
  const { ms } = await measure(generate, P.W2);
  return { unit: 'tokens/s', ...rate(ms, steps), warmup: P.W2.warmup, validation: { ok: finite, detail: 'own weights; logits finite' } };
});

await report.workload('W3', async () => {
  const { I, H, T, B } = W3;
  const perRun = 4;
  const net = new brain.recurrent.LSTMTimeStep({ inputSize: I, hiddenLayers: [H], outputSize: 1 });
  net.initialize();
  const x = w3Input();
  // Input preparation, untimed: sequence b as T Float32Arrays of I.
  const seqs = Array.from({ length: perRun }, (_, b) => Array.from({ length: T }, (_, t) => x.slice((t * B + b) * I, (t * B + b + 1) * I)));
  let finite = true;
  const forward = () => {
    for (const seq of seqs) {
      // Each sequence starts from zero state: equation 0 reads the initial (zero) layer inputs.
      for (let t = 0; t < T; t++) equationAt(net, t).runInput(seq[t]);
      finite &&= allFinite(net.model.equationConnections[T - 1][0].weights);
    }
  };
  const { ms } = await measure(forward, P.W3);
  return {
    unit: 'tokens/s', ...rate(ms, perRun * T), gflops: rate(ms, (W3_FLOPS / B) * perRun, 1e-9), warmup: P.W3.warmup,
    validation: { ok: finite, detail: 'own weights; hidden states finite' },
  };
});

report.data.workloads.sgemm = { status: 'n/a', reason: 'brain.js exposes no matrix multiply' };
report.write();
