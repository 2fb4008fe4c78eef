// Runs the same deterministic model computations on the backend named in argv[2] ('wasm' or 'js';
// argv[3], for wasm: the build, 'relaxed' or 'simd128')
// and prints every result as JSON: js-vs-wasm.test.ts runs it once per backend (one backend per
// process) and compares. Imports the built package (dist/).
const lw = await import(new URL('../../dist/index.js', import.meta.url).href);
const { init, backendInfo, manualSeed, randn, tensor, tidy, nn, optim, F, memory } = lw;

await init(process.argv[3] === undefined ? { backend: process.argv[2] } : { backend: process.argv[2], simd: process.argv[3] });
const { name, simd } = backendInfo();
const out = { backend: name, simd };
const arr = (t) => Array.from(t.toArray());

/** Forward and backward of a recurrent module on a padded batch; every output and gradient. */
function recurrent(name, make, lengths) {
  manualSeed(1);
  const m = make();
  const res = {};
  tidy(() => {
    const x = randn([6, 3, 5]);
    x.requiresGrad = true;
    const [y, state] = m.forward(x, null, lengths ? { lengths } : {});
    const hN = Array.isArray(state) ? state[0] : state;
    let loss = y.mul(randn(y.shape)).sum().add(hN.mul(randn(hN.shape)).sum());
    if (Array.isArray(state)) loss = loss.add(state[1].mul(randn(state[1].shape)).sum());
    loss.backward();
    res.y = arr(y);
    res.hN = arr(hN);
    if (Array.isArray(state)) res.cN = arr(state[1]);
    res.dx = arr(x.grad);
    for (const [n, p] of m.namedParameters()) res[`d${n}`] = arr(p.grad);
  });
  m.dispose();
  out[name] = res;
}

const lengths = [6, 4, 2];
recurrent('lstm', () => new nn.LSTM(5, 8, { numLayers: 2 }), null);
recurrent('lstm_bi_proj_len', () => new nn.LSTM(5, 8, { numLayers: 2, bidirectional: true, projSize: 3 }), lengths);
recurrent('gru_bi_len', () => new nn.GRU(5, 7, { numLayers: 2, bidirectional: true }), lengths);
recurrent('rnn_tanh_len', () => new nn.RNN(5, 6, { bias: false }), lengths);
recurrent('rnn_relu_bi', () => new nn.RNN(5, 6, { nonlinearity: 'relu', bidirectional: true }), null);

/** A character-level LM step loop: Embedding -> LSTM -> Linear -> cross-entropy (ignore index). */
function train(name, makeOpt) {
  manualSeed(2);
  const [V, T, B] = [11, 7, 4];
  const emb = new nn.Embedding(V, 6);
  const rnn = new nn.LSTM(6, 16, { numLayers: 2 });
  const head = new nn.Linear(16, V);
  const params = [...emb.parameters(), ...rnn.parameters(), ...head.parameters()];
  const opt = makeOpt(params);
  const ids = tensor(Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 3) % V), [T, B], { dtype: 'int32' });
  const targets = tensor(Int32Array.from({ length: T * B }, (_, i) => (i % 9 === 0 ? -100 : (i * 5 + 1) % V)), [T * B], { dtype: 'int32' });
  const losses = [];
  for (let step = 0; step < 8; step++) {
    losses.push(tidy(() => {
      const [h] = rnn.forward(emb.forward(ids));
      const loss = F.crossEntropy(head.forward(h.reshape([T * B, 16])), targets, { ignoreIndex: -100 });
      loss.backward();
      nn.utils.clipGradNorm(params, 1.0);
      opt.step();
      opt.zeroGrad();
      return loss.item();
    }));
  }
  out[name] = { losses, params: params.map(arr).flat() };
  opt.dispose?.();
  for (const m of [emb, rnn, head]) m.dispose();
  ids.dispose();
  targets.dispose();
}

train('train_adam', (p) => new optim.Adam(p, { lr: 1e-2 }));
train('train_adamw', (p) => new optim.AdamW(p, { lr: 1e-2, weightDecay: 0.1 }));
train('train_sgd', (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }));

out.liveTensors = memory().liveTensors;
process.stdout.write(JSON.stringify(out));
