/**
 * Reverse-mode autograd on a tape. Each differentiable op creates its output with a `GradNode`
 * holding its inputs and a backward function (the op's backward lives beside its forward in
 * ops/). `backward()` walks the graph in reverse topological order.
 *
 * Gradient buffers made during `backward()` are temporaries owned by it and freed as soon as they
 * are consumed; only leaf gradients (`.grad`) survive, owned by their leaf tensor.
 */
import { Tensor } from './tensor';
import { adoptIntoScope, keep, noteBackward, noteGraphNode, runOp, untracked } from './memory';
import { ones } from './creation';
import { DisposedError, LstmWasmError, ShapeError, ValueError, formatShape } from './errors';
import { backend } from './backend/backend';
import { assertFloat, assertTensor } from './checks';
import { checkOptions, optionKeys } from './options';

/**
 * Backward of a one-output op: given the gradient of its output, returns the gradient of each
 * input (null where the input needs none). Returned tensors are new; backward() owns and frees them.
 */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

/**
 * Backward of an op with several outputs: `gradOutputs[i]` is the gradient of output i, or null
 * when nothing downstream used that output (treat it as zero). Returns one entry per input.
 */
export type MultiBackwardFn = (gradOutputs: (Tensor | null)[]) => (Tensor | null)[];

/**
 * One recorded op: its inputs, its outputs (each output's `gradFn` is this node) and its backward.
 * `saved` are buffers backward reads that are neither inputs nor outputs (an RNN's activations);
 * the node owns them and frees them when the last of its outputs is disposed.
 */
export class GradNode {
  private liveOutputs: number;
  /** Set by a `backward()` without `retainGraph`, which freed the saved buffers: the node cannot run again. */
  consumed = false;

  constructor(
    readonly name: string,
    readonly inputs: readonly Tensor[],
    readonly outputs: readonly Tensor[],
    readonly backward: MultiBackwardFn,
    private saved: Tensor[],
  ) {
    this.liveOutputs = outputs.length;
    for (const t of saved) keep(t);
  }

  /** Frees the saved buffers after a `backward()` that did not ask to retain the graph (PyTorch frees them too). */
  consume(): void {
    this.consumed = true;
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }

  /** Called by `Tensor.dispose` of an output: the last one frees the saved buffers. */
  releaseOutput(): void {
    if (--this.liveOutputs > 0) return;
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with graph recording off (PyTorch `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Whether an op over `inputs` must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Marks `out` as produced by a one-output op; call only when `needsGrad(...inputs)`. */
export function record(out: Tensor, name: string, inputs: Tensor[], backwardFn: BackwardFn): Tensor {
  recordMulti([out], name, inputs, (dys) => backwardFn(dys[0] as Tensor));
  return out;
}

/**
 * Marks `outputs` as produced together by one op (each receives its own gradient in backward);
 * call only when `needsGrad(...inputs)`. `saved` buffers live until every output is disposed.
 */
export function recordMulti(outputs: Tensor[], name: string, inputs: Tensor[], backwardFn: MultiBackwardFn, saved: Tensor[] = []): void {
  const node = new GradNode(name, inputs, outputs, backwardFn, saved);
  noteGraphNode();
  for (const out of outputs) {
    out.requiresGrad = true;
    out.gradFn = node;
  }
}

/** The nodes that lead to `roots`, each after every node that consumes one of its outputs' values. */
function topologicalOrder(roots: readonly Tensor[]): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  // Iterative DFS (recurrent graphs can be thousands of nodes deep).
  const stack: [GradNode, number][] = [];
  for (const root of roots) {
    if (root.gradFn === null || seen.has(root.gradFn)) continue;
    seen.add(root.gradFn);
    stack.push([root.gradFn, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const next = node.inputs[i].gradFn;
        if (next !== null && node.inputs[i].requiresGrad && !seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        order.push(node);
        stack.pop();
      }
    }
  }
  return order;
}

/** Gives `t` the gradient `g` (owned by the map from now on), or adds it into the one `t` has. */
function addGradient(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  const before = grads.get(t);
  if (before === undefined) {
    grads.set(t, g);
  } else {
    accumulateInto(before, g);
    g.dispose();
  }
}

/** Adds `src` into `dst` in place (both float32, same size). */
function accumulateInto(dst: Tensor, src: Tensor): void {
  backend().k.lw_axpy(dst.ptr, 1, src.ptr, dst.size);
}

/**
 * Where the gradients a walk finds go. `leaf` takes a leaf's complete gradient (and owns it);
 * `nonLeaf` sees a non-leaf's complete gradient just before its node uses it (it does not own it:
 * copy what you keep).
 */
interface Sinks {
  leaf(t: Tensor, g: Tensor): void;
  nonLeaf(t: Tensor, g: Tensor): void;
}

export interface BackwardOptions {
  /**
   * Keep the graph's saved buffers, so that it can be differentiated again (PyTorch
   * `retain_graph=True`). Without it, backward frees them and a second backward through the same
   * graph is an error, as in PyTorch.
   */
  retainGraph?: boolean;
}
const BACKWARD_KEYS = optionKeys<BackwardOptions>({ retainGraph: true });

/**
 * Reverse-mode autograd from `root` into the leaves' `.grad` (PyTorch `tensor.backward()`):
 * `backward(root)`, `backward(root, gradient)`, with `{ retainGraph }` last.
 */
export function backward(root: Tensor, gradient?: Tensor | BackwardOptions | null, options?: BackwardOptions): void {
  assertTensor('backward', 'root', root);
  if (gradient !== undefined && gradient !== null && !(gradient instanceof Tensor)) {
    if (options !== undefined) throw new ValueError('backward: give (gradient, options) or (options), not two options objects');
    options = gradient;
    gradient = undefined;
  }
  checkOptions('backward', options, BACKWARD_KEYS);
  const retainGraph = options?.retainGraph ?? false;
  if (typeof retainGraph !== 'boolean') throw new ValueError(`backward: retainGraph must be a boolean, got ${String(retainGraph)}`);
  const seed = gradient ?? undefined;
  if (seed !== undefined) assertFloat('backward', 'gradient', seed);
  if (!root.requiresGrad) {
    throw new LstmWasmError('backward: tensor does not require grad and has no grad_fn');
  }
  noteBackward();
  const order = runBackward('backward', [root], [seed ?? null], {
    leaf(t, g) {
      if (t.grad === null) {
        t.grad = g;
      } else {
        accumulateInto(t.grad, g);
        g.dispose();
      }
    },
    nonLeaf(t, g) {
      if (!t.retainsGrad) return;
      if (t.grad === null) t.grad = g.detach();
      else accumulateInto(t.grad, g);
    },
  });
  if (!retainGraph) for (const node of order) node.consume();
}

const GRAD_KEYS = optionKeys<GradOptions>({ gradOutputs: true, allowUnused: true });

export interface GradOptions {
  /** The gradient of each output (default: ones, for scalar outputs only). */
  gradOutputs?: Tensor | (Tensor | null)[];
  /** Return null for an input the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/**
 * The gradients of `outputs` with respect to `inputs` (PyTorch `torch.autograd.grad`), returned as
 * new tensors in the order of `inputs`, without touching any `.grad`. The graph stays as it is, so
 * it can be differentiated again.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  if (outs.length === 0 || ins.length === 0) throw new ValueError('grad: outputs and inputs must each hold at least one tensor');
  checkOptions('grad', options, GRAD_KEYS);
  options ??= {};
  outs.forEach((t, i) => {
    assertTensor('grad', `outputs[${i}]`, t);
    if (!t.requiresGrad) throw new LstmWasmError(`grad: outputs[${i}] does not require grad (nothing to differentiate)`);
  });
  ins.forEach((t, i) => {
    assertFloat('grad', `inputs[${i}]`, t);
    if (!t.requiresGrad) throw new LstmWasmError(`grad: inputs[${i}] does not require grad, so no gradient flows to it`);
  });
  const given = options.gradOutputs === undefined ? [] : Array.isArray(options.gradOutputs) ? options.gradOutputs : [options.gradOutputs];
  if (options.gradOutputs !== undefined && given.length !== outs.length) {
    throw new ValueError(`grad: gradOutputs has ${given.length} entries, expected one per output (${outs.length})`);
  }
  const found = new Map<Tensor, Tensor>();
  const wanted = new Set(ins);
  const take = (t: Tensor, g: Tensor, owned: boolean): void => {
    if (!wanted.has(t)) {
      if (owned) g.dispose();
      return;
    }
    addGradient(found, t, owned ? g : g.detach());
  };
  try {
    runBackward('grad', outs, outs.map((_, i) => given[i] ?? null), {
      leaf: (t, g) => take(t, g, true),
      nonLeaf: (t, g) => take(t, g, false),
    });
  } catch (e) {
    for (const g of found.values()) g.dispose();
    throw e;
  }
  const result = ins.map((t, i) => {
    const g = found.get(t);
    if (g === undefined && options.allowUnused !== true) {
      for (const f of found.values()) f.dispose();
      throw new LstmWasmError(`grad: inputs[${i}] was not used to compute the outputs (pass allowUnused: true to get null for it)`);
    }
    return g ?? null;
  });
  // Computed untracked (as backward's buffers are); handed to the caller like any new tensor.
  for (const g of result) if (g !== null) adoptIntoScope(g);
  return result;
}

/** Seeds each root with its gradient (ones for an implicit scalar one) and walks the graph; returns the nodes it ran. */
function runBackward(op: string, roots: readonly Tensor[], seeds: readonly (Tensor | null)[], sinks: Sinks): GradNode[] {
  roots.forEach((root, i) => {
    const gradient = seeds[i];
    if (gradient === null && root.size !== 1) {
      throw new ShapeError(`${op}: gradient can be implicit only for a scalar output, got shape ${formatShape(root.shape)}`);
    }
    if (gradient !== null) {
      assertFloat(op, 'gradient', gradient);
      if (gradient.ndim !== root.ndim || gradient.shape.some((d, j) => d !== root.shape[j])) {
        throw new ShapeError(`${op}: gradient has shape ${formatShape(gradient.shape)}, expected ${formatShape(root.shape)}`);
      }
    }
  });
  const order = topologicalOrder(roots);
  // Fail before any allocation if the graph lost a tensor it needs.
  for (const node of order) {
    if (node.consumed) {
      throw new LstmWasmError(
        `${op}: trying to go backward through the graph a second time (its ${node.name} step's saved buffers were freed by the ` +
          'first backward()): pass { retainGraph: true } to the first backward() to differentiate the graph again',
      );
    }
    node.inputs.forEach((input, i) => {
      if (input.isDisposed) {
        throw new DisposedError(`${op}: input ${i} of ${node.name} (tensor #${input.id} ${formatShape(input.shape)}) was disposed before ${op}()`);
      }
    });
  }
  untracked(() => {
    const grads = new Map<Tensor, Tensor>();
    try {
      roots.forEach((root, i) => {
        addGradient(grads, root, seeds[i] !== null ? (seeds[i] as Tensor).detach() : ones(root.shape));
      });
      walk(order, grads, sinks);
    } finally {
      // Normally empty; after an error, frees what was in flight (backward's buffers are untracked).
      for (const g of grads.values()) g.dispose();
    }
  });
  return order;
}

/**
 * Visits the nodes in reverse topological order, moving gradients from outputs to inputs, then
 * hands each leaf its gradient.
 */
function walk(order: GradNode[], grads: Map<Tensor, Tensor>, sinks: Sinks): void {
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const node = order[idx];
    const dys = node.outputs.map((out) => {
      const g = grads.get(out);
      if (g === undefined) return null;
      grads.delete(out);
      sinks.nonLeaf(out, g);
      return g;
    });
    if (dys.every((g) => g === null)) continue;
    let inputGrads: (Tensor | null)[];
    try {
      // As an op: an error names it, and the buffers it made before failing are freed.
      inputGrads = runOp(`${node.name} backward`, () => node.backward(dys));
    } finally {
      for (const g of dys) g?.dispose();
    }
    node.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (ig === null || ig === undefined) return;
      if (!input.requiresGrad) {
        ig.dispose();
        return;
      }
      addGradient(grads, input, ig);
    });
  }
  // What is left are leaves (tensors no recorded op produced).
  for (const [t, g] of grads) {
    grads.delete(t);
    sinks.leaf(t, g);
  }
}
