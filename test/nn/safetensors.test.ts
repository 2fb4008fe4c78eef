/**
 * safetensors I/O: the PyTorch-side fixture (test/fixtures/safetensors/tiny_model.safetensors,
 * written to the spec by scripts/fixtures/make_fixtures.py; tiny_model.json holds the same
 * tensors) loads exactly; save -> load round trips are bit-exact with metadata; corrupt input of
 * every kind is a FormatError that says what is wrong and allocates nothing.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, memory, nn, readSafetensors, loadSafetensors, saveSafetensors, tensor, tidy, Module,
  FormatError, type Tensor,
} from 'lstm-wasm';
import { fixturesDir } from './fixture-helpers';
import { joinSafetensors } from '../text/checkpoint-kit';
import { expectBitEqual, forwardRnn, paramValues, randomF32 } from './rnn-testkit';

interface TinyFixture {
  fileSize: number;
  headerSize: number;
  metadata: Record<string, string>;
  keyOrder: string[];
  tensors: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: number[]; data_offsets: [number, number] }>;
}

const fileBytes = (): Uint8Array => new Uint8Array(readFileSync(`${fixturesDir}safetensors/tiny_model.safetensors`));
const fixture = (): TinyFixture => JSON.parse(readFileSync(`${fixturesDir}safetensors/tiny_model.json`, 'utf8')) as TinyFixture;

beforeAll(async () => {
  await init();
});

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** A safetensors file from a header object and a data section, built per the spec by hand. */
/** A file from a header (as JSON, or `headerText` verbatim) and a data section. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  return joinSafetensors(headerText ?? JSON.stringify(header), data);
}

/** Parses the header of bytes written by saveSafetensors (independently of the library). */
function parseHeader(bytes: Uint8Array): { n: number; header: Record<string, any>; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { n, header: JSON.parse(text), text };
}

describe('the PyTorch-written fixture', () => {
  it('has the size the generator recorded', () => {
    const f = fixture();
    const bytes = fileBytes();
    expect(bytes.length).toBe(f.fileSize);
    expect(parseHeader(bytes).n).toBe(f.headerSize);
  });

  it('loads every tensor exactly (F32 and I32), with its metadata', () => {
    const f = fixture();
    const live = memory().liveTensors;
    const { tensors, metadata } = readSafetensors(fileBytes());
    expect(Object.keys(tensors).sort()).toEqual([...f.keyOrder].sort());
    expect(metadata).toEqual(f.metadata);
    for (const [name, want] of Object.entries(f.tensors)) {
      const t = tensors[name];
      expect(Array.from(t.shape), `${name} shape`).toEqual(want.shape);
      expect(t.dtype, `${name} dtype`).toBe(want.dtype === 'F32' ? 'float32' : 'int32');
      if (want.dtype === 'F32') expectBitEqual(t.toArray(), Float32Array.from(want.data), name);
      else expect(Array.from(t.toArray()), name).toEqual(want.data);
    }
    expect(Array.from(tensors.step.toArray())).toEqual([1, -2, 3, 2147483647, -2147483648, 0]);
    expect(memory().liveTensors).toBe(live + f.keyOrder.length);
    disposeAll(tensors);
    expect(memory().liveTensors).toBe(live);
  });

  it('loads into a composed module with PyTorch keys (lstm.*, head.*) and runs', () => {
    class Tiny extends Module {
      lstm = this.addModule('lstm', new nn.LSTM(3, 4));
      head = this.addModule('head', new nn.Linear(4, 2));
    }
    const m = new Tiny();
    const tensors = loadSafetensors(fileBytes());
    const { step, ...params } = tensors;
    m.loadStateDict(params);
    const f = fixture();
    for (const [name, p] of m.namedParameters()) expectBitEqual(p.toArray(), Float32Array.from(f.tensors[name].data), name);
    tidy(() => {
      const [out] = m.lstm.forward(tensor(randomF32(2 * 3, 1), [2, 3]));
      expect(Number.isFinite(m.head.forward(out).toArray()[0])).toBe(true);
    });
    step.dispose();
    disposeAll(params);
    m.dispose();
  });

  it('accepts an ArrayBuffer and a Uint8Array view at an unaligned offset', () => {
    const bytes = fileBytes();
    const f = fixture();
    const fromBuffer = loadSafetensors(bytes.slice().buffer as ArrayBuffer);
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 3);
    const fromView = loadSafetensors(big.subarray(3, 3 + bytes.length));
    // A Node Buffer from the shared pool (byteOffset > 0, and Buffer.slice does not copy).
    const pooled = Buffer.from(bytes);
    const fromBuffer2 = loadSafetensors(Buffer.concat([Buffer.from('xyz'), pooled]).subarray(3));
    for (const name of f.keyOrder) expectBitEqual(fromBuffer2[name].toArray(), Float32Array.from(f.tensors[name].data), `${name} (Buffer)`);
    disposeAll(fromBuffer2);
    for (const name of f.keyOrder) {
      expectBitEqual(fromBuffer[name].toArray(), Float32Array.from(f.tensors[name].data), `${name} (ArrayBuffer)`);
      expectBitEqual(fromView[name].toArray(), Float32Array.from(f.tensors[name].data), `${name} (offset 3)`);
    }
    disposeAll(fromBuffer);
    disposeAll(fromView);
  });
});

