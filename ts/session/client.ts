/**
 * TrainingSession: a LanguageModel that trains, generates and evaluates in a worker (a Web Worker
 * in browsers, a worker_threads Worker in Node), so the caller's thread (a page's main thread)
 * never blocks on a step. The same API in both:
 *
 *   const session = await createTrainingSession({ text, settings: { hiddenSize: 256 } });
 *   session.on('progress', (p) => chart.add(p.step, p.loss));
 *   const result = await session.train({ timeMs: 60_000 });   // pause(), resume(), stop() meanwhile
 *   for await (const piece of session.generate('And ', { length: 200, seed: 1 })) out.textContent += piece;
 *   const bytes = await session.checkpoint();                   // the CLI's checkpoint format
 *   await session.dispose();                                    // ends the worker, frees its memory
 *
 * Errors thrown in the worker arrive as the same classes (ValueError, FormatError, ...). A worker
 * that dies rejects every pending call, and every later one, with a WorkerError.
 */
import { backendForWorkers } from '../init';
import { DisposedError, ValueError, describeArg } from '../errors';
import { checkCallback, checkOptions, checkSignal, optionKeys } from '../options';
import { checkRunLimits, type RunOptions, type RunResult, type TrainProgress } from '../training/trainer';
import type { ScoreResult } from '../lm/evaluate';
import type { SamplingOptions } from '../lm/sampling';
import { checkGenerateOptions } from '../lm/language-model';
import { checkQuantDtype, type QuantDtype } from '../nn/quantized';
import { checkTrainingText } from '../training/setup';
import { checkTrainingSettings, type TrainingSettings } from '../training/settings';
import { WorkerConnection, startWorker, type LstmWorker } from '../workers/connection';
import type { Args, Result } from '../workers/protocol';
import { Stream } from './stream';
import { ALREADY_OPEN, READ_AHEAD, SESSION, type OpenArgs, type RunArgs, type SessionInfo, type SessionMethods } from './protocol';

export type { SessionInfo } from './protocol';

/** A browser Worker or a Node worker_threads Worker running lstm-wasm's worker entry (`lstm-wasm/worker`). */
export type SessionWorker = LstmWorker;

export interface TrainingSessionOptions {
  /**
   * The text to train on: a string, or its UTF-8 bytes (binary or non-UTF-8 bytes are a
   * FormatError). Leave it out to open `checkpoint` for generation and evaluation only.
   */
  text?: string | Uint8Array | ArrayBuffer | SharedArrayBuffer;
  /** How checkpoints name the text (default 'text given to createTrainingSession'). */
  source?: string;
  /** The run's settings (defaults: `DEFAULT_TRAINING_SETTINGS`, the CLI's). With `checkpoint`, only ones that match it. */
  settings?: Partial<TrainingSettings>;
  /** A checkpoint (`checkpoint()`'s bytes, or a file from `lstm-wasm train`): with `text`, training resumes exactly where it stopped. */
  checkpoint?: Uint8Array | ArrayBuffer | SharedArrayBuffer;
  /**
   * A trained model's checkpoint (float32 or quantized) to fine-tune on `text`: a new run from its
   * weights, with its shape and tokenizer, a new optimizer, and lr 0.001 unless `settings` gives
   * one (as `lstm-wasm train --from`). Not with `checkpoint`, which resumes a run.
   */
  from?: Uint8Array | ArrayBuffer | SharedArrayBuffer;
  /** The worker to run in (default: a new one from this package's worker.js, beside this module). */
  worker?: SessionWorker;
  /**
   * Data-parallel training threads: the session's worker and `threads - 1` replica workers it
   * starts (default: the cores available, at most the batch size). See `TrainerOptions.threads`.
   */
  threads?: number;
  /**
   * How long the worker may take to start and answer (ms, default 30,000): a worker that has not
   * by then (it was terminated, runs another script, or hangs) is a WorkerError, not a wait forever.
   */
  startTimeoutMs?: number;
}

