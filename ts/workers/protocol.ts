/**
 * The wire format between lstm-wasm and its workers (training sessions and data-parallel
 * replicas share one worker entry, dist/worker.js), and how errors cross it: by class name,
 * message and stack, rebuilt on the other side as the same class.
 *
 *   caller -> worker   Request   { id, method, args }
 *   worker -> caller   Reply     { id, ok: true, value } | { id, ok: false, error }   (one per request)
 *                      Chunk     { id, chunk }            a piece of a streamed reply, before the Reply
 *                      Event     { event, value }         unrequested news (a session's progress)
 *
 * Either side ignores a message that is not of this wire (a custom worker may post its own).
 */
import {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  SettingError, OutOfMemoryError, WorkerError,
} from '../errors';

/** The request every worker answers at once (with null): the caller learns the worker has started. */
export const HELLO = 'worker.hello';

export interface Request {
  id: number;
  method: string;
  args: unknown;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; chunk: unknown }
  | { event: string; value: unknown };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

type ErrorClass = new (message: string) => Error;

const ERROR_CLASSES: Record<string, ErrorClass> = {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  SettingError, OutOfMemoryError, WorkerError, Error, TypeError, RangeError, SyntaxError, ReferenceError,
  // Where there is WebAssembly (the JS backend runs without it).
  ...(typeof WebAssembly === 'object'
    ? { CompileError: WebAssembly.CompileError, RuntimeError: WebAssembly.RuntimeError, LinkError: WebAssembly.LinkError }
    : {}),
};

/**
 * The error the worker threw, as the same class with the same name and message; its stack is the
 * worker's, under a line saying so. An unknown class arrives as an Error with the worker's name.
 */
export function deserializeError(s: SerializedError): Error {
  const Class = Object.prototype.hasOwnProperty.call(ERROR_CLASSES, s.name) ? ERROR_CLASSES[s.name] : Error;
  const e = new Class(s.message);
  if (e.name !== s.name) Object.defineProperty(e, 'name', { value: s.name, configurable: true, writable: true });
  if (s.stack !== undefined) e.stack = `${s.stack}\n    (thrown in an lstm-wasm worker)`;
  return e;
}

/** The buffers of `value` worth transferring: a typed array's or ArrayBuffer's, not shared memory. */
export function transferablesOf(value: unknown): Transferable[] {
  const out: Transferable[] = [];
  const add = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
    } else if (v instanceof ArrayBuffer && !out.includes(v)) out.push(v);
  };
  if (Array.isArray(value)) value.forEach(add);
  else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    for (const v of Object.values(value)) Array.isArray(v) ? v.forEach(add) : add(v);
  } else add(value);
  return out;
}
