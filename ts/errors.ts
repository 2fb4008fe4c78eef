/**
 * Typed errors. Every message names the op, the argument, the expected and the actual value,
 * e.g. `matmul: b has 4 rows, expected 3 (the columns of a)`.
 */

/** Base class of every error lstm-wasm throws on purpose. */
export class LstmWasmError extends Error {
  override name = 'LstmWasmError';
}

/** A tensor's shape (or a size argument) does not fit the operation. */
export class ShapeError extends LstmWasmError {
  override name = 'ShapeError';
}

/** A tensor has the wrong dtype for the operation (e.g. float32 token ids). */
export class DTypeError extends LstmWasmError {
  override name = 'DTypeError';
}

/** An index is out of range: a token id, a class target, a dim, a slice bound. */
export class IndexError extends LstmWasmError {
  override name = 'IndexError';
}

/** A disposed tensor (or module, or optimizer) was used. */
export class DisposedError extends LstmWasmError {
  override name = 'DisposedError';
}

/** The library was used before `await init()` completed (or after it failed: see WasmLoadError). */
export class NotInitializedError extends LstmWasmError {
  override name = 'NotInitializedError';
}

/**
 * `init()` could not load the compute module: the engine lacks WebAssembly or its SIMD, the `wasm`
 * source is of an unsupported kind, or it cannot be fetched, read or compiled. The library stays
 * uninitialized and `init()` can be retried (for example with `backend: 'js'`).
 */
export class WasmLoadError extends LstmWasmError {
  override name = 'WasmLoadError';
}

/** A file or byte string (checkpoint, safetensors) is corrupt, truncated or of another format. */
export class FormatError extends LstmWasmError {
  override name = 'FormatError';
}

/** An argument has an invalid value that is not about shape, dtype or index (e.g. lr < 0). */
export class ValueError extends LstmWasmError {
  override name = 'ValueError';
}

/**
 * A training setting does not fit: out of its range, or too large for the text. `settings` names
 * the settings at fault as data (`['batchSize', 'seqLen']`), so a caller that spells them its own
 * way says it its way: the CLI by flag, with `messageNaming((s) => flagOf(s))`.
 */
export class SettingError extends ValueError {
  override name = 'SettingError';
  /** The settings at fault, by their names (`hiddenSize`); empty when the error crossed from a worker. */
  readonly settings: readonly string[];
  private readonly say: ((names: string[]) => string) | null;

  /** The message, or how to say it given the settings' names (`([b, s]) => `... a smaller ${b}/${s}``). */
  constructor(message: string | ((names: string[]) => string), settings: readonly string[] = []) {
    super(typeof message === 'string' ? message : message([...settings]));
    this.settings = settings;
    this.say = typeof message === 'string' ? null : message;
  }

  /** The message with each setting named by `nameOf` (the CLI: `--batch`); the message as it is when it cannot. */
  messageNaming(nameOf: (setting: string) => string): string {
    return this.say === null ? this.message : this.say(this.settings.map(nameOf));
  }
}

/**
 * Memory cannot hold what was asked: a tensor, a kernel's workspace or the sum of live tensors
 * would pass the 4 GiB WebAssembly address space (or a single block would pass 2 GiB), or the
 * engine refused to grow memory. Raised before any kernel runs; nothing is allocated or changed,
 * and the library keeps working (free tensors, or ask for less).
 */
export class OutOfMemoryError extends LstmWasmError {
  override name = 'OutOfMemoryError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A training session's worker is gone: it failed to start, crashed (out of memory, an uncaught
 * error) or was terminated. Every call pending on it is rejected with this error, and later
 * calls too; create a new session (from the last checkpoint) to go on.
 */
export class WorkerError extends LstmWasmError {
  override name = 'WorkerError';
}

/** What an argument is, as an error message says what it got: null, its class (`Float32Array`, `Object`), or its type. */
export function describeKind(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** `describeKind`, but a string quoted (its first 20 characters) and a number as written: where the value says more than its type. */
export function describeArg(v: unknown): string {
  if (typeof v === 'string') return `the string '${v.length > 20 ? `${v.slice(0, 20)}...` : v}'`;
  if (typeof v === 'number') return String(v);
  return describeKind(v);
}

/** An option's value as its range error shows it: a string quoted, anything else as written. */
export function quoteValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}
