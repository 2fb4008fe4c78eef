/**
 * The worker's side of the wire (protocol.ts): requests are dispatched by method name to
 * handlers; each handler's result (or error, serialized with its class name) is the reply. The
 * buffers of a result are transferred, not copied (shared memory is shared, not transferred).
 */
import { ValueError } from '../errors';
import { HELLO, serializeError, transferablesOf, type Request, type WorkerMessage } from './protocol';

/** How the worker talks to its caller: a worker's global scope or Node's parentPort, adapted. */
export interface WorkerEndpoint {
  post(message: WorkerMessage, transfer?: Transferable[]): void;
  /** Calls `handler` with every message the worker receives (lstm-wasm's requests among them). */
  listen(handler: (message: unknown) => void): void;
}

/** What a handler can send besides its result: chunks of a streamed reply. */
export interface HandlerContext {
  id: number;
  chunk(value: unknown): void;
}

export type Handler = (args: never, context: HandlerContext) => unknown | Promise<unknown>;

/** Answers requests on `endpoint` with `handlers` until the worker is terminated. */
export function serve(endpoint: WorkerEndpoint, handlers: Record<string, Handler>): void {
  endpoint.listen((request: unknown) => {
    if (!isRequest(request)) return; // not lstm-wasm's: a custom worker's own message
    const { id, method } = request;
    if (method === HELLO) return endpoint.post({ id, ok: true, value: null });
    const context: HandlerContext = { id, chunk: (value) => endpoint.post({ id, chunk: value }, transferablesOf(value)) };
    const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new ValueError(`lstm-wasm worker: unknown request '${String(method)}'`);
        return handler(request.args as never, context);
      })
      .then(
        (value) => endpoint.post({ id, ok: true, value }, transferablesOf(value)),
        (e: unknown) => endpoint.post({ id, ok: false, error: serializeError(e) }),
      );
  });
}

function isRequest(m: unknown): m is Request {
  return m !== null && typeof m === 'object' && typeof (m as Request).id === 'number' && typeof (m as Request).method === 'string' && 'args' in m;
}
