// One-to-many, on real text: from one input, a book of the bundled King James Bible, write a verse
// in that book's style. The book's learned embedding becomes the decoder's initial state
// (Linear + tanh -> h0, c0); a word-level LSTM decoder, trained with teacher forcing on verses of
// Leviticus, Psalms, Proverbs and Matthew, then writes verses one word at a time from that state
// (nn.Stepper, sampling with temperature and top-k). Does the style come through? A verse
// classifier (the model of classify-verses.mjs, trained here on real verses only) names the book
// of each generated verse: its accuracy is printed against chance (25%) and against real verses.
// Plots the generator's loss against the step (SVG) into --out (default examples/output/).
//
//   node examples/book-generator.mjs            # about 2 minutes on 2 cores
//   node examples/book-generator.mjs --quick    # about 20 seconds (what the tests run)
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, manualSeed, Generator, tensor, tidy, noGrad, nn, optim, F, WordTokenizer, sampleFromLogits } from 'lstm-wasm';
import { writeLinePlot } from './lib/svg-plot.mjs';
import { labelledSplit, versesOf } from './lib/verses.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : fileURLToPath(new URL('./output/', import.meta.url));
const BOOKS = ['Leviticus', 'Psalms', 'Proverbs', 'Matthew'];
const PER_BOOK = quick ? 400 : 800; // verses per book (balanced); 20% of them are held out
const MAX_LEN = 24; // tokens (words and punctuation) per verse: longer ones are cut, and generation stops here
const E = 48; // word embedding
const H = quick ? 128 : 192; // decoder state
const GEN_STEPS = quick ? 200 : 800;
const CLS_STEPS = quick ? 100 : 300;
const SAMPLES = quick ? 40 : 100; // generated verses per book
const DROPOUT = 0.3; // on the decoder's input and output: without it the full run overfits after 300 steps
const B = 32;
const SAMPLING = { temperature: 0.8, topK: 40 };

await init();
manualSeed(0);
const rng = new Generator(0);
const t0 = performance.now();

const { examples, test, train } = labelledSplit(versesOf(BOOKS), PER_BOOK, shuffle);

// One vocabulary for the generator and the classifier, from the training verses only.
const tok = WordTokenizer.fromText(train.map((e) => e.text).join('\n'), { maxSize: 1500, lowercase: true });
const V = tok.size;
for (const e of examples) e.ids = tok.encode(e.text).slice(0, MAX_LEN);

// ---- The generator: book -> (h0, c0) -> LSTM decoder over words --------------------------------
const bookEmbed = new nn.Embedding(BOOKS.length, 32);
const toState = new nn.Linear(32, 2 * H);
const wordEmbed = new nn.Embedding(V, E, { paddingIdx: tok.padId });
const decoder = new nn.LSTM(E, H);
const toWord = new nn.Linear(H, V);
const dropout = new nn.Dropout(DROPOUT);
const genParams = [bookEmbed, toState, wordEmbed, decoder, toWord].flatMap((m) => m.parameters());
const genOpt = new optim.Adam(genParams, { lr: 1e-2 });

/** The decoder's initial state for each book of `labels`: [h0, c0], each (1, B, H). */
function bookState(labels) {
  const s = toState.forward(bookEmbed.forward(tensor(Int32Array.from(labels), [labels.length]))).tanh(); // (B, 2H)
  return [s.narrow(1, 0, H).reshape(1, labels.length, H), s.narrow(1, H, H).reshape(1, labels.length, H)];
}

/** Teacher forcing: reads <bos> w1..wn, predicts w1..wn <eos>; mean cross-entropy per word (padding ignored). */
function generatorLoss(batch) {
  const T = Math.max(...batch.map((e) => e.ids.length)) + 1;
  const inputs = new Int32Array(T * batch.length).fill(tok.padId); // (T, B) time-major
  const targets = new Int32Array(T * batch.length).fill(tok.padId);
  batch.forEach((e, b) => {
    inputs[b] = tok.bosId;
    e.ids.forEach((id, t) => {
      inputs[(t + 1) * batch.length + b] = id;
      targets[t * batch.length + b] = id;
    });
    targets[e.ids.length * batch.length + b] = tok.eosId;
  });
  const [out] = decoder.forward(dropout.forward(wordEmbed.forward(tensor(inputs, [T, batch.length]))), bookState(batch.map((e) => e.label)));
  const logits = toWord.forward(dropout.forward(out)).reshape(T * batch.length, V);
  return F.crossEntropy(logits, tensor(targets, [T * batch.length]), { ignoreIndex: tok.padId });
}

