/**
 * A trainer's state as a checkpoint holds it: a JSON part (step, batcher position, the global
 * generator, Adam's hyperparameters and step counts, the loss history) and raw buffers beside it
 * (Adam's two moments per parameter, the carried recurrent state). checkpoint.ts writes both
 * into one safetensors file; checkpoint-schema.ts checks the JSON's types and ranges.
 *
 * `encodeTrainerState` reads the state of a trainer (Adam's through its `stateDict()`);
 * `decodeTrainerState` checks a state against a trainer (its parameters, batch and model),
 * allocates the carried state and gives Adam's as a state dict, so that `LMTrainer.importState`
 * only has to load and assign.
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { tensor } from '../creation';
import { ValueError } from '../errors';
import type { Generator } from '../random';
import { initialLr, type OptimizerStateDict, type SavedTensor, type StateTensor } from '../optim/optimizer';
import type { BatcherPosition } from '../text/batcher';
import type { RecurrentState } from '../lm/language-model';
import type { LMTrainer, ValPoint } from './trainer';

/** The JSON-able part of a trainer's state; tensors go alongside (`TrainerTensors`). */
export interface TrainerStateJSON {
  step: number;
  position: BatcherPosition;
  rng: (number | null)[];
  /**
   * The dropout streams of data-parallel replicas 1, 2, ... (threads - 1 of them; absent in
   * checkpoints from before data-parallel training, and empty for one thread).
   */
  replicaRng?: (number | null)[][];
  optimizer: { type: 'adam'; lr: number; betas: [number, number]; eps: number; steps: (number | null)[] };
  /** Per-step training losses (rounded to 1e-4). */
  losses: number[];
  val: ValPoint[];
  /** Training wall time so far, across resumes. */
  elapsedMs: number;
  hasState: boolean;
}

export interface TrainerTensors {
  /** Adam's buffers per parameter (`ADAM_BUFFERS`' order: m, v), null where no step happened yet. */
  optimizer: (Float32Array[] | null)[];
  /** The carried recurrent state (null at an epoch boundary or before the first step). */
  state: { shape: number[]; data: Float32Array }[] | null;
}

/** Adam's state buffers (PyTorch's names) in a checkpoint's order: tensor `optim.i.j` is parameter i's buffer j. */
const ADAM_BUFFERS = ['exp_avg', 'exp_avg_sq'] as const;

/** Everything `trainer` needs to continue exactly, with `carried` its carried recurrent state. */
export function encodeTrainerState(trainer: LMTrainer, carried: RecurrentState | null): { json: TrainerStateJSON; tensors: TrainerTensors } {
  const optimizer = trainer.optimizer;
  const saved = optimizer.stateDict().state;
  const steps = optimizer.params.map((_, i) => saved[i]?.step ?? null);
  return {
    json: {
      step: trainer.step,
      position: trainer.train.position,
      rng: rngToJSON(trainer.generator),
      replicaRng: trainer.replicaGeneratorStates.map(rngStateToJSON),
      optimizer: {
        type: 'adam', lr: optimizer.lr, betas: [...optimizer.betas], eps: optimizer.eps,
        steps,
      },
      losses: trainer.losses.map((l) => Math.round(l * 1e4) / 1e4),
      val: trainer.valHistory.slice(),
      elapsedMs: Math.round(trainer.elapsedMs),
      hasState: carried !== null,
    },
    tensors: {
      optimizer: steps.map((s, i) => (s === null ? null : ADAM_BUFFERS.map((n) => (saved[i][n] as SavedTensor).data))),
      state: carried === null ? null : carried.map((s) => ({ shape: s.shape.slice(), data: s.toArray() as Float32Array })),
    },
  };
}

/** A trainer state checked against its trainer, ready to assign. */
export interface DecodedTrainerState {
  step: number;
  position: BatcherPosition;
  /** The optimizer's state: the checkpoint's lr and buffers, the trainer's other hyperparameters. */
  optimizer: OptimizerStateDict<StateTensor>;
  /** The generator's state, NaN for no spare normal. */
  rng: number[];
  /** The replicas' generators' states, as many as the checkpoint has. */
  replicaRng: number[][];
  losses: number[];
  val: ValPoint[];
  elapsedMs: number;
  /** The carried state, allocated untracked: the caller owns it (and disposes it if it gives up). */
  state: Tensor[] | null;
}

/**
 * Checks a state against `trainer` (Adam's buffers against its parameters, the carried state
 * against (numLayers, batchSize, hiddenSize), the position against its batcher, the generator
 * state): a ValueError naming `LMTrainer.importState`, and nothing allocated. Then allocates the
 * carried state (an allocation failure propagates as itself, nothing leaked).
 */
