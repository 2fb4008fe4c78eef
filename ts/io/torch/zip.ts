/**
 * The zip container of `torch.save` (torch >= 1.6): read through its central directory, as
 * PyTorch's own reader (miniz) does. What torch writes: every entry STORED (method 0, no
 * compression), its data aligned to 64 bytes by an `FB` padding field in the local header, flag
 * bit 3 set (the local header's sizes and CRC are zero; the central directory has them), and a
 * zip64 end-of-central-directory record even for small files.
 *
 * Supported: stored entries, zip64 (end record and the size/offset extra field), CRC-32 checked
 * for every entry read. Refused with a FormatError: deflated and other compressed entries (there
 * is no synchronous inflate in browsers; torch.save never compresses; an archive re-zipped by
 * hand can be stored again with `zip -0`), encrypted entries, multi-disk archives, repeated names.
 *
 * The file is untrusted: every count, size and offset is bounded by the bytes actually given
 * before it is used, so a lying header (a zip bomb's sizes, a million entries in 100 bytes) is
 * refused in time linear in the file's length, allocating nothing proportional to a claimed size.
 */
import { FormatError } from '../../errors';
import { crc32 } from '../crc32';

/** One stored entry: where its data lies in the file. */
export interface ZipEntry {
  name: string;
  /** Offset of the data in the file. */
  offset: number;
  size: number;
  crc32: number;
}

export interface ZipArchive {
  bytes: Uint8Array;
  /** By name; no prototype. */
  entries: Map<string, ZipEntry>;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Fixed sizes of the records, before their variable parts. */
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** A zip comment is at most 65535 bytes, so the end record is within this many bytes of the end. */
const MAX_EOCD_SEARCH = EOCD_SIZE + 0xffff;
/** Entries: a state dict of 100 000 tensors is far past any real model. */
export const MAX_ZIP_ENTRIES = 200_000;
/** Characters of an entry's name. */
const MAX_NAME_BYTES = 4096;

/** True when the bytes start as a zip file does (a local header, or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

/**
 * Reads the central directory of `bytes` and checks each entry's local header: the entries with
 * the offset and size of their data, all within the file. A FormatError says what is wrong.
 */
export function readZip(bytes: Uint8Array): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = findEndRecord(bytes, view);
  if (view.getUint16(at + 4, true) !== 0 || view.getUint16(at + 6, true) !== 0) throw new FormatError('zip: multi-disk archives are not supported');
  let count = view.getUint16(at + 10, true);
  let cdSize = view.getUint32(at + 12, true);
  let cdOffset = view.getUint32(at + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    ({ count, cdSize, cdOffset } = readZip64End(view, at));
  }
  // Every central record takes at least 46 bytes: a count the directory cannot hold is a lie.
  if (cdOffset + cdSize > at) throw new FormatError(`zip: the central directory (${cdSize} bytes at ${cdOffset}) runs past its end record at ${at} (truncated or corrupt)`);
  if (count > MAX_ZIP_ENTRIES) throw new FormatError(`zip: ${count} entries, at most ${MAX_ZIP_ENTRIES}`);
  if (count * CENTRAL_SIZE > cdSize) throw new FormatError(`zip: ${count} entries cannot fit in a central directory of ${cdSize} bytes`);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > end || view.getUint32(p, true) !== CENTRAL) throw new FormatError(`zip: central directory entry ${i} at byte ${p} is corrupt`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    let compressed = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > end) throw new FormatError(`zip: central directory entry ${i} runs past the directory's end`);
    if (nameLength > MAX_NAME_BYTES) throw new FormatError(`zip: entry ${i} has a name of ${nameLength} bytes, at most ${MAX_NAME_BYTES}`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength));
    } catch {
      throw new FormatError(`zip: entry ${i} has a name that is not UTF-8`);
    }
    if (size === 0xffffffff || compressed === 0xffffffff || localOffset === 0xffffffff) {
      ({ size, compressed, localOffset } = readZip64Extra(view, p + CENTRAL_SIZE + nameLength, extraLength, { size, compressed, localOffset }, name));
    }
    if (flags & 1) throw new FormatError(`zip: entry '${name}' is encrypted`);
    if (method === 8) {
      throw new FormatError(
        `zip: entry '${name}' is deflated; torch.save writes uncompressed (stored) entries, and only those are read here ` +
          '(no synchronous inflate in browsers): save it again with torch.save, or re-zip it stored: zip -0 -r out.pt <folder>',
      );
    }
    if (method !== 0) throw new FormatError(`zip: entry '${name}' uses compression method ${method}; only stored (uncompressed) entries are read`);
    if (compressed !== size) throw new FormatError(`zip: stored entry '${name}' has compressed size ${compressed} but size ${size}`);
    const offset = dataOffset(bytes, view, localOffset, name);
    if (offset + size > cdOffset) {
      throw new FormatError(`zip: entry '${name}' (${size} bytes at ${offset}) runs past the data area (${cdOffset} bytes; truncated or a lying size)`);
    }
    if (entries.has(name)) throw new FormatError(`zip: entry '${name}' appears twice`);
    entries.set(name, { name, offset, size, crc32 });
    p = next;
  }
  return { bytes, entries };
}

