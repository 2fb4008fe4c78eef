/** `lstm-wasm quantize`: a checkpoint's model with int8 or float16 weights, for inference. */
import { encodeCheckpoint, modelFromCheckpoint } from '../training/checkpoint';
import { quantize } from '../lm/quantize';
import { choice, command, parseFlags, text } from './flags';
import { CliError, UsageError } from './errors';
import { checkWritablePath, readCheckpoint, sameFileAs, writeFileAtomic } from './files';

export const QUANTIZE = command({
  name: 'quantize',
  usage: '--checkpoint <file> --dtype int8|float16 --out <file>',
  about: `Writes the checkpoint's model with its weight matrices stored as int8 (symmetric per row,
about 4x smaller, the fastest to generate with) or float16 (2x smaller, closest to float32);
biases stay float32. The result generates, predicts and evaluates like any checkpoint
('generate', 'predict', 'eval', sessions); it holds no training state, so train from the
float32 checkpoint.`,
  positionals: false,
  flags: {
    checkpoint: text({ arg: '<file>', help: "a checkpoint written by 'lstm-wasm train' (required)" }),
    dtype: choice(['int8', 'float16'] as const, { help: 'how to store the weights (required)' }),
    out: text({ arg: '<file>', help: 'the quantized checkpoint to write (required)' }),
  },
});

export async function quantizeCommand(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(QUANTIZE, argv);
  const hint = '(see: lstm-wasm quantize --help)';
  if (f.checkpoint === undefined) throw new UsageError(`quantize needs --checkpoint <file> ${hint}`);
  if (f.dtype === undefined) throw new UsageError(`quantize needs --dtype int8 or --dtype float16 ${hint}`);
  if (f.out === undefined) throw new UsageError(`quantize needs --out <file> ${hint}`);
  // Compared as files, not spellings: ./f and f (or a link to it) are the same checkpoint.
  if (sameFileAs(f.out, [f.checkpoint]) !== undefined) throw new UsageError(`--out ${f.out} is the input checkpoint; write the quantized model to another file`);
  checkWritablePath(f.out, '--out');
  const ck = readCheckpoint(f.checkpoint);
  if (ck.quantized !== null) throw new CliError(`checkpoint ${f.checkpoint}: is quantized already (${ck.quantized.dtype}); quantize the float32 checkpoint it was made from`);
  const model = modelFromCheckpoint(ck);
  const quantized = quantize(model, { dtype: f.dtype });
  model.dispose();
  // The training flags and text fingerprint stay with it: eval reads --batch, --seq and --val-split there.
  const bytes = encodeCheckpoint(quantized, ck.tokenizer, null, ck.meta.extra);
  quantized.dispose();
  writeFileAtomic(f.out, bytes);
  const inBytes = ckBytes(ck);
  process.stdout.write(
    `${f.out}: ${f.dtype} model, ${mb(bytes.length)} (float32 weights: ${mb(inBytes)}, ${(inBytes / bytes.length).toFixed(1)}x larger)\n` +
      `  generate: npx lstm-wasm generate --checkpoint ${f.out} --prime "And "\n` +
      `  evaluate: npx lstm-wasm eval --checkpoint ${f.out}\n`,
  );
  return 0;
}

/** Bytes the float32 weights take (the parameters alone, not the training state a checkpoint may also hold). */
function ckBytes(ck: ReturnType<typeof readCheckpoint>): number {
  return Object.values(ck.params).reduce((a, p) => a + 4 * p.data.length, 0);
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
