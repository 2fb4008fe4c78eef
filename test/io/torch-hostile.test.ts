/**
 * loadTorch on hostile and broken files. Each refused fixture (expected.json "refused", made by
 * scripts/fixtures/make_torch_fixtures.py) gives its typed error with the message the generator
 * recorded, fast, allocating nothing; os_system.pt, which runs `touch <marker>` when Python
 * unpickles it (the generator proved that with torch.load), leaves no marker here.
 *
 * Then a seeded fuzz in the style of test/text/fuzz-files.test.ts: valid .pt files mutated (byte
 * flips anywhere, truncations, extensions, central-directory fields, and, re-zipped with correct
 * CRCs so that the interpreter and not the checksum must catch them, edits of data.pkl's bytes and
 * integers, of storage sizes and of the byteorder record) load or throw an LstmWasmError, within
 * MAX_CASE_MS, leaving `memory().liveTensors` as it was. CASES cases by default (about a second);
 * `LSTM_WASM_FUZZ_CASES` runs more, `LSTM_WASM_FUZZ_SEED` another stream.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadTorch, memory, LstmWasmError, FormatError, DTypeError, Tensor, type TorchDict, type TorchValue } from 'lstm-wasm';
import { fixturesDir } from '../nn/fixture-helpers';
import { seededUniform } from '../core/helpers';

const dir = `${fixturesDir}torch/`;
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(dir + name));
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as { refused: Record<string, { error: string; message: string; marker?: string }> };
const CASES = Number(process.env.LSTM_WASM_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.LSTM_WASM_FUZZ_SEED ?? 0x24d1ce);
const MAX_CASE_MS = 2000;

beforeAll(async () => {
  await init();
});

function disposeAll(v: TorchValue): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v)) v.forEach(disposeAll);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(disposeAll);
}

describe('refused files: a typed error that says what is wrong, nothing allocated, nothing run', () => {
  it.each(Object.entries(expected.refused))('%s: %s', (name, want) => {
    const live = memory().liveTensors;
    const t0 = performance.now();
    let error: unknown = null;
    try {
      disposeAll(loadTorch<TorchDict>(bytesOf(name)));
    } catch (e) {
      error = e;
    }
    expect(performance.now() - t0, 'refused fast').toBeLessThan(500);
    expect(error, `${name} must be refused`).toBeInstanceOf(want.error === 'DTypeError' ? DTypeError : FormatError);
    expect((error as Error).message).toContain(want.message);
    expect(memory().liveTensors).toBe(live);
  });

  it('os_system.pt: the command it carries never runs (its marker file does not appear)', () => {
    const { marker, message } = expected.refused['os_system.pt'];
    rmSync(marker!, { force: true });
    expect(() => loadTorch(bytesOf('os_system.pt'))).toThrow(message);
    expect(existsSync(marker!), `${marker} was created: the pickle's os.system ran`).toBe(false);
  });

  it('the legacy format says how to re-save; zip bombs and deflated files say how to store them', () => {
    expect(() => loadTorch(bytesOf('legacy.pt'))).toThrow(/legacy torch\.save format .*re-save it with torch >= 1\.6 and the default torch\.save\(\.\.\.\)/);
    expect(() => loadTorch(bytesOf('deflated.pt'))).toThrow(/torch\.save writes uncompressed \(stored\) entries.*zip -0/);
    expect(() => loadTorch(bytesOf('zip_bomb.pt'))).toThrow(/'archive\/data\/0' is deflated/);
  });

  it('other kinds of input: empty, a safetensors file, text, a bare pickle', () => {
    const st = new Uint8Array(24);
    new DataView(st.buffer).setBigUint64(0, 2n, true);
    st.set([0x7b, 0x7d], 8);
    for (const [bytes, pattern] of [
      [new Uint8Array(0), /not a torch\.save file \(0 bytes/],
      [st.subarray(0, 10), /a safetensors file: read it with loadSafetensors/],
      [new TextEncoder().encode('hello world, not a model'), /not a torch\.save file/],
      [Uint8Array.from([0x80, 0x02, 0x7d, 0x2e]), /a bare pickle, not a torch\.save zip/],
    ] as const) {
      expect(() => loadTorch(bytes)).toThrow(FormatError);
      expect(() => loadTorch(bytes)).toThrow(pattern);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// fuzz
// ---------------------------------------------------------------------------------------------

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The entries of a stored zip, read independently of the library (central directory, no zip64 records needed for these sizes). */
function unzip(b: Uint8Array): [string, Uint8Array][] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = b.length - 22;
  while (v.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const n = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const out: [string, Uint8Array][] = [];
  for (let i = 0; i < n; i++) {
    const size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(b.subarray(p + 46, p + 46 + nameLen));
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    out.push([name, b.slice(start, start + size)]);
    p += 46 + nameLen + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
  }
  return out;
}

