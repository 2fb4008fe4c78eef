/**
 * ONNX's recurrent nodes (LSTM, GRU, RNN) on this library's `nn.LSTM` / `nn.GRU` / `nn.RNN`: one
 * single-layer module per node, its weights loaded once at load from the node's constant W, R, B.
 *
 * ONNX, with D = num_directions (2 if bidirectional) and G gate blocks of H rows each:
 *   W (D, G*H, I), R (D, G*H, H), B (D, 2*G*H) = [Wb, Rb]; row d = 0 forward, 1 reverse.
 *   LSTM gates i, o, f, c (G=4); GRU z, r, h (G=3); RNN one block (G=1).
 * PyTorch (here): weight_ih_l0[_reverse] (G*H, I), weight_hh_l0 (G*H, H), bias_ih_l0, bias_hh_l0,
 *   LSTM gates i, f, g, o; GRU r, z, n. GRU's n is ONNX's h with linear_before_reset = 1 (the
 *   reset gate applied after R·h + Rb), which is what torch.onnx.export writes; the ONNX default 0
 *   is another formula and is refused.
 * Shapes: layout 0: X (T, B, I), Y (T, D, B, H), Y_h / Y_c / initial_h / initial_c (D, B, H).
 *   layout 1: X (B, T, I), Y (B, T, D, H), states (B, D, H).
 * sequence_lens is this library's `lengths`: Y is 0 past each length, Y_h is the state at each
 * sequence's last valid step, and the reverse direction starts at that step.
 * A reverse-only node runs as a bidirectional module whose forward half has zero weights and
 * whose reverse half is the node (the library has no reverse-only module); its outputs are the
 * reverse half.
 * Not implemented (refused at load): clip, activation_alpha/beta, activations other than the
 * defaults (RNN: Tanh or Relu, the same in both directions), LSTM input_forget and peepholes (P),
 * GRU linear_before_reset = 0, W/R/B computed by the graph.
 */
import { Generator, ValueError, concat, nn, permute, reshape, slice, zeros, type Tensor } from 'lstm-wasm';
import type { OnnxNode } from './model';
import type { OnnxUnsupported } from './errors';
import { floats, ints, type Value } from './values';
import { nodeLabel } from './kernels';

export type RecurrentOp = 'LSTM' | 'GRU' | 'RNN';

interface RecurrentSpec {
  /** Gate blocks per W row. */
  gates: number;
  /** For each PyTorch gate block, the ONNX block it comes from. */
  onnxBlockOfTorch: readonly number[];
  /** One direction's default activations. */
  activations: readonly string[];
}

const SPECS: Readonly<Record<RecurrentOp, RecurrentSpec>> = {
  LSTM: { gates: 4, onnxBlockOfTorch: [0, 2, 3, 1], activations: ['Sigmoid', 'Tanh', 'Tanh'] },
  GRU: { gates: 3, onnxBlockOfTorch: [1, 0, 2], activations: ['Sigmoid', 'Tanh'] },
  RNN: { gates: 1, onnxBlockOfTorch: [0], activations: ['Tanh'] },
};

export const isRecurrentOp = (op: string): op is RecurrentOp => op in SPECS;

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'];

export interface RecurrentNode {
  run(inputs: (Value | null)[]): Value[];
  dispose(): void;
}

const directionOf = (node: OnnxNode): string => (node.attributes.direction as string | undefined) ?? 'forward';
const numDirections = (node: OnnxNode): number => (directionOf(node) === 'bidirectional' ? 2 : 1);

/** RNN's activation ('tanh' | 'relu') if its `activations` are one of them in every direction, else null. */
function rnnNonlinearity(node: OnnxNode): 'tanh' | 'relu' | null {
  const acts = (node.attributes.activations as string[] | undefined) ?? ['Tanh'];
  const first = acts[0];
  if (!acts.every((a) => a === first)) return null;
  return first === 'Tanh' ? 'tanh' : first === 'Relu' ? 'relu' : null;
}

