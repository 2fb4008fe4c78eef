/**
 * safetensors, the format PyTorch checkpoints are exchanged in: an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`
 * (offsets relative to the end of the header), then raw little-endian tensor bytes.
 * Supported dtypes: F32 and I32 (the dtypes of this library's tensors).
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
import { assertTensor } from '../ops/util';
import { describeValue, repeatedKey, scanJson, showName, showValue } from './json-guard';

const DTYPES = { float32: 'F32', int32: 'I32' } as const;

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
  const names = Object.keys(dict).sort();
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
    const t = dict[name];
    if (!(t instanceof Tensor)) throw new ValueError(`saveSafetensors: '${name}' is not a Tensor`);
    assertTensor('saveSafetensors', `'${name}'`, t);
    if (name === '__metadata__') throw new ValueError("saveSafetensors: '__metadata__' is a reserved name");
    header[name] = { dtype: DTYPES[t.dtype], shape: t.shape.slice(), data_offsets: [offset, offset + t.size * 4] };
    offset += t.size * 4;
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
    const t = dict[name];
    const data = t.toArray();
    if (LITTLE_ENDIAN) {
      // The bytes as they are: no detour through doubles (which may quiet a signalling NaN).
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (t.dtype === 'float32') view.setFloat32(at + 4 * i, data[i], true);
        else view.setInt32(at + 4 * i, data[i], true);
      }
    }
    at += data.length * 4;
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
  dtype: 'float32' | 'int32';
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
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  return readSafetensors(bytes).tensors;
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

/** A copy of an entry's data, as the entry's dtype. */
export function entryData(file: ParsedSafetensors, e: SafetensorsEntry): Float32Array | Int32Array {
  const start = file.dataStart + e.begin;
  const end = file.dataStart + e.end;
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
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    throw new FormatError(`safetensors: header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`);
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
  const dtype = info.dtype === 'F32' ? 'float32' : info.dtype === 'I32' ? 'int32' : null;
  if (dtype === null) throw new FormatError(`safetensors: tensor '${shown}' has dtype ${showValue(info.dtype)}; supported: F32, I32`);
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
  const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * 4;
  if (end < begin || !Number.isSafeInteger(bytes) || end - begin !== bytes) {
    const expected = Number.isSafeInteger(bytes) ? `${bytes}` : `more than 2^53`;
    throw new FormatError(`safetensors: tensor '${shown}' spans ${end - begin} bytes, expected ${expected} for shape ${formatShape(shape as number[])}`);
  }
  if (end > dataLength) {
    throw new FormatError(`safetensors: tensor '${shown}' ends at byte ${end} but the data section has ${dataLength} bytes (truncated file)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}
