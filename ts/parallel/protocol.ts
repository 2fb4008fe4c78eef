/**
 * What the trainer's side (pool.ts, for LMTrainer and ParallelInference) asks a data-parallel
 * replica worker (replica.ts), over the wire of ts/workers/protocol.ts: ReplicaMethods, each
 * method's arguments and result, types both sides through the constant REPLICA.
 *
 * Float32Array and Int32Array arguments are transferred where the pool says so (a shard's inputs
 * and state, a summed gradient not in shared memory); a result's buffers are transferred back.
 */
import type { WorkerBackend } from '../init';
import type { GenerateOptions, LanguageModelConfig } from '../lm/language-model';
import type { quantizedWeightsOf } from '../lm/quantize';
import type { OptimizerStateDict } from '../optim/optimizer';
import { protocol } from '../workers/protocol';

/**
 * With the trainer's backend, wasm build and compiled module (`backendForWorkers`): a replica on
 * another build would round differently, and the worker's bundle carries no wasm.
 */
export interface ReplicaSetup extends Partial<WorkerBackend> {
  backend: 'wasm' | 'js';
  config: LanguageModelConfig;
  /** Train mode (dropout on) or eval mode, as the trainer's model. */
  training: boolean;
  /** Every parameter's values, in `parameters()` order. */
  params: Float32Array[];
  /** The trainer's Adam, as its `stateDict()` (hyperparameters and buffers); null for a replica that only scores. */
  optimizer: OptimizerStateDict | null;
  clip: number;
  /** The validation tokens, for `score` (null without validation data). */
  valIds: Int32Array | null;
  /** A quantized model's weights (then `params` is empty and there is no optimizer); null for float32. */
  quantized?: ReturnType<typeof quantizedWeightsOf> | null;
}

export interface ShardArgs {
  /** (T, Bs) time-major inputs and targets of this replica's lanes. */
  x: Int32Array;
  y: Int32Array;
  T: number;
  Bs: number;
  /** T*B of the whole batch: each shard's loss is divided by it. */
  batchTargets: number;
  /** Its lanes' carried state, each (L, Bs, H); null for zeros. */
  state: Float32Array[] | null;
  /** Its generator's state (dropout masks). */
  rng: number[];
  /** Where to write the gradients: a view of shared memory, or null to reply with a new (transferred) array. */
  grads: Float32Array | null;
}

export interface ShardResult {
  loss: number;
  grads: Float32Array;
  state: Float32Array[];
  rng: number[];
}

export interface ScoreArgs {
  /** The tokens to score (null: the validation text it was set up with). */
  ids: Int32Array | null;
  batchSize: number;
  seqLen: number;
  maxWindows: number;
  lanes: [number, number];
}

export interface SampleArgs {
  prime: Int32Array;
  options: Omit<GenerateOptions, 'generator' | 'onToken'>;
}

/** Each method of a replica worker: its arguments and result. */
export interface ReplicaMethods {
  /** Takes the model (and optimizer) as given, replacing any it had; the result is the backend it runs ('wasm' or 'js'). */
  setup(args: ReplicaSetup): string;
  /** Its lanes' loss and gradients of one step. */
  shard(args: ShardArgs): ShardResult;
  /** Clips and steps with the summed gradient; a failure is kept and thrown by the next `shard` (the pool does not wait for this reply). */
  apply(args: { sum: Float32Array }): null;
  /** A continuation of `prime` (token ids). */
  sample(args: SampleArgs): Int32Array;
  /** The summed loss of its lanes. */
  score(args: ScoreArgs): { lossSum: number };
}

/** The replica protocol: requests `replica.<method>`. */
export const REPLICA = protocol<ReplicaMethods>('replica');
