// A minimal ONNX model writer: a protobuf encoder for the few onnx.proto messages a graph needs,
// and the graphs of the benchmark (W2 one-token step, float32 or with int8 LSTM weights; W3 one
// LSTM layer; SGEMM). Field numbers are onnx.proto's (ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto);
// opset 14 (plus opset 1 of onnxruntime's contrib domain `com.microsoft` where a graph uses one of
// its ops), IR version 7.
import { gatesToOnnx, transpose2d } from './workloads.mjs';

// ---- protobuf wire format: (field << 3 | wire type), varints, length-delimited bytes ----------

class Writer {
  constructor() {
    this.chunks = [];
  }
  bytes() {
    return Buffer.concat(this.chunks);
  }
  raw(buf) {
    this.chunks.push(buf);
    return this;
  }
  varint(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      out.push(b);
    } while (n !== 0n);
    return this.raw(Buffer.from(out));
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, v) {
    return this.tag(field, 0).varint(v);
  }
  float(field, v) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return this.tag(field, 5).raw(b);
  }
  /** Length-delimited: a string, raw bytes, or a nested message (a Writer). */
  bytesField(field, v) {
    const buf = v instanceof Writer ? v.bytes() : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return this.tag(field, 2).varint(buf.length).raw(buf);
  }
}

const msg = () => new Writer();

// ---- onnx.proto messages ---------------------------------------------------------------------

const DataType = { FLOAT: 1, INT8: 3, INT32: 6, INT64: 7 };
/** onnxruntime's contrib-op domain (DynamicQuantizeLSTM lives there), operator set version 1. */
const MS_DOMAIN = 'com.microsoft';
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7, STRINGS: 8 };

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian). */
function tensorProto(name, dims, data) {
  const t = msg();
  for (const d of dims) t.int(1, d);
  const type = data instanceof Float32Array ? DataType.FLOAT
    : data instanceof BigInt64Array ? DataType.INT64
      : data instanceof Int8Array ? DataType.INT8
        : data instanceof Int32Array ? DataType.INT32
          : null;
  if (type === null) throw new Error(`tensorProto ${name}: unsupported data type ${data?.constructor?.name}`);
  t.int(2, type).bytesField(8, name).bytesField(9, data);
  return t;
}

/** ValueInfoProto: name=1, type=2 -> TypeProto.tensor_type=1 -> elem_type=1, shape=2 -> dim=1 -> dim_value=1 | dim_param=2. */
function valueInfo(name, elemType, dims) {
  const shape = msg();
  for (const d of dims) shape.bytesField(1, typeof d === 'number' ? msg().int(1, d) : msg().bytesField(2, d));
  const tensorType = msg().int(1, elemType).bytesField(2, shape);
  return msg().bytesField(1, name).bytesField(2, msg().bytesField(1, tensorType));
}

/** AttributeProto: name=1, f=2, i=3, s=4, ints=8, strings=9, type=20. */
function attribute(name, value) {
  const a = msg().bytesField(1, name);
  if (typeof value === 'string') return a.bytesField(4, value).int(20, AttrType.STRING);
  if (Array.isArray(value) && typeof value[0] === 'string') {
    for (const s of value) a.bytesField(9, s);
    return a.int(20, AttrType.STRINGS);
  }
  if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    return a.int(20, AttrType.INTS);
  }
  if (Number.isInteger(value)) return a.int(3, value).int(20, AttrType.INT);
  return a.float(2, value).int(20, AttrType.FLOAT);
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7 (omitted: the default ONNX domain). */
function node(opType, inputs, outputs, attrs = {}, domain = '') {
  const n = msg();
  for (const i of inputs) n.bytesField(1, i);
  for (const o of outputs) n.bytesField(2, o);
  n.bytesField(3, `${opType}_${outputs[0]}`).bytesField(4, opType);
  for (const [k, v] of Object.entries(attrs)) n.bytesField(5, attribute(k, v));
  if (domain) n.bytesField(7, domain);
  return n;
}

/**
 * ModelProto (ir_version=1, producer_name=2, graph=7, opset_import=8) around a GraphProto (node=1,
 * name=2, initializer=5, input=11, output=12). `inputs`/`outputs` are [name, elemType, dims].
 * `opsets`: [domain, version] pairs, each an OperatorSetIdProto (domain=1, version=2).
 */