/** What of `node` this runtime does not implement, as `OnnxUnsupported` entries (none: it runs). */
export function recurrentUnsupported(node: OnnxNode, isConstant: (name: string) => boolean): OnnxUnsupported[] {
  const op = node.opType as RecurrentOp;
  const spec = SPECS[op];
  const a = node.attributes;
  const found: string[] = [];
  const direction = directionOf(node);
  if (!DIRECTIONS.includes(direction)) found.push(`direction = ${direction} (forward, reverse or bidirectional)`);
  if (a.layout !== undefined && a.layout !== 0 && a.layout !== 1) found.push(`layout = ${String(a.layout)} (0 or 1)`);
  if (a.activations !== undefined) {
    const acts = a.activations as string[];
    if (op === 'RNN') {
      if (rnnNonlinearity(node) === null) found.push(`activations = ${acts.join(', ')} (Tanh or Relu, the same in each direction)`);
    } else {
      const want = numDirections(node) === 2 ? [...spec.activations, ...spec.activations] : spec.activations;
      if (acts.join() !== want.join()) found.push(`activations = ${acts.join(', ')} (${want.join(', ')} only)`);
    }
  }
  for (const name of ['activation_alpha', 'activation_beta', 'clip']) if (a[name] !== undefined) found.push(`attribute ${name}`);
  if (op === 'LSTM' && a.input_forget !== undefined && a.input_forget !== 0) found.push('input_forget = 1');
  if (op === 'LSTM' && (node.inputs[7] ?? '') !== '') found.push('input P (peepholes)');
  if (op === 'GRU' && (a.linear_before_reset ?? 0) !== 1) {
    found.push('linear_before_reset=0 (the ONNX default; PyTorch exports 1) is not supported yet');
  }
  if (typeof a.hidden_size !== 'number') found.push('a missing hidden_size');
  node.inputs.slice(1, 4).forEach((name, i) => {
    if (name !== '' && !isConstant(name)) found.push(`${['W', 'R', 'B'][i]} '${name}' computed by the graph (an initializer or Constant is required)`);
  });
  return found.map((what) => ({ op, node: node.name, what }));
}

