/**
 * safetensors, the format PyTorch checkpoints are exchanged in: an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`
 * (offsets relative to the end of the header), then raw little-endian tensor bytes.
 * Supported dtypes: F32 and I32 (the dtypes of this library's tensors), and I8 and F16 (quantized
 * models' weights): `loadSafetensors` gives those as int32 and float32 tensors (values widened).
 *
 * Reading is two steps: `parseSafetensors` checks the whole header against the bytes (every entry,
 * every size bounded, no allocation), then `readSafetensors` copies the data into new tensors. A
 * file is untrusted input: whatever it holds gives tensors or a FormatError, never a hang, a stack
 * overflow, a huge allocation or a tensor that silently goes missing (a name like `__proto__` is
 * a name like any other: dicts here have no prototype).
 */
import { Tensor } from '../tensor';
import { tensor } from '../creation';
import { FormatError, ValueError, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { markHandedOver } from '../memory';
import { describeValue, repeatedKey, scanJson, showName, showValue } from './json-guard';
import { f16ToF32 } from '../float16';

const DTYPES = { float32: 'F32', int32: 'I32' } as const;

/** The dtypes an entry may have, by their safetensors names, and the bytes of one element. */
const ENTRY_DTYPES = { F32: ['float32', 4], I32: ['int32', 4], I8: ['int8', 1], F16: ['float16', 2] } as const;
export type EntryDtype = (typeof ENTRY_DTYPES)[keyof typeof ENTRY_DTYPES][0];

/** One entry to write: its safetensors dtype, shape and little-endian bytes. */
export interface RawEntry {
  dtype: keyof typeof ENTRY_DTYPES;
  shape: readonly number[];
  bytes: Uint8Array;
}

// Bounds on what a header may declare. Each is far above what real files use and low enough that
// checking the header stays cheap; the data itself is bounded by the bytes actually given.
/** Header bytes: a corrupt length must not make us decode gigabytes (the reference reader's limit). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Nesting: a valid header nests 3 deep ({name: {shape: [..]}}); a little room for fields we ignore. */
const MAX_HEADER_DEPTH = 8;
/** Entries (tensors and `__metadata__`): large models have a few thousand tensors. */
const MAX_ENTRIES = 100_000;
/** Characters of a tensor name or a metadata key. */
const MAX_NAME_LENGTH = 1024;
/** Dimensions of a tensor. */
const MAX_DIMS = 16;
/** Size of one dimension: the kernels index with 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Serializes named tensors; keys are written in sorted order, header padded to 8 bytes. */
export function saveSafetensors(dict: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = Object.create(null) as Record<string, RawEntry>;
  for (const name of Object.keys(dict)) {
    const t = dict[name];
    if (!(t instanceof Tensor)) throw new ValueError(`saveSafetensors: '${name}' is not a Tensor`);
    assertTensor('saveSafetensors', `'${name}'`, t);
    entries[name] = { dtype: DTYPES[t.dtype], shape: t.shape, bytes: littleEndianBytes(t.toArray()) };
  }
  return encodeSafetensors(entries, metadata);
}

/**
 * Serializes raw entries (any supported dtype, bytes already little-endian, each the size its
 * dtype and shape say); keys in sorted order, header padded to 8 bytes.
 */
export function encodeSafetensors(entries: Record<string, RawEntry>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(entries).sort();
  // No prototype: a tensor named `__proto__` is an entry, not the header's prototype.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new ValueError(`saveSafetensors: metadata value of '${k}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    const e = entries[name];
    if (name === '__metadata__') throw new ValueError("saveSafetensors: '__metadata__' is a reserved name");
    const size = e.shape.reduce((a, b) => a * b, 1) * ENTRY_DTYPES[e.dtype][1];
    if (e.bytes.length !== size) throw new ValueError(`saveSafetensors: '${name}' has ${e.bytes.length} bytes, expected ${size} for ${e.dtype} ${formatShape(e.shape)}`);
    header[name] = { dtype: e.dtype, shape: e.shape.slice(), data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    out.set(entries[name].bytes, at);
    at += entries[name].bytes.length;
  }
  return out;
}

/** The little-endian bytes of 4-byte values (a view where the machine is little-endian: no detour through doubles, which may quiet a signalling NaN). */
export function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i], true);
    else view.setInt32(4 * i, data[i], true);
  }
  return out;
}

