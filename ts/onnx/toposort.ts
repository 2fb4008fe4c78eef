/**
 * The order a graph's nodes run in: each after the producers of its inputs. The file's own order
 * when it is one already (ONNX requires it, exporters write it), else Kahn's algorithm, which
 * keeps the file's order among nodes that are ready together. A cycle is a FormatError that lists
 * the nodes on it. Iterative, O(nodes + edges): no recursion for a hostile graph to overflow.
 */
import { FormatError } from 'lstm-wasm';

/**
 * `producers[i]`: the indices of the nodes whose outputs node i reads (values from outside the
 * graph's nodes, such as inputs and initializers, left out). `describe(i)` names node i in messages.
 */
export function topologicalOrder(producers: number[][], describe: (i: number) => string): number[] {
  const n = producers.length;
  if (producers.every((ps, i) => ps.every((p) => p < i))) return Array.from({ length: n }, (_, i) => i);
  const pending = producers.map((ps) => new Set(ps).size);
  const consumers: number[][] = Array.from({ length: n }, () => []);
  producers.forEach((ps, i) => new Set(ps).forEach((p) => consumers[p].push(i)));
  // A min-heap of ready nodes by index keeps the file's order among them.
  const ready = new MinHeap();
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const order: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const c of consumers[i]) if (--pending[c] === 0) ready.push(c);
  }
  if (order.length < n) {
    const cycle = findCycle(producers, pending);
    throw new FormatError(`readOnnx: the graph has a cycle: ${cycle.map(describe).join(' -> ')} -> ${describe(cycle[0])}`);
  }
  return order;
}

/** A cycle among the nodes Kahn's algorithm could not order (`pending[i] > 0`): from one of them, follow unordered producers until a node repeats. */
function findCycle(producers: number[][], pending: number[]): number[] {
  let at = pending.findIndex((c) => c > 0);
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    // Every unordered node has an unordered producer (else it would have become ready).
    at = producers[at].find((p) => pending[p] > 0)!;
  }
  const cycle = path.slice(seen.get(at)).reverse(); // producers first: the order values flow in
  const first = cycle.indexOf(Math.min(...cycle)); // from the node the file lists first
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}

class MinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