/** A stored zip of the entries, CRCs correct. */
function zip(entries: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = new TextEncoder().encode(name);
    const crc = crc32(data);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    parts.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of all) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// Byte-level mutations of the file as it is (the CRC or the zip structure catches most).
function flipBytes(r: Rand, b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let k = 1 + int(r, 4); k > 0; k--) out[int(r, out.length)] ^= 1 + int(r, 255);
  return out;
}
const truncate = (r: Rand, b: Uint8Array): Uint8Array => b.slice(0, int(r, b.length));
function extend(r: Rand, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 1 + int(r, 64));
  out.set(b);
  for (let i = b.length; i < out.length; i++) out[i] = int(r, 256);
  return out;
}
/** A field of the end record or of a central directory entry set to a hostile value. */
function zipField(r: Rand, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const v = new DataView(out.buffer);
  const cds: number[] = [];
  for (let i = 0; i + 4 <= out.length; i++) if (v.getUint32(i, true) === 0x02014b50 || v.getUint32(i, true) === 0x06054b50 || v.getUint32(i, true) === 0x06064b50) cds.push(i);
  const at = pick(r, cds) + pick(r, [8, 10, 12, 16, 20, 24, 28, 30, 32, 42, 24, 32, 40, 48]);
  const value = pick(r, [0, 1, 0xffff, 0xffffffff, 0x7fffffff, int(r, 2 ** 32), v.getUint32(Math.min(at, out.length - 4), true) + pick(r, [1, -1, 64])]);
  if (at + 4 <= out.length) v.setUint32(at, value >>> 0, true);
  return out;
}

/** An edit of the unzipped parts, re-zipped with correct CRCs. */
function rezipped(edit: (r: Rand, entries: [string, Uint8Array][]) => void) {
  return (r: Rand, b: Uint8Array): Uint8Array => {
    const entries = unzip(b);
    edit(r, entries);
    return zip(entries);
  };
}

const PICKLE_BYTES = [0x28, 0x2e, 0x30, 0x52, 0x62, 0x51, 0x71, 0x68, 0x63, 0x7d, 0x5d, 0x29, 0x74, 0x85, 0x86, 0x73, 0x75, 0x61, 0x65, 0x4a, 0x4b, 0x8a, 0x93, 0x94, 0x95, 0x58, 0xff, 0x00];
const pickleOf = (entries: [string, Uint8Array][]): [string, Uint8Array] => entries.find(([n]) => n.endsWith('/data.pkl'))!;

const pickleFlip = rezipped((r, entries) => {
  const e = pickleOf(entries);
  for (let k = 1 + int(r, 3); k > 0; k--) e[1][int(r, e[1].length)] = r() < 0.5 ? pick(r, PICKLE_BYTES) : int(r, 256);
});
const pickleTruncate = rezipped((r, entries) => {
  const e = pickleOf(entries);
  e[1] = e[1].slice(0, int(r, e[1].length));
});
/** A run of the pickle repeated or cut out: opcodes out of their order, memo entries used before they are stored. */
const pickleSplice = rezipped((r, entries) => {
  const e = pickleOf(entries);
  const a = int(r, e[1].length);
  const len = 1 + int(r, 40);
  const cut = r() < 0.5;
  const chunk = e[1].slice(a, a + len);
  const at = int(r, e[1].length);
  const rest = cut ? [...e[1].slice(0, a), ...e[1].slice(a + len)] : [...e[1].slice(0, at), ...chunk, ...e[1].slice(at)];
  e[1] = Uint8Array.from(rest);
});
/** The argument of a BININT1 / BININT (sizes, strides, offsets, numels) made hostile. */
const pickleInts = rezipped((r, entries) => {
  const e = pickleOf(entries);
  const b = e[1];
  const at: number[] = [];
  for (let i = 0; i < b.length - 1; i++) if (b[i] === 0x4b || b[i] === 0x4a) at.push(i);
  if (at.length === 0) return;
  for (let k = 1 + int(r, 2); k > 0; k--) {
    const i = pick(r, at);
    if (b[i] === 0x4b) b[i + 1] = pick(r, [0, 1, 2, 255, b[i + 1] + 1, b[i + 1] - 1]) & 0xff;
    else if (i + 5 <= b.length) new DataView(b.buffer, b.byteOffset).setInt32(i + 1, pick(r, [-1, 0, 2 ** 31 - 1, -(2 ** 31), 1 << 20, 65536]), true);
  }
});
const storageEdit = rezipped((r, entries) => {
  const data = entries.filter(([n]) => n.includes('/data/'));
  const e = pick(r, data);
  const kind = int(r, 3);
  if (kind === 0) e[1] = e[1].slice(0, Math.max(0, e[1].length - 1 - int(r, 8)));
  else if (kind === 1) e[1] = Uint8Array.from([...e[1], ...new Uint8Array(1 + int(r, 8))]);
  else entries.splice(entries.indexOf(e), 1);
});
const byteorderEdit = rezipped((r, entries) => {
  const folder = pickleOf(entries)[0].split('/')[0];
  const value = pick(r, ['big', 'little', 'middle', '', 'BIG', 'x'.repeat(40)]);
  const existing = entries.find(([n]) => n === `${folder}/byteorder`);
  if (existing) existing[1] = new TextEncoder().encode(value);
  else entries.push([`${folder}/byteorder`, new TextEncoder().encode(value)]);
});

