// Type-level test of the worker protocols, checked by `npx tsc --noEmit -p .` (npm run typecheck),
// never run: each `@ts-expect-error` line must fail to compile (tsc reports an unused one), and
// the lines without it must compile. Both sides of each protocol are typed from its one method
// map: the caller's `WorkerConnection.call` and the worker's handler table (`handle`).
import type { WorkerConnection } from '../../ts/workers/connection';
import { handle, type Handlers } from '../../ts/workers/serve';
import { SESSION, type SessionInfo, type SessionMethods } from '../../ts/session/protocol';
import { REPLICA, type ReplicaMethods, type ReplicaSetup, type ShardResult } from '../../ts/parallel/protocol';
import type { RunResult } from '../../ts/training/trainer';

declare const session: WorkerConnection<SessionMethods>;
declare const replica: WorkerConnection<ReplicaMethods>;
/** A value of any type, for the results of handlers that are never called. */
declare function some<T>(): T;

// --- session: the caller's side ---------------------------------------------------------------

export const opened: Promise<SessionInfo> = session.call('open', { text: 'abc', source: 's', settings: {}, checkpoint: null, from: null, threads: null });
export const trained: Promise<RunResult> = session.call('train', { steps: 3 });
session.call('checkpoint', { dtype: 'int8' });
session.call('checkpoint', null);

// @ts-expect-error: no such method
session.call('opne', { text: 'abc', source: 's', settings: {}, checkpoint: null, from: null, threads: null });
// @ts-expect-error: a replica's method, not a session's
session.call('shard', null);
// @ts-expect-error: open needs its source, checkpoint and threads
session.call('open', { text: 'abc' });
// @ts-expect-error: steps is a number
session.call('train', { steps: '3' });
// @ts-expect-error: the run's signal stays on the caller's side: it is not a RunArgs key
session.call('train', { steps: 3, signal: new AbortController().signal });
// @ts-expect-error: not a quantization dtype
session.call('checkpoint', { dtype: 'int4' });
// @ts-expect-error: pause takes null
session.call('pause', {});
// @ts-expect-error: read's target is a request id (a number)
session.call('read', { target: 'gen', read: 1 });
// @ts-expect-error: open's result is a SessionInfo, not a RunResult
export const wrongResult: Promise<RunResult> = session.call('open', { text: null, source: 's', settings: {}, checkpoint: null, from: null, threads: null });

// --- session: the worker's side ---------------------------------------------------------------

const sessionTable: Handlers<SessionMethods> = {
  open: async (args) => some<SessionInfo>() ?? args.source,
  train: (args) => some<RunResult>() ?? args.steps,
  pause: () => ({ step: 0 }),
  resume: () => null,
  stop: async () => null,
  checkpoint: (args) => new Uint8Array(args === null ? 0 : 1),
  generate: (args, context) => {
    context.chunk(args.prime);
    return null;
  },
  read: () => null,
  cancel: () => null,
  evaluate: () => ({ loss: 1, tokens: 2, batchSize: 1, seqLen: 1 }),
};
handle(SESSION, sessionTable);
const { evaluate: _evaluate, ...withoutEvaluate } = sessionTable;

// @ts-expect-error: a handler missing (evaluate)
handle(SESSION, withoutEvaluate);
// @ts-expect-error: a handler for a method the protocol does not have
handle(SESSION, { ...sessionTable, restart: () => null });
// @ts-expect-error: the replica table does not serve the session protocol
handle(SESSION, some<Handlers<ReplicaMethods>>());
// @ts-expect-error: train's arguments are RunArgs, not a string
handle(SESSION, { ...sessionTable, train: (args: string) => some<RunResult>() ?? args });
// @ts-expect-error: pause's result is { step }, not a number
handle(SESSION, { ...sessionTable, pause: () => 3 });
// @ts-expect-error: checkpoint's result is bytes, not a promise of a string
handle(SESSION, { ...sessionTable, checkpoint: async () => 'bytes' });

// --- replica: the caller's side ---------------------------------------------------------------

const shardArgs = { x: new Int32Array(4), y: new Int32Array(4), T: 2, Bs: 2, batchTargets: 4, state: null, rng: [1, 2], grads: null };
export const sharded: Promise<ShardResult> = replica.call('shard', shardArgs);
export const backend: Promise<string> = replica.call('setup', some<ReplicaSetup>());
replica.call('apply', { sum: new Float32Array(3) }, []);

// @ts-expect-error: no such method
replica.call('shrad', shardArgs);
// @ts-expect-error: a session's method, not a replica's
replica.call('open', null);
// @ts-expect-error: the shard's tokens are an Int32Array
replica.call('shard', { ...shardArgs, x: new Float32Array(4) });
// @ts-expect-error: apply sends the summed gradient as { sum }
replica.call('apply', new Float32Array(3));
// @ts-expect-error: score needs its lanes
replica.call('score', { ids: null, batchSize: 1, seqLen: 1, maxWindows: 0 });
// @ts-expect-error: sample's result is token ids, not text
export const sampledText: Promise<string> = replica.call('sample', { prime: new Int32Array(1), options: {} });

// --- replica: the worker's side ---------------------------------------------------------------

const replicaTable: Handlers<ReplicaMethods> = {
  setup: async (args) => args.backend,
  shard: (args) => ({ loss: 0, grads: args.grads ?? new Float32Array(0), state: [], rng: args.rng }),
  apply: () => null,
  sample: (args) => args.prime,
  score: () => ({ lossSum: 0 }),
};
handle(REPLICA, replicaTable);
const { apply: _apply, ...withoutApply } = replicaTable;

// @ts-expect-error: a handler missing (apply)
handle(REPLICA, withoutApply);
// @ts-expect-error: a handler for a method the protocol does not have
handle(REPLICA, { ...replicaTable, step: () => null });
// @ts-expect-error: score's arguments are ScoreArgs, not ShardArgs' shape
handle(REPLICA, { ...replicaTable, score: (args: { x: Int32Array }) => ({ lossSum: args.x.length }) });
// @ts-expect-error: setup's result is the backend's name, not a boolean
handle(REPLICA, { ...replicaTable, setup: async () => true });
