/**
 * Node's worker_threads, found at run time with `process.getBuiltinModule` (Node 20.16+) so that
 * no bundle for the browser ever sees an import of a `node:` module. Null outside Node.
 */

/** The part of node:worker_threads the session uses. */
export interface NodeWorkerThreads {
  Worker: new (url: URL, options?: object) => NodeWorker;
  parentPort: NodePort | null;
}

export interface NodePort {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message', listener: (message: any) => void): unknown;
}

export interface NodeWorker extends NodePort {
  // `any`, not `never` or `unknown`: only so is node:worker_threads' Worker (whose `on` is a set of
  // overloads) assignable to this, as the `worker` option of createTrainingSession takes it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message' | 'error' | 'exit' | 'messageerror', listener: (value: any) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: 'message' | 'error' | 'exit' | 'messageerror', listener: (value: any) => void): this;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
  readonly threadId: number;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

/** True in Node (whether or not it has `getBuiltinModule`). */
export function isNode(): boolean {
  const p = (globalThis as { process?: NodeProcess }).process;
  return typeof p?.versions?.node === 'string';
}

export function nodeWorkerThreads(): NodeWorkerThreads | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  if (typeof p?.getBuiltinModule !== 'function') return null;
  return p.getBuiltinModule('node:worker_threads') as NodeWorkerThreads;
}