function model({ nodes, initializers, inputs, outputs, name, opsets = [['', 14]] }) {
  const g = msg();
  for (const n of nodes) g.bytesField(1, n);
  g.bytesField(2, name);
  for (const [n, dims, data] of initializers) g.bytesField(5, tensorProto(n, dims, data));
  for (const [n, t, d] of inputs) g.bytesField(11, valueInfo(n, t, d));
  for (const [n, t, d] of outputs) g.bytesField(12, valueInfo(n, t, d));
  const m = msg().int(1, 7).bytesField(2, 'lstm-wasm-bench').bytesField(7, g);
  for (const [domain, version] of opsets) m.bytesField(8, msg().bytesField(1, domain).int(2, version));
  return m.bytes();
}

// ---- the benchmark graphs -------------------------------------------------------------------

/** ONNX LSTM's bias B (8H) = [Wb, Rb] of layer `l`, gate blocks reordered i,f,g,o -> i,o,f,c. */
function lstmBias(w, l, H) {
  const b = new Float32Array(8 * H);
  b.set(gatesToOnnx(w[`bias_ih_l${l}`].data, H, 1), 0);
  b.set(gatesToOnnx(w[`bias_hh_l${l}`].data, H, 1), 4 * H);
  return b;
}

/**
 * ONNX LSTM inputs for PyTorch-layout weights of layer `l`: W (1, 4H, in), R (1, 4H, H) with gate
 * blocks reordered i,f,g,o -> i,o,f,c, and B (1, 8H) = [Wb, Rb] reordered the same way.
 */
function lstmInitializers(w, l, prefix) {
  const [G, I] = w[`weight_ih_l${l}`].shape;
  const H = G / 4;
  return [
    [`${prefix}W`, [1, G, I], gatesToOnnx(w[`weight_ih_l${l}`].data, H, I)],
    [`${prefix}R`, [1, G, H], gatesToOnnx(w[`weight_hh_l${l}`].data, H, H)],
    [`${prefix}B`, [1, 2 * G], lstmBias(w, l, H)],
  ];
}

/**
 * Symmetric int8 quantization of a (rows, cols) row-major matrix, one scale per row: scale =
 * max|w| / 127, q = round(w / scale) clamped to [-127, 127], zero point 0 (onnxruntime's
 * `quantize_dynamic` with per_channel=True does the same to an LSTM's W and R: axis 0 of (4H, in),
 * that is one scale per gate row). Returns { q: Int8Array (rows, cols), scale: Float32Array (rows) }.
 */
export function quantizeRowsInt8(data, rows, cols) {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(data[r * cols + c]));
    const s = max > 0 ? max / 127 : 1;
    scale[r] = s;
    const sf = scale[r]; // the float32 value the runtime multiplies by
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c] / sf;
      q[r * cols + c] = Math.max(-127, Math.min(127, Math.sign(v) * Math.round(Math.abs(v))));
    }
  }
  return { q, scale };
}