export interface SafetensorsFile {
  /** By name; the object has no prototype, so any name (even `__proto__`) is an own key. */
  tensors: Record<string, Tensor>;
  /** `__metadata__`, also without a prototype. */
  metadata: Record<string, string>;
}

/** One tensor of a checked header; `begin` and `end` are byte offsets into the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: EntryDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A checked header over its bytes: what `readSafetensors` will allocate, before it does. */
export interface ParsedSafetensors {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  bytes: Uint8Array;
  /** Offset of the data section in `bytes`. */
  dataStart: number;
}

/**
 * Parses safetensors bytes into new tensors (owned by the caller). Corrupt, truncated or
 * unsupported input throws a FormatError that says what is wrong; nothing is allocated then.
 * The dict is handed over: `module.loadStateDict(dict)` frees each tensor it copies from it, so
 * `model.loadStateDict(loadSafetensors(bytes))` leaks nothing (pass `{ ...dict }` to keep them).
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  const { tensors } = readSafetensors(bytes);
  markHandedOver(tensors);
  return tensors;
}

/**
 * `loadSafetensors` with the metadata. The header is checked whole before any tensor is allocated;
 * if an allocation then fails (an OutOfMemoryError, thrown as is), the tensors made so far are freed.
 */
export function readSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  const file = parseSafetensors(input);
  const tensors = Object.create(null) as Record<string, Tensor>;
  try {
    for (const e of file.entries) tensors[e.name] = tensor(entryData(file, e), e.shape);
  } catch (err) {
    for (const name of Object.keys(tensors)) tensors[name].dispose();
    throw err;
  }
  return { tensors, metadata: file.metadata };
}

