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
 *
 * A worker serves several protocols (a training session's, a data-parallel replica's), each a
 * `Protocol<Methods>`: a name on the wire (its requests' methods are `<name>.<method>`) and a
 * method map, one function type per method from its arguments to its result. Both sides are typed
 * from that one map: the caller's `WorkerConnection.call` (connection.ts) and the worker's handler
 * table (serve.ts).
 */
import {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  SettingError, OutOfMemoryError, WorkerError,
} from '../errors';

/** The request every worker answers at once (with null): the caller learns the worker has started. */
export const HELLO = 'worker.hello';

/** A protocol: its name on the wire, and (as a type only) its method map. Both sides import the same constant. */
export interface Protocol<Methods> {
  readonly name: string;
  /** Never set: it carries the method map's type from the constant to both sides. */
  readonly methods?: Methods;
}

/** The protocol named `name` (requests `<name>.<method>`) whose methods are `Methods`'s. */
export function protocol<Methods>(name: string): Protocol<Methods> {
  return { name };
}

/**
 * In a method map each method is a function type from its arguments (one value, null for none) to
 * its result, e.g. `interface SessionMethods { open(args: OpenArgs): SessionInfo; ... }`.
 * The arguments of `Methods`' method `M`: */
export type Args<Methods, M extends keyof Methods> = Methods[M] extends (args: infer A) => unknown ? A : never;
/** The result of `Methods`' method `M` (what the caller's promise resolves with). */
export type Result<Methods, M extends keyof Methods> = Methods[M] extends (args: never) => infer R ? R : never;

/** The wire's name of a protocol's method. */
export function wireMethod(p: Protocol<unknown>, method: string): string {
  return `${p.name}.${method}`;
}

export interface Request {
  id: number;
  method: string;
  args: unknown;
}

export interface SerializedError {
  /** The registered class the error is an instance of (the closest, see WIRE_ERRORS), rebuilt as that class. */
  class: string;
  /** The error's own name (a subclass not registered keeps its name on its registered ancestor). */
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; chunk: unknown }
  | { event: string; value: unknown };

type ErrorClass = new (message: string) => Error;

/**
 * The error classes that cross the wire as themselves, by name: every LstmWasmError of errors.ts
 * (a test keeps this list whole), JavaScript's own, and WebAssembly's where there is WebAssembly
 * (the JS backend runs without it). Both directions read it: an error is sent as the closest of
 * these classes it is an instance of, and rebuilt as that class.
 */
export const WIRE_ERRORS: Readonly<Record<string, ErrorClass>> = {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  SettingError, OutOfMemoryError, WorkerError, Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
  ...(typeof WebAssembly === 'object'
    ? { CompileError: WebAssembly.CompileError, RuntimeError: WebAssembly.RuntimeError, LinkError: WebAssembly.LinkError }
    : {}),
};

/** The registered classes by constructor, for the walk up an error's prototype chain. */
const WIRE_NAMES = new Map<unknown, string>(Object.entries(WIRE_ERRORS).map(([name, Class]) => [Class, name]));

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { class: 'Error', name: 'Error', message: String(e) };
  let proto: object | null = Object.getPrototypeOf(e);
  while (proto !== null && !WIRE_NAMES.has(proto.constructor)) proto = Object.getPrototypeOf(proto);
  return { class: proto === null ? 'Error' : WIRE_NAMES.get(proto.constructor)!, name: e.name, message: e.message, stack: e.stack };
}

/**
 * The error the worker threw, as its registered class with the same name and message; its stack
 * is the worker's, under a line saying so. A class not registered arrives as its closest
 * registered ancestor (at least Error), with the worker's name.
 */
export function deserializeError(s: SerializedError): Error {
  const Class = Object.prototype.hasOwnProperty.call(WIRE_ERRORS, s.class) ? WIRE_ERRORS[s.class] : Error;
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
