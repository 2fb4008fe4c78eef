// Quick start: a character-level LSTM language model trained for a few hundred steps on a short
// text, then sampled. Run with `npm start` (builds what is missing first) or `node examples/quickstart.mjs`.
import { init, tensor, nn, optim, F, tidy, noGrad, manualSeed, memory } from 'lstm-wasm';

await init();
manualSeed(0);

const text = `It was the best of times, it was the worst of times, it was the age of wisdom, it was the age
of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of
Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had
everything before us, we had nothing before us, we were all going direct to Heaven, we were all going
direct the other way.`.replace(/\s+/g, ' ');

const chars = [...new Set(text)].sort();
const ids = Int32Array.from(text, (c) => chars.indexOf(c));
const V = chars.length, E = 32, H = 128, T = 32, B = 16;

const embed = new nn.Embedding(V, E);
const lstm = new nn.LSTM(E, H, { numLayers: 2 });
const head = new nn.Linear(H, V);
const params = [...embed.parameters(), ...lstm.parameters(), ...head.parameters()];
const opt = new optim.Adam(params, { lr: 3e-3 });

function batch() {
  const x = new Int32Array(T * B), y = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(Math.random() * (ids.length - T - 1));
    for (let t = 0; t < T; t++) {
      x[t * B + b] = ids[start + t];
      y[t * B + b] = ids[start + t + 1];
    }
  }
  return [tensor(x, [T, B]), tensor(y, [T * B])];
}

const steps = 300;
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  const loss = tidy(() => {
    const [x, y] = batch();
    const [out] = lstm.forward(embed.forward(x));
    const logits = head.forward(out).reshape(T * B, V);
    const l = F.crossEntropy(logits, y);
    opt.zeroGrad();
    l.backward();
    nn.utils.clipGradNorm(params, 1.0);
    opt.step();
    return l.item();
  });
  if (step % 50 === 0) {
    const secs = (performance.now() - t0) / 1000;
    console.log(`step ${step}  loss ${loss.toFixed(3)}  ${Math.round((step * T * B) / secs)} tokens/s`);
  }
}

// Sample 200 characters, feeding each prediction back with the carried state.
lstm.eval();
let state = null;
let token = chars.indexOf('I');
let sample = 'I';
noGrad(() => {
  for (let i = 0; i < 200; i++) {
    // tidy frees everything made inside except what it returns: here, the new state.
    const next = tidy(() => {
      const [out, st] = lstm.forward(embed.forward(tensor(Int32Array.of(token), [1, 1])), state);
      const probs = head.forward(out).reshape(V).softmax().toArray();
      let r = Math.random(), c = 0;
      while (c < V - 1 && (r -= probs[c]) > 0) c++;
      token = c;
      sample += chars[c];
      return st;
    });
    if (state) state.forEach((s) => s.dispose());
    state = next;
  }
});
console.log(`\nsample: ${sample}\n`);
console.log('memory:', memory());
