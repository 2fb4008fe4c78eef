/**
 * `lstm-wasm/pretrained`: the package's pretrained model, a byte-level LSTM trained on the bundled
 * corpus (`npm run pretrain`), ready to generate, score, or fine-tune on any UTF-8 text.
 *
 *   import { init } from 'lstm-wasm';
 *   import { loadPretrained } from 'lstm-wasm/pretrained';
 *   const { model, tokenizer } = await loadPretrained();
 *
 * or, for a training session (the model opens in the session's worker):
 *
 *   const bytes = await fetchPretrained();
 *   const session = await createTrainingSession({ checkpoint: bytes });   // generate at once
 *   const tuned = await createTrainingSession({ text, from: bytes });      // fine-tune on your text
 *
 * Its own entry point, so the core bundle does not grow: the weights (3.5 MB) are read from the
 * package's own file, only when asked: in Node from disk, in browsers with `fetch` from the URL a
 * bundler gives `new URL('../pretrained/kjv-byte.safetensors', import.meta.url)` (never from
 * another host). It uses the package's own instance of the library (`lstm-wasm`), initializing it
 * if the caller has not.
 */
import { decodeCheckpoint, init, isInitialized, modelFromCheckpoint, FormatError, ValueError } from 'lstm-wasm';
import type { DecodedCheckpoint, LanguageModel, Tokenizer } from 'lstm-wasm';

/** Where the package keeps the pretrained model, beside `dist/`. */
export function pretrainedUrl(): URL {
  return new URL('../pretrained/kjv-byte.safetensors', import.meta.url);
}

export interface PretrainedOptions {
  /** Another source of the same kind of file: its URL (string or URL), or its bytes. Default: the package's. */
  source?: string | URL | Uint8Array | ArrayBuffer;
}

export interface Pretrained {
  /** The model (int8 weights: it generates and scores; `dequantize(model)` gives a float32 copy to fine-tune). */
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** How it was made: its settings, training steps, validation loss, corpus and commit (its checkpoint's `extra`). */
  about: Record<string, unknown>;
}

/** Loads the pretrained model (or another checkpoint given as `source`): the model is the caller's to dispose. */
export async function loadPretrained(options: PretrainedOptions = {}): Promise<Pretrained> {
  const bytes = await readSource(checkPretrainedOptions('loadPretrained', options).source ?? pretrainedUrl(), 'loadPretrained');
  if (!isInitialized()) await init();
  const ck: DecodedCheckpoint = decodeCheckpoint(bytes);
  return { model: modelFromCheckpoint(ck), tokenizer: ck.tokenizer, about: { ...ck.meta.extra } };
}

/**
 * The pretrained model's file (or `source`'s) as bytes, unread: for a training session, which opens
 * it in its worker, `createTrainingSession({ checkpoint: bytes })` to generate or
 * `createTrainingSession({ text, from: bytes })` to fine-tune it on `text`. Nothing is loaded into
 * this thread's library.
 */
export async function fetchPretrained(options: PretrainedOptions = {}): Promise<Uint8Array> {
  return readSource(checkPretrainedOptions('fetchPretrained', options).source ?? pretrainedUrl(), 'fetchPretrained');
}

function checkPretrainedOptions(where: string, options: PretrainedOptions): PretrainedOptions {
  if (options === null || typeof options !== 'object') throw new ValueError(`${where}: options must be an object like { source }, got ${options === null ? 'null' : typeof options}`);
  const unknown = Object.keys(options).filter((k) => k !== 'source');
  if (unknown.length > 0) throw new ValueError(`${where}: unknown option '${unknown[0]}' (it takes { source })`);
  return options;
}

async function readSource(source: string | URL | Uint8Array | ArrayBuffer, where: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new ValueError(`${where}: source must be a URL (string or URL) or bytes (Uint8Array, ArrayBuffer), got ${source === null ? 'null' : typeof source === 'object' ? (source as object).constructor?.name ?? 'an object' : typeof source}`);
  }
  const url = new URL(String(source), typeof location === 'object' ? location.href : undefined);
  if (url.protocol === 'file:') {
    const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as
      | { promises: { readFile(u: URL): Promise<Uint8Array> } }
      | undefined;
    if (fs === undefined) throw new FormatError(`${where}: cannot read ${url.href} here (a file: URL needs Node)`);
    try {
      return new Uint8Array(await fs.promises.readFile(url));
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new FormatError(`${where}: cannot read ${url.href} (${code === 'ENOENT' ? 'no such file: this build has no pretrained model; make it with npm run pretrain' : code ?? (e as Error).message})`);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new FormatError(`${where}: fetching ${url.href} gave HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
