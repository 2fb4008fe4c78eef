/**
 * readOnnx on hostile and broken files, each built here with the package's own encoder or by byte
 * surgery: every one gives a FormatError whose message names the problem (and the node or
 * initializer), in less than MAX_MS, whatever the file declares (sizes past the end, absurd dims,
 * 10,000 nested subgraphs, millions of fields). Then a seeded fuzz in the style of
 * test/io/torch-hostile.test.ts: the fixtures mutated (byte flips, truncations, insertions,
 * repeated or cut runs) read as a model or throw an LstmWasmError, each within MAX_CASE_MS.
 * CASES cases by default; `LSTM_WASM_FUZZ_CASES` runs more, `LSTM_WASM_FUZZ_SEED` another stream.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError, LstmWasmError } from 'lstm-wasm';
import { readOnnx } from 'lstm-wasm/onnx';
import { fixturesDir } from '../nn/fixture-helpers';
import { seededUniform } from '../core/helpers';
import { encodeModel, floatTensor, lengthDelimited, matmulModel, nestedIfModel, varint, type ModelSpec } from './helpers';

const dir = `${fixturesDir}onnx/`;
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => [f, new Uint8Array(readFileSync(dir + f))] as const);
const MAX_MS = 1000;
const CASES = Number(process.env.LSTM_WASM_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.LSTM_WASM_FUZZ_SEED ?? 0x0a11c5);
const MAX_CASE_MS = 500;

/** The error readOnnx throws on `bytes`, and how long it took. */
function refusal(bytes: Uint8Array): { error: unknown; ms: number } {
  const t0 = performance.now();
  try {
    readOnnx(bytes);
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
  return { error: null, ms: performance.now() - t0 };
}

function expectRefused(bytes: Uint8Array, message: RegExp): void {
  const { error, ms } = refusal(bytes);
  expect(error, 'the file must be refused').toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(message);
  expect(ms, 'refused fast').toBeLessThan(MAX_MS);
}

const edited = (edit: (m: ModelSpec) => void): Uint8Array => {
  const m = matmulModel();
  edit(m);
  return encodeModel(m);
};

describe('refused files: a FormatError that says what is wrong, fast', () => {
  it('the model the cases below edit is read', () => {
    expect(readOnnx(encodeModel(matmulModel())).graph.nodes).toHaveLength(1);
  });

  it.each(fixtures)('%s truncated at every 97th byte', (_, bytes) => {
    for (let end = 0; end < bytes.length; end += 97) expectRefused(bytes.subarray(0, end), /^readOnnx: /);
  });

  it('truncation mid-message says so, with the byte offset', () => {
    const bytes = fixtures[0][1];
    expectRefused(bytes.subarray(0, bytes.length >> 1), /^readOnnx: malformed protobuf at byte \d+ of \d+: truncated, or a length that points past the end/);
  });

  it('a varint of 11 bytes', () => {
    const bytes = encodeModel(matmulModel());
    expectRefused(Uint8Array.from([0x08, ...Array(10).fill(0xff), 0x01, ...bytes]), /malformed protobuf at byte \d+ of \d+: invalid varint encoding/);
  });

  it('a length prefix past the end', () => {
    const bytes = encodeModel(matmulModel());
    expectRefused(Uint8Array.from([...bytes, ...varint((7 << 3) | 2), ...varint(1 << 30), 1, 2, 3]), /malformed protobuf .*a length that points past the end/);
  });

  it('dims [-1]', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0].dims = [-1]; }), /initializer 'w' has dims \[-1\]: -1 is not a size/);
  });

  it('dims [2^20, 2^20, 2^20] (2^60 elements)', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0].dims = [2 ** 20, 2 ** 20, 2 ** 20]; }), /initializer 'w' has dims \[1048576, 1048576, 1048576\], more than 2\^31 - 1 elements/);
  });

  it('raw_data shorter than dims say', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0].rawData = new Uint8Array(8); }), /initializer 'w' has 8 bytes of data, but dims \[3, 3\] of float32 need 36/);
  });

  it('float_data with fewer values than dims say, and with both raw_data and float_data', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0] = { name: 'w', dims: [3, 3], dataType: 1, floatData: [1, 2] }; }), /initializer 'w' has 2 values in float_data, but dims \[3, 3\] say 9 elements/);
    expectRefused(edited((m) => { m.graph!.initializer![0].floatData = [1]; }), /initializer 'w' has its data twice, in raw_data and in float_data/);
  });

  it('a float_data of 10M values declared but absent: dims that the file does not hold, and a packed length past the end', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0] = { name: 'w', dims: [10_000_000], dataType: 1 }; }), /initializer 'w' has 0 bytes of data, but dims \[10000000\] of float32 need 40000000/);
    // TensorProto { dims: [10M], data_type: FLOAT, float_data: <length 40M, then nothing> } as the graph's initializer.
    const tensor = [...varint(1 << 3), ...varint(10_000_000), ...varint(2 << 3), 1, ...varint((4 << 3) | 2), ...varint(40_000_000)];
    const graph = [...lengthDelimited(5, tensor)];
    const head = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }] });
    expectRefused(Uint8Array.from([...head, ...lengthDelimited(7, graph)]), /malformed protobuf .*a length that points past the end/);
  });

  it('data kept in an external file', () => {
    const message = /initializer 'w' keeps its data in an external file \('w\.bin'\).*save_as_external_data=False/;
    expectRefused(edited((m) => { m.graph!.initializer![0] = { name: 'w', dims: [3, 3], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] }; }), message);
    expectRefused(edited((m) => { m.graph!.initializer![0] = { name: 'w', dims: [3, 3], dataType: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }] }; }), message);
  });

  it.each([8, 23, 0])('opset %i of the default domain', (version) => {
    expectRefused(edited((m) => { m.opsetImport = [{ domain: '', version }]; }), new RegExp(`uses opset ${version} of the default domain \\(ai\\.onnx\\); lstm-wasm reads opsets 9 to 22`));
  });

  it('no opset of the default domain', () => {
    expectRefused(edited((m) => { m.opsetImport = [{ domain: 'com.microsoft', version: 1 }]; }), /imports no opset of the default domain/);
  });

  it('a graph cycle A -> B -> A', () => {
    expectRefused(edited((m) => {
      m.graph!.node = [
        { name: 'A', opType: 'Add', input: ['x', 'b'], output: ['a'] },
        { name: 'B', opType: 'Relu', input: ['a'], output: ['b'] },
        { name: 'C', opType: 'MatMul', input: ['a', 'w'], output: ['y'] },
      ];
    }), /the graph has a cycle: node 'A' \(Add, #0\) -> node 'B' \(Relu, #1\) -> node 'A' \(Add, #0\)/);
  });

  it('a node that reads its own output', () => {
    expectRefused(edited((m) => { m.graph!.node = [{ name: 'self', opType: 'Add', input: ['x', 'y'], output: ['y'] }]; }), /cycle: node 'self' \(Add, #0\) -> node 'self'/);
  });

  it('a dangling input', () => {
    expectRefused(edited((m) => { m.graph!.node![0].input = ['x', 'nowhere']; }), /node 'mm' \(MatMul, #0\) reads 'nowhere', which is not a graph input, an initializer or the output of a node/);
  });

  it('duplicate names: two initializers, an output that overwrites an initializer, two graph inputs', () => {
    expectRefused(edited((m) => { m.graph!.initializer!.push(floatTensor('w', [3, 3])); }), /the name 'w' is given to two initializers/);
    expectRefused(edited((m) => { m.graph!.node![0].output = ['w']; }), /the name 'w' is given twice: initializer 'w', and output 0 of node 'mm'/);
    expectRefused(edited((m) => { m.graph!.input!.push(m.graph!.input![0]); }), /the name 'x' is given twice: graph input 'x', and graph input 'x'/);
  });

  it('an If nested 10,000 deep: a FormatError, not a stack overflow', () => {
    const bytes = nestedIfModel(10_000);
    expectRefused(bytes, /malformed protobuf at byte \d+ of \d+: messages nested more than 100 deep/);
  });

  it('an If nested 20 deep is read, subgraph within subgraph', () => {
    const m = readOnnx(nestedIfModel(20));
    let g = m.graph;
    for (let depth = 0; depth < 20; depth++) g = g.nodes[0].attributes.then_branch as typeof g;
    expect(g.nodes).toEqual([]);
  });

  it('a million fields and more (unknown ones, which cost nothing to skip)', () => {
    const head = encodeModel(matmulModel());
    const bytes = new Uint8Array(head.length + 3 * 1_000_001);
    bytes.set(head);
    const field = [...varint((111 << 3) | 0), 0];
    for (let i = head.length; i < bytes.length; i += 3) bytes.set(field, i);
    expectRefused(bytes, /more than 1000000 fields/);
  });

  it('unsupported and undefined data types, named', () => {
    expectRefused(edited((m) => { m.graph!.initializer![0].dataType = 10; }), /initializer 'w' has data type float16 \(10\), which lstm-wasm does not read \(it reads float32, /);
    expectRefused(edited((m) => { m.graph!.initializer![0].dataType = 99; }), /initializer 'w' has data type 99, which ONNX does not define/);
  });

  it('a tensor attribute is checked like an initializer, named by its node', () => {
    expectRefused(edited((m) => {
      m.graph!.node!.unshift({ name: 'k', opType: 'Constant', output: ['k_out'], attribute: [{ name: 'value', type: 4, t: { dims: [4], dataType: 1, rawData: new Uint8Array(3) } }] });
    }), /node 'k' \(Constant, #0\) attribute 'value' has 3 bytes of data, but dims \[4\] of float32 need 16/);
  });

  it('not ONNX: empty, a zip, JSON, random bytes', () => {
    expectRefused(new Uint8Array(0), /not an ONNX model: the file is empty/);
    expectRefused(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), /not an ONNX model: a zip archive \(a torch\.save file\? read it with loadTorch\)/);
    expectRefused(new TextEncoder().encode('{"a": 1}'), /not an ONNX model: JSON text/);
    expectRefused(new TextEncoder().encode('hello, world'), /^readOnnx: (malformed protobuf|not an ONNX model)/);
  });
});

// ---------------------------------------------------------------------------------------------
// fuzz
// ---------------------------------------------------------------------------------------------

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

function flipBytes(r: Rand, b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let k = 1 + int(r, 4); k > 0; k--) out[int(r, out.length)] ^= 1 + int(r, 255);
  return out;
}
const truncate = (r: Rand, b: Uint8Array): Uint8Array => b.slice(0, int(r, b.length));
/** Random bytes, or bytes that protobuf reads as structure (tags, big varints, lengths), inserted anywhere. */
function insert(r: Rand, b: Uint8Array): Uint8Array {
  const at = int(r, b.length + 1);
  const len = 1 + int(r, 16);
  const bytes = Array.from({ length: len }, () => (r() < 0.5 ? pick(r, [0x08, 0x0a, 0x12, 0x1a, 0x22, 0x3a, 0x42, 0x4a, 0x80, 0xff, 0x7f, 0x00, 0x01]) : int(r, 256)));
  return Uint8Array.from([...b.subarray(0, at), ...bytes, ...b.subarray(at)]);
}
/** A run of the file repeated elsewhere or cut out: fields out of place, lengths that no longer match. */
function splice(r: Rand, b: Uint8Array): Uint8Array {
  const a = int(r, b.length);
  const len = 1 + int(r, 64);
  if (r() < 0.5) return Uint8Array.from([...b.subarray(0, a), ...b.subarray(a + len)]);
  const at = int(r, b.length);
  return Uint8Array.from([...b.subarray(0, at), ...b.subarray(a, a + len), ...b.subarray(at)]);
}
/** A varint's value made hostile (a length, a dim, a data type, an opset), its neighbours untouched. */
function varintEdit(r: Rand, b: Uint8Array): Uint8Array {
  const at = int(r, b.length);
  let end = at;
  while (end < b.length && b[end] & 0x80) end++;
  const value = pick(r, [0, 1, 0x7f, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 40, 2 ** 53 - 1, int(r, 1 << 20)]);
  return Uint8Array.from([...b.subarray(0, at), ...varint(value), ...b.subarray(end + 1)]);
}

const MUTATIONS = [flipBytes, truncate, insert, splice, varintEdit] as const;

describe('fuzz: mutated fixtures read or throw an LstmWasmError, each fast', () => {
  it(`${CASES} cases (seed ${SEED})`, () => {
    const r = seededUniform(SEED);
    const outcomes = { read: 0, refused: 0 };
    let slowest = 0;
    for (let c = 0; c < CASES; c++) {
      const [file, bytes] = pick(r, fixtures);
      const mutate = pick(r, MUTATIONS);
      let mutated = mutate(r, bytes);
      if (r() < 0.25) mutated = pick(r, MUTATIONS)(r, mutated);
      const { error, ms } = refusal(mutated);
      slowest = Math.max(slowest, ms);
      if (error !== null && !(error instanceof LstmWasmError)) {
        throw new Error(`case ${c} (${mutate.name} of ${file}): readOnnx threw ${(error as Error)?.name}: ${(error as Error)?.message}`);
      }
      expect(ms, `case ${c} (${mutate.name} of ${file})`).toBeLessThan(MAX_CASE_MS);
      outcomes[error === null ? 'read' : 'refused']++;
    }
    // Both outcomes occur: the mutations reach past the wire format into the checks after it.
    expect(outcomes.read).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(CASES / 4);
    expect(slowest).toBeLessThan(MAX_CASE_MS);
  });
});
