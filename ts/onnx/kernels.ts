/**
 * The operators `loadOnnx` runs, but LSTM (./lstm-node.ts) and Constant (folded at load): each a
 * function of its node and input values to its output values. Float32 values go to lstm-wasm's ops
 * (every one returns a new tensor: the session's tidy frees what the graph does not return);
 * integer values (shape arithmetic) are computed here in JS. Attribute forms of older opsets
 * (Squeeze/Unsqueeze axes before 13, Slice starts/ends/axes before 10) read as the input forms.
 */
import { F, IndexError, ShapeError, ValueError, add, concat, full, matmul, reshape, slice, tensor } from 'lstm-wasm';
import type { OnnxNode, OnnxTensor } from './model';
import { dimsOf, floats, int32At, ints, isTensor, product, takeInts, type Value } from './values';

export type Kernel = (inputs: (Value | null)[], node: OnnxNode, opset: number) => Value[];

/** "Gather '/embed/Gather'": how messages name a node. */
export const nodeLabel = (node: OnnxNode): string => `${node.opType} '${node.name}'`;

function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

function attrInts(node: OnnxNode, name: string): number[] | null {
  const v = node.attributes[name];
  return Array.isArray(v) ? (v as number[]) : null;
}

/** `axis` in [-rank, rank) as a dim index. */
function axisIn(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new IndexError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Squeeze/Unsqueeze axes: the `axes` attribute before opset 13, the second input from 13. */
function axesOf(node: OnnxNode, opset: number, inputs: (Value | null)[]): number[] | null {
  if (opset < 13) return attrInts(node, 'axes');
  const v = inputs[1] ?? null;
  return v === null ? null : [...ints(v, `${nodeLabel(node)} axes`).data];
}

function withDims(x: Value, dims: number[]): Value {
  return isTensor(x) ? reshape(x, dims) : { dims, data: x.data };
}

const gather: Kernel = ([data, indices], node) => {
  const what = nodeLabel(node);
  const idx = ints(indices ?? null, `${what} indices`);
  if (data === null || data === undefined) throw new ValueError(`${what}: data is missing`);
  const dims = dimsOf(data);
  const axis = axisIn(attrInt(node, 'axis', 0), dims.length, what);
  const n = dims[axis]!;
  const at = idx.data.map((i) => {
    if (i < -n || i >= n) throw new IndexError(`${what}: index ${i} is out of range for a dim of size ${n}`);
    return i < 0 ? i + n : i;
  });
  if (!isTensor(data)) return [takeInts(data, axis, at, idx.dims)];
  // Float rows (an embedding): axis 0, as lstm-wasm's embedding over the (n, rest) matrix.
  if (axis !== 0) throw new ValueError(`${what}: gathering float32 data along axis ${axis} is not supported (axis 0 only)`);
  const rest = dims.slice(1);
  const matrix = dims.length === 2 ? data : reshape(data, [n, product(rest)]);
  const rows = F.embedding(tensor(Int32Array.from(at), idx.dims), matrix);
  return [rest.length === 1 ? rows : reshape(rows, [...idx.dims, ...rest])];
};

const shape: Kernel = ([x], node) => {
  const dims = dimsOf(x!);
  const r = dims.length;
  const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
  const picked = dims.slice(clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', r)));
  return [{ dims: [picked.length], data: picked }];
};

const unsqueeze: Kernel = (inputs, node, opset) => {
  const x = inputs[0]!;
  const axes = axesOf(node, opset, inputs);
  if (axes === null) throw new ValueError(`${nodeLabel(node)}: axes are missing`);
  const rank = dimsOf(x).length + axes.length;
  const at = new Set(axes.map((a) => axisIn(a, rank, nodeLabel(node))));
  const rest = [...dimsOf(x)];
  const dims = Array.from({ length: rank }, (_, d) => (at.has(d) ? 1 : rest.shift()!));
  return [withDims(x, dims)];
};

const squeeze: Kernel = (inputs, node, opset) => {
  const x = inputs[0]!;
  const dims = dimsOf(x);
  const axes = axesOf(node, opset, inputs);
  const at = new Set(axes === null ? dims.flatMap((d, i) => (d === 1 ? [i] : [])) : axes.map((a) => axisIn(a, dims.length, nodeLabel(node))));
  for (const d of at) if (dims[d] !== 1) throw new ShapeError(`${nodeLabel(node)}: dim ${d} of ${JSON.stringify(dims)} is ${dims[d]}, not 1`);
  return [withDims(x, dims.filter((_, d) => !at.has(d)))];
};

const concatKernel: Kernel = (inputs, node) => {
  const what = nodeLabel(node);
  const xs = inputs.filter((v): v is Value => v !== null);
  const axis = axisIn(attrInt(node, 'axis', 0), dimsOf(xs[0]!).length, what);
  if (xs.every(isTensor)) return [concat(xs, axis)];
  const parts = xs.map((v, i) => ints(v, `${what} input ${i}`));
  // Each part as (outer, part's axis * inner) rows, joined row by row.
  const outer = product(parts[0]!.dims.slice(0, axis));
  const data: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const row = p.data.length / outer;
      data.push(...p.data.slice(o * row, (o + 1) * row));
    }
  }
  const dims = [...parts[0]!.dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
  return [{ dims, data }];
};

const constantOfShape: Kernel = ([shapeValue], node) => {
  const what = nodeLabel(node);
  const dims = ints(shapeValue ?? null, `${what} input`).data.map((d) => int32At(d, `${what} shape`));
  const value = node.attributes.value as OnnxTensor | undefined;
  const fill = value === undefined ? 0 : Number(value.data[0]);
  if (value === undefined || value.dataType === 'float32') return [full(dims, fill)];
  return [{ dims, data: new Array<number>(product(dims)).fill(fill) }];
};

const slice_: Kernel = (inputs, node, opset) => {
  const what = nodeLabel(node);
  let x = inputs[0]!;
  const list = (i: number, attr: string): number[] | null =>
    opset < 10 ? attrInts(node, attr) : inputs[i] ? [...ints(inputs[i]!, `${what} ${attr}`).data] : null;
  const starts = list(1, 'starts');
  const ends = list(2, 'ends');
  if (starts === null || ends === null) throw new ValueError(`${what}: starts and ends are required`);
  const dims = dimsOf(x);
  const axes = list(3, 'axes') ?? starts.map((_, i) => i);
  const steps = opset < 10 ? null : list(4, 'steps');
  axes.forEach((a, k) => {
    const axis = axisIn(a, dims.length, what);
    const step = steps?.[k] ?? 1;
    if (step <= 0) throw new ValueError(`${what}: step ${step} on axis ${a}; this runtime slices with positive steps only`);
    const n = dimsOf(x)[axis]!;
    // ONNX's clamping for a positive step: negatives count from the end, then [0, n].
    const bound = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = bound(starts[k]!);
    const stop = Math.max(bound(ends[k]!), start);
    if (isTensor(x)) {
      x = slice(x, axis, start, stop, step);
    } else {
      const at: number[] = [];
      for (let i = start; i < stop; i += step) at.push(i);
      x = takeInts(x, axis, at, [at.length]);
    }
  });
  return [isTensor(x) && x === inputs[0] ? reshape(x, [...x.shape]) : x];
};

const matmulKernel: Kernel = ([a, b], node) => [matmul(floats(a ?? null, `${nodeLabel(node)} A`), floats(b ?? null, `${nodeLabel(node)} B`))];

const addKernel: Kernel = ([a, b], node) => [add(floats(a ?? null, `${nodeLabel(node)} A`), floats(b ?? null, `${nodeLabel(node)} B`))];

/** By opType: every operator but LSTM and Constant, which the session handles itself. */
export const KERNELS: Readonly<Record<string, Kernel>> = {
  Gather: gather,
  Shape: shape,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concatKernel,
  ConstantOfShape: constantOfShape,
  Slice: slice_,
  MatMul: matmulKernel,
  Add: addKernel,
};

