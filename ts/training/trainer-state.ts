/**
 * A trainer's state as a checkpoint holds it: a JSON part (step, batcher position, the global
 * generator, Adam's hyperparameters and step counts, the loss history) and raw buffers beside it
 * (Adam's two moments per parameter, the carried recurrent state). checkpoint.ts writes both
 * into one safetensors file; checkpoint-schema.ts checks the JSON's types and ranges.
 *
 * `encodeTrainerState` reads the state of a trainer; `decodeTrainerState` checks a state against
 * a trainer (its parameters, batch and model) and allocates what it needs, so that
 * `LMTrainer.importState` only has to assign.
 */
import { Tensor } from '../tensor';
import { untracked } from '../memory';
import { tensor } from '../creation';
import { ValueError } from '../errors';
import type { Generator } from '../random';
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
  /** Adam's buffers per parameter (m, v), null where no step happened yet. */
  optimizer: (Float32Array[] | null)[];
  /** The carried recurrent state (null at an epoch boundary or before the first step). */
  state: { shape: number[]; data: Float32Array }[] | null;
}

/** Everything `trainer` needs to continue exactly, with `carried` its carried recurrent state. */
export function encodeTrainerState(trainer: LMTrainer, carried: RecurrentState | null): { json: TrainerStateJSON; tensors: TrainerTensors } {
  const optimizer = trainer.optimizer;
  const list = optimizer.stateList();
  return {
    json: {
      step: trainer.step,
      position: trainer.train.position,
      rng: rngToJSON(trainer.generator),
      replicaRng: trainer.replicaGeneratorStates.map(rngStateToJSON),
      optimizer: {
        type: 'adam', lr: optimizer.lr, betas: [...optimizer.betas], eps: optimizer.eps,
        steps: list.map((s) => (s === null ? null : s.step)),
      },
      losses: trainer.losses.map((l) => Math.round(l * 1e4) / 1e4),
      val: trainer.valHistory.slice(),
      elapsedMs: Math.round(trainer.elapsedMs),
      hasState: carried !== null,
    },
    tensors: {
      optimizer: list.map((s) => (s === null ? null : s.buffers.map((b) => b.toArray() as Float32Array))),
      state: carried === null ? null : carried.map((s) => ({ shape: s.shape.slice(), data: s.toArray() as Float32Array })),
    },
  };
}

/** A trainer state checked against its trainer, ready to assign. */
export interface DecodedTrainerState {
  step: number;
  position: BatcherPosition;
  lr: number;
  /** The generator's state, NaN for no spare normal. */
  rng: number[];
  /** The replicas' generators' states, as many as the checkpoint has. */
  replicaRng: number[][];
  optimizer: ({ step: number; buffers: Float32Array[] } | null)[];
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
    lr: json.optimizer.lr,
    rng: rngFromJSON(rng),
    replicaRng: (json.replicaRng ?? []).map(rngFromJSON),
    optimizer: steps.map((s, i) => (s === null ? null : { step: s, buffers: tensors.optimizer[i]! })),
    // JSON writes a NaN loss as null.
    losses: (json.losses as (number | null)[]).map((l) => l ?? NaN),
    val: json.val.map((p) => ({ step: p.step, valLoss: (p.valLoss as number | null) ?? NaN, elapsedMs: p.elapsedMs })),
    elapsedMs: json.elapsedMs,
    state,
  };
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
