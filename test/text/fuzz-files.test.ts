/**
 * Seeded fuzz of the two readers of untrusted files (issue 9): `loadSafetensors`, and a checkpoint
 * through everything `lstm-wasm train --resume` does with one (decodeCheckpoint, modelFromCheckpoint,
 * a trainer restored from it, one training step); quantized (int8 and float16) checkpoints through
 * what generate, predict and eval do with one (decodeCheckpoint, modelFromCheckpoint, scoring and
 * sampling with the model).
 *
 * Mutations: byte flips, truncations, extensions, a changed header length; header JSON edits
 * (dtypes, shapes, offsets, names such as `__proto__`, repeated keys, deep nesting, huge numbers);
 * and, for checkpoints, edits of the checkpoint JSON and of the tensors that are re-signed (the
 * CRC recomputed), so that validation and not the checksum has to catch them; for quantized ones
 * also edits of the stored values (int8 -128, hostile scales, float16 Inf/NaN halves), of the
 * dtypes (I8 / F16 / F32 swapped, sizes kept consistent), the `.scale` tensors, and the
 * `version` / `quantization` / `trainer` fields.
 *
 * Each case must load correctly or throw an LstmWasmError, within MAX_CASE_MS, leaving
 * `memory().liveTensors` and `tensorBytes` as they were. CI runs CASES cases (a few seconds);
 * `LSTM_WASM_FUZZ_CASES=100000` runs more, `LSTM_WASM_FUZZ_SEED` another stream, and
 * `LSTM_WASM_FUZZ_VERBOSE=1` prints how often each outcome (error message kind) occurred.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, manualSeed, memory, CharTokenizer, LanguageModel, LMBatcher, LMTrainer, LstmWasmError, encodeCheckpoint, decodeCheckpoint,
  modelFromCheckpoint, restoreTrainer, loadSafetensors, saveSafetensors, tensor, quantize, sampleText, scoreTokens, FormatError,
} from 'lstm-wasm';
import { fixturesDir } from '../nn/fixture-helpers';
import { seededUniform } from '../core/helpers';
import { buildSafetensors, crc32, joinSafetensors, splitSafetensors, storedTensors, type StoredTensor } from './checkpoint-kit';

const CASES = Number(process.env.LSTM_WASM_FUZZ_CASES ?? 6000);
const SEED = Number(process.env.LSTM_WASM_FUZZ_SEED ?? 0x15eed9);
/** The bound on one case; the slowest one measured in CI is far below (printed with the summary). */
const MAX_CASE_MS = 2000;
const TEXT = 'Blessed are the meek: for they shall inherit the earth.\n'.repeat(20);


type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const DEEP = '['.repeat(5000) + ']'.repeat(5000);
const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'model.x', 'optim.99.0', 'optim.0.2', 'state.5', 'n'.repeat(3000), 'model.embed.weight'];

/** A value meant to hurt wherever it lands in parsed JSON. */
function hostileValue(r: Rand, was: unknown): unknown {
  const n = typeof was === 'number' ? was : 1;
  const pool: (() => unknown)[] = [
    () => null, () => undefined, () => -1, () => 0, () => 1, () => 1.5, () => -0.5, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 1e300,
    () => -1e300, () => 16384, () => 2 ** 28, () => 1e9, () => n + 1, () => n - 1, () => n * 2, () => -n, () => '', () => 'x', () => String(n),
    () => 'x'.repeat(10_000), () => true, () => false, () => [], () => {}, () => [1, 2], () => [n, n], () => ({ a: 1 }),
    () => JSON.parse('['.repeat(40) + ']'.repeat(40)), () => new Array(5000).fill(0), () => (Array.isArray(was) ? [...was, ...was] : was),
    () => (Array.isArray(was) ? was.slice(1) : was), () => [0, 0, 0, 0, null],
  ];
  return pick(r, pool)();
}

