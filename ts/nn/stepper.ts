/**
 * Running a recurrent model one step at a time, with its state kept inside: decoding, generation,
 * beam search. Without it a caller returns the state out of `tidy`, disposes the previous one and
 * the outputs by hand, and converts to JavaScript for argmax.
 *
 *   const decoder = new nn.Stepper((x, state) => {               // x: (1, B) token ids
 *     const [out, next] = lstm.forward(embed.forward(x), state);
 *     return { output: head.forward(out).reshape(-1, V), state: next };
 *   }, { state: encoderFinalState });
 *   const logits = decoder.step([bos, bos]);                      // Float32Array (B, V), a copy
 *   const ids = nn.Stepper.argmax(logits, V);                     // Int32Array (B)
 *   decoder.select([1, 1]);                                       // beam search: keep/reorder lanes
 *   decoder.reset();                                              // zeros again
 *   decoder.dispose();                                            // frees the state
 *
 * Steps run without gradients (inference). The stepper owns its state: `reset(state)` copies what
 * it is given, and `state` is the stepper's own (read or copy it, never dispose it). `select` may
 * also grow the lanes: `select([0, 0, 0, 0, 1, 1, 1, 1])` turns 2 lanes into 2 x 4 beams.
 *
 * A step function of your own runs the modules in whatever mode they are in: call `eval()` on
 * them first if they have dropout (the steppers of `nn.LSTM`/`GRU`/`RNN` and `LanguageModel`
 * switch to eval mode for each step themselves).
 */
import { Tensor } from '../tensor';
import { tidy, keep, untracked } from '../memory';
import { tensor } from '../creation';
import { noGrad } from '../autograd';
import { DisposedError, ShapeError, ValueError } from '../errors';
import { checkOptions, optionKeys } from '../options';
import type { DecodeStep } from './decode-step';

/** What one step returns: the output (any shape, copied out as a Float32Array) and the new state. */
export interface StepResult {
  output: Tensor;
  state: Tensor[];
}

/** One step: the input (a (1, B) int32 tensor of token ids, or whatever `step` was given) and the state (null: zeros). */
export type StepFunction = (input: Tensor, state: Tensor[] | null) => StepResult;

export interface StepperOptions {
  /** The state to start from (copied; default null, the step function's zeros). */
  state?: Tensor[] | null;
}

const STEPPER_KEYS = optionKeys<StepperOptions>({ state: true });

export class Stepper {
  private state_: Tensor[] | null = null;
  private disposed = false;
  /** The shape of the last step's output. */
  outputShape: number[] = [];

  /**
   * `decode`: the fused step of the stack `fn` runs (the steppers of `nn.LSTM`/`GRU`/`RNN` and
   * `LanguageModel` give one); a stepper over a step function of your own has none.
   */
  constructor(private readonly fn: StepFunction, options: StepperOptions = {}, private readonly decode: DecodeStep | null = null) {
    if (typeof fn !== 'function') throw new ValueError('Stepper: the step function must be a function (input, state) => { output, state }');
    checkOptions('Stepper', options, STEPPER_KEYS);
    this.reset(options?.state ?? null);
  }

  /**
   * How steps run: 'fused', one kernel call per step for the whole stack ([embedding,] every
   * layer [and the head]: what `nn.LSTM`/`GRU`/`RNN` and `LanguageModel` steppers of a
   * unidirectional stack do; a step of several time steps, such as a prime fed at once, still
   * runs the modules), or 'modules', the step function op by op (a bidirectional stack, a step
   * function of your own). Both give the same numbers.
   */
  get path(): 'fused' | 'modules' {
    return this.decode !== null ? 'fused' : 'modules';
  }

  /**
   * One step: token ids (a number, or one per lane: a (1, B) int32 tensor is made of them) or a
   * tensor as the step function takes it. Returns the output's values (a copy); the new state is
   * kept for the next step.
   */
  step(input: Tensor | number | ArrayLike<number>): Float32Array {
    this.assertAlive('step');
    // The module path's values are a copy already.
    return this.stepFused(input)?.slice() ?? this.stepModules(input);
  }

  /**
   * `step`, returning the output as a view of the stepper's own buffer where the fused path runs
   * (no copy): valid until the next step, and to be read before any other call of the library
   * (memory growth detaches it). Generation reads its logits so.
   */
  stepView(input: Tensor | number | ArrayLike<number>): Float32Array {
    this.assertAlive('step');
    return this.stepFused(input) ?? this.stepModules(input);
  }