/**
 * LMTrainer.run's options as a session takes them: its limits (`timeMs` counts training time: time
 * paused does not count) and signal (it stops the run as `stop()` does), and a progress callback
 * that runs on this thread, not awaited (the worker does not wait for it). Pausing is `pause()`.
 */
export interface SessionRunOptions extends RunArgs, Pick<RunOptions, 'signal'> {
  /** Called on this thread after every step of this run (and after each validation, with `evaluated: true`). */
  onProgress?: (p: TrainProgress) => void;
}

export interface SessionGenerateOptions extends SamplingOptions {
  /** Tokens to generate after the prime (default 200). */
  length?: number;
  /** Seed of the sampling stream: the same seed and weights give the same text. */
  seed?: number;
  /** Ends the stream (the iterator just ends). */
  signal?: AbortSignal;
}

export interface SessionCheckpointOptions {
  /** The model quantized to 'int8' or 'float16' instead of the float32 training checkpoint. */
  dtype?: QuantDtype;
}

export interface SessionEvaluateOptions {
  /** Parallel lanes (default: the session's batchSize). */
  batchSize?: number;
  /** Window length (default: the session's seqLen). */
  seqLen?: number;
  /** Score at most the first n tokens. */
  maxTokens?: number;
}

const SESSION_KEYS = optionKeys<TrainingSessionOptions>({
  text: true, source: true, settings: true, checkpoint: true, from: true, worker: true, threads: true, startTimeoutMs: true,
});
const DEFAULT_START_TIMEOUT_MS = 30_000;
const RUN_KEYS = optionKeys<SessionRunOptions>({ steps: true, epochs: true, timeMs: true, evalEvery: true, evalEveryMs: true, signal: true, onProgress: true });
const GENERATE_KEYS = optionKeys<SessionGenerateOptions>({ length: true, seed: true, signal: true, temperature: true, topK: true, topP: true, suppress: true });
const EVALUATE_KEYS = optionKeys<SessionEvaluateOptions>({ batchSize: true, seqLen: true, maxTokens: true });
const CHECKPOINT_KEYS = optionKeys<SessionCheckpointOptions>({ dtype: true });

/**
 * Starts a worker (or takes the one given) and opens a session in it; rejects with the worker's
 * error (as its class) if it cannot. Every argument is checked before the worker is touched. A
 * worker the library started is ended on failure; one you gave is ended too, unless it was refused
 * for serving another session already (then that session goes on).
 */
export async function createTrainingSession(options: TrainingSessionOptions): Promise<TrainingSession> {
  const args = openArgs(options);
  args.compute = await backendForWorkers();
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const given = options.worker;
  const session = new TrainingSession(given ?? startWorker());
  try {
    await session.started(timeoutMs);
    session.opened(await session.call('open', args));
    return session;
  } catch (e) {
    if (given !== undefined && e instanceof ValueError && e.message.includes(ALREADY_OPEN)) session.release(e);
    else await session.dispose();
    throw e;
  }
}

