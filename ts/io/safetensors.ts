/**
 * safetensors, the format PyTorch checkpoints are exchanged in: an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`
 * (offsets relative to the end of the header), then raw little-endian tensor bytes.
 * Supported dtypes: F32 and I32 (the dtypes of this library's tensors).
 */
import { Tensor, tensor } from '../tensor';
import { FormatError, ValueError } from '../errors';
import { assertTensor } from '../ops/util';

const DTYPES = { float32: 'F32', int32: 'I32' } as const;
/** Refuse headers past this size: a corrupt length must not make us allocate gigabytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Serializes named tensors; keys are written in sorted order, header padded to 8 bytes. */
export function saveSafetensors(dict: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(dict).sort();
  const header: Record<string, unknown> = {};
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
    // Tensor data is little-endian in WASM memory; write through DataView to be explicit.
    for (let i = 0; i < data.length; i++) {
      if (t.dtype === 'float32') view.setFloat32(at + 4 * i, data[i], true);
      else view.setInt32(at + 4 * i, data[i], true);
    }
    at += data.length * 4;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes into new tensors (owned by the caller). Corrupt, truncated or
 * unsupported input throws a FormatError that says what is wrong; nothing is allocated then.
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  return readSafetensors(bytes).tensors;
}

export function readSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 8) throw new FormatError(`safetensors: ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw new FormatError(`safetensors: header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new FormatError(`safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new FormatError('safetensors: header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: [string, 'float32' | 'int32', number[], number, number][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const isStringMap = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.values(raw).every((v) => typeof v === 'string');
      if (!isStringMap) throw new FormatError('safetensors: __metadata__ must be an object of string values');
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object') throw new FormatError(`safetensors: entry '${name}' is not an object`);
    const dtype = info.dtype === 'F32' ? 'float32' : info.dtype === 'I32' ? 'int32' : null;
    if (dtype === null) throw new FormatError(`safetensors: tensor '${name}' has dtype ${JSON.stringify(info.dtype)}; supported: F32, I32`);
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new FormatError(`safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new FormatError(`safetensors: tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== size * 4) {
      throw new FormatError(`safetensors: tensor '${name}' spans ${end - begin} bytes, expected ${size * 4} for shape [${shape.join(', ')}]`);
    }
    if (end > dataLength) {
      throw new FormatError(`safetensors: tensor '${name}' ends at byte ${end} but the data section has ${dataLength} bytes (truncated file)`);
    }
    entries.push([name, dtype, shape as number[], begin, end]);
  }
  // The spec: the data section is indexed entirely, without holes or overlaps.
  const byOffset = entries.slice().sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let expectedBegin = 0;
  for (const [name, , , begin, end] of byOffset) {
    if (begin !== expectedBegin) {
      throw new FormatError(`safetensors: tensor '${name}' starts at byte ${begin}, expected ${expectedBegin} (data_offsets overlap or leave a hole)`);
    }
    expectedBegin = end;
  }
  if (expectedBegin !== dataLength) {
    throw new FormatError(`safetensors: the data section has ${dataLength} bytes but the tensors cover ${expectedBegin} (trailing bytes)`);
  }
  const tensors: Record<string, Tensor> = {};
  for (const [name, dtype, shape, begin] of entries) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const at = dataStart + begin + 4 * i;
      data[i] = dtype === 'float32' ? view.getFloat32(at, true) : view.getInt32(at, true);
    }
    tensors[name] = tensor(data, shape);
  }
  return { tensors, metadata };
}
