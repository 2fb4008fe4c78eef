/**
 * A data-parallel replica, in a worker: a copy of the trainer's model and optimizer that
 * computes the gradients of its lanes of each step and applies the summed gradient it is sent
 * (shard.ts has the arithmetic, pool.ts the trainer's side). It keeps no lane state between
 * requests: each step brings its lanes' carried state and its generator's state, and the reply
 * takes them back, so the trainer always holds the whole state (for checkpoints, and to restart a
 * replica that died).
 */
import { init, backendName } from '../init';
import { Generator } from '../random';
import { tensor } from '../creation';
import { untracked } from '../memory';
import { Adam } from '../optim/adam';
import type { OptimizerStateDict } from '../optim/optimizer';
import { ValueError } from '../errors';
import { LanguageModel, type GenerateOptions, type LanguageModelConfig, type RecurrentState } from '../lm/language-model';
import { scoreLanes } from '../lm/evaluate';
import { quantizedModelFrom, type quantizedWeightsOf } from '../lm/quantize';
import type { Handler } from '../workers/serve';
import { applyGradients, flatSize, readGradients, shardGradients, writeGradients } from './shard';

export interface ReplicaSetup {
  backend: 'wasm' | 'js';
  config: LanguageModelConfig;
  /** Train mode (dropout on) or eval mode, as the trainer's model. */
  training: boolean;
  /** Every parameter's values, in `parameters()` order. */
  params: Float32Array[];
  /** The trainer's Adam (its `stateDict()` as `state`); null for a replica that only scores (no training). */
  optimizer: { lr: number; betas: [number, number]; eps: number; state: OptimizerStateDict } | null;
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

interface Replica {
  model: LanguageModel;
  optimizer: Adam | null;
  generator: Generator;
  clip: number;
  valIds: Int32Array | null;
}

/** The worker's handlers of replica requests (`replica.<method>`). */
export function replicaHandlers(): Record<string, Handler> {
  let replica: Replica | null = null;
  let failedApply: Error | null = null;
  const alive = (): Replica => {
    if (replica === null) throw new ValueError('data-parallel replica: not set up (replica.setup first)');
    return replica;
  };
  return {
    'replica.setup': async (args: ReplicaSetup) => {
      await init({ backend: args.backend });
      if (replica !== null) {
        replica.optimizer?.dispose();
        replica.model.dispose();
        replica = null;
      }
      replica = setUp(args);
      failedApply = null;
      return backendName();
    },
    'replica.shard': (args: ShardArgs) => {
      if (failedApply !== null) throw new ValueError(`data-parallel replica: its last optimizer step failed (${failedApply.name}: ${failedApply.message}); its copy of the model is out of step`);
      return shard(alive(), args);
    },
    'replica.apply': (args: { sum: Float32Array }) => {
      // The trainer does not wait for this reply: a failure is kept and thrown by the next shard.
      try {
        const r = alive();
        const optimizer = trainable(r);
        writeGradients(optimizer.params, args.sum);
        applyGradients(optimizer, r.clip);
      } catch (e) {
        failedApply ??= e instanceof Error ? e : new Error(String(e));
      }
      return null;
    },
    'replica.sample': (args: SampleArgs) => Int32Array.from(alive().model.sample(args.prime, args.options)),
    'replica.score': (args: ScoreArgs) => {
      const r = alive();
      const ids = args.ids ?? r.valIds;
      if (ids === null) throw new ValueError('data-parallel replica: no validation text to score');
      return scoreLanes(r.model, ids, args.batchSize, args.seqLen, args.maxWindows, args.lanes);
    },
  };
}

function setUp(args: ReplicaSetup): Replica {
  const generator = new Generator(0);
  if (args.quantized) {
    const q = args.quantized;
    return { model: quantizedModelFrom(args.config, q.dtype, q.matrices, q.biases), optimizer: null, generator, clip: 0, valIds: args.valIds };
  }
  const model = new LanguageModel(args.config, { generator });
  try {
    const names = model.namedParameters().map(([name]) => name);
    if (names.length !== args.params.length) throw new ValueError(`data-parallel replica: ${args.params.length} parameter arrays for ${names.length} parameters`);
    const dict: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
    model.parameters().forEach((p, i) => (dict[names[i]] = { shape: p.shape, data: args.params[i] }));
    model.loadStateDict(dict);
    model.train(args.training);
    let optimizer: Adam | null = null;
    if (args.optimizer !== null) {
      const { lr, betas, eps, state } = args.optimizer;
      optimizer = new Adam(model.parameters(), { lr, betas, eps });
      optimizer.loadStateDict(state);
    }
    return { model, optimizer, generator, clip: args.clip, valIds: args.valIds };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function trainable(r: Replica): Adam {
  if (r.optimizer === null) throw new ValueError('data-parallel replica: set up to score only, it cannot train');
  return r.optimizer;
}

function shard(r: Replica, args: ShardArgs): ShardResult {
  const optimizer = trainable(r);
  const { numLayers: L, hiddenSize: H } = r.model.config;
  r.generator.setState(args.rng);
  const state: RecurrentState | null = args.state === null ? null : untracked(() => args.state!.map((s) => tensor(s, [L, args.Bs, H])));
  try {
    const out = shardGradients(r.model, optimizer, args.x, args.y, args.T, args.Bs, args.batchTargets, state);
    const grads = args.grads ?? new Float32Array(flatSize(optimizer.params));
    readGradients(optimizer.params, grads);
    const next = out.state.map((s) => s.toArray() as Float32Array);
    out.state.forEach((s) => s.dispose());
    return { loss: out.loss, grads, state: next, rng: r.generator.getState() };
  } finally {
    state?.forEach((s) => s.dispose());
  }
}
