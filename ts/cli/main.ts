/**
 * The `lstm-wasm` command (Node only; the one place that touches node:fs and node:process).
 * Every user error is one line on stderr and a non-zero exit code, never a stack trace.
 */
import { init } from '../init';
import { setInlinedWasm } from '../wasm/load';
import { inlinedWasm } from '../wasm/inlined';
import { simdChoice } from './kernels';
import { LstmWasmError } from '../errors';
import { CliError, UsageError } from './errors';
import { helpText, wantsHelp, type Command, type FlagTable } from './flags';
import { trainCommand, TRAIN } from './train';
import { generateCommand, GENERATE } from './generate';
import { evalCommand, EVAL } from './eval';
import { predictCommand, PREDICT } from './predict';
import { quantizeCommand, QUANTIZE } from './quantize';
import { convertCommand, CONVERT } from './convert';
// Bundled into dist/cli.js at build time (only this field), so it is right wherever the file runs.
import { version } from '../../package.json';

const HELP = `Usage: lstm-wasm <command> [options]

Commands:
  train [file...]             train a language model (default: on the bundled corpus; --from: fine-tune one)
  generate [--checkpoint <f>] stream text from a trained model (default: the pretrained one)
  eval [--checkpoint <f>] [file]  loss and perplexity on a text
  predict [--checkpoint <f>]  the likeliest next tokens after --prime, with probabilities
  quantize --checkpoint <f> --dtype int8|float16 --out <f>
                              the model with smaller weights, for generation and evaluation
  convert <model.pt> --out <f>
                              a torch.save state_dict as safetensors (its pickle is never run)

Run 'lstm-wasm <command> --help' for a command's options, 'lstm-wasm --version' (or 'version')
for the version. Through npx, put flags after the command: npx lstm-wasm train --help.

The kernels run the relaxed-SIMD build of the wasm where Node has relaxed SIMD (Node 22+), the
SIMD128 build elsewhere. LSTM_WASM_SIMD=simd128 forces the SIMD128 build (results bit-identical
on every machine); LSTM_WASM_SIMD=relaxed the relaxed one (on Node 20 this command then turns on
V8's --experimental-wasm-relaxed-simd for itself).
`;

/** Each command: its flag table (which makes its --help) and what runs it. */
const COMMANDS: Record<string, { spec: Command<FlagTable>; run: (argv: string[]) => Promise<number> }> = {
  train: { spec: TRAIN, run: trainCommand },
  generate: { spec: GENERATE, run: generateCommand },
  eval: { spec: EVAL, run: evalCommand },
  predict: { spec: PREDICT, run: predictCommand },
  quantize: { spec: QUANTIZE, run: quantizeCommand },
  convert: { spec: CONVERT, run: convertCommand },
};

setInlinedWasm(inlinedWasm);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && rest[0] in COMMANDS) process.stdout.write(helpText(COMMANDS[rest[0]].spec));
    else process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`lstm-wasm ${version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see lstm-wasm --help)`);
  // `<command> --help` (or -h, anywhere before --) prints the help its flag table makes, and nothing runs.
  if (wantsHelp(rest)) {
    process.stdout.write(helpText(command.spec));
    return 0;
  }
  await init({ simd: simdChoice() });
  return command.run(rest);
}

/**
 * The one error policy: a CliError (bad flags, files, checkpoints) and an LstmWasmError (anything
 * the library refuses on purpose, a failed wasm load included) are one `lstm-wasm: error:` line
 * and exit code 1 (2 for usage errors); anything else is a bug, reported as an internal error (70).
 */
function report(e: unknown): number {
  const debug = process.env.LSTM_WASM_DEBUG === '1';
  if (e instanceof CliError || e instanceof LstmWasmError) {
    // The loader's messages start with 'lstm-wasm: ' already.
    process.stderr.write(`lstm-wasm: error: ${oneLine((e as Error).message).replace(/^lstm-wasm: /, '')}\n`);
    if (debug) process.stderr.write(`${(e as Error).stack}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
  // A bug, not a user error: still one line, with a way to get the stack.
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  process.stderr.write(`lstm-wasm: internal error: ${oneLine(msg)}${debug ? '' : ' (run with LSTM_WASM_DEBUG=1 for details)'}\n`);
  if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return 70;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

// Stdout closed early (e.g. `| head`): stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = report(e);
  },
);
