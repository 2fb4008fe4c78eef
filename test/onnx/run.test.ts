/**
 * loadOnnx runs the torch.onnx.export fixtures as onnxruntime does (issue 25, first slice):
 * lm_lstm2 (Embedding -> 2-layer LSTM -> Linear) at opsets 14, 17 and 9 (Squeeze/Unsqueeze/Slice in
 * their attribute forms) and lstm_state_io (h0/c0 in, hN/cN out). Method: every recorded case of
 * test/fixtures/onnx/expected.json, inputs as recorded, every output against onnxruntime's (`ort`),
 * elementwise after Math.fround, within TOLERANCE = 1e-5 (measured: at most 1.2e-7, float32
 * summation order). call2 of lstm_state_io is fed the hN/cN this runtime computed for call1, as
 * lstm-wasm tensors. gru_bidir_classifier (batch-first bidirectional GRU, linear_before_reset=1,
 * Transpose/Reshape/Gemm/LogSoftmax) and rnn_relu_bidir_seq_lens (bidirectional Relu RNN with
 * sequence_lens through a Cast) and rnn_seq_lens (unsorted lengths: TopK, Gather along the batch,
 * ScatterElements for the inverse order) the same way. Then: a model with an operator outside the
 * set and a GRU with linear_before_reset=0 are refused at load, wrong feeds are typed errors, and
 * no tensor outlives run() and dispose().
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, DisposedError, ShapeError, ValueError, init, memory, tensor, type Tensor } from 'lstm-wasm';
import { loadOnnx, OnnxUnsupportedError, type OnnxInput, type OnnxSession } from 'lstm-wasm/onnx';
import { fixturesDir } from '../nn/fixture-helpers';
import { encodeModel, floatTensor, valueInfo } from './helpers';

const TOLERANCE = 1e-5;
const dir = `${fixturesDir}onnx/`;

interface FixtureTensor {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  inputs: Record<string, FixtureTensor>;
  torch: Record<string, FixtureTensor>;
  ort: Record<string, Record<string, FixtureTensor>>;
}
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as {
  models: Record<string, { inputNames: string[]; outputNames: string[]; files: { file: string; graphInputs: { name: string; elemType: string }[] }[]; cases: Case[] }>;
};

const load = (file: string): OnnxSession => loadOnnx(new Uint8Array(readFileSync(dir + file)));

/** A recorded input as onnxruntime would take it: int64 as BigInt64Array, float32 as Float32Array. */
function feed(t: FixtureTensor, elemType: string): OnnxInput {
  const data = elemType === 'int64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Float32Array.from(t.data);
  return { data, dims: t.shape };
}

/** max |got - want| over one output, its shape checked. */
function maxDiff(got: Tensor, want: FixtureTensor): number {
  expect(got.shape).toEqual(want.shape);
  const g = got.toArray();
  return want.data.reduce((m, w, i) => Math.max(m, Math.abs(g[i]! - Math.fround(w))), 0);
}

/** Runs `c` on `session` (feeds overridable) and returns the largest difference from ort's outputs for `file`. */
function runCase(session: OnnxSession, model: string, file: string, c: Case, override: Record<string, OnnxInput> = {}): { diff: number; outputs: Record<string, Tensor> } {
  const types = Object.fromEntries(expected.models[model]!.files.find((f) => f.file === file)!.graphInputs.map((i) => [i.name, i.elemType]));
  const feeds = Object.fromEntries(Object.entries(c.inputs).map(([n, t]) => [n, override[n] ?? feed(t, types[n]!)]));
  const outputs = session.run(feeds);
  expect(Object.keys(outputs)).toEqual(expected.models[model]!.outputNames);
  const diff = Math.max(...Object.entries(c.ort[file]!).map(([n, want]) => maxDiff(outputs[n]!, want)));
  return { diff, outputs };
}

beforeAll(async () => {
  await init();
});

const measured: Record<string, number> = {};

describe('lstm_state_io.onnx', () => {
  const { cases } = expected.models.lstm_state_io!;

  it("every case's output, hN, cN equal onnxruntime's; call2 runs on call1's state as computed here", () => {
    const start = memory().liveTensors;
    const session = load('lstm_state_io.onnx');
    expect(session.inputNames).toEqual(['x', 'h0', 'c0']);
    const call1 = cases.find((c) => c.name.startsWith('call1'))!;
    const call2 = cases.find((c) => c.name.startsWith('call2'))!;
    // The recorded call2 state is call1's torch hN/cN.
    expect(call2.inputs.h0!.data).toEqual(call1.torch.hN!.data);
    const first = runCase(session, 'lstm_state_io', 'lstm_state_io.onnx', call1);
    measured[`lstm_state_io ${call1.name}`] = first.diff;
    const second = runCase(session, 'lstm_state_io', 'lstm_state_io.onnx', call2, { h0: first.outputs.hN!, c0: first.outputs.cN! });
    measured[`lstm_state_io ${call2.name} (fed call1's state)`] = second.diff;
    for (const c of cases.filter((k) => k !== call1 && k !== call2)) {
      const r = runCase(session, 'lstm_state_io', 'lstm_state_io.onnx', c);
      measured[`lstm_state_io ${c.name}`] = r.diff;
      expect(r.diff, c.name).toBeLessThan(TOLERANCE);
      Object.values(r.outputs).forEach((t) => t.dispose());
    }
    expect(first.diff).toBeLessThan(TOLERANCE);
    expect(second.diff).toBeLessThan(TOLERANCE);
    // The fed tensors stay the caller's: run() neither freed nor returned them.
    expect(first.outputs.hN!.isDisposed).toBe(false);
    [...Object.values(first.outputs), ...Object.values(second.outputs)].forEach((t) => t.dispose());
    session.dispose();
    expect(memory().liveTensors).toBe(start);
  });
});