export function decodeTrainerState(trainer: LMTrainer, json: TrainerStateJSON, tensors: TrainerTensors): DecodedTrainerState {
  const where = 'LMTrainer.importState';
  const params = trainer.optimizer.params;
  const steps = json.optimizer.steps;
  if (steps.length !== params.length || tensors.optimizer.length !== steps.length) {
    throw new ValueError(`${where}: optimizer state has ${steps.length} entries for ${params.length} parameters`);
  }
  steps.forEach((s, i) => {
    const bufs = tensors.optimizer[i];
    if (s === null) return;
    // Adam's two moments, each the size of its parameter.
    if (bufs === null || bufs.length !== 2 || bufs.some((b) => b.length !== params[i].size)) {
      throw new ValueError(`${where}: Adam state of parameter ${i} must be 2 buffers of ${params[i].size} values, got ${bufs === null ? 'none' : bufs.map((b) => b.length).join(' and ')}`);
    }
  });
  const model = trainer.model;
  const { numLayers, hiddenSize } = model.config;
  const stateShape = [numLayers, trainer.train.batchSize, hiddenSize];
  if (tensors.state !== null) {
    if (tensors.state.length !== model.stateSize) {
      throw new ValueError(`${where}: carried state has ${tensors.state.length} tensors, expected ${model.stateSize}`);
    }
    tensors.state.forEach((s, k) => {
      if (s.shape.length !== 3 || s.shape.some((d, i) => d !== stateShape[i]) || s.data.length !== stateShape[0] * stateShape[1] * stateShape[2]) {
        throw new ValueError(`${where}: carried state ${k} has shape [${s.shape.join(', ')}], expected [${stateShape.join(', ')}] (numLayers, batch, hiddenSize)`);
      }
    });
  }
  const { epoch, window } = json.position;
  const windowsPerEpoch = trainer.train.windowsPerEpoch;
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(window) || window < 0 || window >= windowsPerEpoch) {
    throw new ValueError(`${where}: position {epoch: ${epoch}, window: ${window}} is out of range (windows per epoch: ${windowsPerEpoch})`);
  }
  const rng = json.rng;
  for (const [what, r] of [['rng', rng], ...(json.replicaRng ?? []).map((g, i) => [`replicaRng[${i}]`, g] as const)] as const) {
    if (r.length !== 5 || !r.slice(0, 4).every((v) => Number.isInteger(v) && v! >= 0 && v! < 2 ** 32) || r.slice(0, 4).every((v) => v === 0)) {
      throw new ValueError(`${where}: ${what} must be 4 uint32 words (not all zero) and a spare, got ${r.length} values`);
    }
  }
  const state = tensors.state === null ? null : untracked(() => {
    const out: Tensor[] = [];
    try {
      for (const s of tensors.state!) out.push(tensor(s.data, s.shape));
    } catch (e) {
      out.forEach((t) => t.dispose());
      throw e;
    }
    return out;
  });
  return {
    step: json.step,
    position: { epoch, window },
    optimizer: optimizerState(trainer, json.optimizer.lr, steps, tensors.optimizer),
    rng: rngFromJSON(rng),
    replicaRng: (json.replicaRng ?? []).map(rngFromJSON),
    // JSON writes a NaN loss as null.
    losses: (json.losses as (number | null)[]).map((l) => l ?? NaN),
    val: json.val.map((p) => ({ step: p.step, valLoss: (p.valLoss as number | null) ?? NaN, elapsedMs: p.elapsedMs })),
    elapsedMs: json.elapsedMs,
    state,
  };
}

/**
 * A checkpoint's optimizer part as a state dict for the trainer's Adam (checked by
 * `decodeTrainerState`): its lr and buffers; betas, eps, weight decay and a scheduler's initial lr
 * stay the trainer's.
 */
function optimizerState(trainer: LMTrainer, lr: number, steps: readonly (number | null)[], buffers: readonly (Float32Array[] | null)[]): OptimizerStateDict<StateTensor> {
  const { optimizer } = trainer;
  const params = optimizer.params;
  const state: OptimizerStateDict<StateTensor>['state'] = {};
  steps.forEach((step, i) => {
    if (step === null) return;
    const entry: OptimizerStateDict<StateTensor>['state'][number] = { step };
    ADAM_BUFFERS.forEach((n, j) => (entry[n] = { shape: params[i].shape, data: buffers[i]![j] }));
    state[i] = entry;
  });
  const own = optimizer.paramGroups[0];
  const group = { lr, betas: [...own.betas], eps: own.eps, weight_decay: own.weightDecay, params: params.map((_, i) => i) };
  return { state, param_groups: [initialLr.has(own) ? { ...group, initial_lr: initialLr.get(own) } : group] };
}

// JSON has no NaN: the generator's spare normal, when there is none, is written as null.
function rngToJSON(g: Generator): (number | null)[] {
  return rngStateToJSON(g.getState());
}

function rngStateToJSON(state: number[]): (number | null)[] {
  return state.map((v) => (Number.isNaN(v) ? null : v));
}

function rngFromJSON(r: (number | null)[]): number[] {
  return r.map((v) => (v === null ? NaN : v));
}