/** A copy of an entry's data, as the entry's dtype (int8 widened to int32, float16 to float32). */
export function entryData(file: ParsedSafetensors, e: SafetensorsEntry): Float32Array | Int32Array {
  const start = file.dataStart + e.begin;
  const end = file.dataStart + e.end;
  if (e.dtype === 'int8') return Int32Array.from(new Int8Array(file.bytes.buffer, file.bytes.byteOffset + start, end - start));
  if (e.dtype === 'float16') {
    const view = new DataView(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
    return Float32Array.from({ length: (end - start) / 2 }, (_, i) => f16ToF32(view.getUint16(start + 2 * i, true)));
  }
  if (LITTLE_ENDIAN) {
    const copy = file.bytes.slice(start, end); // its own buffer, 4-byte aligned
    return e.dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  }
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
  const n = (e.end - e.begin) / 4;
  const data = e.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = e.dtype === 'float32' ? view.getFloat32(start + 4 * i, true) : view.getInt32(start + 4 * i, true);
  return data;
}

/** An entry's bytes as stored (a view, not a copy). */
export function entryBytes(file: ParsedSafetensors, e: SafetensorsEntry): Uint8Array {
  return file.bytes.subarray(file.dataStart + e.begin, file.dataStart + e.end);
}

/**
 * Reads and checks the header of safetensors bytes: every entry a valid tensor (a supported dtype,
 * a bounded shape, offsets that match it), the data section covered exactly, every size within the
 * bounds above. Allocates no tensor; a problem is a FormatError naming the entry.
 */
export function parseSafetensors(input: Uint8Array | ArrayBuffer): ParsedSafetensors {
  // A plain view, also of a subclass: Node's Buffer.slice shares memory where Uint8Array's copies.
  const bytes = input instanceof Uint8Array ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  if (bytes.length < 8) throw new FormatError(`safetensors: ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Read as a 64-bit integer and shown exactly (a Number would round one past 2^53: a text file's first 8 bytes).
  const exactLength = view.getBigUint64(0, true);
  const headerLength = Number(exactLength);
  if (exactLength > BigInt(bytes.length - 8)) {
    throw new FormatError(`safetensors: header length ${exactLength} exceeds the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`);
  }
  if (headerLength > MAX_HEADER_BYTES) throw new FormatError(`safetensors: header length ${headerLength} is over the limit of ${MAX_HEADER_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (e) {
    throw new FormatError(`safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  const scan = scanJson(text, MAX_HEADER_DEPTH);
  if (scan.tooDeep) throw new FormatError(`safetensors: header nests deeper than ${MAX_HEADER_DEPTH} levels (a valid one nests 3)`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new FormatError('safetensors: header is not a JSON object');
  const record = header as Record<string, unknown>;
  // JSON.parse makes every key an own property (`__proto__` too) and keeps the last of repeated ones.
  const names = Object.keys(record);
  if (names.length > MAX_ENTRIES) throw new FormatError(`safetensors: header has ${names.length} entries, at most ${MAX_ENTRIES}`);
  if (names.length !== scan.topLevelKeys.length) {
    const rep = repeatedKey(scan.topLevelKeys);
    throw new FormatError(`safetensors: header has ${scan.topLevelKeys.length} keys but ${names.length} distinct ones` +
      (rep !== null ? `: '${showName(rep.key)}' appears ${rep.count} times` : ''));
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata = Object.create(null) as Record<string, string>;
  for (const name of names) {
    const raw = record[name];
    if (name === '__metadata__') {
      metadata = checkMetadata(raw);
      continue;
    }
    entries.push(checkEntry(name, raw, dataLength));
  }
  // The spec: the data section is indexed entirely, without holes or overlaps.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of byOffset) {
    if (e.begin !== expectedBegin) {
      throw new FormatError(`safetensors: tensor '${showName(e.name)}' starts at byte ${e.begin}, expected ${expectedBegin} (data_offsets overlap or leave a hole)`);
    }
    expectedBegin = e.end;
  }
  if (expectedBegin !== dataLength) {
    throw new FormatError(`safetensors: the data section has ${dataLength} bytes but the tensors cover ${expectedBegin} (trailing bytes)`);
  }
  return { entries, metadata, bytes, dataStart };
}

function checkMetadata(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FormatError(`safetensors: __metadata__ must be an object of string values, got ${describeValue(raw)}`);
  }
  const metadata = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(raw)) {
    const v = (raw as Record<string, unknown>)[key];
    if (key.length > MAX_NAME_LENGTH) throw new FormatError(`safetensors: __metadata__ has a key of ${key.length} characters, at most ${MAX_NAME_LENGTH}`);
    if (typeof v !== 'string') throw new FormatError(`safetensors: __metadata__ must be an object of string values; '${showName(key)}' is ${describeValue(v)}`);
    metadata[key] = v;
  }
  return metadata;
}

function checkEntry(name: string, raw: unknown, dataLength: number): SafetensorsEntry {
  const shown = showName(name);
  if (name.length > MAX_NAME_LENGTH) throw new FormatError(`safetensors: tensor name of ${name.length} characters ('${shown}') is too long: at most ${MAX_NAME_LENGTH}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FormatError(`safetensors: entry '${shown}' is not an object`);
  const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const known = typeof info.dtype === 'string' && Object.prototype.hasOwnProperty.call(ENTRY_DTYPES, info.dtype)
    ? ENTRY_DTYPES[info.dtype as keyof typeof ENTRY_DTYPES] : null;
  if (known === null) throw new FormatError(`safetensors: tensor '${shown}' has dtype ${showValue(info.dtype)}; supported: F32, I32, I8, F16`);
  const [dtype, elementBytes] = known;
  const shape = info.shape;
  if (Array.isArray(shape) && shape.length > MAX_DIMS) throw new FormatError(`safetensors: tensor '${shown}' has ${shape.length} dimensions, at most ${MAX_DIMS}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0 && d <= MAX_DIM)) {
    throw new FormatError(`safetensors: tensor '${shown}' has an invalid shape ${showValue(shape)} (dimensions are integers in [0, ${MAX_DIM}])`);
  }
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new FormatError(`safetensors: tensor '${shown}' has invalid data_offsets ${showValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  // At most 16 dims of at most 2^31: once past 2^53 the product only grows, so "not a safe integer" is exact.
  const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * elementBytes;
  if (end < begin || !Number.isSafeInteger(bytes) || end - begin !== bytes) {
    const expected = Number.isSafeInteger(bytes) ? `${bytes}` : `more than 2^53`;
    throw new FormatError(`safetensors: tensor '${shown}' spans ${end - begin} bytes, expected ${expected} for shape ${formatShape(shape as number[])}`);
  }
  if (end > dataLength) {
    throw new FormatError(`safetensors: tensor '${shown}' ends at byte ${end} but the data section has ${dataLength} bytes (truncated file)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

