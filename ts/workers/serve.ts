/**
 * The worker's side of the wire (protocol.ts): requests are dispatched by method name to
 * handlers; each handler's result (or error, serialized with its class name) is the reply. The
 * buffers of a result are transferred, not copied (shared memory is shared, not transferred).
 */
import { ValueError } from '../errors';
import { serializeError, transferablesOf, type Request, type WorkerMessage } from './protocol';

/** How the worker talks to its caller: a worker's global scope or Node's parentPort, adapted. */
export interface WorkerEndpoint {
  post(message: WorkerMessage, transfer?: Transferable[]): void;
  listen(handler: (request: Request) => void): void;
}

/** What a handler can send besides its result: chunks of a streamed reply. */
export interface HandlerContext {
  id: number;
  chunk(value: unknown): void;
}

export type Handler = (args: never, context: HandlerContext) => unknown | Promise<unknown>;

/** Answers requests on `endpoint` with `handlers` until the worker is terminated. */
export function serve(endpoint: WorkerEndpoint, handlers: Record<string, Handler>): void {
  endpoint.listen((request) => {
    const { id, method } = request;
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
