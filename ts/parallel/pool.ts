/**
 * The trainer's side of data-parallel training: N - 1 replica workers (the trainer's own thread
 * is replica 0), each with its own wasm instance and copy of the model and optimizer.
 *
 * Gradients travel through SharedArrayBuffer where there is one (Node; browsers when the page is
 * cross-origin isolated): each replica writes its gradient into its own slot of shared memory and
 * reads the sum from another, and only small messages cross. Elsewhere (a page without COOP/COEP
 * headers) they travel as transferred ArrayBuffers: one per replica and step each way.
 */
import { backendForWorkers, backendLabel } from '../init';
import { WorkerError } from '../errors';
import { WorkerConnection, startWorker } from '../workers/connection';
import { isNode } from '../workers/node';
import { REPLICA, type ReplicaMethods, type ReplicaSetup, type SampleArgs, type ScoreArgs, type ShardArgs, type ShardResult } from './protocol';

/** How long a replica worker may take to start and answer (a page on a slow network loads its script). */
const REPLICA_START_TIMEOUT_MS = 60_000;

/** True where gradients can go through shared memory. */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  return isNode() || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * The replies to requests sent to several replicas, once every one has settled (so that none
 * arrives into a later step): their values in replica order, or the first failure.
 */
export async function allReplies<T>(requests: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(requests);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

export class ReplicaPool {
  private readonly connections: WorkerConnection<ReplicaMethods>[];
  /** Per replica (index r - 1): its gradient slot in shared memory, or null (transferred arrays). */
  private readonly slots: (Float32Array | null)[];
  /** The summed gradient in shared memory, or null. */
  private readonly sumSlot: Float32Array | null;

  /** Starts `workers` replica workers; `gradientSize` is the length of a flat gradient (0 for a pool that only scores and samples). */
  constructor(workers: number, private readonly gradientSize: number) {
    this.connections = [];
    this.slots = [];
    this.sumSlot = this.slot();
    this.start(workers);
  }

  /** Starts replicas until there are `total`, and sets the new ones up with `setup` (for pools that grow as their work needs). */
  async grow(total: number, setup: Omit<ReplicaSetup, 'backend'>): Promise<void> {
    const first = this.connections.length;
    this.start(total - first);
    await this.setupReplicas(this.connections.slice(first), first, setup);
  }

  /** Starts `n` more replica workers (all or none). */
  private start(n: number): void {
    const hint = 'training stopped at the last whole step (the trainer can run again, with new workers)';
    const started: WorkerConnection<ReplicaMethods>[] = [];
    try {
      for (let i = 0; i < n; i++) started.push(new WorkerConnection(REPLICA, startWorker(), `data-parallel replica ${this.connections.length + i + 1}`, hint));
    } catch (e) {
      started.forEach((c) => void c.terminate());
      throw e;
    }
    for (const c of started) {
      this.connections.push(c);
      this.slots.push(this.slot());
    }
  }

  /** A gradient's slot of shared memory, or null where gradients travel as transferred arrays. */
  private slot(): Float32Array | null {
    return sharedMemoryAvailable() ? new Float32Array(new SharedArrayBuffer(this.gradientSize * 4)) : null;
  }

  /** Replica workers (the trainer's thread not counted). */
  get size(): number {
    return this.connections.length;
  }

  /** True when gradients go through shared memory. */
  get shared(): boolean {
    return this.sumSlot !== null;
  }

  /** Gives every replica the model, optimizer state and settings (at the start of each run). */
  async setup(setup: Omit<ReplicaSetup, 'backend'>): Promise<void> {
    await this.setupReplicas(this.connections, 0, setup);
  }

  private async setupReplicas(connections: WorkerConnection<ReplicaMethods>[], first: number, setup: Omit<ReplicaSetup, 'backend'>): Promise<void> {
    const compute = await backendForWorkers();
    const expected = backendLabel();
    // A replica started from a session's own script (a wrapper of lstm-wasm/worker, say) may take
    // a while to listen: the hello is repeated until it answers.
    await allReplies(connections.map((c) => c.started(REPLICA_START_TIMEOUT_MS)));
    const got = await allReplies(connections.map((c) => c.call('setup', { ...setup, ...compute })));
    // The replicas must compute as this thread does (a replica on another backend would round differently).
    got.forEach((b, i) => {
      if (b !== expected) throw new WorkerError(`lstm-wasm: data-parallel replica ${first + i + 1} runs the '${b}' backend, this thread '${expected}'`);
    });
  }

  /** Replica r (1-based) computes its shard's gradients. */
  shard(r: number, args: Omit<ShardArgs, 'grads'>): Promise<ShardResult> {
    const grads = this.slots[r - 1];
    const transfer = [args.x.buffer, args.y.buffer, ...(args.state ?? []).map((s) => s.buffer)] as ArrayBuffer[];
    return this.connections[r - 1].call('shard', { ...args, grads }, transfer);
  }

  /**
   * Sends every replica the summed gradient to clip and step with, written by `write` (into
   * shared memory, or into one new array per replica to transfer). Does not wait: a replica's
   * next request queues behind it, and a failure to apply is the error of its next reply.
   */
  apply(write: (out: Float32Array) => void, size: number): void {
    if (this.sumSlot !== null) write(this.sumSlot);
    let first: Float32Array | null = null;
    for (const c of this.connections) {
      let sum = this.sumSlot;
      if (sum === null) {
        sum = first === null ? new Float32Array(size) : first.slice();
        if (first === null) {
          write(sum);
          first = sum.slice();
        }
      }
      // Its failure is the replica's next reply's error (or its death, every pending call's).
      c.call('apply', { sum }, sum === this.sumSlot ? [] : [sum.buffer as ArrayBuffer]).catch(() => undefined);
    }
  }

  /** Replica r (1-based) scores its lanes of the validation text. */
  score(r: number, args: ScoreArgs): Promise<{ lossSum: number }> {
    return this.connections[r - 1].call('score', args);
  }

  /** Replica r (1-based) samples a continuation of its prime (token ids). */
  sample(r: number, args: SampleArgs): Promise<Int32Array> {
    return this.connections[r - 1].call('sample', args);
  }

  /** Node: whether the replica workers keep the process running (only while a run uses them). */
  keepAlive(yes: boolean): void {
    this.connections.forEach((c) => c.keepAlive(yes));
  }

  /** The error of a replica that died, if one has. */
  get failure(): Error | null {
    return this.connections.map((c) => c.closedReason).find((e) => e instanceof WorkerError) ?? null;
  }

  /** Ends every replica worker. */
  async dispose(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.terminate()));
  }
}
