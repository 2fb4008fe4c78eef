// One init() and, optionally, a small training run in a process of its own (a process has one
// backend and one wasm build): simd-builds.test.ts starts it with and without Node 20's
// --experimental-wasm-relaxed-simd. argv[2]: the init options as JSON (`wasm` as a path to read);
// argv[3]: 'train' trains a small LSTM language model (`threads` from argv[4], default 1).
// Prints one JSON line: { info } or { error: { name, message } }, plus losses and parameters.
import { readFileSync } from 'node:fs';

const lw = await import(new URL('../../dist/index.js', import.meta.url).href);
const options = JSON.parse(process.argv[2] ?? '{}');
if (typeof options.wasm === 'string') options.wasm = readFileSync(options.wasm);
const out = {};
try {
  await lw.init(options);
  out.info = lw.backendInfo();
  if (process.argv[3] === 'again') {
    try {
      await lw.init(JSON.parse(process.argv[4]));
      out.again = 'ok';
    } catch (e) {
      out.again = { name: e.name, message: e.message };
    }
  }
  if (process.argv[3] === 'train') {
    const text = 'the quick brown fox jumps over the lazy dog; '.repeat(60);
    const tok = lw.buildTokenizer('char', text);
    const { train, val } = lw.trainValSplit(tok.encode(text), 0.1);
    lw.manualSeed(3);
    const generator = new lw.Generator(5);
    const model = new lw.LanguageModel({ vocabSize: tok.size, cell: 'lstm', embedDim: 16, hiddenSize: 48, numLayers: 2 }, { generator });
    const trainer = new lw.LMTrainer(model, new lw.LMBatcher(train, 8, 24), new lw.LMBatcher(val, 4, 24), { lr: 3e-3, threads: Number(process.argv[4] ?? 1), generator });
    await trainer.run({ steps: 12, evalEvery: 0 });
    out.losses = trainer.losses;
    out.params = model.parameters().flatMap((p) => Array.from(p.toArray()));
    trainer.dispose();
    model.dispose();
  }
} catch (e) {
  out.error = { name: e.name, message: e.message };
}
process.stdout.write(JSON.stringify(out) + '\n');
