/**
 * readOnnx on every file of test/fixtures/onnx/ (torch.onnx.export of recurrent models, made by
 * scripts/fixtures/make_onnx_fixtures.py), against what the generator recorded in expected.json:
 * opset, IR version, node count and op types, the recurrent nodes' attributes and inputs, graph
 * inputs and outputs with their dynamic axes, initializer names, and initializer data against
 * torch's state_dict where they correspond (exactly: both are the same float32 values), directly
 * (embed.weight) or as torch.onnx.export rearranged them (LSTM/GRU/RNN W, R, B with ONNX's gate
 * order; a Linear's weight transposed for MatMul). Then a few valid models built here: a subgraph
 * reading its enclosing graph's values, nodes out of order, and unsupportedOps.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from 'lstm-wasm';
import { readOnnx, unsupportedOps, type OnnxModel, type OnnxTensor } from 'lstm-wasm/onnx';
import { fixturesDir } from '../nn/fixture-helpers';
import { encodeModel, floatTensor, matmulModel, valueInfo } from './helpers';

const dir = `${fixturesDir}onnx/`;

interface Recurrent {
  opType: 'LSTM' | 'GRU' | 'RNN';
  attributes: Record<string, unknown>;
  inputs: Record<string, string>;
}
interface FileRecord {
  file: string;
  opset: number;
  irVersion: number;
  nodeCount: number;
  opTypes: string[];
  recurrent: Recurrent[];
  graphInputs: { name: string; elemType: string; shape: (number | string)[] }[];
  graphOutputs: { name: string; elemType: string; shape: (number | string)[] }[];
  initializers: string[];
}
interface ModelRecord {
  inputNames: string[];
  outputNames: string[];
  params: Record<string, { shape: number[]; data: number[] }>;
  files: FileRecord[];
}
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as { models: Record<string, ModelRecord> };
const files = Object.values(expected.models).flatMap((m) => m.files.map((f) => [f.file, f, m] as const));

/** Torch's gate blocks in ONNX's order (LSTM: torch i,f,g,o -> ONNX i,o,f,c; GRU: r,z,n -> z,r,h). */
const GATE_ORDER = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN: [0] } as const;

/** Rows of a row-major (rows x cols) matrix, gate blocks reordered. */
function reorderGates(data: number[], rows: number, cols: number, order: readonly number[]): number[] {
  const block = (rows / order.length) * cols;
  return order.flatMap((g) => data.slice(g * block, (g + 1) * block));
}

const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));