/** The open request for `options`, every argument checked, and buffers that could change under the worker copied. */
function openArgs(options: TrainingSessionOptions): OpenArgs {
  const where = 'createTrainingSession';
  checkOptions(where, options, SESSION_KEYS);
  if (options === null || typeof options !== 'object') throw new ValueError(`${where}: give an options object like { text, settings }`);
  const { text, checkpoint, from, settings = {}, source, threads, startTimeoutMs } = options;
  if (settings === null || typeof settings !== 'object') throw new ValueError(`${where}: settings must be an object like { hiddenSize: 256 }, got ${describeArg(settings)}`);
  checkTrainingSettings(settings, `${where}: settings`);
  if (text !== undefined && typeof text !== 'string' && !isBytes(text)) {
    throw new ValueError(`${where}: text must be a string, a Uint8Array or an ArrayBuffer of UTF-8, got ${describeArg(text)}`);
  }
  if (typeof text === 'string') checkTrainingText(text);
  if (checkpoint !== undefined && !isBytes(checkpoint)) throw new ValueError(`${where}: checkpoint must be a Uint8Array or an ArrayBuffer, got ${describeArg(checkpoint)}`);
  if (from !== undefined && !isBytes(from)) throw new ValueError(`${where}: from must be a Uint8Array or an ArrayBuffer (a trained model's checkpoint), got ${describeArg(from)}`);
  if (from !== undefined && checkpoint !== undefined) throw new ValueError(`${where}: give from (a model to fine-tune on the text) or checkpoint (a run to resume), not both`);
  if (from !== undefined && text === undefined) throw new ValueError(`${where}: from needs a text to fine-tune the model on`);
  if (text === undefined && checkpoint === undefined) throw new ValueError(`${where}: give a text to train on, a checkpoint, or both (to resume training)`);
  if (source !== undefined && typeof source !== 'string') throw new ValueError(`${where}: source must be a string, got ${describeArg(source)}`);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ValueError(`${where}: threads must be an integer >= 1 (at most the batch size), got ${describeArg(threads)}`);
  }
  if (startTimeoutMs !== undefined && !(typeof startTimeoutMs === 'number' && startTimeoutMs > 0)) {
    throw new ValueError(`${where}: startTimeoutMs must be a positive number of ms, got ${describeArg(startTimeoutMs)}`);
  }
  return {
    text: text === undefined ? null : typeof text === 'string' ? text : ownBytes(text),
    source: source ?? 'text given to createTrainingSession',
    settings,
    checkpoint: checkpoint === undefined ? null : ownBytes(checkpoint),
    from: from === undefined ? null : ownBytes(from),
    threads: threads ?? null,
  };
}

function isBytes(v: unknown): v is Uint8Array | ArrayBuffer | SharedArrayBuffer {
  return v instanceof Uint8Array || v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer);
}

/**
 * Bytes the worker can have as they are now: a copy where they live in shared memory (a message
 * would share it, and a later write by the caller would change what the session reads); otherwise
 * the view itself (the message copies it).
 */
function ownBytes(b: Uint8Array | ArrayBuffer | SharedArrayBuffer): Uint8Array {
  const view = b instanceof Uint8Array ? b : new Uint8Array(b);
  return view.buffer instanceof ArrayBuffer ? view : view.slice();
}

/** A model training (or loaded) in a worker. Create one with `createTrainingSession`. */
export class TrainingSession {
  private info_: SessionInfo | null = null;
  private readonly connection: WorkerConnection<SessionMethods>;
  private readonly listeners = new Set<(p: TrainProgress) => void>();
  private readonly runEndListeners = new Set<() => void>();
  private step_ = 0;
  /** True while a train() call of this session is pending (its run goes, or is about to). */
  private training = false;

  /** @internal Use createTrainingSession. */
  constructor(worker: SessionWorker) {
    this.connection = new WorkerConnection(SESSION, worker, 'the training worker', 'this session is closed (start a new one, from your last checkpoint)', (event, value) => {
      if (event !== 'progress') return;
      const p = value as TrainProgress;
      this.step_ = p.step;
      this.listeners.forEach((listener) => listener(p));
    });
    this.connection.onDeath(() => this.runEndListeners.forEach((end) => end()));
  }

  /** @internal */
  opened(info: SessionInfo): void {
    this.info_ = info;
    this.step_ = info.step;
  }

  /** The run's settings, vocabulary size, parameter count and text sizes, as opened. */
  get info(): SessionInfo {
    return { ...this.info_!, settings: { ...this.info_!.settings }, step: this.step_ };
  }

  /** Steps trained so far (across resumes), as of the latest progress event. */
  get step(): number {
    return this.step_;
  }

  /** Null while usable; once disposed or once the worker has died, the error every call gets. */
  get closedReason(): Error | null {
    return this.connection.closedReason;
  }

