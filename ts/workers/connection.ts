/**
 * The caller's side of one lstm-wasm worker: starting it (a Web Worker in browsers, a
 * worker_threads Worker in Node, from dist/worker.js beside this module), requests with their
 * replies (errors rebuilt as their classes), streamed chunks, events, and death. A worker that
 * fails to start, crashes or exits on its own rejects every pending request, and every later one,
 * with the WorkerError `closed` was given; nothing waits forever.
 *
 * A worker serves one connection at a time: a second connection to a worker in use is a
 * ValueError, and a worker this module terminated (a disposed session's) or that has exited is a
 * WorkerError at once. Messages that are not lstm-wasm's (a custom worker's own `postMessage`)
 * are ignored, never thrown on.
 */
import { ValueError, WorkerError, describeKind } from '../errors';
import { isNode, nodeWorkerThreads, type NodeWorker, type NodeWorkerThreads } from './node';
import { HELLO, deserializeError, wireMethod, type Args, type Protocol, type Result, type WorkerMessage } from './protocol';

/** A browser Worker or a Node worker_threads Worker running lstm-wasm's worker entry (`lstm-wasm/worker`). */
export type LstmWorker = Worker | NodeWorker;

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  onChunk?: (chunk: unknown) => void;
}

/** Request ids, unique across every connection of this module: a reply can only ever settle its own request. */
let nextRequestId = 1;
/** Workers with a live connection (one each), and workers this module terminated. */
const workersInUse = new WeakSet<object>();
const workersEnded = new WeakSet<object>();

/** A connection speaking `protocol` (its requests and replies typed by the protocol's method map). */
export class WorkerConnection<Methods> {
  private readonly pending = new Map<number, Pending>();
  private readonly channel: Channel;
  /** Why requests fail now: set by close() or the worker's death. */
  private closed: Error | null = null;
  private readonly deathListeners = new Set<(e: Error) => void>();

  /**
   * `describe` names the worker in the error its death gives (`the training worker`), `hint`
   * ends that message (what to do now); `onEvent` receives its unrequested messages.
   */
  constructor(
    private readonly protocol: Protocol<Methods>,
    /** The worker itself (ending it from outside is a death, as a crash is). */
    readonly worker: LstmWorker,
    private readonly describe: string, hint: string, onEvent: (event: string, value: unknown) => void = () => undefined,
  ) {
    const kind = kindOf(worker);
    if (workersEnded.has(worker) || (kind === 'node' && (worker as NodeWorker).threadId === -1)) {
      throw new WorkerError(`lstm-wasm: ${describe}: the worker given has ended (terminated, or a disposed session's); start a new Worker`);
    }
    if (workersInUse.has(worker)) {
      throw new ValueError(`lstm-wasm: ${describe}: the worker given already serves another session or replica; give each session a worker of its own (or none: it starts one)`);
    }
    workersInUse.add(worker);
    this.channel = kind === 'node' ? nodeChannel(worker as NodeWorker) : browserChannel(worker as Worker);
    this.channel.onMessage((m) => {
      if (!isWorkerMessage(m)) return; // not lstm-wasm's: a custom worker's own message
      if ('event' in m) onEvent(m.event, m.value);
      else this.receive(m);
    });
    this.channel.onDeath((why) => this.close(new WorkerError(`lstm-wasm: ${this.describe} ${why}; ${hint}`)));
  }

  /** Null while the worker is usable; the error every call gets once it is not. */
  get closedReason(): Error | null {
    return this.closed;
  }

  /** Calls `listener` once if the worker dies (not when close() is called). */
  onDeath(listener: (e: Error) => void): void {
    this.deathListeners.add(listener);
  }

  /** Sends a request; resolves with the reply's value, or rejects with its error (as its class). */
  call<M extends keyof Methods & string>(method: M, args: Args<Methods, M>, transfer: Transferable[] = []): Promise<Result<Methods, M>> {
    return this.send(wireMethod(this.protocol, method), args, transfer).done as Promise<Result<Methods, M>>;
  }