const heldOut = test.slice(0, 256);
/** Mean loss per word on held-out verses (weighted by their words). */
function heldOutLoss() {
  let total = 0;
  let words = 0;
  dropout.eval();
  noGrad(() => {
    for (let i = 0; i < heldOut.length; i += 64) {
      const batch = heldOut.slice(i, i + 64);
      const n = batch.reduce((s, e) => s + e.ids.length + 1, 0);
      total += tidy(() => generatorLoss(batch).item()) * n;
      words += n;
    }
  });
  dropout.train();
  return total / words;
}

console.log(`${BOOKS.join(' / ')}: ${train.length} training verses, ${test.length} held out, vocabulary ${V}`);
console.log(`generator: book embedding -> Linear + tanh -> (h0, c0) -> LSTM(${E} -> ${H}) -> Linear(${H} -> ${V}), ${GEN_STEPS} steps of ${B} verses`);
const trainCurve = [];
const heldOutCurve = [[0, heldOutLoss()]];
const EVERY = Math.max(1, Math.floor(GEN_STEPS / 10));
let running = 0;
for (let step = 1; step <= GEN_STEPS; step++) {
  const batch = Array.from({ length: B }, () => train[Math.floor(rng.uniform() * train.length)]);
  const loss = tidy(() => {
    const l = generatorLoss(batch);
    genOpt.zeroGrad();
    l.backward();
    nn.utils.clipGradNorm(genParams, 1);
    genOpt.step();
    return l.item();
  });
  running += loss;
  if (step % EVERY === 0) {
    trainCurve.push([step, running / EVERY]);
    heldOutCurve.push([step, heldOutLoss()]);
    console.log(`step ${step}  loss ${(running / EVERY).toFixed(3)}  held-out ${heldOutCurve.at(-1)[1].toFixed(3)}`);
    running = 0;
  }
}

// ---- Generation: each book's state, then one word at a time ------------------------------------
const sampler = new Generator(1);
const suppress = [tok.padId, tok.unkId, tok.bosId];
// The step function leaves dropout out: generation is inference.
/** `n` verses (word ids, without <eos>) decoded from the state of book `label`, in parallel lanes. */
function generate(label, n) {
  const start = noGrad(() => tidy(() => bookState(new Array(n).fill(label))));
  const stepper = new nn.Stepper(
    (x, state) => {
      const [out, next] = decoder.forward(wordEmbed.forward(x), state);
      return { output: toWord.forward(out).reshape(-1, V), state: next };
    },
    { state: start },
  );
  start.forEach((s) => s.dispose()); // the stepper keeps its own copy
  const verses = Array.from({ length: n }, () => []);
  const done = new Array(n).fill(false);
  let prev = new Array(n).fill(tok.bosId);
  for (let t = 0; t < MAX_LEN && done.includes(false); t++) {
    const logits = stepper.step(prev); // (n, V)
    prev = prev.map((_, b) => {
      if (done[b]) return tok.padId;
      const id = sampleFromLogits(logits.subarray(b * V, (b + 1) * V), { ...SAMPLING, suppress }, sampler);
      if (id === tok.eosId) done[b] = true;
      else verses[b].push(id);
      return id;
    });
  }
  stepper.dispose();
  return verses;
}
const generated = BOOKS.flatMap((_, label) => generate(label, SAMPLES).map((ids) => ({ ids, label, text: tok.decode(ids) })));

// ---- The judge: the many-to-one classifier of classify-verses.mjs, trained on real verses -------
const classifier = trainClassifier(train, CLS_STEPS);
const realAccuracy = accuracy(classifier, test);
const generatedAccuracy = accuracy(classifier, generated);

