/**
 * The caller's side of one lstm-wasm worker: starting it (a Web Worker in browsers, a
 * worker_threads Worker in Node, from dist/worker.js beside this module), requests with their
 * replies (errors rebuilt as their classes), streamed chunks, events, and death. A worker that
 * fails to start, crashes or exits on its own rejects every pending request, and every later one,
 * with the WorkerError `closed` was given; nothing waits forever.
 */
import { ValueError, WorkerError } from '../errors';
import { isNode, nodeWorkerThreads, type NodeWorker } from './node';
import { deserializeError, type WorkerMessage } from './protocol';

/** A browser Worker or a Node worker_threads Worker running lstm-wasm's worker entry (`lstm-wasm/worker`). */
export type LstmWorker = Worker | NodeWorker;

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  onChunk?: (chunk: unknown) => void;
}

export class WorkerConnection {
  private nextId = 1;
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
    /** The worker itself (ending it from outside is a death, as a crash is). */
    readonly worker: LstmWorker,
    private readonly describe: string, hint: string, onEvent: (event: string, value: unknown) => void = () => undefined,
  ) {
    this.channel = channelOf(worker);
    this.channel.onMessage((m) => {
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
  request<T>(method: string, args: unknown, transfer: Transferable[] = []): Promise<T> {
    return this.send(method, args, transfer).done as Promise<T>;
  }

  /** `request` with a handler for the chunks streamed before the reply, and the request's id. */
  send(method: string, args: unknown, transfer: Transferable[] = [], onChunk?: (chunk: unknown) => void): { id: number; done: Promise<unknown> } {
    const id = this.nextId++;
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

  /** Rejects everything pending (and later) with `reason`; the first reason given stays. */
  close(reason: Error): void {
    if (this.closed !== null) return;
    this.closed = reason;
    const calls = [...this.pending.values()];
    this.pending.clear();
    calls.forEach((c) => c.reject(reason));
    if (reason instanceof WorkerError) this.deathListeners.forEach((listener) => listener(reason));
  }

  /** Ends the worker (after close(), or rejecting what is pending with a WorkerError). */
  async terminate(): Promise<void> {
    this.close(new WorkerError(`lstm-wasm: ${this.describe} was terminated`));
    await this.channel.terminate();
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

/** A new worker from the package's worker.js, beside this module. */
export function startWorker(): LstmWorker {
  if (isNode()) {
    const threads = nodeWorkerThreads();
    if (threads === null) throw new WorkerError('lstm-wasm: workers in Node need Node 20.16+ (process.getBuiltinModule)');
    // Not the literal `new URL('./worker.js', import.meta.url)` of the browser branch, which
    // bundlers turn into a worker chunk (nor `new URL(variable, import.meta.url)`, which webpack
    // reports as a "critical dependency"): this branch never runs in a browser bundle.
    const here = import.meta.url;
    return new threads.Worker(new URL(WORKER_FILE, here), { execArgv: workerExecArgv() });
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
 * Node's flags for the worker: the process's own (a worker inherits them), except those that only
 * make sense for a script given on the command line (`node --input-type=module -e ...`), which
 * would stop the worker from starting.
 */
function workerExecArgv(): string[] {
  const argv = (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [];
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') i++;
    else if (!a.startsWith('--input-type') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
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
}

function channelOf(worker: LstmWorker): Channel {
  if (typeof (worker as NodeWorker).threadId === 'number' && typeof (worker as NodeWorker).on === 'function') return nodeChannel(worker as NodeWorker);
  if (typeof Worker === 'function' && worker instanceof Worker) return browserChannel(worker);
  const got = worker === null ? 'null' : typeof worker === 'object' ? ((worker as object).constructor?.name ?? 'object') : typeof worker;
  throw new ValueError(`lstm-wasm: worker must be a Worker or a Node worker_threads Worker, got ${got}`);
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
  worker.addEventListener('error', (e: ErrorEvent) => {
    e.preventDefault();
    death.die(e.message ? `failed: ${e.message}` : 'failed to start or crashed (its script could not be loaded or threw)');
  });
  worker.addEventListener('messageerror', () => death.die('sent a message that could not be read'));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (handler) => worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => handler(e.data)),
    onDeath: death.set,
    terminate: async () => {
      death.stop();
      worker.terminate();
    },
    keepAlive: () => undefined,
  };
}

function nodeChannel(worker: NodeWorker): Channel {
  const death = deathOnce();
  worker.on('error', (e: Error) => death.die(`failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`));
  worker.on('exit', (code: number) => death.die(`exited (code ${code})`));
  worker.on('messageerror', () => death.die('sent a message that could not be read'));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (handler) => worker.on('message', handler),
    onDeath: death.set,
    terminate: async () => {
      death.stop();
      await worker.terminate();
    },
    keepAlive: (yes) => (yes ? worker.ref() : worker.unref()),
  };
}