/** (rows, cols) -> (cols, rows) of any typed array. */
function transposeTyped(data, rows, cols) {
  const out = new data.constructor(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * The int8 inputs of onnxruntime's `com.microsoft.DynamicQuantizeLSTM` for layer `l`, from
 * PyTorch-layout weights. The op keeps ONNX LSTM's gate order (i,o,f,c) and bias B (1, 8H) float,
 * but takes W and R transposed: W (1, in, 4H), R (1, H, 4H) int8, so a gate row of the ONNX
 * layout is a column here; per-channel scales W_scale/R_scale (1, 4H) float and zero points
 * W_zero_point/R_zero_point (1, 4H) int8, all 0 (the op requires 0 for signed weights). The input
 * x and the hidden state are quantized by the op itself, per call (uint8, dynamic range).
 */
function lstmInt8Initializers(w, l, prefix) {
  const [G, I] = w[`weight_ih_l${l}`].shape;
  const H = G / 4;
  const qw = quantizeRowsInt8(gatesToOnnx(w[`weight_ih_l${l}`].data, H, I), G, I);
  const qr = quantizeRowsInt8(gatesToOnnx(w[`weight_hh_l${l}`].data, H, H), G, H);
  return [
    [`${prefix}W`, [1, I, G], transposeTyped(qw.q, G, I)],
    [`${prefix}R`, [1, H, G], transposeTyped(qr.q, G, H)],
    [`${prefix}B`, [1, 2 * G], lstmBias(w, l, H)],
    [`${prefix}W_scale`, [1, G], qw.scale],
    [`${prefix}W_zero_point`, [1, G], new Int8Array(G)],
    [`${prefix}R_scale`, [1, G], qr.scale],
    [`${prefix}R_zero_point`, [1, G], new Int8Array(G)],
  ];
}

/**
 * W2: one token of the char model with the state in and out. Inputs: ids int64 (1, 1), h{l}/c{l}
 * float (1, 1, H) per layer. Outputs: logits (1, 1, V), h{l}_out/c{l}_out.
 * `int8: true` (the W2-int8 workload): each LSTM layer is onnxruntime's contrib op
 * `com.microsoft.DynamicQuantizeLSTM` with int8 weights (`lstmInt8Initializers`), as onnxruntime's
 * own dynamic quantization writes it; the embedding and the head stay float32.
 */
export function streamStepModel(weights, { V, E, H, L }, { int8 = false } = {}) {
  const initializers = [['embed', [V, E], weights.embed.weight.data], ['axes1', [1], BigInt64Array.of(1n)]];
  const nodes = [node('Gather', ['embed', 'ids'], ['x0'], { axis: 0 })]; // (1, 1, E): T=1, B=1
  const inputs = [['ids', DataType.INT64, [1, 1]]];
  const outputs = [['logits', DataType.FLOAT, [1, 1, V]]];
  let x = 'x0';
  for (let l = 0; l < L; l++) {
    const p = `l${l}_`;
    inputs.push([`h${l}`, DataType.FLOAT, [1, 1, H]], [`c${l}`, DataType.FLOAT, [1, 1, H]]);
    outputs.push([`h${l}_out`, DataType.FLOAT, [1, 1, H]], [`c${l}_out`, DataType.FLOAT, [1, 1, H]]);
    const lstmOut = [`y${l}`, `h${l}_out`, `c${l}_out`];
    if (int8) {
      // X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale, R_zero_point
      initializers.push(...lstmInt8Initializers(weights.lstm, l, p));
      const ins = [x, `${p}W`, `${p}R`, `${p}B`, '', `h${l}`, `c${l}`, '', `${p}W_scale`, `${p}W_zero_point`, `${p}R_scale`, `${p}R_zero_point`];
      nodes.push(node('DynamicQuantizeLSTM', ins, lstmOut, { hidden_size: H }, MS_DOMAIN));
    } else {
      initializers.push(...lstmInitializers(weights.lstm, l, p));
      nodes.push(node('LSTM', [x, `${p}W`, `${p}R`, `${p}B`, '', `h${l}`, `c${l}`], lstmOut, { hidden_size: H }));
    }
    nodes.push(node('Squeeze', [`y${l}`, 'axes1'], [`x${l + 1}`])); // Y (T, 1, B, H) -> (T, B, H)
    x = `x${l + 1}`;
  }
  initializers.push(['headWT', [H, V], transpose2d(weights.head.weight.data, V, H)], ['headB', [V], weights.head.bias.data]);
  nodes.push(node('MatMul', [x, 'headWT'], ['z']), node('Add', ['z', 'headB'], ['logits']));
  return model({
    name: int8 ? 'w2_stream_step_int8' : 'w2_stream_step', nodes, initializers, inputs, outputs,
    opsets: int8 ? [['', 14], [MS_DOMAIN, 1]] : [['', 14]],
  });
}

/** W3: one LSTM layer over x (T, B, I) -> y (T, B, H). */
export function forwardModel(weights, { I, H, T, B }) {
  return model({
    name: 'w3_forward',
    nodes: [node('LSTM', ['x', 'W', 'R', 'B'], ['y4'], { hidden_size: H }), node('Squeeze', ['y4', 'axes1'], ['y'])],
    initializers: [...lstmInitializers(weights, 0, ''), ['axes1', [1], BigInt64Array.of(1n)]],
    inputs: [['x', DataType.FLOAT, [T, B, I]]],
    outputs: [['y', DataType.FLOAT, [T, B, H]]],
  });
}

/** SGEMM: C (M, N) = A (M, K) B (K, N), both operands graph inputs. */
export function matmulModel([m, n, k]) {
  return model({
    name: 'sgemm',
    nodes: [node('MatMul', ['a', 'b'], ['c'])],
    initializers: [],
    inputs: [['a', DataType.FLOAT, [m, k]], ['b', DataType.FLOAT, [k, n]]],
    outputs: [['c', DataType.FLOAT, [m, n]]],
  });
}

