/**
 * A data-parallel replica, in a worker: a copy of the trainer's model and optimizer that
 * computes the gradients of its lanes of each step and applies the summed gradient it is sent
 * (shard.ts has the arithmetic, pool.ts the trainer's side). It keeps no lane state between
 * requests: each step brings its lanes' carried state and its generator's state, and the reply
 * takes them back, so the trainer always holds the whole state (for checkpoints, and to restart a
 * replica that died).
 */
import { backendLabel, initWorker } from '../init';
import { Generator } from '../random';
import { tensor } from '../creation';
import { untracked } from '../memory';
import { Adam } from '../optim/adam';
import { ValueError } from '../errors';
import { LanguageModel, type RecurrentState } from '../lm/language-model';
import { scoreLanes } from '../lm/evaluate';
import { quantizedModelFrom } from '../lm/quantize';
import { handle, type Service } from '../workers/serve';
import { applyGradients, flatSize, readGradients, shardGradients, writeGradients } from './shard';
import { REPLICA, type ReplicaSetup, type ShardArgs, type ShardResult } from './protocol';

interface Replica {
  model: LanguageModel;
  optimizer: Adam | null;
  generator: Generator;
  clip: number;
  valIds: Int32Array | null;
}

/** The worker's service of replica requests (`replica.<method>`). */
export function replicaService(): Service {
  let replica: Replica | null = null;
  let failedApply: Error | null = null;
  const alive = (): Replica => {
    if (replica === null) throw new ValueError('data-parallel replica: not set up (replica.setup first)');
    return replica;
  };
  return handle(REPLICA, {
    setup: async (args) => {
      await initWorker(args);
      if (replica !== null) {
        replica.optimizer?.dispose();
        replica.model.dispose();
        replica = null;
      }
      replica = setUp(args);
      failedApply = null;
      return backendLabel();
    },
    shard: (args) => {
      if (failedApply !== null) throw new ValueError(`data-parallel replica: its last optimizer step failed (${failedApply.name}: ${failedApply.message}); its copy of the model is out of step`);
      return shard(alive(), args);
    },
    apply: (args) => {
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
    sample: (args) => Int32Array.from(alive().model.sample(args.prime, args.options)),
    score: (args) => {
      const r = alive();
      const ids = args.ids ?? r.valIds;
      if (ids === null) throw new ValueError('data-parallel replica: no validation text to score');
      return scoreLanes(r.model, ids, args.batchSize, args.seqLen, args.maxWindows, args.lanes);
    },
  });
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
      // The state dict's parameter group carries lr, betas, eps and weight decay with the buffers.
      optimizer = new Adam(model.parameters());
      optimizer.loadStateDict(args.optimizer);
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