describe('save -> load round trip', () => {
  it('a module stateDict is bit-exact, with metadata, in the spec layout', () => {
    manualSeed(17);
    const m = new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2 });
    const metadata = { format: 'pt', note: 'unicode ü ✓', empty: '' };
    const bytes = saveSafetensors(m.stateDict(), metadata);

    // Spec layout, checked without the library's reader.
    const { n, header } = parseHeader(bytes);
    expect(n % 8, 'header padded to 8 bytes').toBe(0);
    expect(header.__metadata__).toEqual(metadata);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual(Object.keys(m.stateDict()).sort());
    let offset = 0;
    for (const name of names) {
      const p = m.stateDict()[name];
      expect(header[name]).toEqual({ dtype: 'F32', shape: Array.from(p.shape), data_offsets: [offset, offset + 4 * p.size] });
      const raw = new Float32Array(bytes.slice(8 + n + offset, 8 + n + offset + 4 * p.size).buffer);
      expectBitEqual(raw, p.toArray(), `${name} raw bytes`);
      offset += 4 * p.size;
    }
    expect(bytes.length).toBe(8 + n + offset);

    const live = memory().liveTensors;
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual(metadata);
    for (const [name, p] of m.namedParameters()) {
      expect(Array.from(back.tensors[name].shape)).toEqual(Array.from(p.shape));
      expectBitEqual(back.tensors[name].toArray(), p.toArray(), name);
    }
    // Into a fresh module: the same function.
    manualSeed(99);
    const m2 = new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2 });
    m2.loadStateDict(back.tensors);
    const v1 = paramValues(m);
    for (const [name, v] of paramValues(m2)) expectBitEqual(v, v1.get(name) as Float32Array, name);
    tidy(() => {
      const x = tensor(randomF32(4 * 2 * 3, 5), [4, 2, 3]);
      expectBitEqual(forwardRnn(m2, x, null, null).output.toArray(), forwardRnn(m, x, null, null).output.toArray(), 'output');
    });
    disposeAll(back.tensors);
    expect(memory().liveTensors, 'only the new module\'s parameters remain').toBe(live + m2.parameters().length);
    m.dispose();
    m2.dispose();
  });

  it('special float values, int32 extremes, a scalar and an empty tensor', () => {
    const specials = Float32Array.from([-0, 0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4028234663852886e38, 1.1754943508222875e-38]);
    const dict = {
      'a.specials': tensor(specials, [3, 3]),
      'b.ints': tensor(Int32Array.from([2147483647, -2147483648, 0, -1]), [2, 2]),
      'c.scalar': tensor(Float32Array.from([2.5]), []),
      'd.empty': tensor(new Float32Array(0), [0, 4]),
    };
    const bytes = saveSafetensors(dict, { k: 'v' });
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ k: 'v' });
    expectBitEqual(tensors['a.specials'].toArray(), specials, 'specials');
    expect(tensors['b.ints'].dtype).toBe('int32');
    expect(Array.from(tensors['b.ints'].toArray())).toEqual([2147483647, -2147483648, 0, -1]);
    expect(Array.from(tensors['c.scalar'].shape)).toEqual([]);
    expect(tensors['c.scalar'].item()).toBe(2.5);
    expect(Array.from(tensors['d.empty'].shape)).toEqual([0, 4]);
    expect(tensors['d.empty'].size).toBe(0);
    disposeAll(tensors);
    disposeAll(dict);
  });

  it('no metadata writes no __metadata__ entry', () => {
    const t = tensor([1, 2, 3]);
    const bytes = saveSafetensors({ w: t });
    expect(parseHeader(bytes).header).toEqual({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({});
    disposeAll(back.tensors);
    t.dispose();
  });
});

