/**
 * The operators `loadOnnx` runs, but LSTM/GRU/RNN (./recurrent-node.ts) and Constant (folded at load): each a
 * function of its node and input values to its output values. Float32 values go to lstm-wasm's ops
 * (every one returns a new tensor: the session's tidy frees what the graph does not return);
 * integer values (shape arithmetic) are computed here in JS. Attribute forms of older opsets
 * (Squeeze/Unsqueeze axes before 13, Slice starts/ends/axes before 10) read as the input forms.
 */
import { F, IndexError, ShapeError, ValueError, add, concat, full, logSoftmax, matmul, mul, permute, reshape, slice, tensor, transpose } from 'lstm-wasm';
import type { OnnxUnsupported } from './errors';
import { dataTypeName } from './data-types';
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
  // Float rows: lstm-wasm's embedding over the (n, rest) matrix, `axis` moved to the front first.
  const pre = dims.slice(0, axis);
  const rest = [...pre, ...dims.slice(axis + 1)];
  const moved = axis === 0 ? data : permute(data, [axis, ...dims.flatMap((_, d) => (d === axis ? [] : [d]))]);
  const matrix = moved.ndim === 2 ? moved : reshape(moved, [n, product(rest)]);
  const rows = reshape(F.embedding(tensor(Int32Array.from(at), [at.length]), matrix), [...idx.dims, ...rest]);
  if (axis === 0 || idx.dims.length === 0) return [rows];
  // (...indexDims, ...pre, ...post) to (...pre, ...indexDims, ...post).
  const k = idx.dims.length;
  const order = [...pre.map((_, i) => k + i), ...idx.dims.map((_, i) => i), ...dims.slice(axis + 1).map((_, i) => k + pre.length + i)];
  return [permute(rows, order)];
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

const transposeKernel: Kernel = ([x], node) => {
  const what = nodeLabel(node);
  const dims = dimsOf(x!);
  const perm = attrInts(node, 'perm') ?? dims.map((_, i) => dims.length - 1 - i);
  if (perm.length !== dims.length || new Set(perm.map((p) => axisIn(p, dims.length, what))).size !== dims.length) {
    throw new ValueError(`${what}: perm ${JSON.stringify(perm)} must list each of the ${dims.length} dims of ${JSON.stringify(dims)} once`);
  }
  const p = perm.map((a) => (a < 0 ? a + dims.length : a));
  if (isTensor(x!)) return [permute(x, p)];
  // Integer values: out[i0..] = in[j] where j's dim p[k] is out's dim k.
  const v = x!;
  const outDims = p.map((a) => dims[a]!);
  const strides = dims.map((_, i) => product(dims.slice(i + 1)));
  const data = new Array<number>(v.data.length);
  const at = new Array<number>(outDims.length).fill(0);
  for (let n = 0; n < data.length; n++) {
    data[n] = v.data[at.reduce((s, c, k) => s + c * strides[p[k]!]!, 0)]!;
    for (let k = at.length - 1; k >= 0 && ++at[k]! === outDims[k]; k--) at[k] = 0;
  }
  return [{ dims: outDims, data }];
};

const reshapeKernel: Kernel = ([x, shapeValue], node) => {
  const what = nodeLabel(node);
  const dims = dimsOf(x!);
  const want = ints(shapeValue ?? null, `${what} shape`).data;
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  // 0 copies the input's dim (unless allowzero), -1 is what the others leave.
  const out = want.map((d, i) => (d === 0 && !allowZero ? dims[i]! : d));
  const n = product(dims);
  const free = out.filter((d) => d === -1).length;
  if (free > 1 || out.some((d) => d < -1 || (d !== -1 && !Number.isInteger(d)))) throw new ShapeError(`${what}: shape ${JSON.stringify(want)} is not a valid target shape`);
  if (free === 1) {
    const known = product(out.filter((d) => d !== -1));
    if (known === 0 || n % known !== 0) throw new ShapeError(`${what}: cannot reshape ${JSON.stringify(dims)} (${n} elements) to ${JSON.stringify(want)}`);
    out[out.indexOf(-1)] = n / known;
  }
  if (product(out) !== n) throw new ShapeError(`${what}: cannot reshape ${JSON.stringify(dims)} (${n} elements) to ${JSON.stringify(want)}`);
  return [withDims(x!, out)];
};

/** Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (M, K), B' (K, N), C broadcast to (M, N). */
const gemm: Kernel = ([a, b, c], node) => {
  const what = nodeLabel(node);
  let A = floats(a ?? null, `${what} A`);
  let B = floats(b ?? null, `${what} B`);
  if (A.ndim !== 2 || B.ndim !== 2) throw new ShapeError(`${what}: A ${JSON.stringify(A.shape)} and B ${JSON.stringify(B.shape)} must be 2-D`);
  if (attrInt(node, 'transA', 0) === 1) A = transpose(A);
  if (attrInt(node, 'transB', 0) === 1) B = transpose(B);
  const alpha = (node.attributes.alpha as number | undefined) ?? 1;
  const beta = (node.attributes.beta as number | undefined) ?? 1;
  let y = matmul(A, B);
  if (alpha !== 1) y = mul(y, alpha);
  if (c !== null && c !== undefined && beta !== 0) {
    const C = floats(c, `${what} C`);
    y = add(y, beta === 1 ? C : mul(C, beta));
  }
  return [y];
};

/** From opset 13 along `axis` (default -1); before, over the input flattened to 2-D at `axis` (default 1). */
const logSoftmaxKernel: Kernel = ([x], node, opset) => {
  const what = nodeLabel(node);
  const t = floats(x ?? null, `${what} input`);
  if (opset >= 13) return [logSoftmax(t, axisIn(attrInt(node, 'axis', -1), t.ndim, what))];
  const axis = axisIn(attrInt(node, 'axis', 1), t.ndim, what);
  const flat = reshape(t, [product(t.shape.slice(0, axis)), product(t.shape.slice(axis))]);
  return [reshape(logSoftmax(flat, 1), [...t.shape])];
};

/** The element types Cast converts to: float32 (a tensor) and the integers (exact JS numbers). */
const CAST_TO = new Set(['float32', 'int64', 'int32']);

/** Float to integer truncates toward zero, as onnxruntime does. */
const cast: Kernel = ([x], node) => {
  const what = nodeLabel(node);
  const to = dataTypeName(node.attributes.to as number);
  const v = x!;
  if (to === 'float32') return [isTensor(v) ? v : tensor(Float32Array.from(v.data), [...v.dims])];
  if (!isTensor(v)) return [{ dims: [...v.dims], data: to === 'int32' ? v.data.map((d) => int32At(d, `${what} element`)) : v.data }];
  const data = Array.from(v.toArray(), (f) => {
    if (!Number.isFinite(f)) throw new ValueError(`${what}: ${f} has no integer value`);
    return Math.trunc(f);
  });
  return [{ dims: [...v.shape], data: to === 'int32' ? data.map((d) => int32At(d, `${what} element`)) : data }];
};

/** TopK on integer values (sequence lengths): a stable sort, ties in index order as onnxruntime. */
const topK: Kernel = ([x, kValue], node) => {
  const what = nodeLabel(node);
  const v = ints(x ?? null, `${what} X`);
  const k = ints(kValue ?? null, `${what} K`).data[0]!;
  const axis = axisIn(attrInt(node, 'axis', -1), v.dims.length, what);
  const n = v.dims[axis]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new IndexError(`${what}: K = ${k} is out of range for a dim of size ${n}`);
  const largest = attrInt(node, 'largest', 1) === 1;
  const outer = product(v.dims.slice(0, axis));
  const inner = product(v.dims.slice(axis + 1));
  const dims = [...v.dims];
  dims[axis] = k;
  const values = new Array<number>(product(dims));
  const indices = new Array<number>(product(dims));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => (largest ? v.data[at(q)]! - v.data[at(p)]! : v.data[at(p)]! - v.data[at(q)]!) || p - q);
      for (let j = 0; j < k; j++) {
        values[(o * k + j) * inner + i] = v.data[at(order[j]!)]!;
        indices[(o * k + j) * inner + i] = order[j]!;
      }
    }
  }
  return [{ dims, data: values }, { dims, data: indices }];
};

