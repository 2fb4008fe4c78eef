// The text API in one page (what `lstm-wasm train` does, as library calls that also run in a
// browser): a character tokenizer, a batcher for truncated BPTT, a LanguageModel, the trainer with
// progress events, streamed generation, and a checkpoint round trip.
//
//   node examples/quickstart.mjs           # about 5 seconds
//   node examples/quickstart.mjs --quick   # a few seconds
import {
  init, manualSeed, memory, CharTokenizer, LMBatcher, trainValSplit, LanguageModel, LMTrainer, generateText,
  encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, sampleText,
} from 'lstm-wasm';

await init();
manualSeed(0);

const text = `It was the best of times, it was the worst of times, it was the age of wisdom, it was the age
of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of
Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had
everything before us, we had nothing before us, we were all going direct to Heaven, we were all going
direct the other way.\n`.repeat(8);

const tokenizer = CharTokenizer.fromText(text);
const { train, val } = trainValSplit(tokenizer.encode(text), 0.1);
const model = new LanguageModel({ vocabSize: tokenizer.size, cell: 'lstm', embedDim: 32, hiddenSize: 128 });
const trainer = new LMTrainer(model, new LMBatcher(train, 8, 32), new LMBatcher(val, 4, 32), { lr: 5e-3 });

const result = await trainer.run({
  steps: process.argv.includes('--quick') ? 60 : 300,
  evalEvery: 50,
  onProgress: (p) => {
    if (p.evaluated) {
      console.log(`step ${p.step}  loss ${p.smoothLoss.toFixed(3)}  val ${p.valLoss.toFixed(3)}  ${Math.round(p.tokensPerSec)} tokens/s`);
    }
  },
});
console.log(`${result.steps} steps, ${result.tokens} tokens in ${(result.elapsedMs / 1000).toFixed(1)} s\n`);

// Stream a sample as it is produced (a page would append each piece to the DOM).
process.stdout.write('It was');
for await (const piece of generateText(model, tokenizer, 'It was', { length: 160, temperature: 0.6, seed: 1 })) {
  process.stdout.write(piece);
}
process.stdout.write('\n\n');

// A checkpoint is bytes (a safetensors file): store them anywhere, load them back.
const bytes = encodeCheckpoint(model, tokenizer, trainer);
const checkpoint = decodeCheckpoint(bytes);
const copy = modelFromCheckpoint(checkpoint);
const same = sampleText(copy, checkpoint.tokenizer, 'It was', { length: 60, seed: 2 }) === sampleText(model, tokenizer, 'It was', { length: 60, seed: 2 });
console.log(`checkpoint: ${bytes.length} bytes; reloaded model samples the same text: ${same}`);

trainer.dispose();
model.dispose();
copy.dispose();
console.log('live tensors after dispose:', memory().liveTensors);
