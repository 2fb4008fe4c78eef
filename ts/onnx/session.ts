/**
 * `loadOnnx`: an ONNX model as a session that runs it, as onnxruntime's `InferenceSession`
 * (`inputNames`, `outputNames`, `run(feeds)`), on lstm-wasm's kernels. Everything that can be
 * decided from the file is decided at load: unsupported operators and attributes are refused then,
 * in one error; initializers and Constant nodes become values once; each LSTM, GRU or RNN node
 * becomes an `nn.LSTM` / `nn.GRU` / `nn.RNN` with its weights loaded (./recurrent-node.ts). `run` then walks the nodes in their topological order.
 *
 * Ownership: the session owns the tensors it made at load until `dispose()`; `run` returns new
 * tensors the caller owns (dispose them, or run inside `tidy`), and frees every intermediate.
 */
import { DTypeError, DisposedError, ShapeError, ValueError, keep, noGrad, tensor, tidy, type Tensor } from 'lstm-wasm';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './model';
import { readOnnx } from './read';
import { opKey, unsupportedOps } from './ops';
import { OnnxUnsupportedError, type OnnxUnsupported } from './errors';
import { KERNELS, kernelUnsupported, nodeLabel } from './kernels';
import { isRecurrentOp, recurrentNode, recurrentUnsupported } from './recurrent-node';
import { constantValue, int32At, isTensor, product, type Value } from './values';

/**
 * One input to `run`: an lstm-wasm tensor (float32, or int32 for an int64/int32 input; it stays
 * the caller's), or data with its shape as onnxruntime's `Tensor` carries them
 * (`{ data: BigInt64Array.from([1n, 2n]), dims: [2, 1] }`).
 */
export type OnnxInput = Tensor | { data: Float32Array | Int32Array | BigInt64Array; dims: readonly number[] };

/** Every operator this runtime runs (LSTM, GRU, RNN within the limits of ./recurrent-node.ts; some others within their attributes' limits, see kernelUnsupported). */
export const SUPPORTED_OPS: ReadonlySet<string> = new Set([...Object.keys(KERNELS), 'Constant', 'LSTM', 'GRU', 'RNN']);

const FLOAT_INPUT = new Set(['float32']);
const INT_INPUT = new Set(['int64', 'int32']);

/** A node as `run` executes it. */
interface Step {
  node: OnnxNode;
  run(inputs: (Value | null)[]): Value[];
}

export class OnnxSession {
  /** The graph inputs `run` needs, in the file's order (initializers listed as inputs excluded). */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly inputs: readonly OnnxValueInfo[];
  private readonly constants: Map<string, Value>;
  private readonly steps: readonly Step[];
  private readonly owned: { dispose(): void }[];
  private disposed = false;

  /** @internal Use `loadOnnx`. */
  constructor(model: OnnxModel, constants: Map<string, Value>, steps: Step[], owned: { dispose(): void }[]) {
    const g = model.graph;
    this.inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
    this.inputNames = this.inputs.map((i) => i.name);
    this.outputNames = g.outputs.map((o) => o.name);
    this.constants = constants;
    this.steps = steps;
    this.owned = owned;
  }