  /**
   * Trains until the first limit (steps, epochs, timeMs) or `stop()`. One run at a time; the
   * result is `LMTrainer.run`'s (stoppedBy 'signal' after stop()).
   */
  async train(options: SessionRunOptions): Promise<RunResult> {
    checkOptions('TrainingSession.train', options, RUN_KEYS);
    const { signal, onProgress, ...args } = options ?? {};
    checkRunLimits('TrainingSession.train', args);
    checkSignal('TrainingSession.train', signal);
    checkCallback('TrainingSession.train', 'onProgress', onProgress);
    // A call while this session's run goes is refused by the worker; it must not end that run's
    // progress() iterators, see its progress, or stop it by its signal.
    if (this.training) return this.call('train', args);
    this.training = true;
    const unsubscribe = onProgress !== undefined ? this.on('progress', onProgress) : () => undefined;
    const onAbort = (): void => void this.stop().catch(() => undefined);
    signal?.addEventListener('abort', onAbort);
    try {
      const run = this.call('train', args);
      // After the train request: a stop() sent before it would find no run to stop.
      if (signal?.aborted) onAbort();
      return await run;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
      this.training = false;
      this.runEndListeners.forEach((end) => end());
    }
  }

  /** Calls `listener` with every training step's progress; returns the function that unsubscribes it. */
  on(event: 'progress', listener: (p: TrainProgress) => void): () => void {
    if (event !== 'progress') throw new ValueError(`TrainingSession.on: the only event is 'progress', got '${String(event)}'`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Progress of the current run (or the next one) as an async iterator, ending with the run.
   * Events that arrive faster than the loop takes them are kept, none dropped.
   */
  async *progress(): AsyncGenerator<TrainProgress, void, undefined> {
    const stream = new Stream<TrainProgress>();
    if (this.closedReason !== null) stream.end();
    const unsubscribe = this.on('progress', (p) => stream.push(p));
    const onEnd = (): void => stream.end();
    this.runEndListeners.add(onEnd);
    try {
      yield* stream.values();
    } finally {
      unsubscribe();
      this.runEndListeners.delete(onEnd);
    }
  }

  /** Pauses the run after its current step; resolves with the step it paused at. Outside a run it does nothing. */
  async pause(): Promise<{ step: number }> {
    return this.call('pause', null);
  }

  /** Continues a paused run. */
  async resume(): Promise<void> {
    await this.call('resume', null);
  }

  /** Ends the run after its current step (a paused run at once); resolves once it has ended. */
  async stop(): Promise<void> {
    await this.call('stop', null);
  }

  /**
   * The model, tokenizer and full training state as checkpoint bytes (the format of `lstm-wasm
   * train`'s files, which `lstm-wasm train --resume` and `generate --checkpoint` read), taken
   * between two steps. The buffer is transferred from the worker, not copied. With `dtype`, the
   * model quantized (`quantize`): a smaller file for generation and evaluation, with no training
   * state (a session opened from it cannot train).
   */
  async checkpoint(options: SessionCheckpointOptions = {}): Promise<Uint8Array> {
    checkOptions('TrainingSession.checkpoint', options, CHECKPOINT_KEYS);
    const dtype = options?.dtype;
    if (dtype !== undefined) checkQuantDtype('TrainingSession.checkpoint', dtype);
    return this.call('checkpoint', dtype === undefined ? null : { dtype });
  }

  /**
   * Streams generated text, one token's text per piece, from a snapshot of the weights taken when
   * it starts (training may go on meanwhile). The worker runs at most a few dozen pieces ahead of
   * the loop reading them, so a slow reader piles nothing up. Leaving the loop early, aborting the
   * signal, or dropping the iterator (once it is garbage-collected) ends it in the worker.
   */
  generate(prime: string, options: SessionGenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    const ticket: Ticket = { id: null, finished: false };
    const stream = this.streamGeneration(prime, options, ticket);
    abandoned?.register(stream, { connection: this.connection, ticket });
    return stream;
  }

  /** generate's stream; `ticket` says which request it is, for the cancel of an abandoned one (it must not reference the stream). */
  private async *streamGeneration(prime: string, options: SessionGenerateOptions, ticket: Ticket): AsyncGenerator<string, void, undefined> {
    checkOptions('TrainingSession.generate', options, GENERATE_KEYS);
    if (typeof prime !== 'string') throw new ValueError(`TrainingSession.generate: prime must be a string, got ${describeArg(prime)}`);
    const { signal, ...rest } = options ?? {};
    checkSignal('TrainingSession.generate', signal);
    checkGenerateOptions('TrainingSession.generate', rest);
    if (signal?.aborted) return;
    const stream = new Stream<string>();
    const { id, done } = this.connection.stream('generate', { prime, options: rest, readAhead: READ_AHEAD }, (chunk) => stream.push(chunk as string));
    ticket.id = id;
    const settle = (error: Error | null): void => {
      ticket.finished = true;
      stream.end(error);
    };
    done.then(() => settle(null), settle);
    const onAbort = (): void => stream.end();
    signal?.addEventListener('abort', onAbort);
    let read = 0;
    let acked = 0;
    try {
      for await (const piece of stream.values()) {
        if (signal?.aborted) return;
        yield piece;
        // Read: the worker may go that much further ahead.
        if (++read - acked >= READ_AHEAD / 2 && !ticket.finished) {
          acked = read;
          this.connection.call('read', { target: id, read }).catch(() => undefined);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!ticket.finished && this.closedReason === null) this.call('cancel', { target: id }).catch(() => undefined);
      ticket.finished = true;
    }
  }

  /** Loss (nats per token), tokens scored and the lanes used, of the model on `text`. */
  async evaluate(text: string | Uint8Array, options: SessionEvaluateOptions = {}): Promise<ScoreResult> {
    checkOptions('TrainingSession.evaluate', options, EVALUATE_KEYS);
    if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw new ValueError(`TrainingSession.evaluate: text must be a string or UTF-8 bytes, got ${describeArg(text)}`);
    checkEvaluateOptions('TrainingSession.evaluate', options ?? {});
    return this.call('evaluate', { text: typeof text === 'string' ? text : ownBytes(text), ...(options ?? {}) });
  }

  /** Ends the worker (and so frees all its memory); pending calls reject with a DisposedError. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.closedReason instanceof DisposedError) return;
    this.connection.close(new DisposedError('TrainingSession: the session was disposed'));
    this.runEndListeners.forEach((end) => end());
    await this.connection.terminate();
  }

  /** @internal Resolves once the worker answers (a WorkerError after `timeoutMs`, or if it dies first). */
  started(timeoutMs: number): Promise<void> {
    return this.connection.started(timeoutMs);
  }

  /** @internal Closes the session and leaves its worker running: a worker the caller gave that serves another session. */
  release(reason: Error): void {
    this.connection.release(reason);
  }

  /** @internal Sends a request; its reply's value (or error, rebuilt as its class). */
  call<M extends keyof SessionMethods>(method: M, args: Args<SessionMethods, M>): Promise<Result<SessionMethods, M>> {
    return this.connection.call(method, args);
  }
}

/** Which request a generate stream is (null before it is sent), and whether it has ended. */
interface Ticket {
  id: number | null;
  finished: boolean;
}

/**
 * Cancels, in the worker, the generation of a stream dropped unfinished: its iterator was
 * garbage-collected without being run to the end or returned. Without it the worker would hold
 * the generation (and its copy of the weights) until the session ends.
 */
const abandoned = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<{ connection: WorkerConnection<SessionMethods>; ticket: Ticket }>(({ connection, ticket }) => {
    if (ticket.id !== null && !ticket.finished && connection.closedReason === null) connection.call('cancel', { target: ticket.id }).catch(() => undefined);
  })
  : null;

/** batchSize, seqLen and maxTokens of evaluate(): integers in range (the worker checks them again). */
function checkEvaluateOptions(where: string, o: SessionEvaluateOptions): void {
  for (const [k, min] of [['batchSize', 1], ['seqLen', 1], ['maxTokens', 2]] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new ValueError(`${where}: ${k} must be an integer >= ${min}, got ${describeArg(v)}`);
  }
}
