/**
 * Reverse-mode autograd on a tape. Each differentiable op creates its output with a `GradNode`
 * holding its inputs and a backward function (the op's backward lives beside its forward in
 * ops/). `backward()` walks the graph in reverse topological order.
 *
 * Gradient buffers made during `backward()` are temporaries owned by it and freed as soon as they
 * are consumed; only leaf gradients (`.grad`) survive, owned by their leaf tensor.
 */
import { Tensor, runOp, untracked, ones } from './tensor';
import { DisposedError, LstmWasmError, ShapeError, formatShape } from './errors';
import { backend } from './backend/backend';
import { assertFloat, assertTensor } from './ops/util';

/**
 * Backward of one op: given the gradient of the op's output, returns the gradient of each input
 * (null where the input needs none). Returned tensors are new; backward() owns and frees them.
 */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardFn;
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

/** Marks `out` as produced by an op; call only when `needsGrad(...inputs)`. */
export function record(out: Tensor, name: string, inputs: Tensor[], backwardFn: BackwardFn): Tensor {
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward: backwardFn };
  return out;
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (recurrent graphs can be thousands of nodes deep).
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(t);
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
  for (const t of order) {
    t.gradFn?.inputs.forEach((input, i) => {
      if (input.isDisposed) {
        throw new DisposedError(`backward: input ${i} of ${t.gradFn?.name} (tensor #${input.id} ${formatShape(input.shape)}) was disposed before backward()`);
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

/** Visits the graph in reverse topological order, moving gradients from outputs to inputs. */
function walk(order: Tensor[], grads: Map<Tensor, Tensor>): void {
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const t = order[idx];
    const g = grads.get(t);
    if (g === undefined) continue;
    grads.delete(t);
    if (t.gradFn === null) {
      // A leaf: accumulate into .grad, which the leaf owns.
      if (t.grad === null) {
        t.grad = g;
        continue;
      }
      accumulateInto(t.grad, g);
      g.dispose();
      continue;
    }
    const node = t.gradFn;
    let inputGrads: (Tensor | null)[];
    try {
      // As an op: an error names it, and the buffers it made before failing are freed.
      inputGrads = runOp(`${node.name} backward`, () => node.backward(g));
    } finally {
      g.dispose();
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
}
