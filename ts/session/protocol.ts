/**
 * What a TrainingSession (client.ts) asks its worker (host.ts), over the wire of
 * ts/workers/protocol.ts: SessionMethods, each method's arguments and result, types both sides
 * (the client's calls, the host's handler table) through the constant SESSION. Progress arrives as the event
 * 'progress' after every training step of a run. A generation streams its pieces as chunks, at
 * most `readAhead` past the count its reader last reported with `read`.
 *
 * Byte buffers the worker returns (checkpoints) are transferred, never copied; what the caller
 * sends is structured-cloned (one copy of the bytes, so the caller's buffers stay usable).
 */
import type { WorkerBackend } from '../init';
import type { RunOptions, RunResult } from '../training/trainer';
import type { ScoreResult } from '../lm/evaluate';
import type { SamplingOptions } from '../lm/sampling';
import type { TrainingSettings } from '../training/settings';
import type { QuantDtype } from '../nn/quantized';
import { protocol } from '../workers/protocol';

/** How many pieces a generation may run ahead of the loop reading them (the reader reports what it read every half of this). */
export const READ_AHEAD = 64;

/** What the worker's refusal of a second session says (the client then leaves the worker to the first). */
export const ALREADY_OPEN = 'the worker given already serves a session';

export interface OpenArgs {
  /** Training text (null: a session that only generates and evaluates from `checkpoint`). */
  text: string | Uint8Array | null;
  /** How the checkpoint names the text. */
  source: string;
  settings: Partial<TrainingSettings>;
  checkpoint: Uint8Array | null;
  /** A trained model to fine-tune on `text` (null: none; never with `checkpoint`). */
  from: Uint8Array | null;
  /** Data-parallel threads (null: the cores available, at most the batch size). */
  threads: number | null;
  /** What the worker computes with (the starter's backend, wasm build and compiled module); see `backendForWorkers`. */
  compute?: WorkerBackend;
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
  /** Threads training uses (data-parallel replicas, the session's worker included). */
  threads: number;
}

/** Run options that cross to the worker: LMTrainer.run's limits (the callbacks and signal stay on the caller's side). */
export type RunArgs = Pick<RunOptions, 'steps' | 'epochs' | 'timeMs' | 'evalEvery' | 'evalEveryMs'>;

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

/** Each method of a session's worker: its arguments and result. */
export interface SessionMethods {
  open(args: OpenArgs): SessionInfo;
  train(args: RunArgs): RunResult;
  /** Resolves once the run is paused (at once outside a run), with the step it paused at. */
  pause(args: null): { step: number };
  resume(args: null): null;
  stop(args: null): null;
  /** With a dtype: the model quantized, no training state. */
  checkpoint(args: { dtype: QuantDtype } | null): Uint8Array;
  /** Streams the generated pieces (strings) as chunks; resolves when the generation ends. Its request id names it to `read` and `cancel`. */
  generate(args: { prime: string; options: GenerateArgs; readAhead: number }): null;
  /** The reader of generation `target` has read `read` pieces. */
  read(args: { target: number; read: number }): null;
  cancel(args: { target: number }): null;
  evaluate(args: EvaluateArgs): ScoreResult;
}

/** The session protocol: requests `session.<method>`. */
export const SESSION = protocol<SessionMethods>('session');