/**
 * Reading `bytes` throws a FormatError matching `message`, short enough to read, and allocates
 * nothing (live tensors and their bytes as before).
 */
function expectFormatError(bytes: Uint8Array | ArrayBuffer, message: RegExp): void {
  const live = memory().liveTensors;
  const bytesBefore = memory().tensorBytes;
  let caught: unknown = null;
  try {
    readSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, 'should throw a FormatError').toBeInstanceOf(FormatError);
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message.length, 'the message stays short').toBeLessThan(400);
  expect(memory().liveTensors, 'live tensors after the failure').toBe(live);
  expect(memory().tensorBytes).toBe(bytesBefore);
}

describe('corrupt input is a FormatError that allocates nothing', () => {

  const good = fileBytes();
  const N = 592; // header size of the fixture
  const total = good.length;

  it('empty input', () => {
    expectFormatError(new Uint8Array(0), /0 bytes is too short for the 8-byte header length/);
    expectFormatError(new ArrayBuffer(0), /0 bytes is too short/);
  });

  for (const cut of [1, 4, 7]) {
    it(`truncated inside the 8-byte length (${cut} bytes)`, () => {
      expectFormatError(good.slice(0, cut), new RegExp(`${cut} bytes is too short for the 8-byte header length`));
    });
  }

  for (const cut of [8, 9, 8 + 100, 8 + N - 1]) {
    it(`truncated inside the header (${cut} of ${total} bytes)`, () => {
      expectFormatError(good.slice(0, cut), new RegExp(`header length ${N} exceeds the ${cut - 8} bytes after it`));
    });
  }

  for (const cut of [8 + N, 8 + N + 1, 8 + N + 50, total - 1]) {
    it(`truncated inside the data (${cut} of ${total} bytes)`, () => {
      expectFormatError(good.slice(0, cut), new RegExp(`data section has ${cut - 8 - N} bytes \\(truncated file\\)`));
    });
  }

  it('header length larger than the file', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, 100000n, true);
    expectFormatError(bad, /header length 100000 exceeds the 1232 bytes after it/);
    new DataView(bad.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expectFormatError(bad, /header length 18446744073709551615 exceeds/);
    // A text file renamed .safetensors: its first 8 bytes read as a length past 2^53, shown exactly (not rounded to ...000).
    const text = new TextEncoder().encode('Hello, world! This is not a safetensors file.');
    const exact = new DataView(text.buffer).getBigUint64(0, true);
    expect(exact).toBe(0x77202c6f6c6c6548n);
    expectFormatError(text, new RegExp(`header length ${exact} exceeds the ${text.length - 8} bytes after it`));
    expect(String(exact)).not.toBe(String(Number(exact)));
  });

  it('invalid JSON header', () => {
    const bad = good.slice();
    bad[8 + 20] = '}'.charCodeAt(0);
    expectFormatError(bad, /header is not valid UTF-8 JSON/);
    expectFormatError(buildFile(null, new Uint8Array(0), '{"a": {"dtype": "F32",'), /header is not valid UTF-8 JSON/);
  });

  it('header that is not UTF-8', () => {
    const bad = good.slice();
    bad[8 + 3] = 0xff; // inside the first key
    expectFormatError(bad, /header is not valid UTF-8 JSON/);
  });

  it('header that is not a JSON object', () => {
    expectFormatError(buildFile([1, 2, 3]), /header is not a JSON object/);
    expectFormatError(buildFile(null, new Uint8Array(0), 'null'), /header is not a JSON object/);
    expectFormatError(buildFile({ w: 5 }), /entry 'w' is not an object/);
  });

  for (const dtype of ['BF16', 'F64', 'I64', 'U8', 'F8_E4M3']) {
    it(`unknown dtype ${dtype} names the tensor and the dtype`, () => {
      const f = buildFile({ ok: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, bad: { dtype, shape: [2], data_offsets: [4, 8] } }, new Uint8Array(8));
      expectFormatError(f, new RegExp(`tensor 'bad' has dtype "${dtype}"; supported: F32, I32, I8, F16`));
    });
  }

  it('data_offsets inconsistent with the shape', () => {
    const data = new Uint8Array(64);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), /tensor 'w' spans 8 bytes, expected 12 for shape \[3\]/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 20] } }, data), /tensor 'w' spans 20 bytes, expected 16/);
    expectFormatError(buildFile({ w: { dtype: 'I32', shape: [2], data_offsets: [8, 0] } }, data), /tensor 'w' spans -8 bytes/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [2], data_offsets: [60, 68] } }, data), /tensor 'w' ends at byte 68 but the data section has 64 bytes/);
  });

  it('malformed shape or data_offsets', () => {
    const data = new Uint8Array(16);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, data), /tensor 'w' has an invalid shape \[-1\]/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, data), /invalid shape/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, data), /invalid shape 4/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [4] } }, data), /tensor 'w' has invalid data_offsets undefined/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0] } }, data), /invalid data_offsets \[0\]/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, data), /invalid data_offsets/);
  });

  it('a failure in the last entry allocates none of the earlier valid ones', () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 5; i++) header[`t${i}`] = { dtype: 'F32', shape: [2], data_offsets: [8 * i, 8 * i + 8] };
    header.z = { dtype: 'BF16', shape: [2], data_offsets: [40, 44] };
    expectFormatError(buildFile(header, new Uint8Array(48)), /tensor 'z' has dtype "BF16"/);
  });

  // The spec (huggingface/safetensors README): `__metadata__` is a string-to-string map, and "the
  // byte buffer needs to be entirely indexed, and cannot contain holes" (no overlaps either); the
  // reference Rust reader rejects both. Accepting them hands back metadata that is not the declared
  // Record<string, string>, or tensors that silently alias each other's bytes.
  it('__metadata__ that is not a string-to-string map', () => {
    const data = new Uint8Array(4);
    const w = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
    expectFormatError(buildFile({ __metadata__: { epoch: 3 }, w }, data), /__metadata__/);
    expectFormatError(buildFile({ __metadata__: ['a', 'b'], w }, data), /__metadata__/);
    expectFormatError(buildFile({ __metadata__: { nested: { a: 'b' } }, w }, data), /__metadata__/);
  });

  it('data_offsets that overlap or leave holes in the data section', () => {
    const data = new Uint8Array(16);
    // b overlaps a.
    expectFormatError(buildFile({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, data.subarray(0, 12)), /offset|overlap/i);
    // A hole between a and b.
    expectFormatError(buildFile({
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    }, data), /offset|hole/i);
    // Trailing bytes that no tensor covers.
    expectFormatError(buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data), /offset|hole|trailing|16/i);
  });

  it('the intact fixture still loads after all this', () => {
    const t = loadSafetensors(good);
    expect(Object.keys(t).length).toBe(7);
    disposeAll(t);
  });
});