/** Gate blocks of a row-major (G*H, cols) matrix, ONNX order to PyTorch's. */
function torchBlocks(onnx: Float32Array, spec: RecurrentSpec, H: number, cols: number): Float32Array {
  const out = new Float32Array(spec.gates * H * cols);
  const block = H * cols;
  spec.onnxBlockOfTorch.forEach((from, to) => out.set(onnx.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

/** The node as an `nn.LSTM` / `nn.GRU` / `nn.RNN` (weights copied from W, R, B now); `constant(name)` gives a constant input's tensor. */
export function recurrentNode(node: OnnxNode, constant: (name: string) => Tensor): RecurrentNode {
  const op = node.opType as RecurrentOp;
  const spec = SPECS[op];
  const what = nodeLabel(node);
  const G = spec.gates;
  const H = node.attributes.hidden_size as number;
  const D = numDirections(node);
  const reverseOnly = directionOf(node) === 'reverse';
  const batchFirst = node.attributes.layout === 1;
  const W = constant(node.inputs[1]!);
  const R = constant(node.inputs[2]!);
  const I = W.shape[2]!;
  const expect = (t: Tensor, name: string, shape: number[]) => {
    if (t.shape.join() !== shape.join()) throw new ValueError(`${what}: ${name} is ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)} (hidden_size=${H}, ${D} direction(s))`);
  };
  expect(W, 'W', [D, G * H, I]);
  expect(R, 'R', [D, G * H, H]);
  const bName = node.inputs[3] ?? '';
  const B = bName === '' ? null : constant(bName);
  if (B !== null) expect(B, 'B', [D, 2 * G * H]);
  const w = W.toArray() as Float32Array;
  const r = R.toArray() as Float32Array;
  const b = B === null ? new Float32Array(D * 2 * G * H) : (B.toArray() as Float32Array);

  // The module's directions: a reverse-only node is the reverse half of a bidirectional module.
  const bidirectional = D === 2 || reverseOnly;
  // Its own generator: building it draws an init that is overwritten, and must not move the global one.
  const options = { bidirectional, batchFirst, generator: new Generator(0) };
  const module =
    op === 'LSTM' ? new nn.LSTM(I, H, options)
    : op === 'GRU' ? new nn.GRU(I, H, options)
    : new nn.RNN(I, H, { ...options, nonlinearity: rnnNonlinearity(node)! });
  module.eval();
  const dict: Record<string, { shape: number[]; data: Float32Array }> = {};
  const rows = G * H;
  const direction = (d: number, sfx: string) => {
    dict[`weight_ih_l0${sfx}`] = { shape: [rows, I], data: torchBlocks(w.subarray(d * rows * I, (d + 1) * rows * I), spec, H, I) };
    dict[`weight_hh_l0${sfx}`] = { shape: [rows, H], data: torchBlocks(r.subarray(d * rows * H, (d + 1) * rows * H), spec, H, H) };
    const bd = b.subarray(d * 2 * rows, (d + 1) * 2 * rows);
    dict[`bias_ih_l0${sfx}`] = { shape: [rows], data: torchBlocks(bd.subarray(0, rows), spec, H, 1) };
    dict[`bias_hh_l0${sfx}`] = { shape: [rows], data: torchBlocks(bd.subarray(rows), spec, H, 1) };
  };
  if (reverseOnly) {
    dict.weight_ih_l0 = { shape: [rows, I], data: new Float32Array(rows * I) };
    dict.weight_hh_l0 = { shape: [rows, H], data: new Float32Array(rows * H) };
    dict.bias_ih_l0 = { shape: [rows], data: new Float32Array(rows) };
    dict.bias_hh_l0 = { shape: [rows], data: new Float32Array(rows) };
    direction(0, '_reverse');
  } else {
    direction(0, '');
    if (D === 2) direction(1, '_reverse');
  }
  module.loadStateDict(dict);

  return {
    run(inputs) {
      const x = floats(inputs[0] ?? null, `${what} X`);
      const batch = x.shape[batchFirst ? 0 : 1]!;
      const lens = inputs[4] ? ints(inputs[4], `${what} sequence_lens`).data : undefined;
      // A state in: (D, B, H) for the module, from the node's layout; a reverse-only node's gets a zero forward half.
      const stateIn = (v: Value | null | undefined, name: string): Tensor | null => {
        if (v === null || v === undefined) return null;
        let s = floats(v, `${what} ${name}`);
        if (batchFirst) s = permute(s, [1, 0, 2]);
        return reverseOnly ? concat([zeros([1, batch, H]), s], 0) : s;
      };
      // A state out: the module's (D', B, H) as the node's.
      const stateOut = (s: Tensor): Tensor => {
        const own = reverseOnly ? slice(s, 0, 1, 2) : s;
        return batchFirst ? permute(own, [1, 0, 2]) : own;
      };
      const h0 = stateIn(inputs[5], 'initial_h');
      const forwardOptions = lens === undefined ? {} : { lengths: lens };
      let output: Tensor;
      const states: Tensor[] = [];
      if (module instanceof nn.LSTM) {
        const c0 = stateIn(inputs[6], 'initial_c');
        const zero = (): Tensor => zeros([bidirectional ? 2 : 1, batch, H]);
        const hx: [Tensor, Tensor] | null = h0 === null && c0 === null ? null : [h0 ?? zero(), c0 ?? zero()];
        const res = module.forward(x, hx, forwardOptions);
        output = res.output;
        states.push(res.hN, res.cN);
      } else {
        const res = (module as nn.GRU | nn.RNN).forward(x, h0, forwardOptions);
        output = res.output;
        states.push(res.hN);
      }
      // output is (T, B, D'*H), or (B, T, D'*H) batch-first.
      if (reverseOnly) output = slice(output, 2, H, 2 * H);
      const [n0, n1] = output.shape as [number, number, number];
      const y = batchFirst ? reshape(output, [n0, n1, D, H]) : permute(reshape(output, [n0, n1, D, H]), [0, 2, 1, 3]);
      return [y, ...states.map(stateOut)];
    },
    dispose: () => module.dispose(),
  };
}