  /**
   * Runs the graph on `feeds` (one entry per input name) and returns every output by name, as new
   * tensors the caller owns: float32, or int32 for an integer output. Inputs are checked first:
   * an unknown or missing name is a ValueError, the wrong kind of data a DTypeError, a shape that
   * contradicts the file (rank, a fixed size, a named axis sized two ways) a ShapeError.
   */
  run(feeds: Record<string, OnnxInput>): Record<string, Tensor> {
    if (this.disposed) throw new DisposedError('OnnxSession.run: this session was disposed');
    if (typeof feeds !== 'object' || feeds === null) throw new ValueError(`OnnxSession.run: feeds must be an object by input name (${this.inputNames.join(', ')})`);
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) throw new ValueError(`OnnxSession.run: unknown input '${name}'; the inputs are ${this.inputNames.join(', ')}`);
    }
    const axes = new Map<string, [number, string]>();
    return noGrad(() =>
      tidy(() => {
        const values = new Map<string, Value>(this.constants);
        for (const info of this.inputs) {
          if (!(info.name in feeds)) throw new ValueError(`OnnxSession.run: input '${info.name}' is missing; the inputs are ${this.inputNames.join(', ')}`);
          values.set(info.name, inputValue(info, feeds[info.name]!, axes));
        }
        for (const step of this.steps) {
          const ins = step.node.inputs.map((n) => (n === '' ? null : values.get(n) ?? null));
          const outs = step.run(ins);
          step.node.outputs.forEach((name, i) => {
            if (name !== '' && outs[i] !== undefined) values.set(name, outs[i]!);
          });
        }
        const result: Record<string, Tensor> = {};
        for (const name of this.outputNames) {
          const v = values.get(name);
          if (v === undefined) throw new ValueError(`OnnxSession.run: no node computes output '${name}'`);
          // A new tensor always: never one of the caller's inputs or the session's constants.
          if (!isTensor(v)) result[name] = tensor(Int32Array.from(v.data, (d) => int32At(d, `OnnxSession.run: output '${name}'`)), [...v.dims]);
          else result[name] = this.owned.includes(v) || Object.values(feeds).includes(v) ? v.clone() : v;
        }
        return result;
      }),
    );
  }

  /** Frees what the session made at load (its initializers, constants and recurrent modules' weights). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const o of this.owned) o.dispose();
  }
}

/** A feed checked against its graph input, as a Value. `axes` records the named axes' sizes seen so far. */
function inputValue(info: OnnxValueInfo, feed: OnnxInput, axes: Map<string, [number, string]>): Value {
  const what = `OnnxSession.run: input '${info.name}'`;
  const isInt = INT_INPUT.has(info.elemType);
  if (!isInt && !FLOAT_INPUT.has(info.elemType)) throw new DTypeError(`${what} is ${info.elemType}; this runtime takes float32 and int64/int32 inputs`);
  const asTensor = typeof feed === 'object' && feed !== null && 'dtype' in feed && 'shape' in feed;
  const dims: readonly number[] = asTensor ? (feed as Tensor).shape : (feed as { dims: readonly number[] })?.dims;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ValueError(`${what}: expected an lstm-wasm Tensor or { data, dims } with dims an array of sizes`);
  }
  const kind = asTensor ? `${(feed as Tensor).dtype} tensor` : (feed as { data: unknown }).data?.constructor?.name ?? typeof (feed as { data: unknown }).data;
  const accepted = isInt ? ['int32 tensor', 'Int32Array', 'BigInt64Array'] : ['float32 tensor', 'Float32Array'];
  if (!accepted.includes(kind)) throw new DTypeError(`${what} is ${info.elemType}: expected ${accepted.join(', ')}, got ${kind}`);
  checkShape(what, info, dims, axes);
  if (asTensor) {
    const t = feed as Tensor;
    return isInt ? { dims: [...dims], data: Array.from(t.toArray()) } : t;
  }
  const data = (feed as { data: Float32Array | Int32Array | BigInt64Array }).data;
  if (data.length !== product(dims)) throw new ShapeError(`${what}: data has ${data.length} elements, dims ${JSON.stringify(dims)} need ${product(dims)}`);
  if (!isInt) return tensor(data as Float32Array, [...dims]);
  return { dims: [...dims], data: Array.from(data as ArrayLike<number | bigint>, (v) => int32At(Number(v), `${what} element`)) };
}

function checkShape(what: string, info: OnnxValueInfo, dims: readonly number[], axes: Map<string, [number, string]>): void {
  const want = info.shape;
  if (want === null) return;
  const shown = `(${want.map((d) => d ?? '?').join(', ')})`;
  if (dims.length !== want.length) throw new ShapeError(`${what} has shape ${JSON.stringify(dims)}, expected rank ${want.length} ${shown}`);
  want.forEach((w, i) => {
    const d = dims[i]!;
    if (typeof w === 'number' && w !== d) throw new ShapeError(`${what} has shape ${JSON.stringify(dims)}, expected ${shown}: dim ${i} must be ${w}`);
    if (typeof w === 'string') {
      const seen = axes.get(w);
      if (seen !== undefined && seen[0] !== d) throw new ShapeError(`${what} has ${w} = ${d} (dim ${i}), but ${seen[1]} gave ${w} = ${seen[0]}`);
      axes.set(w, [d, `input '${info.name}'`]);
    }
  });
}