/** An entry's data, its CRC-32 checked (a view into the file, not a copy). */
export function entryData(zip: ZipArchive, entry: ZipEntry): Uint8Array {
  const data = zip.bytes.subarray(entry.offset, entry.offset + entry.size);
  const crc = crc32(data);
  if (crc !== entry.crc32) {
    throw new FormatError(`zip: entry '${entry.name}' is corrupt: CRC-32 ${hex(crc)} does not match the stored ${hex(entry.crc32)}`);
  }
  return data;
}

function findEndRecord(bytes: Uint8Array, view: DataView): number {
  const last = bytes.length - EOCD_SIZE;
  const first = Math.max(0, bytes.length - MAX_EOCD_SEARCH);
  for (let i = last; i >= first; i--) {
    // The comment length must reach the file's end exactly: a signature inside a comment does not count.
    if (bytes[i] === 0x50 && view.getUint32(i, true) === EOCD && i + EOCD_SIZE + view.getUint16(i + 20, true) === bytes.length) return i;
  }
  throw new FormatError(`zip: no end of central directory record in the last ${bytes.length - first} bytes (a truncated file, or not a zip)`);
}

function readZip64End(view: DataView, eocd: number): { count: number; cdSize: number; cdOffset: number } {
  const loc = eocd - 20;
  if (loc < 0 || view.getUint32(loc, true) !== ZIP64_LOCATOR) throw new FormatError('zip: the end record asks for zip64 but there is no zip64 locator before it');
  const recordAt = safeNumber(view.getBigUint64(loc + 8, true), 'zip64 end record offset');
  if (recordAt + 56 > loc || view.getUint32(recordAt, true) !== ZIP64_EOCD) throw new FormatError(`zip: no zip64 end record at byte ${recordAt}`);
  const count = safeNumber(view.getBigUint64(recordAt + 32, true), 'zip64 entry count');
  const cdSize = safeNumber(view.getBigUint64(recordAt + 40, true), 'zip64 central directory size');
  const cdOffset = safeNumber(view.getBigUint64(recordAt + 48, true), 'zip64 central directory offset');
  if (cdOffset + cdSize > recordAt) throw new FormatError(`zip: the central directory (${cdSize} bytes at ${cdOffset}) runs past the zip64 end record at ${recordAt}`);
  return { count, cdSize, cdOffset };
}

/** The zip64 extra field (id 1): the 64-bit values of the fields that are 0xffffffff, in this order. */
function readZip64Extra(
  view: DataView, start: number, length: number, fields: { size: number; compressed: number; localOffset: number }, name: string,
): { size: number; compressed: number; localOffset: number } {
  let p = start;
  const end = start + length;
  while (p + 4 <= end) {
    const id = view.getUint16(p, true);
    const n = view.getUint16(p + 2, true);
    if (p + 4 + n > end) break;
    if (id === 1) {
      const out = { ...fields };
      let q = p + 4;
      for (const key of ['size', 'compressed', 'localOffset'] as const) {
        if (fields[key] !== 0xffffffff) continue;
        if (q + 8 > p + 4 + n) throw new FormatError(`zip: entry '${name}' has a short zip64 extra field`);
        out[key] = safeNumber(view.getBigUint64(q, true), `entry '${name}' ${key}`);
        q += 8;
      }
      return out;
    }
    p += 4 + n;
  }
  throw new FormatError(`zip: entry '${name}' needs a zip64 extra field and has none`);
}

function dataOffset(bytes: Uint8Array, view: DataView, local: number, name: string): number {
  if (local + LOCAL_SIZE > bytes.length || view.getUint32(local, true) !== LOCAL) {
    throw new FormatError(`zip: entry '${name}' has no local header at byte ${local} (truncated or corrupt)`);
  }
  return local + LOCAL_SIZE + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`zip: ${what} ${v} is past any file this can read`);
  return Number(v);
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');
