// Building ONNX files for the reader's tests: small valid models with the package's own generated
// encoder (ts/onnx/proto.ts), and raw protobuf bytes for what an encoder will not write.
import { onnxProto, type Encodable, type ModelProto, type TensorProto, type ValueInfoProto } from '../../ts/onnx/proto';

export type ModelSpec = Encodable<ModelProto>;

/** A float32 initializer with its data in raw_data. */
export function floatTensor(name: string, dims: number[], values?: number[]): Encodable<TensorProto> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from(values ?? Array.from({ length: n }, (_, i) => i / 10));
  return { name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) };
}

export function valueInfo(name: string, shape: (number | string)[], elemType = 1): Encodable<ValueInfoProto> {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** y = x @ w: one MatMul, a dynamic axis, opset 14. */
export function matmulModel(): ModelSpec {
  return {
    irVersion: 8,
    producerName: 'lstm-wasm tests',
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'matmul',
      input: [valueInfo('x', ['T', 3])],
      output: [valueInfo('y', ['T', 3])],
      initializer: [floatTensor('w', [3, 3])],
      node: [{ name: 'mm', opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
    },
  };
}

export function encodeModel(model: ModelSpec): Uint8Array {
  return onnxProto.ModelProto.encode(model).finish();
}

// Raw protobuf, for bytes the encoder would not write.
export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2). */
export function lengthDelimited(field: number, payload: ArrayLike<number>): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...Array.from(payload)];
}

/**
 * A model whose graph's first node has an If whose then_branch holds a graph whose first node has
 * an If... `depth` levels, built inside out without recursion (the bytes of each level wrap the
 * next: a graph is field 1 (node) of a node, field 5 (attribute) {name, type GRAPH, g} of ...).
 */
export function nestedIfModel(depth: number): Uint8Array {
  const head = Array.from(encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }] }));
  // Sizes first, innermost to outermost, so that each level's bytes are written once.
  const attrName = lengthDelimited(1, new TextEncoder().encode('then_branch'));
  const attrType = [...varint((20 << 3) | 0), 5];
  const opType = lengthDelimited(4, new TextEncoder().encode('If'));
  const graphSize: number[] = [0]; // graphSize[k]: bytes of the graph at level k from the inside (0: empty)
  const parts = (inner: number) => {
    const attribute = attrName.length + attrType.length + 1 + varint(inner).length + inner; // field 6 (g), its length, the graph
    const node = opType.length + 1 + varint(attribute).length + attribute; // field 5 (attribute)
    return { attribute, node, graph: 1 + varint(node).length + node }; // field 1 (node)
  };
  for (let k = 1; k <= depth; k++) graphSize.push(parts(graphSize[k - 1]).graph);
  const out: number[] = [...head, ...varint((7 << 3) | 2), ...varint(graphSize[depth])];
  for (let k = depth; k >= 1; k--) {
    const p = parts(graphSize[k - 1]);
    out.push(...varint((1 << 3) | 2), ...varint(p.node), ...opType, ...varint((5 << 3) | 2), ...varint(p.attribute), ...attrName, ...attrType, ...varint((6 << 3) | 2), ...varint(graphSize[k - 1]));
  }
  return Uint8Array.from(out);
}
