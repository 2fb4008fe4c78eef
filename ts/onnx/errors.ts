/**
 * `OnnxUnsupportedError`: a model this runtime cannot run, refused by `loadOnnx` before anything
 * runs, with every reason at once (an operator it lacks, an attribute or input of a supported
 * operator it does not implement).
 */
import { LstmWasmError } from 'lstm-wasm';

export interface OnnxUnsupported {
  /** The operator (`opKey`: 'GRU', 'com.microsoft::FusedGemm'). */
  op: string;
  /** The node's name ('' if the file gives none). */
  node: string;
  /** What is missing: 'the operator', or the attribute/input ('direction = bidirectional'). */
  what: string;
}

export class OnnxUnsupportedError extends LstmWasmError {
  override name = 'OnnxUnsupportedError';
  readonly unsupported: readonly OnnxUnsupported[];

  constructor(unsupported: readonly OnnxUnsupported[]) {
    const list = unsupported.map((u) => `${u.op} (node '${u.node}')${u.what === 'the operator' ? '' : `: ${u.what}`}`);
    super(`loadOnnx: this runtime does not support ${list.join('; ')}`);
    this.unsupported = unsupported;
  }
}
