/**
 * The messages between a TrainingSession (client.ts, on the caller's thread) and its worker
 * (host.ts), and how errors cross: by class name, message and stack, rebuilt as the same class.
 *
 *   client -> worker   Request   { id, method, args }
 *   worker -> client   Reply     { id, ok: true, value } | { id, ok: false, error }   (one per request)
 *                      Chunk     { id, chunk }            a piece of a generate stream, before its Reply
 *                      Progress  { progress }             after every training step of a run
 *
 * Byte buffers the worker returns (checkpoints) are transferred, never copied; what the caller
 * sends is structured-cloned (one copy of the bytes, so the caller's buffers stay usable).
 */
import type { TrainProgress, RunResult } from '../text/trainer';
import type { ScoreResult } from '../text/evaluate';
import type { SamplingOptions } from '../text/sampling';
import type { TrainingSettings } from '../text/training-setup';
import {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  OutOfMemoryError, WorkerError,
} from '../errors';

export interface OpenArgs {
  /** Training text (null: a session that only generates and evaluates from `checkpoint`). */
  text: string | Uint8Array | null;
  /** How the checkpoint names the text. */
  source: string;
  settings: Partial<TrainingSettings>;
  checkpoint: Uint8Array | null;
}

/** What a session is, as the worker opened it. */
export interface SessionInfo {
  settings: TrainingSettings;
  vocabSize: number;
  parameterCount: number;
  /** Steps trained so far (across resumes). */
  step: number;
  /** False for a session opened from a checkpoint without text: it generates and evaluates only. */
  canTrain: boolean;
  trainTokens: number;
  valTokens: number;
  /** Steps in one pass over the training text (0 without text). */
  stepsPerEpoch: number;
}

/** Run options that cross to the worker (the callbacks and signal stay on the caller's side). */
export interface RunArgs {
  steps?: number;
  epochs?: number;
  timeMs?: number;
  evalEvery?: number;
  evalEveryMs?: number;
}

export interface GenerateArgs extends SamplingOptions {
  length?: number;
  seed?: number;
}

export interface EvaluateArgs {
  text: string | Uint8Array;
  batchSize?: number;
  seqLen?: number;
  maxTokens?: number;
}

/** Each method's arguments and result. */
export interface Methods {
  open: [OpenArgs, SessionInfo];
  train: [RunArgs, RunResult];
  pause: [null, { step: number }];
  resume: [null, null];
  stop: [null, null];
  checkpoint: [null, Uint8Array];
  generate: [{ prime: string; options: GenerateArgs }, null];
  cancel: [{ target: number }, null];
  evaluate: [EvaluateArgs, ScoreResult];
}

export type Method = keyof Methods;

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  args: Methods[M][0];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; chunk: string }
  | { progress: TrainProgress };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

type ErrorClass = new (message: string) => Error;

const ERROR_CLASSES: Record<string, ErrorClass> = {
  LstmWasmError, ShapeError, DTypeError, IndexError, DisposedError, NotInitializedError, WasmLoadError, FormatError, ValueError,
  OutOfMemoryError, WorkerError, Error, TypeError, RangeError, SyntaxError, ReferenceError,
  CompileError: WebAssembly.CompileError, RuntimeError: WebAssembly.RuntimeError, LinkError: WebAssembly.LinkError,
};

/**
 * The error the worker threw, as the same class with the same name and message; its stack is the
 * worker's, under a line saying so. An unknown class arrives as an Error with the worker's name.
 */
export function deserializeError(s: SerializedError): Error {
  const Class = Object.prototype.hasOwnProperty.call(ERROR_CLASSES, s.name) ? ERROR_CLASSES[s.name] : Error;
  const e = new Class(s.message);
  if (e.name !== s.name) Object.defineProperty(e, 'name', { value: s.name, configurable: true, writable: true });
  if (s.stack !== undefined) e.stack = `${s.stack}\n    (thrown in the lstm-wasm training worker)`;
  return e;
}
