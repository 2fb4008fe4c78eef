/**
 * The two builds of the compute module inlined in the package, gzipped, as base64
 * (inline.generated.ts, inline-relaxed.generated.ts, written by scripts/build-wasm.sh), each behind
 * a dynamic import of its own: the ESM build keeps them as separate chunks, so a browser downloads
 * only the build it runs (61 KB gzipped on the wire; base64 of the raw module would be 83 KB).
 * Imported by the entries that run on the main thread (index, cli), which register it with
 * `setInlinedWasm` (wasm/load.ts); never by the worker's entry.
 */
import { WasmLoadError } from '../errors';
import { decodeBase64, type SimdBuild } from './load';

export async function inlinedWasm(build: SimdBuild): Promise<Uint8Array> {
  const { wasmGzipBase64 } = build === 'relaxed' ? await import('./inline-relaxed.generated') : await import('./inline.generated');
  return gunzip(decodeBase64(wasmGzipBase64));
}

/** Unpacks gzip with the engine's DecompressionStream (every engine that has WebAssembly SIMD but Firefox 89-112). */
async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') {
    throw new WasmLoadError(
      'lstm-wasm: this engine lacks DecompressionStream (Chrome 80+, Firefox 113+, Safari 16.4+, Node 18+ have it), which unpacks ' +
        'the wasm inlined in the package; give init({ wasm }) the URL of lstm-wasm/lstm_wasm.wasm instead',
    );
  }
  const unpacked = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(unpacked).arrayBuffer());
}
