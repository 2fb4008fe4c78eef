/**
 * The training worker's entry (dist/worker.js): a dedicated Web Worker (module type) in browsers,
 * a worker_threads Worker in Node. It imports nothing of Node's statically, so bundlers take it as
 * it is; in Node, `process.getBuiltinModule` (Node 20.16+) finds worker_threads at run time.
 */
import { serveTrainingSession } from './host';
import { nodeWorkerThreads } from './node';
import type { Request } from './protocol';

const threads = nodeWorkerThreads();
if (threads !== null && threads.parentPort !== null) {
  const port = threads.parentPort;
  serveTrainingSession({
    post: (message, transfer = []) => port.postMessage(message, transfer),
    listen: (handler) => port.on('message', handler),
  });
} else if (typeof self === 'object' && typeof (self as { postMessage?: unknown }).postMessage === 'function') {
  const scope = self as unknown as { postMessage(m: unknown, t: Transferable[]): void; onmessage: ((e: MessageEvent<Request>) => void) | null };
  serveTrainingSession({
    post: (message, transfer = []) => scope.postMessage(message, transfer),
    listen: (handler) => (scope.onmessage = (e) => handler(e.data)),
  });
} else {
  throw new Error('lstm-wasm/worker: this module runs as a Web Worker or a Node worker thread (Node 20.16+), started by createTrainingSession');
}
