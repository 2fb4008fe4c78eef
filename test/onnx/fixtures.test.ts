/**
 * The ONNX fixtures are consistent (issue 25): test/fixtures/onnx, made by
 * scripts/fixtures/make_onnx_fixtures.py (torch 1.13's torch.onnx.export, torch's outputs) and
 * scripts/fixtures/onnx_reference.mjs (onnxruntime-node's outputs on the same inputs).
 *
 * Nothing from lstm-wasm is imported: this checks the recorded data only, so a regenerated fixture
 * with a problem (a file missing, a shape baked into a graph, an export onnxruntime reads
 * differently from torch, the .mjs step forgotten) fails here before any importer test reads it.
 * Method: every output of every case, torch vs ort, elementwise after Math.fround, within
 * TOLERANCE = 1e-5 (measured: at most 2.1e-7, float32 summation order); the recorded maxAbsDiff
 * must be the recomputed one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TOLERANCE = 1e-5;
const MAX_DIR_BYTES = 1 << 20;

interface FixtureTensor {
  shape: number[];
  data: number[];
}
type Tensors = Record<string, FixtureTensor>;
interface RecurrentNode {
  opType: 'LSTM' | 'GRU' | 'RNN';
  attributes: Record<string, unknown>;
  inputs: Record<string, string>;
}
interface OnnxFile {
  file: string;
  opset: number;
  bytes: number;
  opTypes: string[];
  recurrent: RecurrentNode[];
  graphInputs: { name: string; elemType: string; shape: (number | string)[] }[];
  graphOutputs: { name: string; elemType: string; shape: (number | string)[] }[];
}
interface Case {
  name: string;
  inputs: Tensors;
  torch: Tensors;
  ort: Record<string, Tensors> | null;
  maxAbsDiff: Record<string, number> | null;
}
interface Model {
  description: string;
  inputNames: string[];
  outputNames: string[];
  params: Tensors;
  files: OnnxFile[];
  cases: Case[];
}
interface Expected {
  torch_version: string;
  ort_version: string | null;
  models: Record<string, Model>;
}

const dir = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Expected;
const models = Object.entries(expected.models);

function expectWellFormed(t: FixtureTensor, what: string): void {
  expect(Array.isArray(t?.shape) && Array.isArray(t?.data), `${what}: {shape, data}`).toBe(true);
  expect(t.data.length, `${what}: data length vs shape [${t.shape}]`).toBe(t.shape.reduce((a, b) => a * b, 1));
}

function maxAbsDiff(a: FixtureTensor, b: FixtureTensor): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(Math.fround(a.data[i]) - Math.fround(b.data[i])));
  return max;
}

describe('ONNX fixtures (test/fixtures/onnx)', () => {
  it('expected.json records torch 1.13 and the onnxruntime-node run', () => {
    expect(expected.torch_version).toMatch(/^1\.13/);
    expect(expected.ort_version, 'run scripts/fixtures/onnx_reference.mjs after make_onnx_fixtures.py').toBeTruthy();
    expect(models.map(([name]) => name).sort()).toEqual([
      'gru_bidir_classifier', 'gru_bidir_classifier_lbr0', 'lm_lstm2', 'lstm_state_io',
      'rnn_relu_bidir_seq_lens', 'rnn_seq_lens',
    ]);
  });

  it('every listed .onnx exists with its recorded size, every .onnx is listed, the folder is under 1 MB', () => {
    const listed = models.flatMap(([, m]) => m.files.map((f) => f.file));
    for (const [, m] of models) {
      for (const f of m.files) {
        expect(existsSync(dir + f.file), f.file).toBe(true);
        expect(statSync(dir + f.file).size, `${f.file} bytes`).toBe(f.bytes);
        expect(f.bytes, `${f.file} is small`).toBeLessThan(100_000);
      }
    }
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
    expect(onDisk).toEqual([...listed].sort());
    const total = readdirSync(dir).reduce((sum, f) => sum + statSync(dir + f).size, 0);
    expect(total).toBeLessThan(MAX_DIR_BYTES);
  });

  it('the graphs hold what the importer is meant to meet', () => {
    const opsets = new Set(models.flatMap(([, m]) => m.files.map((f) => f.opset)));
    expect([...opsets].sort((a, b) => a - b)).toEqual([9, 14, 17]);
    for (const [name, m] of models) {
      for (const f of m.files) {
        expect(f.recurrent.length, `${f.file}: recurrent nodes`).toBeGreaterThan(0);
        expect(f.graphInputs.map((i) => i.name), `${f.file}: graph inputs`).toEqual(m.inputNames);
        expect(f.graphOutputs.map((o) => o.name), `${f.file}: graph outputs`).toEqual(m.outputNames);
        if (name.endsWith('seq_lens')) expect(f.recurrent[0].inputs.sequence_lens, `${f.file}: sequence_lens`).not.toBe('');
        if (name.startsWith('gru_')) {
          expect(f.recurrent[0].attributes.linear_before_reset).toBe(name.endsWith('lbr0') ? 0 : 1);
        }
      }
    }
  });

  for (const [name, m] of models) {
    it(`${name}: params and cases are well formed; ort agrees with torch within ${TOLERANCE}`, () => {
      for (const [p, t] of Object.entries(m.params)) expectWellFormed(t, `${name} params.${p}`);
      expect(m.cases.length).toBeGreaterThan(1);
      for (const c of m.cases) {
        const where = `${name} ${c.name}`;
        expect(Object.keys(c.inputs), `${where} inputs`).toEqual(m.inputNames);
        expect(Object.keys(c.torch), `${where} torch outputs`).toEqual(m.outputNames);
        for (const [k, t] of Object.entries({ ...c.inputs, ...c.torch })) expectWellFormed(t, `${where} ${k}`);
        expect(c.ort, `${where}: no ort outputs (run onnx_reference.mjs)`).not.toBeNull();
        for (const f of m.files) {
          const ort = c.ort![f.file];
          expect(ort, `${where}: no ort outputs for ${f.file}`).toBeDefined();
          let worst = 0;
          for (const out of m.outputNames) {
            expectWellFormed(ort[out], `${where} ${f.file} ort ${out}`);
            expect(ort[out].shape, `${where} ${f.file} ${out} shape`).toEqual(c.torch[out].shape);
            worst = Math.max(worst, maxAbsDiff(c.torch[out], ort[out]));
          }
          expect(worst, `${where} ${f.file}: max |torch - ort|`).toBeLessThanOrEqual(TOLERANCE);
          expect(Math.fround(c.maxAbsDiff![f.file]), `${where} ${f.file}: recorded maxAbsDiff`).toBe(Math.fround(worst));
        }
      }
    });
  }

  it('lstm_state_io call2 starts from call1 final state', () => {
    const [call1, call2] = expected.models.lstm_state_io.cases;
    expect(call2.inputs.h0).toEqual(call1.torch.hN);
    expect(call2.inputs.c0).toEqual(call1.torch.cN);
  });
});