/** A random path into a JSON value: the root rarely, else down random children, stopping with probability 0.25 at each level. */
function randomPath(r: Rand, root: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let v = root;
  while (v !== null && typeof v === 'object' && (path.length === 0 ? r() > 0.02 : r() > 0.25)) {
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    if (keys.length === 0) break;
    const k = pick(r, keys);
    path.push(k);
    v = (v as Record<string | number, unknown>)[k];
  }
  return path;
}

/** Sets (or deletes, for undefined) the value at `path`; returns the new root. */
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  let parent = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = value;
  return root;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v;
}

// ---------------------------------------------------------------------------------------------
// mutations of any safetensors file
// ---------------------------------------------------------------------------------------------

function flipBytes(r: Rand, b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let k = 1 + int(r, 4); k > 0; k--) out[int(r, out.length)] ^= 1 + int(r, 255);
  return out;
}

function truncate(r: Rand, b: Uint8Array): Uint8Array {
  return b.slice(0, int(r, b.length));
}

function extend(r: Rand, b: Uint8Array): Uint8Array {
  const extra = Uint8Array.from({ length: 1 + int(r, 64) }, () => int(r, 256));
  const out = new Uint8Array(b.length + extra.length);
  out.set(b);
  out.set(extra, b.length);
  return out;
}

function headerLength(r: Rand, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const view = new DataView(out.buffer);
  const n = view.getBigUint64(0, true);
  const choices = [n + 1n, n - 1n, n + 8n, 0n, 2n ** 63n, 2n ** 64n - 1n, BigInt(out.length), 100n * 1024n * 1024n + 1n];
  view.setBigUint64(0, BigInt.asUintN(64, pick(r, choices)), true);
  return out;
}