// Issue 9: hostile headers. Every name is a tensor (even `__proto__`), every size read from the
// header is bounded, and nothing recursive ever walks a value an attacker nested.
describe('hostile headers', () => {
  const f32 = (n: number, at: number): object => ({ dtype: 'F32', shape: [n], data_offsets: [at, at + 4 * n] });

  it('a tensor named __proto__ is returned like any other (not dropped, not leaked)', () => {
    const data = new Uint8Array(new Float32Array([1.5, 2.5, 3.5]).buffer);
    const bytes = buildFile(null, data, `{"__proto__":${JSON.stringify(f32(1, 0))},"w":${JSON.stringify(f32(2, 4))}}`);
    const live = memory().liveTensors;
    const tensors = loadSafetensors(bytes);
    expect(Object.keys(tensors).sort()).toEqual(['__proto__', 'w']);
    expect(Object.prototype.hasOwnProperty.call(tensors, '__proto__')).toBe(true);
    expect(Array.from(tensors['__proto__'].toArray())).toEqual([1.5]);
    expect(Array.from(tensors.w.toArray())).toEqual([2.5, 3.5]);
    expect(memory().liveTensors).toBe(live + 2);
    disposeAll(tensors);
    expect(memory().liveTensors).toBe(live);
    // And in the metadata.
    const md = readSafetensors(buildFile(null, new Uint8Array(4), `{"__metadata__":{"__proto__":"x"},"w":${JSON.stringify(f32(1, 0))}}`));
    expect(Object.keys(md.metadata)).toEqual(['__proto__']);
    expect(md.metadata['__proto__']).toBe('x');
    disposeAll(md.tensors);
  });

  it('a name given twice is refused (JSON.parse would keep only the last)', () => {
    expectFormatError(buildFile(null, new Uint8Array(8), `{"w":${JSON.stringify(f32(1, 0))},"w":${JSON.stringify(f32(1, 4))}}`), /'w' appears 2 times/);
    expectFormatError(buildFile(null, new Uint8Array(4), `{"__metadata__":{},"w":${JSON.stringify(f32(1, 0))},"__metadata__":{}}`), /'__metadata__' appears 2 times/);
  });

  it('a value nested 5000 deep is a FormatError, not a stack overflow', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    expectFormatError(buildFile(null, new Uint8Array(4), `{"w":{"dtype":${deep},"shape":[1],"data_offsets":[0,4]}}`), /nests deeper than \d+ levels/);
    expectFormatError(buildFile(null, new Uint8Array(4), `{"__metadata__":{"a":${deep}},"w":${JSON.stringify(f32(1, 0))}}`), /nests deeper/);
    const deepObj = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    expectFormatError(buildFile(null, new Uint8Array(0), deepObj), /nests deeper/);
  });

  it('sizes read from the header are bounded: names, dims, dim values, entry count', () => {
    const data = new Uint8Array(4);
    expectFormatError(buildFile({ ['n'.repeat(5000)]: f32(1, 0) }, data), /name of 5000 characters .*at most 1024/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: new Array(40).fill(1), data_offsets: [0, 4] } }, data), /40 dimensions, at most \d+/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [1e300], data_offsets: [0, 4] } }, data), /tensor 'w' has an invalid shape/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [2 ** 53], data_offsets: [0, 4] } }, data), /invalid shape/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 0], data_offsets: [0, 0] } }, new Uint8Array(0)), /invalid shape/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: ['1'], data_offsets: [0, 4] } }, data), /invalid shape/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 1e300] } }, data), /invalid data_offsets/);
    // Element count times 4 overflowing the safe integers still compares exactly.
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 16], data_offsets: [0, 4] } }, data), /spans 4 bytes, expected/);
    const many = `{${Array.from({ length: 100_001 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',')}}`;
    expectFormatError(buildFile(null, new Uint8Array(0), many), /100001 entries, at most 100000/);
  });

  it('values in messages are described, never dumped', () => {
    expectFormatError(buildFile({ w: { dtype: 'x'.repeat(100_000), shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /dtype a string of 100000 characters/);
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: new Array(10_000).fill([1]), data_offsets: [0, 4] } }, new Uint8Array(4)), /10000 dimensions/);
  });
});
