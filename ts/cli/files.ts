/** Files: text input with clear errors, the bundled corpus, checkpoints, atomic writes. */
import { accessSync, closeSync, constants, fsyncSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeCheckpoint, type DecodedCheckpoint } from '../training/checkpoint';
import { BUNDLED_CORPUS_LABEL, decodeTrainingText } from '../training/setup';
import { CliError } from './errors';

/** The bundled corpus, relative to dist/cli.js (and to ts/cli/ when run from source). */
export const CORPUS_NAME = 'kjv.txt.gz';
export const CORPUS_LABEL = BUNDLED_CORPUS_LABEL;

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
  try {
    return decodeTrainingText(bytes);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
}

/** The package's pretrained model (`npm run pretrain` makes it), beside dist/ as the corpus is. */
export const PRETRAINED_NAME = 'kjv-byte.safetensors';

/**
 * The pretrained model's path: `$LSTM_WASM_PRETRAINED` if set (another default model), else the
 * package's. A CliError when the file is not there (a checkout before `npm run pretrain` made it).
 */
export function pretrainedPath(): string {
  const own = process.env.LSTM_WASM_PRETRAINED;
  const path = own !== undefined && own !== '' ? own : fileURLToPath(new URL(`../pretrained/${PRETRAINED_NAME}`, import.meta.url));
  try {
    statSync(path);
  } catch {
    throw new CliError(
      own ? `LSTM_WASM_PRETRAINED=${own}: no such file` : `this build has no pretrained model (pretrained/${PRETRAINED_NAME}): make it with npm run pretrain, or give a --checkpoint`,
    );
  }
  return path;
}

/** The checkpoint a command runs: `--checkpoint`'s (a file, or 'pretrained'), else the pretrained model. */
export function modelCheckpoint(given: string | undefined): { path: string; checkpoint: DecodedCheckpoint } {
  const path = given === undefined || given === 'pretrained' ? pretrainedPath() : given;
  return { path, checkpoint: readCheckpoint(path) };
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
 * Checks, before any work, that `writeFileAtomic(path)` can succeed: `path` is not a directory,
 * and its nearest existing ancestor is a directory we may write in (the missing ones below it are
 * created at the first save). `what` names the flag in the message (`--out`).
 */
export function checkWritablePath(path: string, what: string): void {
  const st = statOrNull(path);
  if (st?.isDirectory()) throw new CliError(`${what} ${path}: is a directory, expected a file path (e.g. ${join(path, 'lm.safetensors')})`);
  let dir = dirname(resolve(path));
  for (;;) {
    const d = statOrNull(dir);
    if (d !== null) {
      if (!d.isDirectory()) throw new CliError(`${what} ${path}: ${dir} is not a directory`);
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch {
        throw new CliError(`${what} ${path}: cannot write in ${dir} (permission denied)`);
      }
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/** True when `out` is the same file as one of `inputs` (through symlinks and relative paths). */
export function sameFileAs(out: string, inputs: readonly string[]): string | undefined {
  const key = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      // Not there yet: its directory may still be a symlink to an input's directory.
      try {
        return join(realpathSync(dirname(resolve(p))), basename(p));
      } catch {
        return resolve(p);
      }
    }
  };
  const target = key(out);
  return inputs.find((f) => key(f) === target);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The temporary files of `path`'s writes: `.<name>.<pid>.<random>.tmp` (and `.<name>.<pid>.tmp`, the older form). */
function tempPattern(path: string): RegExp {
  const name = basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${name}\\.(\\d+)(?:\\.[0-9a-f]+)?\\.tmp$`);
}

/** A temporary file left this long is stale whoever wrote it (its pid may have been reused). */
const STALE_TEMP_MS = 60 * 60_000;

/**
 * Removes the temporary files that earlier writes of `path` left behind when they were killed
 * mid-write: those whose process is gone, or that nobody touched for an hour. A temporary file
 * of a live process (another run writing the same checkpoint right now) is left alone.
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const pattern = tempPattern(path);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const file = join(dir, name);
    const pid = Number(m[1]);
    const st = statOrNull(file);
    if (st === null || !st.isFile()) continue;
    const stale = pid === process.pid || !processAlive(pid) || Date.now() - st.mtimeMs > STALE_TEMP_MS;
    if (!stale) continue;
    try {
      unlinkSync(file);
      removed.push(file);
    } catch {
      // another run removed it first, or we may not: either way not ours to worry about
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to disk,
 * then renamed over `path`. A crash at any point leaves either the old file or the new one whole,
 * and the next write of `path` removes the temporary file the crash left (`removeStaleTemps`).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  removeStaleTemps(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
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
