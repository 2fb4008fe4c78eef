// Many-to-many with an encoder-decoder (the translation architecture): English number words to
// digits and back ("three hundred and forty-two" <-> "342"). An LSTM encoder reads the source; its
// final (h, c) is the decoder LSTM's initial state; the decoder is trained with teacher forcing
// (it reads the true previous token) and decoded one token at a time with nn.Stepper, greedily
// and with beam search (Stepper.select follows the beams). Some numbers are held out of training:
// the model must compose the rule, not recall the pair. Prints held-out exact-match accuracy.
//
//   node examples/number-translation.mjs            # numbers 0..9999, about 40 seconds
//   node examples/number-translation.mjs --quick    # numbers 0..999, about 10 seconds (what the tests run)
//   node examples/number-translation.mjs --out DIR  # where the SVG plots go (default examples/output)
//
// One model per direction: the two sides have their own vocabularies (about 30 words; 10 digits),
// so a shared model would only share the LSTM weights between two unrelated jobs; two small models
// are as cheap to train as one larger one and each has its own loss curve.
// Beam search keeps the K hypotheses of highest total log-probability; it is reported twice, with
// the answer chosen by total log-probability and by log-probability per token (length-normalized,
// which undoes a total's preference for short outputs: every token can only lower a total).
import { join } from 'node:path';
import { init, manualSeed, Generator, tensor, tidy, noGrad, memory, nn, optim, F } from 'lstm-wasm';
import { writeLinePlot } from './lib/svg-plot.mjs';

const quick = process.argv.includes('--quick');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? process.argv[outArg + 1] : new URL('./output/', import.meta.url).pathname;
const MAX_N = quick ? 999 : 9999;
const HELD_OUT = 0.12; // fraction of the numbers never seen in training
const E = 32; // embedding size
const H = quick ? 96 : 128; // LSTM hidden size (encoder and decoder)
const STEPS = quick ? 400 : 1000;
const B = 64;
const BEAM = 4;
const EVAL_EVERY = 100;

await init();
manualSeed(0);
const rng = new Generator(0);

