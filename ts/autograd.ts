/**
 * Reverse-mode autograd on a tape. Each differentiable op creates its output with a `GradNode`
 * holding its inputs and a backward function (the op's backward lives beside its forward in
 * ops/). `backward()` walks the graph in reverse topological order.
 *
 * Gradient buffers made during `backward()` are temporaries owned by it and freed as soon as they
 * are consumed; only leaf gradients (`.grad`) survive, owned by their leaf tensor.
 */
import { Tensor } from './tensor';
import { keep, runOp, untracked } from './memory';
import { ones } from './creation';
import { DisposedError, LstmWasmError, ShapeError, formatShape } from './errors';
import { backend } from './backend/backend';
import { assertFloat, assertTensor } from './ops/util';

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
  for (const out of outputs) {
    out.requiresGrad = true;
    out.gradFn = node;
  }
}

/** The nodes that lead to `root`, each after every node that consumes one of its outputs' values. */
function topologicalOrder(root: Tensor): GradNode[] {
  const order: GradNode[] = [];
  if (root.gradFn === null) return order;
  const seen = new Set<GradNode>([root.gradFn]);
  // Iterative DFS (recurrent graphs can be thousands of nodes deep).
  const stack: [GradNode, number][] = [[root.gradFn, 0]];
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
  return order;
}

/** Adds `src` into `dst` in place (both float32, same size). */
function accumulateInto(dst: Tensor, src: Tensor): void {
  backend().k.lw_axpy(dst.ptr, 1, src.ptr, dst.size);
}

export function backward(root: Tensor, gradient?: Tensor): void {
  assertTensor('backward', 'root', root);
  if (gradient !== undefined) assertFloat('backward', 'gradient', gradient);
  if (!root.requiresGrad) {
    throw new LstmWasmError('backward: tensor does not require grad and has no grad_fn');
  }
  if (gradient === undefined && root.size !== 1) {
    throw new ShapeError(`backward: gradient can be implicit only for a scalar output, got shape ${formatShape(root.shape)}`);
  }
  if (gradient !== undefined) {
    if (gradient.ndim !== root.ndim || gradient.shape.some((d, i) => d !== root.shape[i])) {
      throw new ShapeError(`backward: gradient has shape ${formatShape(gradient.shape)}, expected ${formatShape(root.shape)}`);
    }
  }
  const order = topologicalOrder(root);
  // Fail before any allocation if the graph lost a tensor it needs.
  for (const node of order) {
    node.inputs.forEach((input, i) => {
      if (input.isDisposed) {
        throw new DisposedError(`backward: input ${i} of ${node.name} (tensor #${input.id} ${formatShape(input.shape)}) was disposed before backward()`);
      }
    });
  }
  untracked(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, gradient !== undefined ? gradient.detach() : ones(root.shape));
    try {
      walk(order, grads);
    } finally {
      // Normally empty; after an error, frees what was in flight (backward's buffers are untracked).
      for (const g of grads.values()) g.dispose();
    }
  });
}

/**
 * Visits the nodes in reverse topological order, moving gradients from outputs to inputs, then
 * hands each leaf its gradient (`.grad`, which the leaf owns).
 */
function walk(order: GradNode[], grads: Map<Tensor, Tensor>): void {
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const node = order[idx];
    const dys = node.outputs.map((out) => {
      const g = grads.get(out);
      if (g === undefined) return null;
      grads.delete(out);
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
      const existing = grads.get(input);
      if (existing === undefined) {
        grads.set(input, ig);
      } else {
        accumulateInto(existing, ig);
        ig.dispose();
      }
    });
  }
  // What is left are leaves (tensors no recorded op produced): each takes its gradient.
  for (const [t, g] of grads) {
    grads.delete(t);
    if (t.grad === null) {
      t.grad = g;
    } else {
      accumulateInto(t.grad, g);
      g.dispose();
    }
  }
}