describe.each([
  ['lm_lstm2.onnx', 'lm_lstm2', ['tokens'], ['logits', 'h', 'c']],
  ['lm_lstm2_opset17.onnx', 'lm_lstm2', ['tokens'], ['logits', 'h', 'c']],
  ['lm_lstm2_opset9.onnx', 'lm_lstm2', ['tokens'], ['logits', 'h', 'c']],
  ['gru_bidir_classifier.onnx', 'gru_bidir_classifier', ['x'], ['log_probs', 'h_n']],
  ['rnn_relu_bidir_seq_lens.onnx', 'rnn_relu_bidir_seq_lens', ['x', 'lengths'], ['output', 'h']],
  ['rnn_seq_lens.onnx', 'rnn_seq_lens', ['x', 'lengths'], ['output', 'h']],
] as const)('%s', (file, model, inputNames, outputNames) => {
  it("every case's outputs equal onnxruntime's", () => {
    const start = memory().liveTensors;
    const session = load(file);
    expect(session.inputNames).toEqual(inputNames);
    expect(session.outputNames).toEqual(outputNames);
    for (const c of expected.models[model]!.cases) {
      const { diff, outputs } = runCase(session, model, file, c);
      measured[`${file} ${c.name}`] = diff;
      expect(diff, c.name).toBeLessThan(TOLERANCE);
      Object.values(outputs).forEach((t) => t.dispose());
    }
    session.dispose();
    expect(memory().liveTensors).toBe(start);
  });
});

