/** Files: text input with clear errors, the bundled corpus, checkpoints, atomic writes. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeCheckpoint, type DecodedCheckpoint } from '../text/checkpoint';
import { CliError } from './errors';

/** The bundled corpus, relative to dist/cli.js (and to ts/cli/ when run from source). */
export const CORPUS_NAME = 'kjv.txt.gz';
export const CORPUS_LABEL = 'bundled corpus: King James Bible (corpus/kjv.txt.gz)';

export function corpusPath(): string {
  return fileURLToPath(new URL(`../corpus/${CORPUS_NAME}`, import.meta.url));
}

export function readCorpus(): string {
  const path = corpusPath();
  let gz: Buffer;
  try {
    gz = readFileSync(path);
  } catch {
    throw new CliError(`the bundled corpus is missing (${path}); reinstall lstm-wasm or pass a text file`);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(gunzipSync(gz));
}

/** Reads a UTF-8 text file; missing, unreadable, empty or binary files are one clear CliError. */
export function readTextFile(path: string): string {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new CliError(`${path}: is a directory, expected a text file`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${path}: no such file`);
    if (code === 'EACCES') throw new CliError(`${path}: permission denied`);
    throw new CliError(`${path}: cannot read (${code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) throw new CliError(`${path}: file is empty`);
  if (bytes.includes(0)) throw new CliError(`${path}: looks like a binary file (it has NUL bytes), expected UTF-8 text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${path}: is not UTF-8 text (binary file?)`);
  }
  if (text.trim().length === 0) throw new CliError(`${path}: has only whitespace, no text to learn from`);
  return text;
}

/** Reads and verifies a checkpoint file; any problem is one CliError naming the file. */
export function readCheckpoint(path: string): DecodedCheckpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`checkpoint ${path}: no such file`);
    if (code === 'EISDIR') throw new CliError(`checkpoint ${path}: is a directory`);
    throw new CliError(`checkpoint ${path}: cannot read (${code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) throw new CliError(`checkpoint ${path}: file is empty`);
  try {
    return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CliError(`checkpoint ${path}: ${(e as Error).message}`);
  }
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to disk,
 * then renamed over `path`. A crash at any point leaves either the old file or the new one whole.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', 0o644);
    let off = 0;
    // Test hook (the CLI tests' crash-mid-write case): die hard with half the bytes written.
    const crashAt = process.env.LSTM_WASM_TEST_CRASH_MID_WRITE === '1' ? bytes.length >> 1 : Infinity;
    while (off < bytes.length) {
      off += writeSync(fd, bytes, off, Math.min(bytes.length, crashAt) - off);
      if (off >= crashAt) process.kill(process.pid, 'SIGKILL');
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file may not exist
    }
    throw new CliError(`cannot write checkpoint ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Make the rename itself durable (best effort: not every platform can fsync a directory).
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // ignore
  }
}

/** FNV-1a 32-bit of a string's UTF-16 code units, hex: a fingerprint of the training text. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