const MUTATIONS = { flipBytes, truncate, extend, zipField, pickleFlip, pickleFlip2: pickleFlip, pickleTruncate, pickleSplice, pickleSplice2: pickleSplice, pickleInts, pickleInts2: pickleInts, storageEdit, byteorderEdit };

describe('fuzz (seeded)', () => {
  it(`loadTorch: ${CASES} mutated .pt files load or throw an LstmWasmError, fast, leaking nothing`, () => {
    const bases = ['dtypes.pt', 'adam.pt', 'pos_tagger.pt', 'plain_dict.pt', 'lstm_all.pt', 'dtypes_big.pt'].map(bytesOf);
    // The re-zipper itself is faithful: a base unzipped and zipped again loads as the original.
    for (const b of bases) disposeAll(loadTorch<TorchDict>(zip(unzip(b))));
    const r = seededUniform(SEED);
    const kinds = Object.entries(MUTATIONS);
    const findings: string[] = [];
    const outcomes = new Map<string, number>();
    let loaded = 0;
    let maxMs = 0;
    let slowest = '';
    for (let i = 0; i < CASES; i++) {
      const [kind, mutate] = pick(r, kinds);
      const bytes = mutate(r, pick(r, bases));
      const live = memory().liveTensors;
      const t0 = performance.now();
      let outcome = 'loaded';
      try {
        const sd = loadTorch<TorchDict>(bytes);
        loaded++;
        disposeAll(sd);
      } catch (e) {
        if (e instanceof LstmWasmError) outcome = `${e.name}: ${e.message.replace(/'[^']*'|\b[0-9a-f]{8}\b|-?\d+/g, '#').slice(0, 80)}`;
        else findings.push(`#${i} ${kind}: ${(e as Error)?.constructor?.name} ${String((e as Error)?.message ?? e).slice(0, 300)}`);
      }
      const ms = performance.now() - t0;
      if (ms > maxMs) {
        maxMs = ms;
        slowest = `#${i} ${kind} (${outcome})`;
      }
      if (ms > MAX_CASE_MS) findings.push(`#${i} ${kind}: took ${ms.toFixed(0)} ms`);
      if (memory().liveTensors !== live) findings.push(`#${i} ${kind}: leaked ${memory().liveTensors - live} tensors (${outcome})`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log(`fuzz loadTorch: ${CASES} cases (${loaded} loaded, ${CASES - loaded - findings.length} refused, ${outcomes.size} kinds of outcome), slowest ${maxMs.toFixed(1)} ms: ${slowest}`);
    if (process.env.LSTM_WASM_FUZZ_VERBOSE) for (const [k, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${k}`);
    expect(findings, findings.slice(0, 20).join('\n')).toEqual([]);
    // The mutations reach past the zip layer: the interpreter and the tensor checks refuse some.
    expect([...outcomes.keys()].some((k) => k.includes('data.pkl'))).toBe(true);
    expect(loaded).toBeGreaterThan(0);
  });
});