export interface LoadOnnxOptions {}

/**
 * Reads an ONNX model (`readOnnx`) and prepares it to run. A model with an operator outside
 * `SUPPORTED_OPS`, or a recurrent node or attribute this runtime does not implement, is an `OnnxUnsupportedError` listing
 * every one with its node. Needs `await init()` first (it makes tensors).
 */
export function loadOnnx(bytes: Uint8Array, options: LoadOnnxOptions = {}): OnnxSession {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValueError(`loadOnnx: options must be an object (none are defined yet: pass {} or nothing), got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const keys = Object.keys(options);
  if (keys.length > 0) throw new ValueError(`loadOnnx: unknown option(s) ${keys.map((k) => `'${k}'`).join(', ')}; none are defined yet`);
  const model = readOnnx(bytes);
  const g = model.graph;
  const constantNames = new Set([...g.initializers.keys(), ...g.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs)]);
  const unsupported: OnnxUnsupported[] = unsupportedOps(model, SUPPORTED_OPS).map((u) => ({ op: u.op, node: u.node, what: 'the operator' }));
  for (const n of g.nodes) {
    const key = opKey(n.opType, n.domain);
    if (isRecurrentOp(key)) unsupported.push(...recurrentUnsupported(n, (name) => constantNames.has(name)));
    else if (key in KERNELS) unsupported.push(...kernelUnsupported(n));
  }
  if (unsupported.length > 0) throw new OnnxUnsupportedError(unsupported);

  const constants = new Map<string, Value>();
  const owned: { dispose(): void }[] = [];
  const own = (v: Value): Value => {
    if (isTensor(v)) owned.push(v);
    return v;
  };
  const steps: Step[] = [];
  try {
    for (const [name, t] of g.initializers) constants.set(name, own(constantValue(t, `initializer '${name}'`)));
    for (const node of g.nodes) {
      if (node.opType === 'Constant') {
        constants.set(node.outputs[0]!, own(constantOf(node)));
      } else if (isRecurrentOp(node.opType)) {
        const rnn = recurrentNode(node, (name) => {
          const v = constants.get(name);
          if (v === undefined || !isTensor(v)) throw new DTypeError(`${nodeLabel(node)}: '${name}' must be a float32 constant`);
          return v;
        });
        owned.push(rnn);
        steps.push({ node, run: (inputs) => rnn.run(inputs) });
      } else {
        const kernel = KERNELS[node.opType]!;
        steps.push({ node, run: (inputs) => kernel(inputs, node, model.opset) });
      }
    }
  } catch (e) {
    for (const o of owned) o.dispose();
    throw e;
  }
  return new OnnxSession(model, constants, steps, owned);
}

/** A Constant node's value (value, value_float(s), value_int(s)). */
function constantOf(node: OnnxNode): Value {
  const a = node.attributes;
  const where = `${nodeLabel(node)} value`;
  if (a.value !== undefined && typeof a.value === 'object' && 'dataType' in a.value) return constantValue(a.value, where);
  if (typeof a.value_float === 'number') return keep(tensor(new Float32Array([a.value_float]), []));
  if (Array.isArray(a.value_floats)) return keep(tensor(Float32Array.from(a.value_floats as number[]), [a.value_floats.length]));
  if (typeof a.value_int === 'number') return { dims: [], data: [a.value_int] };
  if (Array.isArray(a.value_ints)) return { dims: [a.value_ints.length], data: [...(a.value_ints as number[])] };
  throw new ValueError(`${where}: a Constant with ${Object.keys(a).join(', ') || 'no attribute'} is not supported (value, value_float(s), value_int(s))`);
}