/** ReduceProd of integer values over every axis (no `axes`, which kernelUnsupported refuses). */
const reduceProd: Kernel = ([x], node) => {
  const v = ints(x ?? null, `${nodeLabel(node)} data`);
  const p = v.data.reduce((a, b) => a * b, 1);
  return [{ dims: attrInt(node, 'keepdims', 1) === 1 ? v.dims.map(() => 1) : [], data: [p] }];
};

/** Range: start, start + delta, ... below (or, delta < 0, above) limit; float32 if start is. */
const range: Kernel = ([start, limit, delta], node) => {
  const what = nodeLabel(node);
  const scalar = (v: Value | null | undefined, name: string): number => {
    if (v === null || v === undefined) throw new ValueError(`${what}: ${name} is missing`);
    const data = isTensor(v) ? Array.from(v.toArray()) : v.data;
    if (data.length !== 1) throw new ShapeError(`${what}: ${name} must be a scalar, got shape ${JSON.stringify(dimsOf(v))}`);
    return data[0]!;
  };
  const [s, l, d] = [scalar(start, 'start'), scalar(limit, 'limit'), scalar(delta, 'delta')];
  if (d === 0) throw new ValueError(`${what}: delta is 0`);
  const n = Math.max(Math.ceil((l - s) / d), 0);
  const data = Array.from({ length: n }, (_, i) => s + i * d);
  return [isTensor(start!) ? tensor(Float32Array.from(data), [n]) : { dims: [n], data }];
};

/** ScatterElements on integer values (reduction none): a copy of data with updates written at indices along axis. */
const scatterElements: Kernel = ([x, idx, upd], node) => {
  const what = nodeLabel(node);
  const data = ints(x ?? null, `${what} data`);
  const indices = ints(idx ?? null, `${what} indices`);
  const updates = ints(upd ?? null, `${what} updates`);
  if (indices.dims.join() !== updates.dims.join() || indices.dims.length !== data.dims.length) {
    throw new ShapeError(`${what}: indices ${JSON.stringify(indices.dims)} and updates ${JSON.stringify(updates.dims)} must have one shape, of data's rank ${data.dims.length}`);
  }
  const rank = data.dims.length;
  const axis = axisIn(attrInt(node, 'axis', 0), rank, what);
  const strides = data.dims.map((_, i) => product(data.dims.slice(i + 1)));
  const out = [...data.data];
  const at = new Array<number>(rank).fill(0);
  for (let e = 0; e < indices.data.length; e++) {
    const n = data.dims[axis]!;
    const i = indices.data[e]!;
    if (i < -n || i >= n) throw new IndexError(`${what}: index ${i} is out of range for a dim of size ${n}`);
    out[at.reduce((s, c, k) => s + (k === axis ? (i < 0 ? i + n : i) : c) * strides[k]!, 0)] = updates.data[e]!;
    for (let k = rank - 1; k >= 0 && ++at[k]! === indices.dims[k]; k--) at[k] = 0;
  }
  return [{ dims: [...data.dims], data: out }];
};

/** By opType: every operator but LSTM, GRU, RNN and Constant, which the session handles itself. */
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
  Transpose: transposeKernel,
  Reshape: reshapeKernel,
  Gemm: gemm,
  LogSoftmax: logSoftmaxKernel,
  Cast: cast,
  TopK: topK,
  ReduceProd: reduceProd,
  Range: range,
  ScatterElements: scatterElements,
};

/** What of a KERNELS node's attributes this runtime does not implement (refused at load with the node). */
export function kernelUnsupported(node: OnnxNode): OnnxUnsupported[] {
  const found: string[] = [];
  if (node.opType === 'Cast') {
    const to = dataTypeName(node.attributes.to as number);
    if (to === null || !CAST_TO.has(to)) found.push(`to = ${to ?? String(node.attributes.to)} (${[...CAST_TO].join(', ')} only)`);
  }
  if (node.opType === 'ReduceProd' && (node.attributes.axes !== undefined || (node.inputs[1] ?? '') !== '')) found.push('axes (a product over every axis only)');
  if (node.opType === 'TopK' && attrInt(node, 'sorted', 1) !== 1) found.push('sorted = 0');
  if (node.opType === 'ScatterElements' && (node.attributes.reduction ?? 'none') !== 'none') found.push(`reduction = ${String(node.attributes.reduction)} (none only)`);
  return found.map((what) => ({ op: node.opType, node: node.name, what }));
}