/** Edits one field of one header entry (or the metadata), keeping the data section. */
function headerEdit(r: Rand, b: Uint8Array): Uint8Array {
  const { headerText, data } = splitSafetensors(b);
  const header = JSON.parse(headerText) as Record<string, any>;
  const names = Object.keys(header);
  const name = pick(r, names);
  const entry = header[name];
  const kind = int(r, 9);
  if (kind === 0 && typeof entry === 'object') entry.dtype = pick(r, ['F16', 'I32', 'F32', 'BF16', 'U8', 5, null, [], {}, 'f32']);
  else if (kind === 1 && typeof entry === 'object') entry.shape = hostileValue(r, entry.shape);
  else if (kind === 2 && typeof entry === 'object' && Array.isArray(entry.shape) && entry.shape.length > 0) entry.shape[int(r, entry.shape.length)] = hostileValue(r, entry.shape[0]);
  else if (kind === 3 && typeof entry === 'object') entry.data_offsets = hostileValue(r, entry.data_offsets);
  else if (kind === 4 && typeof entry === 'object' && Array.isArray(entry.data_offsets)) entry.data_offsets[int(r, 2)] += pick(r, [-4, 4, -1, 1, 2 ** 40]);
  else if (kind === 5) header[name] = hostileValue(r, entry);
  else if (kind === 6) delete header[name];
  else if (kind === 7) header[pick(r, NAMES)] = entry;
  else {
    // A raw-text edit: JSON.stringify cannot write repeated keys or 5000 levels.
    const text = JSON.stringify(header);
    const raw = pick(r, [
      () => text.replace(/^\{/, `{"__proto__":${JSON.stringify(entry)},`),
      () => text.replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify(entry)},`),
      () => text.replace(/^\{/, `{"deep":${DEEP},`),
      () => text.replace(/"shape":\[/, `"shape":[${DEEP},`),
      () => text.replace(/\d/, String(int(r, 10))),
      () => text.replace(/"__metadata__":\{/, '"__metadata__":{"__proto__":"x",'),
    ])();
    return joinSafetensors(raw, data);
  }
  return joinSafetensors(JSON.stringify(header), data);
}

const BYTE_MUTATIONS = { flipBytes, truncate, extend, headerLength, headerEdit };

// ---------------------------------------------------------------------------------------------
// re-signed (CRC-valid) edits of a checkpoint
// ---------------------------------------------------------------------------------------------

/** A checkpoint from tensors, metadata and JSON text, with the CRC the format defines. */
function signed(tensors: StoredTensor[], metadata: Record<string, string>, json: string): Uint8Array {
  const sorted = tensors.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const crc = crc32(new TextEncoder().encode(json), ...sorted.map((t) => t.bytes));
  return buildSafetensors(tensors, { ...metadata, checkpoint: json, crc32: crc });
}

function jsonEdit(r: Rand, b: Uint8Array): Uint8Array {
  const { tensors, metadata } = storedTensors(b);
  let meta: unknown = JSON.parse(metadata.checkpoint);
  const edits = 1 + int(r, 2);
  let deep = false;
  for (let k = 0; k < edits; k++) {
    // Half the edits aim inside one section, so that deep fields (rng, steps, settings) get their share.
    const section = pick(r, ['trainer', 'extra', 'model', 'tokenizer']);
    const inside = r() < 0.5 && meta !== null && typeof meta === 'object' && typeof (meta as Record<string, unknown>)[section] === 'object';
    const path = inside ? [section, ...randomPath(r, (meta as Record<string, unknown>)[section])] : randomPath(r, meta);
    if (r() < 0.05) {
      meta = setAt(meta, path, '@@DEEP@@');
      deep = true;
    } else {
      meta = setAt(meta, path, hostileValue(r, getAt(meta, path)));
    }
  }
  let json = JSON.stringify(meta) ?? 'null';
  if (deep) json = json.replace('"@@DEEP@@"', DEEP);
  return signed(tensors, metadata, json);
}

function tensorEdit(r: Rand, b: Uint8Array): Uint8Array {
  const { tensors, metadata } = storedTensors(b);
  const i = int(r, tensors.length);
  const t = tensors[i];
  const kind = int(r, 6);
  if (kind === 0) t.name = pick(r, [...NAMES, ...tensors.map((x) => x.name)]);
  else if (kind === 1) tensors.splice(i, 1);
  else if (kind === 2) t.dtype = 'I32';
  else if (kind === 3 || kind === 4) {
    // Another shape with data to match: the safetensors layer accepts it, the config must not.
    const shape = t.shape.slice();
    if (kind === 3 && shape.length > 0) shape[int(r, shape.length)] += pick(r, [1, -1, 1000]);
    else shape.push(1);
    if (shape.some((d) => d < 0)) shape.fill(0);
    const size = shape.reduce((a, c) => a * c, 1);
    const bytes = new Uint8Array(size * 4);
    bytes.set(t.bytes.subarray(0, Math.min(bytes.length, t.bytes.length)));
    tensors[i] = { ...t, shape, bytes };
  } else {
    tensors.push({ name: pick(r, NAMES), dtype: 'F32', shape: [1], bytes: new Uint8Array(4) });
  }
  return signed(tensors, metadata, metadata.checkpoint);
}

// ---------------------------------------------------------------------------------------------
// re-signed edits aimed at quantized checkpoints (version 2)
// ---------------------------------------------------------------------------------------------

const ELEMENT_BYTES: Record<string, number> = { I8: 1, F16: 2, F32: 4, I32: 4 };

/** `bytes` resized to `n` bytes, keeping what fits (the rest zero). */
function resized(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(bytes.subarray(0, Math.min(n, bytes.length)));
  return out;
}

/** Edits the stored values, dtypes, shapes or the `.scale` tensors of a quantized checkpoint, data sizes kept consistent (the safetensors layer accepts it). */
function quantTensorEdit(r: Rand, b: Uint8Array): Uint8Array {
  const { tensors, metadata } = storedTensors(b);
  const of = (dtype: string): StoredTensor[] => tensors.filter((t) => t.dtype === dtype && t.bytes.length > 0);
  const scales = tensors.filter((t) => t.name.endsWith('.scale'));
  const kind = int(r, 8);
  if (kind === 0 && of('I8').length > 0) {
    // int8 values: -128 (refused) or any other byte (in range).
    const t = pick(r, of('I8'));
    for (let k = 1 + int(r, 3); k > 0; k--) t.bytes[int(r, t.bytes.length)] = pick(r, [0x80, 0x7f, 0x81, 0, int(r, 256)]);
  } else if (kind === 1 && scales.length > 0) {
    const t = pick(r, scales);
    const v = pick(r, [NaN, -1, -0, 0, Infinity, -Infinity, 1e38, 3.4e38, 1e-45, -1e-45, 1e9]);
    new DataView(t.bytes.buffer, t.bytes.byteOffset).setFloat32(4 * int(r, t.bytes.length / 4), v, true);
  } else if (kind === 2 && of('F16').length > 0) {
    const t = pick(r, of('F16'));
    const bits = pick(r, [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff, 0x7bff, 0xfbff, 0x0001, 0x8000, 0x3c00, int(r, 65536)]);
    new DataView(t.bytes.buffer, t.bytes.byteOffset).setUint16(2 * int(r, t.bytes.length / 2), bits, true);
  } else if (kind === 3) {
    // Another dtype, with the bytes its size needs.
    const t = pick(r, tensors);
    const dtype = pick(r, ['I8', 'F16', 'F32', 'I32'].filter((d) => d !== t.dtype));
    t.bytes = resized(t.bytes, (t.bytes.length / (ELEMENT_BYTES[t.dtype] ?? 4)) * ELEMENT_BYTES[dtype]);
    t.dtype = dtype;
  } else if (kind === 4 && scales.length > 0) {
    // A scale dropped, or moved to another tensor's name.
    const i = tensors.indexOf(pick(r, scales));
    if (r() < 0.5) tensors.splice(i, 1);
    else tensors[i] = { ...tensors[i], name: `${pick(r, tensors).name}.scale` };
  } else if (kind === 5) {
    // Another shape, the bytes resized to match.
    const t = pick(r, tensors);
    const shape = t.shape.slice();
    if (shape.length > 0 && r() < 0.7) shape[int(r, shape.length)] += pick(r, [1, -1, 7]);
    else if (r() < 0.5) shape.push(1);
    else shape.pop();
    if (shape.some((d) => d < 0)) shape.fill(0);
    t.shape = shape;
    t.bytes = resized(t.bytes, shape.reduce((a, c) => a * c, 1) * (ELEMENT_BYTES[t.dtype] ?? 4));
  } else if (kind === 6) {
    // One more tensor, named like the real ones.
    const base = pick(r, tensors);
    const name = pick(r, [`${base.name}.scale`, `${base.name}.zero_point`, `${base.name}`, 'model.x.scale', 'optim.0.0', 'state.0', '__proto__']);
    const dtype = pick(r, ['I8', 'F16', 'F32']);
    const shape = pick(r, [[1], base.shape.slice(), [base.shape[0] ?? 1]]);
    tensors.push({ name, dtype, shape, bytes: new Uint8Array(shape.reduce((a, c) => a * c, 1) * ELEMENT_BYTES[dtype]) });
  } else {
    // Two tensors' names swapped (a scale for a weight, a bias for a matrix).
    const a = pick(r, tensors);
    const c = pick(r, tensors);
    [a.name, c.name] = [c.name, a.name];
  }
  return signed(tensors, metadata, metadata.checkpoint);
}

/** Edits the fields that make a checkpoint quantized: version, quantization, trainer (re-signed). */
function quantJsonEdit(r: Rand, b: Uint8Array): Uint8Array {
  const { tensors, metadata } = storedTensors(b);
  const meta = JSON.parse(metadata.checkpoint) as Record<string, unknown>;
  for (let k = 1 + int(r, 2); k > 0; k--) {
    const field = pick(r, ['version', 'quantization', 'trainer']);
    const pool: unknown[] = {
      version: [1, 2, 3, 0, '2', null, undefined, 2.5],
      quantization: ['int8', 'float16', 'int4', 'float32', 'INT8', '', null, undefined, 8, ['int8']],
      trainer: [null, undefined, {}, [], 0, { step: 1 }],
    }[field]!;
    const v = pick(r, pool);
    if (v === undefined) delete meta[field];
    else meta[field] = v;
  }
  return signed(tensors, metadata, JSON.stringify(meta));
}

// ---------------------------------------------------------------------------------------------
// the harness
// ---------------------------------------------------------------------------------------------

interface Stats {
  cases: number;
  loaded: number;
  refused: number;
  maxMs: number;
  slowest: string;
  findings: string[];
  /** Outcome kinds (message with numbers and quoted names blurred) -> count. */
  outcomes: Map<string, number>;
}

/** Runs one case; a non-LstmWasmError, a leak or a slow case is a finding. */
function runCase(stats: Stats, label: string, bytes: Uint8Array, load: (bytes: Uint8Array) => void): void {
  const live = memory().liveTensors;
  const liveBytes = memory().tensorBytes;
  const t0 = performance.now();
  let outcome = 'loaded';
  try {
    load(bytes);
    stats.loaded++;
  } catch (e) {
    if (e instanceof LstmWasmError) {
      stats.refused++;
      outcome = `${e.name}: ${e.message.slice(0, 200)}`;
    } else {
      stats.findings.push(`${label}: ${(e as Error)?.constructor?.name} ${String((e as Error)?.message ?? e).slice(0, 300)}`);
    }
  }
  const ms = performance.now() - t0;
  stats.cases++;
  const kind = outcome.replace(/'[^']*'|"[^"]*"|-?\d[\d.e+]*/g, '#').slice(0, 90);
  stats.outcomes.set(kind, (stats.outcomes.get(kind) ?? 0) + 1);
  if (ms > stats.maxMs) {
    stats.maxMs = ms;
    stats.slowest = `${label} (${outcome.slice(0, 80)})`;
  }
  if (ms > MAX_CASE_MS) stats.findings.push(`${label}: took ${ms.toFixed(0)} ms (${outcome.slice(0, 120)})`);
  if (memory().liveTensors !== live || memory().tensorBytes !== liveBytes) {
    stats.findings.push(`${label}: leaked ${memory().liveTensors - live} tensors, ${memory().tensorBytes - liveBytes} bytes (${outcome.slice(0, 120)})`);
  }
}

function report(name: string, s: Stats): void {
  console.log(`fuzz ${name}: ${s.cases} cases (${s.loaded} loaded, ${s.refused} refused), slowest ${s.maxMs.toFixed(1)} ms: ${s.slowest}`);
  if (process.env.LSTM_WASM_FUZZ_VERBOSE) {
    for (const [kind, n] of [...s.outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${kind}`);
  }
  expect(s.findings, s.findings.slice(0, 20).join('\n')).toEqual([]);
  expect(s.maxMs).toBeLessThan(MAX_CASE_MS);
  expect(s.cases).toBeGreaterThan(0);
}

const newStats = (): Stats => ({ cases: 0, loaded: 0, refused: 0, maxMs: 0, slowest: '', findings: [], outcomes: new Map() });

beforeAll(async () => {
  await init();
});

describe('fuzz (seeded)', () => {
  it(`loadSafetensors: ${Math.round(CASES * 0.4)} mutated files load or throw a typed error, fast, leaking nothing`, () => {
    const bases = [
      new Uint8Array(readFileSync(`${fixturesDir}safetensors/tiny_model.safetensors`)),
      (() => {
        const dict = { a: tensor([1, 2, 3, 4], [2, 2]), b: tensor(Int32Array.from([7, -8]), [2]), c: tensor(new Float32Array(0), [0, 3]), d: tensor([5], []) };
        const bytes = saveSafetensors(dict, { format: 'pt', note: 'ü' });
        Object.values(dict).forEach((t) => t.dispose());
        return bytes;
      })(),
      // I8 (with F32 scales) and F16 entries: quantized checkpoints, read as plain safetensors.
      ...(['int8', 'float16'] as const).map((dtype) => {
        manualSeed(3);
        const tok = CharTokenizer.fromText('abc de\n');
        const model = new LanguageModel({ vocabSize: tok.size, cell: 'lstm', embedDim: 3, hiddenSize: 4, numLayers: 1 });
        const q = quantize(model, { dtype });
        const bytes = encodeCheckpoint(q, tok);
        q.dispose();
        model.dispose();
        return bytes;
      }),
    ];
    const r = seededUniform(SEED);
    const stats = newStats();
    const load = (bytes: Uint8Array): void => {
      const tensors = loadSafetensors(bytes);
      for (const name of Object.keys(tensors)) {
        expect(tensors[name].size).toBe(tensors[name].shape.reduce((a, b) => a * b, 1));
        expect(['float32', 'int32']).toContain(tensors[name].dtype);
        tensors[name].dispose();
      }
    };
    const kinds = Object.entries(BYTE_MUTATIONS);
    for (let i = 0; i < Math.round(CASES * 0.4); i++) {
      const [kind, mutate] = pick(r, kinds);
      const base = pick(r, bases);
      runCase(stats, `safetensors #${i} ${kind}`, mutate(r, base), load);
    }
    report('loadSafetensors', stats);
  });

  it(`checkpoint resume path: ${Math.round(CASES * 0.6)} mutated checkpoints (2/3 re-signed) resume or throw a typed error, fast, leaking nothing`, async () => {
    const tok = CharTokenizer.fromText(TEXT);
    const bases: Uint8Array[] = [];
    for (const [cell, numLayers, withTrainer] of [['gru', 1, true], ['lstm', 2, true], ['lstm', 1, false]] as const) {
      manualSeed(1);
      const model = new LanguageModel({ vocabSize: tok.size, cell, embedDim: 4, hiddenSize: 6, numLayers, dropout: 0.1 });
      const t = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), new LMBatcher(tok.encode(TEXT), 2, 8), { evalWindows: 1 });
      await t.run({ steps: 3, evalEvery: 2 });
      const extra = {
        settings: { level: 'char', model: cell, embed: 4, hidden: 6, layers: numLayers, dropout: 0.1, seq: 8, batch: 3, lr: 0.003, clip: 1, 'val-split': 0.05, seed: 1 },
        data: { sources: ['a.txt'], fingerprint: '0123abcd', chars: TEXT.length },
      };
      bases.push(encodeCheckpoint(model, tok, withTrainer ? t : null, extra));
      t.dispose();
      model.dispose();
    }
    const ids = tok.encode(TEXT);
    // What `train --resume` does with a checkpoint, then one step (accepted state must be usable).
    const load = (bytes: Uint8Array): void => {
      const ck = decodeCheckpoint(bytes);
      const model = modelFromCheckpoint(ck);
      try {
        if (ck.trainer === null) return;
        const settings = ck.meta.extra.settings as { seqLen?: number; seq?: number } | undefined;
        const t = new LMTrainer(model, new LMBatcher(ids, 3, settings?.seqLen ?? settings?.seq ?? 8), null);
        try {
          restoreTrainer(t, ck);
          t.trainStep();
        } finally {
          t.dispose();
        }
      } finally {
        model.dispose();
      }
    };
    const r = seededUniform(SEED ^ 0x5a5a5a5a);
    const stats = newStats();
    const kinds: [string, (r: Rand, b: Uint8Array) => Uint8Array][] = [
      ...Object.entries(BYTE_MUTATIONS), ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit],
      ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit], ['tensorEdit', tensorEdit], ['tensorEdit', tensorEdit], ['tensorEdit', tensorEdit],
      ['tensorEdit', tensorEdit],
    ];
    for (const base of bases) runCase(stats, 'unmutated base', base, load);
    expect(stats.loaded, 'the unmutated bases resume').toBe(bases.length);
    for (let i = 0; i < Math.round(CASES * 0.6); i++) {
      const [kind, mutate] = pick(r, kinds);
      const base = pick(r, bases);
      runCase(stats, `checkpoint #${i} ${kind}`, mutate(r, base), load);
    }
    report('checkpoint', stats);
  });

  it(`quantized checkpoints (int8, float16): ${Math.round(CASES * 0.5)} mutated files (most re-signed) give a model or a FormatError, fast, leaking nothing`, async () => {
    const tok = CharTokenizer.fromText(TEXT);
    const bases: Uint8Array[] = [];
    for (const [cell, numLayers] of [['lstm', 2], ['gru', 1]] as const) {
      manualSeed(2);
      const model = new LanguageModel({ vocabSize: tok.size, cell, embedDim: 4, hiddenSize: 6, numLayers, dropout: 0.1 });
      const t = new LMTrainer(model, new LMBatcher(tok.encode(TEXT), 3, 8), null);
      await t.run({ steps: 3 });
      t.dispose();
      const extra = {
        settings: { level: 'char', model: cell, embed: 4, hidden: 6, layers: numLayers, dropout: 0.1, seq: 8, batch: 3, lr: 0.003, clip: 1, 'val-split': 0.05, seed: 1 },
        data: { sources: ['a.txt'], fingerprint: '0123abcd', chars: TEXT.length },
      };
      for (const dtype of ['int8', 'float16'] as const) {
        const q = quantize(model, { dtype });
        bases.push(encodeCheckpoint(q, tok, null, extra));
        q.dispose();
      }
      model.dispose();
    }
    // What generate, predict and eval do with a checkpoint: decode, build the model, score and sample with it.
    // A refusal must be a FormatError (the file's fault); another typed error is a finding too.
    const load = (bytes: Uint8Array): void => {
      let ck: ReturnType<typeof decodeCheckpoint>;
      let model: LanguageModel;
      try {
        ck = decodeCheckpoint(bytes);
        model = modelFromCheckpoint(ck);
      } catch (e) {
        if (e instanceof LstmWasmError && !(e instanceof FormatError)) throw new Error(`not a FormatError: ${e.name}: ${e.message}`);
        throw e;
      }
      // An accepted model must work: nothing below may throw at all.
      try {
        expect(model.quantization).toBe(ck.meta.quantization ?? null);
        const ids = ck.tokenizer.encode(TEXT.slice(0, 40));
        if (ids.length >= 2) scoreTokens(model, ids, 2, 4);
        sampleText(model, ck.tokenizer, 'Bl', { length: 4, seed: 1 });
      } catch (e) {
        throw new Error(`an accepted file gave a model that fails: ${(e as Error).name}: ${(e as Error).message}`);
      } finally {
        model.dispose();
      }
    };
    const r = seededUniform(SEED ^ 0x0badcafe);
    const stats = newStats();
    const kinds: [string, (r: Rand, b: Uint8Array) => Uint8Array][] = [
      ...Object.entries(BYTE_MUTATIONS), ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit], ['jsonEdit', jsonEdit], ['quantJsonEdit', quantJsonEdit],
      ['quantJsonEdit', quantJsonEdit], ['tensorEdit', tensorEdit], ['tensorEdit', tensorEdit], ['quantTensorEdit', quantTensorEdit],
      ['quantTensorEdit', quantTensorEdit], ['quantTensorEdit', quantTensorEdit], ['quantTensorEdit', quantTensorEdit], ['quantTensorEdit', quantTensorEdit],
    ];
    for (const base of bases) runCase(stats, 'unmutated base', base, load);
    expect(stats.loaded, 'the unmutated bases load').toBe(bases.length);
    for (let i = 0; i < Math.round(CASES * 0.5); i++) {
      const [kind, mutate] = pick(r, kinds);
      const base = pick(r, bases);
      runCase(stats, `quantized #${i} ${kind}`, mutate(r, base), load);
    }
    report('quantized checkpoint', stats);
  });
});