describe('the torch.onnx.export fixtures', () => {
  it('are all listed in expected.json', () => {
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
    expect(files.map(([f]) => f).sort()).toEqual(onDisk);
  });

  describe.each(files)('%s', (file, rec, model) => {
    const m: OnnxModel = readOnnx(new Uint8Array(readFileSync(dir + file)));

    it('opset, IR version, producer, nodes and their op types', () => {
      expect(m.opset).toBe(rec.opset);
      expect(m.irVersion).toBe(rec.irVersion);
      expect(m.opsetImports).toContainEqual({ domain: '', version: rec.opset });
      expect(m.producer.name).toBe('pytorch');
      expect(m.graph.nodes).toHaveLength(rec.nodeCount);
      expect([...new Set(m.graph.nodes.map((n) => n.opType))].sort()).toEqual([...rec.opTypes].sort());
      expect(m.graph.nodes.every((n) => n.domain === '')).toBe(true);
    });

    it('the recurrent nodes: attributes and inputs as recorded', () => {
      const recurrent = m.graph.nodes.filter((n) => ['LSTM', 'GRU', 'RNN'].includes(n.opType));
      expect(recurrent.map((n) => n.opType)).toEqual(rec.recurrent.map((r) => r.opType));
      recurrent.forEach((n, k) => {
        const want = rec.recurrent[k];
        for (const [name, value] of Object.entries(want.attributes)) expect(n.attributes[name], `${n.name}.${name}`).toEqual(value);
        const inputs = Object.values(want.inputs);
        expect([...n.inputs, ...Array(Math.max(0, inputs.length - n.inputs.length)).fill('')]).toEqual(inputs);
      });
    });

    it('graph inputs and outputs: names, element types, shapes with their dynamic axes', () => {
      expect(m.graph.inputs).toEqual(rec.graphInputs);
      expect(m.graph.outputs).toEqual(rec.graphOutputs);
      expect(m.graph.inputs.map((v) => v.name)).toEqual(model.inputNames);
      expect(m.graph.outputs.map((v) => v.name)).toEqual(model.outputNames);
    });

    it('initializers: the names recorded, each float32 with as many values as its dims say', () => {
      expect([...m.graph.initializers.keys()].sort()).toEqual([...rec.initializers].sort());
      for (const [name, t] of m.graph.initializers) {
        expect(t.name).toBe(name);
        expect(t.dataType).toBe('float32');
        expect(t.data).toBeInstanceOf(Float32Array);
        expect(t.data.length).toBe(t.dims.reduce((a, b) => a * b, 1));
      }
    });

    it("initializers hold torch's state_dict: as is, transposed for MatMul, gate-reordered for the recurrent nodes", () => {
      const init = (name: string): OnnxTensor => m.graph.initializers.get(name)!;
      let compared = 0;
      for (const [name, p] of Object.entries(model.params)) {
        const same = m.graph.initializers.get(name);
        if (same) {
          expect(same.dims, name).toEqual(p.shape);
          expect(Array.from(same.data as Float32Array), name).toEqual(f32(p.data));
          compared++;
        }
      }
      // A Linear whose weight torch exported transposed, as MatMul's right operand.
      for (const n of m.graph.nodes.filter((x) => x.opType === 'MatMul')) {
        const w = m.graph.initializers.get(n.inputs[1]);
        const linear = Object.entries(model.params).find(([k, p]) => k.endsWith('.weight') && w && p.shape[0] === w.dims[1] && p.shape[1] === w.dims[0]);
        if (!w || !linear) continue;
        const [rows, cols] = linear[1].shape;
        const transposed = Array.from({ length: rows * cols }, (_, i) => linear[1].data[(i % rows) * cols + Math.floor(i / rows)]);
        expect(Array.from(w.data as Float32Array)).toEqual(f32(transposed));
        compared++;
      }
      const prefix = Object.keys(model.params).find((k) => /weight_ih_l0$/.test(k))!.replace(/weight_ih_l0$/, '');
      m.graph.nodes.filter((n) => ['LSTM', 'GRU', 'RNN'].includes(n.opType)).forEach((n, layer) => {
        const order = GATE_ORDER[n.opType as keyof typeof GATE_ORDER];
        const [W, R, B] = [init(n.inputs[1]), init(n.inputs[2]), init(n.inputs[3])];
        const directions = W.dims[0];
        expect(R.dims[0]).toBe(directions);
        expect(B.dims).toEqual([directions, 2 * W.dims[1]]);
        for (let d = 0; d < directions; d++) {
          const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
          const part = (t: OnnxTensor) => Array.from(t.data as Float32Array).slice((d * t.data.length) / directions, ((d + 1) * t.data.length) / directions);
          const wih = model.params[`${prefix}weight_ih${suffix}`];
          const whh = model.params[`${prefix}weight_hh${suffix}`];
          expect(part(W), `W${suffix}`).toEqual(f32(reorderGates(wih.data, wih.shape[0], wih.shape[1], order)));
          expect(part(R), `R${suffix}`).toEqual(f32(reorderGates(whh.data, whh.shape[0], whh.shape[1], order)));
          const bih = model.params[`${prefix}bias_ih${suffix}`];
          const bhh = model.params[`${prefix}bias_hh${suffix}`];
          expect(part(B), `B${suffix}`).toEqual(f32([...reorderGates(bih.data, bih.shape[0], 1, order), ...reorderGates(bhh.data, bhh.shape[0], 1, order)]));
          compared++;
        }
      });
      expect(compared).toBeGreaterThan(0);
    });

    it('nodes run in order: every input is defined before the node that reads it', () => {
      const defined = new Set(['', ...m.graph.inputs.map((v) => v.name), ...m.graph.initializers.keys()]);
      for (const n of m.graph.nodes) {
        for (const i of n.inputs) expect(defined.has(i), `${n.name} reads ${i}`).toBe(true);
        n.outputs.forEach((o) => defined.add(o));
      }
    });
  });

  it('int64 constants read exactly, as BigInt64Array', () => {
    const m = readOnnx(new Uint8Array(readFileSync(`${dir}lm_lstm2.onnx`)));
    const constants = m.graph.nodes.filter((n) => n.opType === 'Constant').map((n) => n.attributes.value as OnnxTensor);
    const int64 = constants.filter((t) => t.dataType === 'int64');
    expect(int64.length).toBeGreaterThan(0);
    for (const t of int64) expect(t.data).toBeInstanceOf(BigInt64Array);
  });

  it('unsupportedOps lists every node whose operator is not in the set, by name', () => {
    const m = readOnnx(new Uint8Array(readFileSync(`${dir}lstm_state_io.onnx`)));
    expect(unsupportedOps(m, new Set(['Constant', 'Slice', 'LSTM', 'Squeeze', 'Concat']))).toEqual([]);
    const missing = unsupportedOps(m, new Set(['Constant', 'Slice', 'Squeeze', 'Concat']));
    expect(missing.map((x) => x.op)).toEqual(['LSTM', 'LSTM']);
    expect(missing.map((x) => x.node)).toEqual(m.graph.nodes.filter((n) => n.opType === 'LSTM').map((n) => n.name));
    expect(missing.every((x) => x.node !== '' && x.graph === 'the graph')).toBe(true);
  });
});

