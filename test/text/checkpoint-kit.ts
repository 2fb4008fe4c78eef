/**
 * Test helpers for hostile files, written without the library's reader: take a safetensors file
 * apart into (header text, data), put it back together, and re-sign an edited checkpoint (its
 * metadata `crc32` recomputed the way the format defines it), so that validation, not the checksum,
 * has to catch the edit.
 */

export interface SafetensorsParts {
  /** The header JSON text (padding trimmed). */
  headerText: string;
  /** The data section. */
  data: Uint8Array;
}

export function splitSafetensors(bytes: Uint8Array): SafetensorsParts {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  return { headerText: new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd(), data: bytes.slice(8 + n) };
}

/** A safetensors file from a header text and a data section (the header padded to 8 bytes). */
export function joinSafetensors(headerText: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  let json = headerText;
  while (new TextEncoder().encode(json).length % 8 !== 0) json += ' ';
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE) of byte strings in turn, as 8 hex digits. */
export function crc32(...parts: Uint8Array[]): string {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** The header as [name, entry] pairs (own keys, `__proto__` included) and the metadata. */
function headerEntries(headerText: string): { entries: [string, Entry][]; metadata: Record<string, string> } {
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const entries = Object.keys(header).filter((k) => k !== '__metadata__').map((k) => [k, header[k]] as [string, Entry]);
  return { entries, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}

/** Header text from entries and metadata (keeps a `__proto__` name as a plain key). */
function headerText(entries: [string, unknown][], metadata: Record<string, string>): string {
  const parts = [`"__metadata__":${JSON.stringify(metadata)}`, ...entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)];
  return `{${parts.join(',')}}`;
}

/**
 * Re-signs a checkpoint: replaces its checkpoint JSON with `json` (and optionally its tensors'
 * header entries and data) and writes the CRC-32 the format defines over the JSON and every
 * tensor's bytes in name order.
 */
export function resign(bytes: Uint8Array, json: string, edit?: (entries: [string, Entry][], data: Uint8Array) => Uint8Array): Uint8Array {
  const parts = splitSafetensors(bytes);
  const { entries, metadata } = headerEntries(parts.headerText);
  const data = edit ? edit(entries, parts.data) : parts.data;
  const names = entries.map(([k]) => k).sort();
  const byName = new Map(entries);
  const slices = names.map((k) => data.subarray(byName.get(k)!.data_offsets[0], byName.get(k)!.data_offsets[1]));
  const crc = crc32(new TextEncoder().encode(json), ...slices);
  return joinSafetensors(headerText(entries, { ...metadata, checkpoint: json, crc32: crc }), data);
}

/** The checkpoint JSON of checkpoint bytes, parsed. */
export function checkpointJson(bytes: Uint8Array): any {
  return JSON.parse(headerEntries(splitSafetensors(bytes).headerText).metadata.checkpoint);
}

/** A CRC-valid copy of a checkpoint whose JSON went through `edit` (which may mutate or replace it). */
export function editCheckpoint(bytes: Uint8Array, edit: (meta: any) => unknown): Uint8Array {
  const meta = checkpointJson(bytes);
  const out = edit(meta);
  return resign(bytes, JSON.stringify(out === undefined ? meta : out));
}

/** A checkpoint with one more tensor entry `name` (4 zero bytes, shape [1]) appended to the data. */
export function withExtraTensor(bytes: Uint8Array, name: string, options: { resign: boolean }): Uint8Array {
  const parts = splitSafetensors(bytes);
  const { entries, metadata } = headerEntries(parts.headerText);
  const end = parts.data.length;
  const data = new Uint8Array(end + 4);
  data.set(parts.data);
  entries.push([name, { dtype: 'F32', shape: [1], data_offsets: [end, end + 4] }]);
  const out = joinSafetensors(headerText(entries, metadata), data);
  return options.resign ? resign(out, metadata.checkpoint) : out;
}

/** A tensor of a safetensors file, as stored. */
export interface StoredTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** The tensors (header order, `__proto__` included) and metadata of a safetensors file. */
export function storedTensors(bytes: Uint8Array): { tensors: StoredTensor[]; metadata: Record<string, string> } {
  const parts = splitSafetensors(bytes);
  const { entries, metadata } = headerEntries(parts.headerText);
  const tensors = entries.map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape, bytes: parts.data.slice(e.data_offsets[0], e.data_offsets[1]) }));
  return { tensors, metadata };
}

/** A valid safetensors layout of `tensors` (contiguous, in the given order; names may repeat). */
export function buildSafetensors(tensors: StoredTensor[], metadata: Record<string, string>): Uint8Array {
  let at = 0;
  const entries: [string, unknown][] = tensors.map((t) => {
    const e = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
    return [t.name, e];
  });
  const data = new Uint8Array(at);
  at = 0;
  for (const t of tensors) {
    data.set(t.bytes, at);
    at += t.bytes.length;
  }
  return joinSafetensors(headerText(entries, metadata), data);
}