describe('refusals', () => {
  it('options: none are defined yet, so any key or a non-object is a ValueError saying so', () => {
    const bytes = new Uint8Array(readFileSync(`${dir}lstm_state_io.onnx`));
    expect(() => loadOnnx(bytes, { executionProviders: ['wasm'] } as never)).toThrowError(ValueError);
    expect(() => loadOnnx(bytes, { executionProviders: ['wasm'] } as never)).toThrowError(/unknown option\(s\) 'executionProviders'; none are defined yet/);
    expect(() => loadOnnx(bytes, null as never)).toThrowError(/options must be an object \(none are defined yet: pass \{\} or nothing\), got null/);
    expect(() => loadOnnx(bytes, 'wasm' as never)).toThrowError(/got string/);
  });

  it('a model with an operator outside the set is refused at load, each named with its node', () => {
    const start = memory().liveTensors;
    const bytes = encodeModel({
      irVersion: 8,
      producerName: 'lstm-wasm tests',
      opsetImport: [{ domain: '', version: 14 }],
      graph: {
        name: 'unsupported',
        input: [valueInfo('x', ['T', 3])],
        output: [valueInfo('z', ['T', 3])],
        initializer: [floatTensor('w', [3, 3])],
        node: [
          { name: 'mm', opType: 'MatMul', input: ['x', 'w'], output: ['y'] },
          { name: 'my_tanh', opType: 'Tanh', input: ['y'], output: ['t'] },
          { name: 'my_softmax', opType: 'Softmax', input: ['t'], output: ['z'] },
        ],
      },
    });
    let err: unknown;
    try {
      loadOnnx(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxUnsupportedError);
    expect((err as OnnxUnsupportedError).unsupported).toEqual([
      { op: 'Tanh', node: 'my_tanh', what: 'the operator' },
      { op: 'Softmax', node: 'my_softmax', what: 'the operator' },
    ]);
    expect((err as Error).message).toBe("loadOnnx: this runtime does not support Tanh (node 'my_tanh'); Softmax (node 'my_softmax')");
    expect(memory().liveTensors).toBe(start);
  });

  it('a GRU with linear_before_reset=0 (not PyTorch\'s formula) is refused at load, saying so', () => {
    const start = memory().liveTensors;
    let err: unknown;
    try {
      load('gru_bidir_classifier_lbr0.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxUnsupportedError);
    const u = (err as OnnxUnsupportedError).unsupported;
    expect(u).toHaveLength(1);
    expect(u[0]!.op).toBe('GRU');
    expect(u[0]!.what).toBe('linear_before_reset=0 (the ONNX default; PyTorch exports 1) is not supported yet');
    expect((err as Error).message).toContain(`GRU (node '${u[0]!.node}'): linear_before_reset=0 (the ONNX default; PyTorch exports 1) is not supported yet`);
    expect(memory().liveTensors).toBe(start);
  });

  it('an LSTM beyond what runs is refused at load, naming the node and each thing it lacks', () => {
    const H = 2;
    const bytes = encodeModel({
      irVersion: 8,
      producerName: 'lstm-wasm tests',
      opsetImport: [{ domain: '', version: 14 }],
      graph: {
        name: 'lstm',
        input: [valueInfo('x', ['T', 'B', 3]), valueInfo('lens', ['B'], 6)],
        output: [valueInfo('y', ['T', 2, 'B', H])],
        initializer: [floatTensor('W', [2, 4 * H, 3]), floatTensor('R', [2, 4 * H, H]), floatTensor('P', [2, 3 * H])],
        node: [
          {
            name: 'my_lstm', opType: 'LSTM', input: ['x', 'W', 'R', '', 'lens', '', '', 'P'], output: ['y'],
            attribute: [
              { name: 'hidden_size', type: 2, i: H },
              { name: 'direction', type: 3, s: new TextEncoder().encode('bidirectional') },
              { name: 'clip', type: 1, f: 3 },
            ],
          },
        ],
      },
    });
    expect(() => loadOnnx(bytes)).toThrow(OnnxUnsupportedError);
    expect(() => loadOnnx(bytes)).toThrow("LSTM (node 'my_lstm'): attribute clip; LSTM (node 'my_lstm'): input P (peepholes)");
  });

  describe('wrong feeds are typed errors, and leave nothing behind', () => {
    const x = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), dims: shape });

    it.each([
      ['an unknown input name', { x: x([2, 1, 5]), h0: x([2, 1, 7]), c0: x([2, 1, 7]), h1: x([1]) }, ValueError, /unknown input 'h1'/],
      ['a missing input', { x: x([2, 1, 5]), h0: x([2, 1, 7]) }, ValueError, /input 'c0' is missing/],
      ['int data for a float input', { x: { data: new Int32Array(10), dims: [2, 1, 5] }, h0: x([2, 1, 7]), c0: x([2, 1, 7]) }, DTypeError, /expected float32 tensor, Float32Array, got Int32Array/],
      ['a fixed dim of another size', { x: x([2, 1, 4]), h0: x([2, 1, 7]), c0: x([2, 1, 7]) }, ShapeError, /dim 2 must be 5/],
      ['a rank that differs', { x: x([2, 5]), h0: x([2, 1, 7]), c0: x([2, 1, 7]) }, ShapeError, /expected rank 3/],
      ['a named axis sized two ways', { x: x([2, 1, 5]), h0: x([2, 3, 7]), c0: x([2, 3, 7]) }, ShapeError, /B = 3 .*gave B = 1/],
      ['data shorter than its dims', { x: { data: new Float32Array(9), dims: [2, 1, 5] }, h0: x([2, 1, 7]), c0: x([2, 1, 7]) }, ShapeError, /9 elements/],
    ] as const)('%s', (_, feeds, Err, message) => {
      const session = load('lstm_state_io.onnx');
      const start = memory().liveTensors;
      expect(() => session.run(feeds as Record<string, OnnxInput>)).toThrow(Err);
      expect(() => session.run(feeds as Record<string, OnnxInput>)).toThrow(message);
      expect(memory().liveTensors).toBe(start);
      session.dispose();
    });

    it('float tokens for an int64 input, and token ids past the vocabulary', () => {
      const session = load('lm_lstm2.onnx');
      const start = memory().liveTensors;
      expect(() => session.run({ tokens: x([2, 1]) })).toThrow(DTypeError);
      expect(() => session.run({ tokens: tensor(new Float32Array(2), [2, 1]) })).toThrow(/expected int32 tensor, Int32Array, BigInt64Array, got float32 tensor/);
      expect(() => session.run({ tokens: { data: BigInt64Array.from([1n, 20n]), dims: [2, 1] } })).toThrow(/index 20 is out of range/);
      expect(() => session.run({ tokens: { data: BigInt64Array.from([1n, 2n ** 40n]), dims: [2, 1] } })).toThrow(/is not an int32/);
      expect(memory().liveTensors).toBe(start + 1); // the float tensor made above
      session.dispose();
      expect(() => session.run({ tokens: { data: new Int32Array(2), dims: [2, 1] } })).toThrow(DisposedError);
    });
  });

  it('int32 tokens (a Tensor or an Int32Array) give the same logits as int64 ones', () => {
    const session = load('lm_lstm2.onnx');
    const c = expected.models.lm_lstm2!.cases[0]!;
    const ids = Int32Array.from(c.inputs.tokens!.data);
    const t = tensor(ids, c.inputs.tokens!.shape);
    for (const tokens of [t, { data: ids, dims: c.inputs.tokens!.shape }]) {
      const out = session.run({ tokens });
      expect(maxDiff(out.logits!, c.ort['lm_lstm2.onnx']!.logits!)).toBeLessThan(TOLERANCE);
      Object.values(out).forEach((o) => o.dispose());
    }
    t.dispose();
    session.dispose();
  });
});

describe('measured', () => {
  it('prints the largest difference from onnxruntime per fixture and case', () => {
    console.log(Object.entries(measured).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
  });
});
