/** Which build of the wasm the command runs (LSTM_WASM_SIMD), and the setup line that says so. */
import { setFlagsFromString } from 'node:v8';
import { backendInfo, relaxedSimdSupported, type SimdBuild } from '../init';
import { UsageError } from './errors';

let flagSet = false;
let asked: SimdBuild | 'auto' = 'auto';

/**
 * LSTM_WASM_SIMD (auto, relaxed or simd128; default auto), for `init({ simd })`. Node 20 and 21
 * validate relaxed SIMD only behind a V8 flag: with LSTM_WASM_SIMD=relaxed the command sets that
 * flag for its own process (and its workers) before the module is compiled, and says so. `auto`
 * does not, so that the command computes as the library does in the same Node (bit for bit: a
 * checkpoint from a TrainingSession and from `lstm-wasm train` agree); the library never sets V8 flags.
 */
export function simdChoice(): SimdBuild | 'auto' {
  const given = process.env.LSTM_WASM_SIMD ?? 'auto';
  if (given !== 'auto' && given !== 'relaxed' && given !== 'simd128') {
    throw new UsageError(`LSTM_WASM_SIMD must be auto, relaxed or simd128, got ${JSON.stringify(given)}`);
  }
  if (given === 'relaxed' && !relaxedSimdSupported() && Number(process.versions.node.split('.')[0]) < 22) {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    flagSet = relaxedSimdSupported();
  }
  asked = given;
  return given;
}

/** `wasm, relaxed SIMD (...)` and why: for the setup lines of the commands. */
export function kernelsLine(): string {
  const { name, simd } = backendInfo();
  if (simd === null) return name;
  const why = flagSet ? `LSTM_WASM_SIMD=relaxed; on Node ${process.versions.node} this command set V8's --experimental-wasm-relaxed-simd`
    : asked !== 'auto' ? `LSTM_WASM_SIMD=${asked}`
    : simd === 'simd128' ? 'this Node runs relaxed SIMD only with LSTM_WASM_SIMD=relaxed'
    : 'LSTM_WASM_SIMD=simd128 for the SIMD128 build';
  return `${name}, ${simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'} (${why})`;
}
