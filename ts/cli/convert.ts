/**
 * `lstm-wasm convert`: a `torch.save` file (a state_dict) as safetensors, read with
 * `loadSafetensors` and loaded with `model.loadStateDict`.
 *
 * Nested dicts (and lists) are flattened with '.' as PyTorch names submodules (`{'encoder':
 * {'weight': t}}` is `encoder.weight`; an optimizer's `state.0.exp_avg`). Plain values (numbers,
 * strings, booleans, None, empty containers) go into the safetensors `__metadata__` as JSON text
 * under their flattened key, so nothing is dropped silently; two values that flatten to one key
 * are refused.
 */
import { readFileSync } from 'node:fs';
import { readTorch, type TorchValue } from '../io/torch/load-torch';
import { saveSafetensors } from '../io/safetensors';
import { Tensor } from '../tensor';
import { LstmWasmError } from '../errors';
import { command, parseFlags, text } from './flags';
import { CliError, UsageError } from './errors';
import { checkWritablePath, sameFileAs, writeFileAtomic } from './files';

export const CONVERT = command({
  name: 'convert',
  usage: '<model.pt> --out <model.safetensors>',
  about: `Reads a file written by torch.save (torch >= 1.6; a model's or an optimizer's state_dict)
without running any of its pickle, and writes its tensors as safetensors: float64, float16 and
bfloat16 tensors as float32, int64 (values in int32's range), int16, int8, uint8 and bool as
int32. Nested keys are joined with '.'; numbers, strings and other plain values are kept in the
file's metadata as JSON. Load the result with loadSafetensors and model.loadStateDict.`,
  positionals: true,
  flags: {
    out: text({ arg: '<file>', help: 'the safetensors file to write (required)' }),
  },
});

export async function convertCommand(argv: string[]): Promise<number> {
  const { values: f, positionals } = parseFlags(CONVERT, argv);
  const hint = '(see: lstm-wasm convert --help)';
  if (positionals.length === 0) throw new UsageError(`convert needs a torch.save file: lstm-wasm convert model.pt --out model.safetensors ${hint}`);
  if (positionals.length > 1) throw new UsageError(`convert takes one torch.save file, got ${positionals.length}`);
  if (f.out === undefined) throw new UsageError(`convert needs --out <file> ${hint}`);
  const input = positionals[0];
  if (sameFileAs(f.out, [input]) !== undefined) throw new UsageError(`--out ${f.out} is the input file; write the safetensors to another file`);
  checkWritablePath(f.out, '--out');
  const file = readTorchFile(input);
  const tensors = Object.create(null) as Record<string, Tensor>;
  const metadata = Object.create(null) as Record<string, string>;
  try {
    flatten(file.stateDict, '', { tensors, metadata, input, visits: 0 });
    writeFileAtomic(f.out, saveSafetensors(tensors, metadata));
  } finally {
    for (const t of new Set(Object.values(tensors))) t.dispose();
  }
  const count = Object.keys(tensors).length;
  const lines = [`${f.out}: ${count} tensor${count === 1 ? '' : 's'} from ${input}${file.byteorder === 'big' ? ' (big-endian)' : ''}`];
  const converted = new Map<string, string[]>();
  for (const t of file.tensors) {
    if (t.dtype === t.loadedAs) continue;
    const key = `${t.dtype} -> ${t.loadedAs}`;
    converted.set(key, [...(converted.get(key) ?? []), t.path]);
  }
  for (const [key, paths] of converted) {
    lines.push(`  converted ${key}: ${paths.length} (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', ...' : ''})`);
  }
  const plain = Object.keys(metadata).length;
  if (plain > 0) lines.push(`  ${plain} plain value${plain === 1 ? '' : 's'} kept in the metadata as JSON (${Object.keys(metadata).slice(0, 3).join(', ')}${plain > 3 ? ', ...' : ''})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function readTorchFile(path: string): ReturnType<typeof readTorch> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${path}: no such file`);
    if (code === 'EISDIR') throw new CliError(`${path}: is a directory, expected a torch.save file`);
    throw new CliError(`${path}: cannot read (${code ?? (e as Error).message})`);
  }
  try {
    return readTorch(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    if (e instanceof LstmWasmError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Keys (and containers) a file may flatten to: a list shared by reference many times over must not blow up. */
const MAX_FLAT_VISITS = 1_000_000;

interface Flat {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
  input: string;
  visits: number;
}

/** Tensors by their '.'-joined key; every other leaf (and empty container) as JSON in `metadata`. */
function flatten(v: TorchValue, key: string, out: Flat): void {
  const { tensors, metadata, input } = out;
  if (++out.visits > MAX_FLAT_VISITS) throw new CliError(`${input}: flattens to more than ${MAX_FLAT_VISITS} keys (containers shared many times over)`);
  const isContainer = v !== null && typeof v === 'object' && !(v instanceof Tensor);
  const children: [string, TorchValue][] = !isContainer ? [] : Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  if (isContainer && children.length > 0) {
    for (const [k, x] of children) flatten(x, key === '' ? k : `${key}.${k}`, out);
    return;
  }
  if (key in tensors || key in metadata) throw new CliError(`${input}: two values flatten to the key '${key}'; safetensors keys must be unique`);
  if (key === '__metadata__') throw new CliError(`${input}: a value is named '__metadata__', a name safetensors reserves`);
  if (v instanceof Tensor) tensors[key] = v;
  else metadata[key] = typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}