  /** `call` with a handler for the chunks streamed before the reply, and the request's id. */
  stream<M extends keyof Methods & string>(
    method: M, args: Args<Methods, M>, onChunk: (chunk: unknown) => void, transfer: Transferable[] = [],
  ): { id: number; done: Promise<Result<Methods, M>> } {
    const { id, done } = this.send(wireMethod(this.protocol, method), args, transfer, onChunk);
    return { id, done: done as Promise<Result<Methods, M>> };
  }

  private send(method: string, args: unknown, transfer: Transferable[] = [], onChunk?: (chunk: unknown) => void): { id: number; done: Promise<unknown> } {
    const id = nextRequestId++;
    if (this.closed !== null) return { id, done: Promise.reject(this.closed) };
    const done = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject, onChunk }));
    try {
      this.channel.post({ id, method, args }, transfer);
    } catch (e) {
      this.pending.delete(id);
      return { id, done: Promise.reject(e) };
    }
    return { id, done };
  }

  /**
   * Resolves once the worker answers a first request (it runs lstm-wasm's worker entry and is
   * listening); a WorkerError if it has not within `timeoutMs`, or dies first. The hello is sent
   * again and again (after 25 ms, then twice as long each time, at most every second): a module
   * worker whose script awaits before it imports lstm-wasm/worker receives messages that no one
   * listens to yet, and they are lost.
   */
  async started(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const hellos: number[] = [];
    let answered = false;
    const answer = new Promise<void>((resolve, reject) => {
      let wait = 25;
      const hello = (): void => {
        if (answered || this.closed !== null) return;
        const left = deadline - performance.now();
        if (left <= 0) {
          reject(new WorkerError(
            `lstm-wasm: ${this.describe} did not answer within ${timeoutMs} ms; is it running lstm-wasm/worker, and still alive? ` +
              '(a slow network loading the worker script may need a longer startTimeoutMs)',
          ));
          return;
        }
        const { id, done } = this.send(HELLO, null);
        hellos.push(id);
        done.then(() => resolve(), reject);
        setTimeout(hello, Math.min(wait, left));
        wait = Math.min(2 * wait, 1000);
      };
      hello();
    });
    try {
      await answer;
    } finally {
      answered = true;
      // The hellos still unanswered will never be, or their replies are not needed.
      hellos.forEach((id) => this.pending.delete(id));
    }
  }

  /** Rejects everything pending (and later) with `reason`; the first reason given stays. */
  close(reason: Error): void {
    if (this.closed !== null) return;
    this.closed = reason;
    workersInUse.delete(this.worker);
    const calls = [...this.pending.values()];
    this.pending.clear();
    calls.forEach((c) => c.reject(reason));
    if (reason instanceof WorkerError) this.deathListeners.forEach((listener) => listener(reason));
  }

  /** Ends the worker (after close(), or rejecting what is pending with a WorkerError). */
  async terminate(): Promise<void> {
    this.close(new WorkerError(`lstm-wasm: ${this.describe} was terminated`));
    workersEnded.add(this.worker);
    await this.channel.terminate();
  }

  /**
   * Closes this connection (rejecting what is pending with `reason`) and stops listening, leaving
   * the worker running: for a worker the caller gave, which stays the caller's when no session
   * could open on it.
   */
  release(reason: Error): void {
    this.close(reason);
    this.channel.detach();
  }

  /** Node: whether a live worker keeps the process running (a browser worker never does). */
  keepAlive(yes: boolean): void {
    this.channel.keepAlive(yes);
  }

  private receive(m: Exclude<WorkerMessage, { event: string }>): void {
    const call = this.pending.get(m.id);
    if (call === undefined) return;
    if ('chunk' in m) {
      call.onChunk?.(m.chunk);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) call.resolve(m.value);
    else call.reject(deserializeError(m.error));
  }
}

