// lstm-wasm's side of the torch parity tests: the logits of a checkpoint's model on a text, from
// the built package (dist/index.js), as little-endian float32 (T, V) to a file;
// prints {ids, vocabSize} (the token ids lstm-wasm's tokenizer gives) as JSON.
//   node test/python/lstm_wasm_logits.mjs <checkpoint> <text file> <out.f32>
import { readFileSync, writeFileSync } from 'node:fs';
import { init, decodeCheckpoint, modelFromCheckpoint, tensor, noGrad } from '../../dist/index.js';

const [checkpointPath, textPath, outPath] = process.argv.slice(2);
if (outPath === undefined) {
  process.stderr.write('usage: node test/python/lstm_wasm_logits.mjs <checkpoint> <text file> <out.f32>\n');
  process.exit(2);
}
await init();
const ck = decodeCheckpoint(new Uint8Array(readFileSync(checkpointPath)));
const model = modelFromCheckpoint(ck);
model.eval();
const ids = ck.tokenizer.encode(readFileSync(textPath, 'utf8'));
const x = tensor(ids, [ids.length, 1]);
const logits = noGrad(() => model.forward(x).logits);
const values = logits.toArray();
writeFileSync(outPath, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
process.stdout.write(JSON.stringify({ ids: Array.from(ids), vocabSize: model.config.vocabSize }) + '\n');
