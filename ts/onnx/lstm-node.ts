/**
 * An ONNX LSTM node on this library's LSTM: one single-layer `nn.LSTM` per node, its weights
 * loaded once at load from the node's constant W, R, B.
 *
 * ONNX: W (1, 4H, I), R (1, 4H, H), B (1, 8H) = [Wb, Rb], gate blocks in the order i, o, f, c.
 * PyTorch (here): weight_ih_l0 (4H, I), weight_hh_l0 (4H, H), bias_ih_l0, bias_hh_l0 (4H), gate
 * blocks i, f, g, o; g is ONNX's c. Outputs: Y (T, 1, B, H), Y_h and Y_c (1, B, H).
 * This slice runs: direction forward, layout 0, default activations, no clip, no input_forget,
 * no sequence_lens, no peepholes (P); initial_h / initial_c optional (zeros when absent).
 */
import { Generator, ValueError, nn, unsqueeze, zeros, type Tensor } from 'lstm-wasm';
import type { OnnxNode } from './model';
import type { OnnxUnsupported } from './errors';
import { floats, type Value } from './values';
import { nodeLabel } from './kernels';

/** For each PyTorch gate block (i, f, g, o), the ONNX block it comes from (i, o, f, c). */
const ONNX_BLOCK_OF_TORCH = [0, 2, 3, 1] as const;

const DEFAULT_ACTIVATIONS = ['Sigmoid', 'Tanh', 'Tanh'];

export interface LstmNode {
  run(inputs: (Value | null)[]): Value[];
  dispose(): void;
}

/** What of `node` this runtime does not implement, as `OnnxUnsupported` entries (none: it runs). */
export function lstmUnsupported(node: OnnxNode, isConstant: (name: string) => boolean): OnnxUnsupported[] {
  const a = node.attributes;
  const found: string[] = [];
  if (a.direction !== undefined && a.direction !== 'forward') found.push(`direction = ${String(a.direction)} (forward only)`);
  if (a.layout !== undefined && a.layout !== 0) found.push(`layout = ${String(a.layout)} (0, time-major, only)`);
  if (a.activations !== undefined && (a.activations as string[]).join() !== DEFAULT_ACTIVATIONS.join()) {
    found.push(`activations = ${(a.activations as string[]).join(', ')} (${DEFAULT_ACTIVATIONS.join(', ')} only)`);
  }
  for (const name of ['activation_alpha', 'activation_beta', 'clip']) if (a[name] !== undefined) found.push(`attribute ${name}`);
  if (a.input_forget !== undefined && a.input_forget !== 0) found.push('input_forget = 1');
  if (typeof a.hidden_size !== 'number') found.push('a missing hidden_size');
  if ((node.inputs[4] ?? '') !== '') found.push('input sequence_lens');
  if ((node.inputs[7] ?? '') !== '') found.push('input P (peepholes)');
  node.inputs.slice(1, 4).forEach((name, i) => {
    if (name !== '' && !isConstant(name)) found.push(`${['W', 'R', 'B'][i]} '${name}' computed by the graph (an initializer or Constant is required)`);
  });
  return found.map((what) => ({ op: 'LSTM', node: node.name, what }));
}

/** Gate blocks of a row-major (4H, cols) matrix, ONNX order to PyTorch's. */
function torchBlocks(onnx: Float32Array, H: number, cols: number): Float32Array {
  const out = new Float32Array(4 * H * cols);
  const block = H * cols;
  ONNX_BLOCK_OF_TORCH.forEach((from, to) => out.set(onnx.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

/** The node as an `nn.LSTM` (its weights copied from W, R, B now); `constant(name)` gives a constant input's tensor. */
export function lstmNode(node: OnnxNode, constant: (name: string) => Tensor): LstmNode {
  const what = nodeLabel(node);
  const H = node.attributes.hidden_size as number;
  const W = constant(node.inputs[1]!);
  const R = constant(node.inputs[2]!);
  const I = W.shape[2]!;
  const expect = (t: Tensor, name: string, shape: number[]) => {
    if (t.shape.join() !== shape.join()) throw new ValueError(`${what}: ${name} is ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)} (hidden_size=${H})`);
  };
  expect(W, 'W', [1, 4 * H, I]);
  expect(R, 'R', [1, 4 * H, H]);
  const bName = node.inputs[3] ?? '';
  const B = bName === '' ? null : constant(bName);
  if (B !== null) expect(B, 'B', [1, 8 * H]);
  const b = B === null ? new Float32Array(8 * H) : (B.toArray() as Float32Array);
  // Its own generator: building it draws an init that is overwritten, and must not move the global one.
  const lstm = new nn.LSTM(I, H, { generator: new Generator(0) }).eval();
  lstm.loadStateDict({
    weight_ih_l0: { shape: [4 * H, I], data: torchBlocks(W.toArray() as Float32Array, H, I) },
    weight_hh_l0: { shape: [4 * H, H], data: torchBlocks(R.toArray() as Float32Array, H, H) },
    bias_ih_l0: { shape: [4 * H], data: torchBlocks(b.subarray(0, 4 * H), H, 1) },
    bias_hh_l0: { shape: [4 * H], data: torchBlocks(b.subarray(4 * H), H, 1) },
  });
  return {
    run(inputs) {
      const x = floats(inputs[0] ?? null, `${what} X`);
      const h0 = inputs[5] ? floats(inputs[5], `${what} initial_h`) : null;
      const c0 = inputs[6] ? floats(inputs[6], `${what} initial_c`) : null;
      const state = (t: Tensor | null): Tensor => t ?? zeros([1, x.shape[1]!, H]);
      const hx: [Tensor, Tensor] | null = h0 === null && c0 === null ? null : [state(h0), state(c0)];
      const { output, hN, cN } = lstm.forward(x, hx);
      return [unsqueeze(output, 1), hN, cN];
    },
    dispose: () => lstm.dispose(),
  };
}
