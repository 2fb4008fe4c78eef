/**
 * The worker's side of the wire (protocol.ts): each protocol it serves is a handler table typed by
 * the protocol's method map (`handle`), so a handler missing, extra or of the wrong arguments or
 * result does not compile; requests are dispatched to them by method name. Each handler's result
 * (or error, serialized with its class) is the reply. The buffers of a result are transferred, not
 * copied (shared memory is shared, not transferred).
 */
import { ValueError } from '../errors';
import { HELLO, serializeError, transferablesOf, wireMethod, type Args, type Protocol, type Request, type Result, type WorkerMessage } from './protocol';

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

/** One handler per method of `Methods`, taking its arguments and giving its result (or a promise of it). */
export type Handlers<Methods> = {
  [M in keyof Methods]: (args: Args<Methods, M>, context: HandlerContext) => Result<Methods, M> | Promise<Result<Methods, M>>;
};

/** A protocol's handler table, ready to serve: its handlers by their names on the wire. */
export interface Service {
  readonly protocol: string;
  readonly handlers: ReadonlyMap<string, (args: unknown, context: HandlerContext) => unknown>;
}

/** The service answering `protocol`'s requests with `handlers` (its method list is the table's keys). */
export function handle<Methods>(protocol: Protocol<Methods>, handlers: NoInfer<Handlers<Methods>>): Service {
  const table = new Map<string, (args: unknown, context: HandlerContext) => unknown>();
  for (const [method, handler] of Object.entries(handlers)) table.set(wireMethod(protocol, method), handler as (args: unknown, context: HandlerContext) => unknown);
  return { protocol: protocol.name, handlers: table };
}

/** Answers requests on `endpoint` with the handlers of `services` until the worker is terminated. */
export function serve(endpoint: WorkerEndpoint, services: readonly Service[]): void {
  const handlers = new Map<string, (args: unknown, context: HandlerContext) => unknown>();
  for (const service of services) {
    if (services.filter((s) => s.protocol === service.protocol).length > 1) throw new Error(`lstm-wasm worker: protocol '${service.protocol}' is served twice`);
    service.handlers.forEach((handler, method) => handlers.set(method, handler));
  }
  endpoint.listen((request: unknown) => {
    if (!isRequest(request)) return; // not lstm-wasm's: a custom worker's own message
    const { id, method } = request;
    if (method === HELLO) return endpoint.post({ id, ok: true, value: null });
    const context: HandlerContext = { id, chunk: (value) => endpoint.post({ id, chunk: value }, transferablesOf(value)) };
    const handler = handlers.get(method);
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new ValueError(`lstm-wasm worker: unknown request '${String(method)}'`);
        return handler(request.args, context);
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