describe('models built here', () => {
  it('a MatMul model: inputs, the dynamic axis, the initializer', () => {
    const m = readOnnx(encodeModel(matmulModel()));
    expect(m.graph.inputs).toEqual([{ name: 'x', elemType: 'float32', shape: ['T', 3] }]);
    expect(m.graph.initializers.get('w')!.dims).toEqual([3, 3]);
    expect(Array.from(m.graph.initializers.get('w')!.data as Float32Array)).toEqual(f32([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]));
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['mm']);
  });

  it('nodes out of order are sorted, the file order kept among nodes ready together', () => {
    const spec = matmulModel();
    spec.graph!.output = [valueInfo('z', ['T', 3])];
    spec.graph!.node = [
      { name: 'last', opType: 'Relu', input: ['y2'], output: ['z'] },
      { name: 'first', opType: 'MatMul', input: ['x', 'w'], output: ['y'] },
      { name: 'middle', opType: 'Neg', input: ['y'], output: ['y2'] },
      { name: 'free', opType: 'Constant', input: [], output: ['c'], attribute: [{ name: 'value', type: 4, t: floatTensor('', [1]) }] },
    ];
    expect(readOnnx(encodeModel(spec)).graph.nodes.map((n) => n.name)).toEqual(['first', 'middle', 'last', 'free']);
  });

  it('a subgraph reads a value of its enclosing graph; unsupportedOps looks inside it', () => {
    const spec = matmulModel();
    spec.graph!.input!.push(valueInfo('cond', [], 9));
    spec.graph!.output = [valueInfo('z', ['T', 3])];
    const branch = (op: string) => ({ name: op, node: [{ name: `${op}_in_branch`, opType: op, input: ['y'], output: [`${op}_out`] }], output: [valueInfo(`${op}_out`, ['T', 3])] });
    spec.graph!.node!.push({ name: 'if', opType: 'If', input: ['cond'], output: ['z'], attribute: [
      { name: 'then_branch', type: 5, g: branch('Relu') },
      { name: 'else_branch', type: 5, g: branch('Tanh') },
    ] });
    const m = readOnnx(encodeModel(spec));
    const thenBranch = m.graph.nodes[1].attributes.then_branch as { nodes: { opType: string }[] };
    expect(thenBranch.nodes.map((n) => n.opType)).toEqual(['Relu']);
    expect(unsupportedOps(m, new Set(['MatMul', 'If', 'Relu']))).toEqual([{ op: 'Tanh', node: 'Tanh_in_branch', graph: "attribute 'else_branch' of node 'if'" }]);
  });

  it('an operator of another domain is kept, and named with its domain', () => {
    const spec = matmulModel();
    spec.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
    spec.graph!.node![0] = { name: 'fused', opType: 'FusedMatMul', domain: 'com.microsoft', input: ['x', 'w'], output: ['y'] };
    const m = readOnnx(encodeModel(spec));
    expect(m.graph.nodes[0].domain).toBe('com.microsoft');
    expect(unsupportedOps(m, new Set(['MatMul']))).toEqual([{ op: 'com.microsoft::FusedMatMul', node: 'fused', graph: 'the graph' }]);
  });

  it('its errors are the package\'s FormatError', () => {
    expect(() => readOnnx(new Uint8Array(0))).toThrow(FormatError);
  });
});
