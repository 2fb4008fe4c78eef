// Many-to-one sequence classification: which book of the bundled King James Bible does a verse
// come from? Words -> Embedding -> LSTM (each verse's own last step, via `lengths`) -> Linear ->
// 4 classes. Prints test accuracy against chance (25%).
//
//   node examples/classify-verses.mjs            # 300 steps, about 10 seconds
//   node examples/classify-verses.mjs --quick    # a few seconds (what the tests run)
import { init, manualSeed, Generator, tensor, tidy, noGrad, nn, optim, F, WordTokenizer } from 'lstm-wasm';
import { labelledSplit, versesOf } from './lib/verses.mjs';

const quick = process.argv.includes('--quick');
const BOOKS = ['Leviticus', 'Psalms', 'Proverbs', 'Matthew'];
const PER_BOOK = quick ? 300 : 600; // verses per book (balanced classes)
const MAX_LEN = 40; // words per verse (longer verses are cut)
const STEPS = quick ? 100 : 300;
const B = 32;

await init();
manualSeed(0);
const rng = new Generator(0);

const { examples, test, train } = labelledSplit(versesOf(BOOKS), PER_BOOK, shuffle);

const tok = WordTokenizer.fromText(train.map((e) => e.text).join('\n'), { maxSize: 4000, lowercase: true });
const encode = (text) => tok.encode(text).slice(0, MAX_LEN);

const embed = new nn.Embedding(tok.size, 32, { paddingIdx: tok.padId });
const lstm = new nn.LSTM(32, 64);
const head = new nn.Linear(64, BOOKS.length);
const params = [...embed.parameters(), ...lstm.parameters(), ...head.parameters()];
const opt = new optim.Adam(params, { lr: 5e-3 });

/** Logits (B, classes) of a batch of verses, padded to the longest, each read up to its own length. */
function logits(batch) {
  const seqs = batch.map((e) => encode(e.text));
  const lengths = seqs.map((s) => Math.max(1, s.length));
  const T = Math.max(...lengths);
  const ids = new Int32Array(T * batch.length).fill(tok.padId); // (T, B) time-major
  seqs.forEach((s, b) => s.forEach((id, t) => (ids[t * batch.length + b] = id)));
  const [, [hN]] = lstm.forward(embed.forward(tensor(ids, [T, batch.length])), null, { lengths });
  return head.forward(hN.reshape(batch.length, 64));
}

const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  const batch = Array.from({ length: B }, () => train[Math.floor(rng.uniform() * train.length)]);
  const loss = tidy(() => {
    const l = F.crossEntropy(logits(batch), tensor(Int32Array.from(batch, (e) => e.label)));
    opt.zeroGrad();
    l.backward();
    nn.utils.clipGradNorm(params, 1);
    opt.step();
    return l.item();
  });
  if (step % Math.max(1, Math.floor(STEPS / 5)) === 0) console.log(`step ${step}  loss ${loss.toFixed(3)}`);
}

lstm.eval();
let correct = 0;
const confusion = BOOKS.map(() => BOOKS.map(() => 0));
noGrad(() => {
  for (let i = 0; i < test.length; i += 64) {
    const batch = test.slice(i, i + 64);
    const pred = tidy(() => logits(batch).toArray());
    batch.forEach((e, b) => {
      const row = pred.subarray(b * BOOKS.length, (b + 1) * BOOKS.length);
      const guess = row.indexOf(Math.max(...row));
      confusion[e.label][guess]++;
      if (guess === e.label) correct++;
    });
  }
});
const accuracy = correct / test.length;
console.log(`\n${BOOKS.join(' / ')}: ${train.length} training verses, ${test.length} test verses, vocabulary ${tok.size}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log('confusion (rows: true book, columns: predicted):');
BOOKS.forEach((name, r) => console.log(`  ${name.padEnd(10)} ${confusion[r].map((n) => String(n).padStart(4)).join('')}`));
console.log(`test accuracy ${(accuracy * 100).toFixed(1)}% (chance ${(100 / BOOKS.length).toFixed(0)}%)`);

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
