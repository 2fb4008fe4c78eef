// Where the training text comes from: the bundled corpus (fetched and gunzipped here, before any
// training, so no step of it lands on the main thread later) or the user's own text files. The
// text stays as UTF-8 bytes; the worker decodes it.
import { decodeTrainingText, BUNDLED_CORPUS_LABEL } from 'lstm-wasm';
import corpusUrl from 'lstm-wasm/corpus/kjv.txt.gz?url';

/** The bundled corpus as { bytes, key, label, source }; `source` is the CLI's name for it, so checkpoints match. */
export async function loadBundledCorpus() {
  const response = await fetch(corpusUrl);
  if (!response.ok) throw new Error(`could not fetch the bundled corpus (${corpusUrl}): HTTP ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  // A server that sends .gz with Content-Encoding: gzip has the browser decode it already.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes);
  return { bytes, key: 'bundled', label: `Bundled corpus: King James Bible (${mb(bytes.length)})`, source: BUNDLED_CORPUS_LABEL };
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The files' texts, joined by new lines, as { bytes, key, label, source }. A file that is empty,
 * binary or not UTF-8 throws the package's FormatError, its message starting with the file's name.
 */
export async function readTextFiles(files) {
  if (files.length === 0) throw new Error('no file chosen');
  const parts = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      decodeTrainingText(bytes);
    } catch (e) {
      e.message = `${file.name}: ${e.message}`;
      throw e;
    }
    parts.push(bytes);
  }
  const newline = new Uint8Array([10]);
  const joined = parts.flatMap((p, i) => (i === 0 ? [p] : [newline, p]));
  const bytes = new Uint8Array(await new Blob(joined).arrayBuffer());
  const names = files.map((f) => f.name).join(', ');
  return { bytes, key: `files:${names}:${bytes.length}`, label: `${names} (${mb(bytes.length)})`, source: names };
}

function mb(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}
