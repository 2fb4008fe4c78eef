// Word order matters: a many-to-one task that a bag of words cannot solve. Each sequence holds the
// tokens X and Y once each, at random places, among distractor tokens; the label is whether X
// comes before Y. Both classes have exactly the same bag of words (the same counts of every
// token), so a model that averages its word embeddings sees identical inputs for both and stays at
// chance, however long it trains. An LSTM reads the tokens in order and learns it.
//
// The two models share everything but the order: Embedding(V, 16), then either the mean over time
// (bag of words) or an LSTM(16 -> 32)'s last hidden state, then Linear -> 2 classes; same batches,
// same Adam, same steps.
//
//   node examples/word-order.mjs            # 300 steps of 40 tokens, about 10 seconds
//   node examples/word-order.mjs --quick    # a few seconds (what the tests run)
//   ... --out DIR                           # where the SVG plot goes (default examples/output/)
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, manualSeed, Generator, tensor, tidy, noGrad, nn, optim, F } from 'lstm-wasm';
import { writeLinePlot } from './lib/svg-plot.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : fileURLToPath(new URL('output/', import.meta.url));
const X = 0;
const Y = 1;
const V = 10; // X, Y and 8 distractors
const T = quick ? 20 : 40;
const E = 16;
const H = 32;
const B = 32;
const STEPS = quick ? 150 : 300; // multiples of 5 * EVAL_EVERY: the progress lines show a fresh accuracy
const EVAL_EVERY = 10;
const N_TEST = 1000;

await init();
manualSeed(0);
const rng = new Generator(0);

/** `batch` sequences (T, B) int32, each with one X and one Y among distractors; labels (B): 1 if X comes first. */
function makeBatch(batch, gen) {
  const ids = new Int32Array(T * batch);
  const y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < T; t++) ids[t * batch + b] = 2 + Math.floor(gen.uniform() * (V - 2));
    const i = Math.floor(gen.uniform() * T);
    let j = Math.floor(gen.uniform() * (T - 1));
    if (j >= i) j++;
    ids[i * batch + b] = X;
    ids[j * batch + b] = Y;
    y[b] = i < j ? 1 : 0;
  }
  return { ids, y, batch };
}

/** Embedding -> LSTM -> last hidden state -> Linear: reads the tokens in order. */
const lstmModel = { embed: new nn.Embedding(V, E), rnn: new nn.LSTM(E, H), head: new nn.Linear(H, 2) };
lstmModel.logits = (ids) => {
  const [out] = lstmModel.rnn.forward(lstmModel.embed.forward(ids));
  return lstmModel.head.forward(out.select(0, T - 1));
};
/** Embedding -> mean over time -> Linear: the same words, the order thrown away. */
const bowModel = { embed: new nn.Embedding(V, E), head: new nn.Linear(E, 2) };
bowModel.logits = (ids) => bowModel.head.forward(bowModel.embed.forward(ids).mean(0));

const models = [
  { name: 'LSTM', model: lstmModel, parts: [lstmModel.embed, lstmModel.rnn, lstmModel.head] },
  { name: 'bag-of-words', model: bowModel, parts: [bowModel.embed, bowModel.head] },
];
const test = makeBatch(N_TEST, new Generator(12345));

function accuracy(model) {
  const pred = noGrad(() => tidy(() => model.logits(tensor(test.ids, [T, N_TEST])).argmax(1).toArray()));
  return pred.reduce((n, p, b) => n + (p === test.y[b] ? 1 : 0), 0) / N_TEST;
}

const t0 = performance.now();
for (const m of models) {
  const params = m.parts.flatMap((p) => p.parameters());
  const opt = new optim.Adam(params, { lr: 1e-2 });
  m.curve = [[0, accuracy(m.model)]];
  const gen = new Generator(1); // both models see the same batches
  for (let step = 1; step <= STEPS; step++) {
    const { ids, y } = makeBatch(B, gen);
    const loss = tidy(() => {
      const l = F.crossEntropy(m.model.logits(tensor(ids, [T, B])), tensor(y));
      opt.zeroGrad();
      l.backward();
      nn.utils.clipGradNorm(params, 1);
      opt.step();
      return l.item();
    });
    if (step % EVAL_EVERY === 0) m.curve.push([step, accuracy(m.model)]);
    if (step % (STEPS / 5) === 0) console.log(`${m.name.padEnd(12)} step ${step}  loss ${loss.toFixed(3)}  test accuracy ${pct(m.curve.at(-1)[1])}`);
  }
  m.accuracy = m.curve.at(-1)[1];
  opt.dispose();
  for (const p of m.parts) p.dispose();
}

console.log(`\n${T} tokens per sequence (X, Y and ${T - 2} distractors drawn from ${V - 2}), ${STEPS} steps of ${B}, ${N_TEST} test sequences, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`test accuracy: LSTM ${pct(models[0].accuracy)}, bag-of-words ${pct(models[1].accuracy)} (chance 50%)`);
const file = writeLinePlot(join(outDir, 'word-order-accuracy.svg'), {
  title: 'Is X before Y? Test accuracy while training',
  xLabel: 'training step',
  yLabel: 'test accuracy',
  series: models.map((m) => ({ label: m.name, points: m.curve })),
});
console.log(`plot: ${file}`);

function pct(a) {
  return `${(a * 100).toFixed(1)}%`;
}