const seen = new Set(train.map((e) => tok.decode(e.ids)));
const copied = generated.filter((g) => seen.has(g.text)).length;
const meanWords = generated.reduce((s, g) => s + g.ids.length, 0) / generated.length;
console.log(`\nsamples (temperature ${SAMPLING.temperature}, top-k ${SAMPLING.topK}), ${SAMPLES} per book; the classifier's guess in brackets:`);
BOOKS.forEach((name, label) => {
  console.log(`  ${name}:`);
  for (const g of generated.filter((x) => x.label === label).slice(0, 3)) console.log(`    [${BOOKS[g.guess]}] ${g.text}`);
});
console.log(`\ngenerated verses: ${generated.length}, ${meanWords.toFixed(1)} words on average, ${copied} copied verbatim from the training verses`);
console.log('generated verses by book (rows: asked for, columns: the classifier says):');
BOOKS.forEach((name, r) => {
  const row = BOOKS.map((_, c) => generated.filter((g) => g.label === r && g.guess === c).length);
  console.log(`  ${name.padEnd(10)} ${row.map((n) => String(n).padStart(4)).join('')}`);
});
console.log(`classifier accuracy on generated verses: ${(generatedAccuracy * 100).toFixed(1)}% (chance 25%; on real held-out verses ${(realAccuracy * 100).toFixed(1)}%)`);
console.log(`generator held-out loss ${heldOutCurve.at(-1)[1].toFixed(3)} per word (perplexity ${Math.exp(heldOutCurve.at(-1)[1]).toFixed(1)}), ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const plot = writeLinePlot(join(outDir, 'book-generator-loss.svg'), {
  title: 'Book -> verse generator: loss per word',
  xLabel: 'step',
  yLabel: 'cross-entropy',
  series: [
    { label: 'training', points: trainCurve },
    { label: 'held-out', points: heldOutCurve },
  ],
});
console.log(`plot: ${plot}`);

/** classify-verses.mjs's model (Embedding -> LSTM, each verse's last step -> Linear), trained on `examples`. */
function trainClassifier(examples, steps) {
  const embed = new nn.Embedding(V, 32, { paddingIdx: tok.padId });
  const lstm = new nn.LSTM(32, 64);
  const head = new nn.Linear(64, BOOKS.length);
  const params = [...embed.parameters(), ...lstm.parameters(), ...head.parameters()];
  const opt = new optim.Adam(params, { lr: 5e-3 });
  const logits = (batch) => {
    const lengths = batch.map((e) => Math.max(1, e.ids.length));
    const T = Math.max(...lengths);
    const ids = new Int32Array(T * batch.length).fill(tok.padId); // (T, B) time-major
    batch.forEach((e, b) => e.ids.forEach((id, t) => (ids[t * batch.length + b] = id)));
    const [, [hN]] = lstm.forward(embed.forward(tensor(ids, [T, batch.length])), null, { lengths });
    return head.forward(hN.reshape(batch.length, 64));
  };
  for (let step = 1; step <= steps; step++) {
    const batch = Array.from({ length: B }, () => examples[Math.floor(rng.uniform() * examples.length)]);
    tidy(() => {
      const l = F.crossEntropy(logits(batch), tensor(Int32Array.from(batch, (e) => e.label)));
      opt.zeroGrad();
      l.backward();
      nn.utils.clipGradNorm(params, 1);
      opt.step();
    });
  }
  return logits;
}

/** The share of `examples` whose book the classifier names; sets each one's `guess`. */
function accuracy(logits, examples) {
  let correct = 0;
  noGrad(() => {
    for (let i = 0; i < examples.length; i += 64) {
      const batch = examples.slice(i, i + 64);
      const scores = tidy(() => logits(batch).toArray());
      batch.forEach((e, b) => {
        const row = scores.subarray(b * BOOKS.length, (b + 1) * BOOKS.length);
        e.guess = nn.Stepper.argmax(row, BOOKS.length)[0];
        if (e.guess === e.label) correct++;
      });
    }
  });
  return correct / examples.length;
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