/** True for a message of lstm-wasm's wire (protocol.ts), false for anything else a worker may post. */
function isWorkerMessage(m: unknown): m is WorkerMessage {
  if (m === null || typeof m !== 'object') return false;
  const o = m as Record<string, unknown>;
  if (typeof o.event === 'string') return 'value' in o;
  if (typeof o.id !== 'number') return false;
  return 'chunk' in o || (o.ok === true && 'value' in o) || (o.ok === false && o.error !== null && typeof o.error === 'object');
}

/** A new worker from the package's worker.js, beside this module. */
export function startWorker(): LstmWorker {
  if (isNode()) {
    const threads = nodeWorkerThreads();
    if (threads === null) throw new WorkerError('lstm-wasm: workers in Node need Node 20.16+ (process.getBuiltinModule)');
    // Not the literal `new URL('./worker.js', import.meta.url)` of the browser branch, which
    // bundlers turn into a worker chunk (nor `new URL(variable, import.meta.url)`, which webpack
    // reports as a "critical dependency"): this branch never runs in a browser bundle.
    const here = import.meta.url;
    return startNodeWorker(threads, new URL(WORKER_FILE, here));
  }
  if (typeof Worker !== 'function') throw new WorkerError('lstm-wasm: this environment has no Worker; lstm-wasm workers need Web Workers or Node worker_threads');
  // In a worker (a session starting its data-parallel replicas): the running script is
  // worker.js, or the chunk a bundler made of it. Start it again by its own URL: bundlers resolve
  // the `new URL` below wrongly inside their worker chunks (webpack 5 makes it /undefined).
  const scope = globalThis as { WorkerGlobalScope?: new () => unknown; location?: { href: string } };
  if (typeof scope.WorkerGlobalScope === 'function' && globalThis instanceof scope.WorkerGlobalScope) {
    return new Worker(scope.location!.href, isModuleWorker() ? { type: 'module' } : {});
  }
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

/** In a worker: true for a module worker (importScripts throws there), false for a classic one (bundlers may make either). */
function isModuleWorker(): boolean {
  try {
    (globalThis as unknown as { importScripts(): void }).importScripts();
    return false;
  } catch {
    return true;
  }
}

const WORKER_FILE = './worker.js';

/**
 * A worker_threads Worker with the process's Node flags. Left to itself, Node gives a worker every
 * flag of the process (V8's `--max-old-space-size`, `--expose-gc`, `--stack-size` included), so
 * that is what happens unless the process was started on a script given on the command line
 * (`node --input-type=module -e ...`): those flags would stop the worker's own script, so the
 * worker gets the others explicitly, and Node refuses V8's and process-wide flags given that way
 * (ERR_WORKER_INVALID_EXEC_ARGV): they are left out as well (V8's flags are per process: the
 * worker has them all the same).
 */
function startNodeWorker(threads: NodeWorkerThreads, url: URL): NodeWorker {
  const argv = (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [];
  const kept = withoutScriptFlags(argv);
  if (kept.length === argv.length) return new threads.Worker(url);
  try {
    return new threads.Worker(url, { execArgv: kept });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    // Node lists the flags it refuses: `Initiated Worker with invalid execArgv flags: --a, --b=1`
    // (a value may itself hold ', ' or ': ', so each flag is looked for whole in that list).
    const message = (e as Error).message;
    const list = `, ${message.slice(message.indexOf('flags: ') + 'flags: '.length)}, `;
    const execArgv = kept.filter((a) => !list.includes(`, ${a}, `));
    try {
      return new threads.Worker(url, { execArgv });
    } catch (e2) {
      throw new WorkerError(`lstm-wasm: could not start a worker with this process's Node flags (${kept.join(' ')}): ${(e2 as Error).message}`);
    }
  }
}

/** `argv` without the flags that only make sense for a script given on the command line (`-e`, `-p`, `--input-type`). */
function withoutScriptFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') i++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

/** The two kinds of worker behind one interface. */
interface Channel {
  post(message: unknown, transfer: Transferable[]): void;
  onMessage(handler: (m: WorkerMessage) => void): void;
  /** Called once if the worker fails to start, crashes or exits on its own. */
  onDeath(handler: (why: string) => void): void;
  terminate(): Promise<void>;
  keepAlive(yes: boolean): void;
  /** Removes every listener this channel added (the worker runs on). */
  detach(): void;
}

/** What a Node worker must have for a connection to use it. */
const NODE_WORKER_METHODS = ['on', 'off', 'postMessage', 'terminate', 'ref', 'unref'] as const;

/** Which kind of worker `worker` is; a ValueError for anything else (checked before any listener is added). */
function kindOf(worker: unknown): 'node' | 'browser' {
  const w = worker as Partial<Record<'threadId' | (typeof NODE_WORKER_METHODS)[number], unknown>> | null;
  if (w !== null && typeof w === 'object' && typeof w.threadId === 'number') {
    const missing = NODE_WORKER_METHODS.filter((n) => typeof w[n] !== 'function');
    if (missing.length === 0) return 'node';
    throw new ValueError(`lstm-wasm: worker must be a Worker or a Node worker_threads Worker, got an object with a threadId but no ${missing.join(', ')} method`);
  }
  if (typeof Worker === 'function' && worker instanceof Worker) return 'browser';
  throw new ValueError(`lstm-wasm: worker must be a Worker or a Node worker_threads Worker, got ${describeKind(worker)}`);
}

/** Calls the death handler once, unless the worker was terminated on purpose first. */
function deathOnce(): { die(why: string): void; set(handler: (why: string) => void): void; stop(): void } {
  let handler: ((why: string) => void) | null = null;
  let done = false;
  return {
    die: (why) => {
      if (done) return;
      done = true;
      handler?.(why);
    },
    set: (h) => (handler = h),
    stop: () => (done = true),
  };
}

function browserChannel(worker: Worker): Channel {
  const death = deathOnce();
  const listeners: [string, (e: never) => void][] = [];
  const listen = <E extends Event>(type: string, listener: (e: E) => void): void => {
    worker.addEventListener(type, listener as EventListener);
    listeners.push([type, listener]);
  };
  listen('error', (e: ErrorEvent) => {
    e.preventDefault();
    death.die(e.message ? `failed: ${e.message}` : 'failed to start or crashed (its script could not be loaded or threw)');
  });
  listen('messageerror', () => death.die('sent a message that could not be read'));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (handler) => listen('message', (e: MessageEvent<WorkerMessage>) => handler(e.data)),
    onDeath: death.set,
    terminate: async () => {
      death.stop();
      worker.terminate();
    },
    keepAlive: () => undefined,
    detach: () => {
      death.stop();
      listeners.splice(0).forEach(([type, listener]) => worker.removeEventListener(type, listener as EventListener));
    },
  };
}

function nodeChannel(worker: NodeWorker): Channel {
  const death = deathOnce();
  type NodeEvent = 'message' | 'error' | 'exit' | 'messageerror';
  const listeners: [NodeEvent, (value: never) => void][] = [];
  const listen = <T>(event: NodeEvent, listener: (value: T) => void): void => {
    worker.on(event, listener);
    listeners.push([event, listener]);
  };
  listen('error', (e: Error) => death.die(`failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`));
  listen('exit', (code: number) => death.die(`exited (code ${code})`));
  listen('messageerror', () => death.die('sent a message that could not be read'));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (handler) => listen('message', handler),
    onDeath: death.set,
    terminate: async () => {
      death.stop();
      await worker.terminate();
    },
    keepAlive: (yes) => (yes ? worker.ref() : worker.unref()),
    detach: () => {
      death.stop();
      listeners.splice(0).forEach(([event, listener]) => worker.off(event, listener as (value: unknown) => void));
    },
  };
}