// ---- The data: number <-> words ----

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** British style: 342 -> "three hundred and forty-two", 1005 -> "one thousand and five". */
function inWords(n) {
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? `-${ONES[n % 10]}` : '');
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} hundred` + (n % 100 ? ` and ${inWords(n % 100)}` : '');
  const rest = n % 1000;
  return `${inWords(Math.floor(n / 1000))} thousand` + (rest === 0 ? '' : rest < 100 ? ` and ${inWords(rest)}` : ` ${inWords(rest)}`);
}

/** A vocabulary: ids 0 (padding), 1 (start), 2 (end), then the tokens. */
function vocabulary(tokens) {
  const itos = ['<pad>', '<s>', '</s>', ...tokens];
  const stoi = new Map(itos.map((s, i) => [s, i]));
  return { itos, stoi, size: itos.length };
}
const PAD = 0;
const BOS = 1;
const EOS = 2;
const WORDS = vocabulary([...ONES, ...TENS.filter(Boolean), 'hundred', 'thousand', 'and', '-']);
const DIGITS = vocabulary('0123456789'.split(''));
const SIDES = {
  words: { vocab: WORDS, tokens: (n) => inWords(n).replace(/-/g, ' - ').split(' '), join: (t) => t.join(' ').replace(/ - /g, '-') },
  digits: { vocab: DIGITS, tokens: (n) => String(n).split(''), join: (t) => t.join('') },
};

const numbers = shuffle(Array.from({ length: MAX_N + 1 }, (_, n) => n));
const nHeldOut = Math.round(numbers.length * HELD_OUT);
const heldOut = numbers.slice(0, nHeldOut);
const train = numbers.slice(nHeldOut);

// ---- The model: Embedding -> LSTM encoder; its (h, c) -> LSTM decoder -> Linear ----

class Translator {
  constructor(from, to) {
    this.from = SIDES[from];
    this.to = SIDES[to];
    this.name = `${from} -> ${to}`;
    this.srcEmbed = new nn.Embedding(this.from.vocab.size, E, { paddingIdx: PAD });
    this.encoder = new nn.LSTM(E, H, { forgetBias: 1 });
    this.tgtEmbed = new nn.Embedding(this.to.vocab.size, E, { paddingIdx: PAD });
    this.decoder = new nn.LSTM(E, H, { forgetBias: 1 });
    this.head = new nn.Linear(H, this.to.vocab.size);
    this.params = [this.srcEmbed, this.encoder, this.tgtEmbed, this.decoder, this.head].flatMap((m) => m.parameters());
    this.opt = new optim.Adam(this.params, { lr: 3e-3 });
    this.maxLen = this.to.tokens(7777).length + 3; // decoding steps: past the longest output and its </s>
  }

  /** Source token ids of each number, as (T, B) time-major padded ids and each one's length. */
  source(batch) {
    const seqs = batch.map((n) => this.from.tokens(n).map((s) => this.from.vocab.stoi.get(s)));
    const lengths = seqs.map((s) => s.length);
    return { ids: padded(seqs, Math.max(...lengths)), lengths, T: Math.max(...lengths) };
  }

  /** The encoder's final [h, c], each (1, B, H): every number's own last step (via `lengths`). */
  encode(batch) {
    const { ids, lengths, T } = this.source(batch);
    const [, state] = this.encoder.forward(this.srcEmbed.forward(tensor(ids, [T, batch.length])), null, { lengths });
    return state;
  }

  /** One training step with teacher forcing: the decoder reads <s> y1 .. yn and must predict y1 .. yn </s>. */
  trainStep(batch) {
    return tidy(() => {
      const tgt = batch.map((n) => this.to.tokens(n).map((s) => this.to.vocab.stoi.get(s)));
      const T = Math.max(...tgt.map((s) => s.length)) + 1;
      const input = padded(tgt.map((s) => [BOS, ...s]), T); // (T, B)
      const target = padded(tgt.map((s) => [...s, EOS]), T); // (T, B), PAD past the end: no loss
      const [out] = this.decoder.forward(this.tgtEmbed.forward(tensor(input, [T, batch.length])), this.encode(batch));
      const logits = this.head.forward(out).reshape(-1, this.to.vocab.size); // (T*B, V)
      const loss = F.crossEntropy(logits, tensor(target), { ignoreIndex: PAD });
      this.opt.zeroGrad();
      loss.backward();
      nn.utils.clipGradNorm(this.params, 1);
      this.opt.step();
      return loss.item();
    });
  }

  /** A decoder stepper started from the encoder's state of `batch` (one lane per number); step returns log-probs (B, V). */
  stepper(batch) {
    const state = noGrad(() => tidy(() => this.encode(batch)));
    const V = this.to.vocab.size;
    const stepper = new nn.Stepper((x, s) => {
      const [out, next] = this.decoder.forward(this.tgtEmbed.forward(x), s); // x (1, B) -> out (1, B, H)
      return { output: this.head.forward(out).reshape(-1, V).logSoftmax(-1), state: next };
    }, { state });
    state.forEach((t) => t.dispose()); // the stepper copied it
    return stepper;
  }

  /** Greedy decoding: the most likely next token at every step, all numbers of `batch` at once. */
  greedy(batch, maxLen = this.maxLen) {
    const stepper = this.stepper(batch);
    const out = batch.map(() => []);
    const done = batch.map(() => false);
    let ids = new Int32Array(batch.length).fill(BOS);
    for (let t = 0; t < maxLen && done.includes(false); t++) {
      ids = nn.Stepper.argmax(stepper.step(ids), this.to.vocab.size);
      ids.forEach((id, b) => {
        if (id === EOS) done[b] = true;
        else if (!done[b]) out[b].push(id);
      });
    }
    stepper.dispose();
    return out.map((s) => this.detokenize(s));
  }

  /**
   * Beam search: K lanes per number (lane b*K + k is beam k of number b). Each step extends every
   * live beam by every token, keeps the K best by total log-probability, and `select` moves each
   * kept beam's state into its lane. Hypotheses that end in </s> are set aside; the answer is the
   * best of them by total log-probability or, with `lengthNorm`, by log-probability per token
   * (</s> counted). Plain scores only fall, so a number is done when its best finished hypothesis
   * beats every live beam; with `lengthNorm` a longer one might still win, so it runs to `maxLen`.
   */
  beam(batch, { K = BEAM, lengthNorm = false, maxLen = this.maxLen } = {}) {
    const V = this.to.vocab.size;
    const stepper = this.stepper(batch);
    stepper.select(batch.flatMap((_, b) => Array(K).fill(b))); // K copies of each number's state
    // Beam 0 starts alone (the others at -Infinity), or step 1 would keep K copies of one hypothesis.
    let beams = batch.map(() => Array.from({ length: K }, (_, k) => ({ tokens: [], score: k === 0 ? 0 : -Infinity })));
    const finished = batch.map(() => []);
    const done = batch.map(() => false);
    let ids = new Int32Array(batch.length * K).fill(BOS);
    for (let t = 0; t < maxLen && done.includes(false); t++) {
      const logp = stepper.step(ids); // (B*K, V)
      const parents = new Int32Array(batch.length * K);
      beams = beams.map((live, b) => {
        if (done[b]) {
          parents.fill(b * K, b * K, (b + 1) * K);
          return live;
        }
        const candidates = [];
        live.forEach((beam, k) => {
          if (beam.score === -Infinity) return;
          for (let v = 0; v < V; v++) {
            if (v === PAD || v === BOS) continue;
            candidates.push({ k, v, score: beam.score + logp[(b * K + k) * V + v] });
          }
        });
        candidates.sort((x, y) => y.score - x.score);
        const next = [];
        for (const c of candidates) {
          if (next.length === K) break;
          const tokens = [...live[c.k].tokens, c.v];
          if (c.v === EOS) finished[b].push({ tokens: tokens.slice(0, -1), score: c.score });
          else {
            parents[b * K + next.length] = b * K + c.k;
            next.push({ tokens, score: c.score });
          }
        }
        const bestDone = Math.max(...finished[b].map((h) => h.score));
        if (!lengthNorm && bestDone >= next[0].score) done[b] = true;
        return next;
      });
      stepper.select(parents);
      ids = Int32Array.from(beams.flatMap((live) => live.map((beam) => beam.tokens.at(-1) ?? EOS)));
    }
    stepper.dispose();
    return beams.map((live, b) => {
      const rank = (h) => (lengthNorm ? h.score / (h.tokens.length + 1) : h.score);
      const all = finished[b].length > 0 ? finished[b] : live;
      return this.detokenize(all.reduce((x, y) => (rank(y) > rank(x) ? y : x)).tokens);
    });
  }

  detokenize(ids) {
    return this.to.join(ids.map((id) => this.to.vocab.itos[id]));
  }

  /** The reference translation of each number. */
  truth(numbers) {
    return numbers.map((n) => this.to.join(this.to.tokens(n)));
  }
}

/** The fraction of `guesses` equal to `truths`. */
const exactMatch = (guesses, truths) => guesses.filter((g, i) => g === truths[i]).length / truths.length;

// ---- Training and evaluation ----

const t0 = performance.now();
const directions = [new Translator('words', 'digits'), new Translator('digits', 'words')];
const curves = directions.map(() => ({ loss: [], greedy: [], beam: [] }));
const probe = heldOut.slice(0, 200); // held-out accuracy while training
directions.forEach((model, d) => {
  console.log(`${model.name}: ${train.length} training numbers, ${heldOut.length} held out, vocabulary ${model.from.vocab.size} -> ${model.to.vocab.size}`);
  let smooth = null;
  for (let step = 1; step <= STEPS; step++) {
    const batch = Array.from({ length: B }, () => train[Math.floor(rng.uniform() * train.length)]);
    const loss = model.trainStep(batch);
    smooth = smooth === null ? loss : 0.9 * smooth + 0.1 * loss;
    if (step % 10 === 0) curves[d].loss.push([step, smooth]);
    if (step % EVAL_EVERY === 0 || step === STEPS) {
      const truth = model.truth(probe);
      const [greedy, beam] = [model.greedy(probe), model.beam(probe)].map((g) => exactMatch(g, truth));
      curves[d].greedy.push([step, greedy]);
      curves[d].beam.push([step, beam]);
      console.log(`  step ${step}  loss ${smooth.toFixed(3)}  held-out greedy ${(greedy * 100).toFixed(1)}%  beam ${(beam * 100).toFixed(1)}%`);
    }
  }
});

const liveBefore = memory().liveTensors;
const results = directions.map((model) => {
  const truth = model.truth(heldOut);
  const greedy = model.greedy(heldOut);
  const beam = model.beam(heldOut);
  return {
    model, truth, greedy, beam,
    accuracy: [greedy, beam, model.beam(heldOut, { lengthNorm: true })].map((g) => exactMatch(g, truth)),
    // A check of the lane bookkeeping (select): a beam of 1 is greedy decoding.
    beam1IsGreedy: exactMatch(model.beam(heldOut, { K: 1 }), greedy) === 1,
  };
});
const seconds = (performance.now() - t0) / 1000;

console.log(`\nheld-out exact match: ${heldOut.length} numbers of 0..${MAX_N} never seen in training, ${seconds.toFixed(1)} s`);
console.log(`| direction | greedy | beam ${BEAM} | beam ${BEAM}, length-normalized |`);
console.log('|---|---|---|---|');
for (const r of results) console.log(`| ${r.model.name} | ${r.accuracy.map((a) => `${(a * 100).toFixed(1)}%`).join(' | ')} |`);
for (const r of results) console.log(`${r.model.name}: beam ${BEAM} and greedy differ on ${r.greedy.filter((g, i) => g !== r.beam[i]).length} of ${heldOut.length} numbers`);
console.log(`beam of 1 equals greedy on every held-out number: ${results.every((r) => r.beam1IsGreedy)}`);
console.log(`live tensors after decoding, as before it: ${memory().liveTensors === liveBefore}`);

console.log('\nheld-out examples (greedy / beam; * where one is wrong):');
for (const r of results) {
  const wrong = heldOut.map((_, i) => i).filter((i) => r.greedy[i] !== r.truth[i] || r.beam[i] !== r.truth[i]);
  for (const i of [0, 1, 2, ...wrong.slice(0, 3)]) {
    const source = r.model.from.join(r.model.from.tokens(heldOut[i]));
    const mark = wrong.includes(i) ? `   * expected ${r.truth[i]}` : '';
    console.log(`  ${source.padStart(r.model.from === SIDES.digits ? 4 : 50)}  ->  ${r.greedy[i]} / ${r.beam[i]}${mark}`);
  }
}

const names = directions.map((m) => m.name);
const plots = [
  writeLinePlot(join(OUT, 'number-translation-loss.svg'), {
    title: 'Encoder-decoder: training loss', xLabel: 'step', yLabel: 'cross-entropy per token (smoothed)', logY: true,
    series: curves.map((c, d) => ({ label: names[d], points: c.loss })),
  }),
  writeLinePlot(join(OUT, 'number-translation-accuracy.svg'), {
    title: 'Encoder-decoder: held-out exact match', xLabel: 'step', yLabel: 'accuracy',
    series: curves.flatMap((c, d) => [
      { label: `to ${directions[d].to === SIDES.digits ? 'digits' : 'words'}, greedy`, points: c.greedy },
      { label: `to ${directions[d].to === SIDES.digits ? 'digits' : 'words'}, beam ${BEAM}`, points: c.beam },
    ]),
  }),
];
console.log(`\nplots: ${plots.join(', ')}`);

function padded(seqs, T) {
  const ids = new Int32Array(T * seqs.length).fill(PAD); // (T, B) time-major
  seqs.forEach((s, b) => s.forEach((id, t) => (ids[t * seqs.length + b] = id)));
  return ids;
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
