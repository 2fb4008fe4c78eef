/**
 * A GraphProto to an OnnxGraph: initializers and tensor attributes converted and checked
 * (ts/onnx/tensor.ts), every value named once (graph inputs, initializers, node outputs: single
 * assignment), every node input defined (here or, in a subgraph, in an enclosing graph) or ''
 * for an optional input left out, and the nodes in an order that runs (ts/onnx/toposort.ts).
 */
import { FormatError } from 'lstm-wasm';
import { convertAttributes } from './attributes';
import { dataTypeName } from './data-types';
import { MAX_GRAPH_DEPTH, MAX_NODES, MAX_RANK } from './limits';
import type { OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from './model';
import { int64Value, type GraphProto, type NodeProto, type ValueInfoProto } from './proto';
import { convertTensor } from './tensor';
import { topologicalOrder } from './toposort';

/** What converting one model's graphs shares: the node count over all of them. */
interface Budget {
  nodes: number;
}

/** Converts the main graph (and, through attributes, its subgraphs). */
export function convertMainGraph(g: GraphProto): OnnxGraph {
  return convertGraph(g, 'the graph', new Set(), 0, { nodes: 0 });
}

/** `outer`: the names an enclosing graph defines, which a subgraph's nodes may read. */
function convertGraph(g: GraphProto, where: string, outer: ReadonlySet<string>, depth: number, budget: Budget): OnnxGraph {
  if (depth > MAX_GRAPH_DEPTH) throw new FormatError(`readOnnx: ${where} is a subgraph nested ${depth} deep, at most ${MAX_GRAPH_DEPTH} are read`);
  budget.nodes += g.node.length;
  if (budget.nodes > MAX_NODES) throw new FormatError(`readOnnx: the model has more than ${MAX_NODES} nodes`);
  const inGraph = depth === 0 ? '' : ` of ${where}`;
  // Every value this graph defines, and by what (for messages).
  const defined = new Map<string, string>();
  const define = (name: string, by: string) => {
    if (name === '') throw new FormatError(`readOnnx: ${by} has an empty name`);
    const before = defined.get(name);
    if (before !== undefined) throw new FormatError(`readOnnx: the name '${name}'${inGraph} is given twice: ${before}, and ${by}`);
    defined.set(name, by);
  };
  const inputs = g.input.map((v) => valueInfo(v, 'input', inGraph));
  // Inputs an initializer also names are inputs with a default (IR < 4 lists every initializer
  // as an input too): define each name once.
  const initializerNames = new Set(g.initializer.map((t) => t.name));
  for (const v of inputs) if (!initializerNames.has(v.name)) define(v.name, `graph input '${v.name}'`);
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer) {
    const what = `initializer '${t.name}'${inGraph}`;
    if (initializers.has(t.name)) throw new FormatError(`readOnnx: the name '${t.name}'${inGraph} is given to two initializers`);
    define(t.name, what);
    initializers.set(t.name, convertTensor(t, what));
  }

  const describe = (i: number) => describeNode(g.node[i], i);
  const producerOf = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const out of n.output) {
      if (out === '') continue; // an optional output left out
      define(out, `output ${n.output.indexOf(out)} of ${describe(i)}`);
      producerOf.set(out, i);
    }
  });
  const producers = g.node.map((n, i) =>
    n.input.flatMap((name) => {
      if (name === '') return [];
      const p = producerOf.get(name);
      if (p !== undefined) return [p];
      if (defined.has(name) || outer.has(name)) return [];
      throw new FormatError(`readOnnx: ${describe(i)}${inGraph} reads '${name}', which is not a graph input, an initializer or the output of a node`);
    }),
  );
  const order = topologicalOrder(producers, describe);

  const scope = new Set([...outer, ...defined.keys()]);
  const subgraph = (sub: GraphProto, at: string) => convertGraph(sub, at, scope, depth + 1, budget);
  const nodes = order.map((i): OnnxNode => {
    const n = g.node[i];
    return {
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      inputs: n.input.slice(),
      outputs: n.output.slice(),
      attributes: convertAttributes(n.attribute, describe(i) + inGraph, subgraph),
    };
  });
  const outputs = g.output.map((v) => valueInfo(v, 'output', inGraph));
  for (const v of outputs) {
    if (!defined.has(v.name) && !outer.has(v.name)) throw new FormatError(`readOnnx: graph output '${v.name}'${inGraph} is not a graph input, an initializer or the output of a node`);
  }
  return { name: g.name, nodes, initializers, inputs, outputs };
}

/** "node 'LSTM_4' (LSTM, #12)": by name if it has one, always by type and position. */
export function describeNode(n: NodeProto, i: number): string {
  return `node ${n.name === '' ? '' : `'${n.name}' `}(${n.opType === '' ? 'no op type' : n.opType}${n.domain === '' ? '' : ` of ${n.domain}`}, #${i})`;
}

function valueInfo(v: ValueInfoProto, kind: 'input' | 'output', inGraph: string): OnnxValueInfo {
  if (v.name === '') throw new FormatError(`readOnnx: a graph ${kind}${inGraph} has no name`);
  const where = `graph ${kind} '${v.name}'${inGraph}`;
  const tensor = v.type?.tensorType ?? null;
  if (tensor === null) throw new FormatError(`readOnnx: ${where} is not a tensor (a sequence, map, optional or sparse value), which lstm-wasm does not read`);
  const elemType = dataTypeName(tensor.elemType);
  if (elemType === null) throw new FormatError(`readOnnx: ${where} has element type ${tensor.elemType}, which ONNX does not define`);
  if (tensor.shape === null) return { name: v.name, elemType, shape: null };
  if (tensor.shape.dim.length > MAX_RANK) throw new FormatError(`readOnnx: ${where} has ${tensor.shape.dim.length} dims, at most ${MAX_RANK} are read`);
  const shape = tensor.shape.dim.map((d) => {
    if (d.value === 'dimParam') return d.dimParam;
    if (d.value !== 'dimValue') return null;
    const size = int64Value(d.dimValue!);
    if (typeof size !== 'number' || size < 0 || size > 2 ** 31 - 1) throw new FormatError(`readOnnx: ${where} has a dimension of size ${size}`);
    return size;
  });
  return { name: v.name, elemType, shape };
}