  /** The fused step's output (a view of its buffer), or null where the modules must run this input. */
  private stepFused(input: Tensor | number | ArrayLike<number>): Float32Array | null {
    const fused = this.decode?.step(input, this.state_) ?? null;
    if (fused === null) return null;
    if (fused.next !== this.state_) this.setState(fused.next);
    // As the module path shapes it: (B, W) for a (B, I) input, else (1, B, W).
    const B = fused.next[0].shape[1];
    this.outputShape = input instanceof Tensor && input.ndim === 2 && input.dtype === 'float32' ? [B, fused.out.length / B] : [1, B, fused.out.length / B];
    return fused.out;
  }

  private stepModules(input: Tensor | number | ArrayLike<number>): Float32Array {
    return noGrad(() => {
      const { values, state } = tidy(() => {
        const x = input instanceof Tensor ? input : idsTensor(input);
        const r = this.fn(x, this.state_);
        if (!(r?.output instanceof Tensor) || !Array.isArray(r.state) || !r.state.every((s) => s instanceof Tensor)) {
          throw new ValueError('Stepper.step: the step function must return { output: Tensor, state: Tensor[] }');
        }
        this.outputShape = r.output.shape.slice();
        const values = (r.output.dtype === 'float32' ? r.output : r.output.float()).toArray() as Float32Array;
        // Copies: the step function may return state tensors it does not own (a module's own).
        return { values, state: r.state.map((s) => s.clone()) };
      });
      this.setState(state);
      return values;
    });
  }

  /** The current state (the stepper's own: read or copy it, never dispose it); null before a step or after `reset()`. */
  get state(): Tensor[] | null {
    this.assertAlive('state');
    return this.state_;
  }

  /** Starts again from `state` (copied; the caller keeps its tensors) or, with null, from zeros. */
  reset(state: Tensor[] | null = null): void {
    this.assertAlive('reset');
    if (state !== null && (!Array.isArray(state) || !state.every((s) => s instanceof Tensor))) {
      throw new ValueError('Stepper.reset: state must be an array of tensors or null');
    }
    this.setState(state === null ? null : untracked(() => state.map((s) => s.clone())));
  }

  /**
   * Keeps the lanes `indices` of the state (dim 1 of each (layers, B, H) tensor), in that order:
   * lane i of the new state is lane indices[i] of the old. Beam search uses it to follow the beams
   * it keeps; the number of lanes may change.
   */
  select(indices: ArrayLike<number>): void {
    this.assertAlive('select');
    const state = this.state_;
    if (state === null) throw new ValueError('Stepper.select: there is no state yet (step first, or reset(state))');
    const B = state[0].shape[1];
    const idx = Array.from(indices);
    idx.forEach((i, k) => {
      if (!Number.isInteger(i) || i < 0 || i >= B) throw new ShapeError(`Stepper.select: indices[${k}] = ${i} is out of range for ${B} lanes`);
    });
    if (idx.length === 0) throw new ValueError('Stepper.select: indices must keep at least one lane');
    const next = untracked(() =>
      state.map((s) => {
        if (s.shape.length !== 3) throw new ShapeError(`Stepper.select: state tensors must be (layers, B, H), got [${s.shape.join(', ')}]`);
        const [L, , H] = s.shape;
        const from = s.f32();
        const out = new Float32Array(L * idx.length * H);
        for (let l = 0; l < L; l++) idx.forEach((i, k) => out.set(from.subarray((l * B + i) * H, (l * B + i + 1) * H), (l * idx.length + k) * H));
        return tensor(out, [L, idx.length, H]);
      }),
    );
    this.setState(next);
  }

  /** Frees the state; the stepper is done. */
  dispose(): void {
    if (this.disposed) return;
    this.setState(null);
    this.decode?.dispose();
    this.disposed = true;
  }

  /** The index of the largest value of each row of `values` (rows of `cols`): greedy decoding. */
  static argmax(values: ArrayLike<number>, cols: number): Int32Array {
    if (!Number.isInteger(cols) || cols <= 0 || values.length % cols !== 0) {
      throw new ShapeError(`Stepper.argmax: ${values.length} values are not rows of ${cols}`);
    }
    const out = new Int32Array(values.length / cols);
    for (let r = 0; r < out.length; r++) {
      let best = r * cols;
      for (let c = r * cols + 1; c < (r + 1) * cols; c++) if (values[c] > values[best]) best = c;
      out[r] = best - r * cols;
    }
    return out;
  }

  private setState(next: Tensor[] | null): void {
    this.state_?.forEach((s) => s.dispose());
    next?.forEach((s) => keep(s));
    this.state_ = next;
  }

  private assertAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`Stepper.${what}: the stepper was disposed`);
  }
}

/** Token ids as a (1, B) int32 tensor: one time step of B lanes. */
function idsTensor(input: number | ArrayLike<number>): Tensor {
  const ids = typeof input === 'number' ? [input] : Array.from(input);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id)) throw new ValueError(`Stepper.step: token id ${i} must be an integer, got ${id}`);
  });
  return tensor(Int32Array.from(ids), [1, ids.length]);
}
