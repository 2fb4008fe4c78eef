/**
 * The entry of lstm-wasm's worker (dist/worker.js): a dedicated Web Worker (module type) in
 * browsers, a worker_threads Worker in Node. One worker serves either role it is asked for: a
 * training session (ts/session/host.ts) or a data-parallel replica (ts/parallel/replica.ts).
 * It imports nothing of Node's statically, so bundlers take it as it is; in Node,
 * `process.getBuiltinModule` (Node 20.16+) finds worker_threads at run time.
 */
import { sessionService } from './session/host';
import { replicaService } from './parallel/replica';
import { nodeWorkerThreads } from './workers/node';
import { serve, type WorkerEndpoint } from './workers/serve';

function endpoint(): WorkerEndpoint {
  const threads = nodeWorkerThreads();
  if (threads !== null && threads.parentPort !== null) {
    const port = threads.parentPort;
    return {
      post: (message, transfer = []) => port.postMessage(message, transfer),
      listen: (handler) => port.on('message', handler),
    };
  }
  if (typeof self === 'object' && typeof (self as { postMessage?: unknown }).postMessage === 'function') {
    // addEventListener, not onmessage: a custom worker's own message handler keeps working.
    const scope = self as unknown as { postMessage(m: unknown, t: Transferable[]): void; addEventListener(type: 'message', l: (e: MessageEvent) => void): void };
    return {
      post: (message, transfer = []) => scope.postMessage(message, transfer),
      listen: (handler) => scope.addEventListener('message', (e) => handler(e.data)),
    };
  }
  throw new Error('lstm-wasm/worker: this module runs as a Web Worker or a Node worker thread (Node 20.16+), started by lstm-wasm');
}

const port = endpoint();
serve(port, [sessionService((event, value) => port.post({ event, value })), replicaService()]);
