/** `init()`: loads the compute module once; everything else needs it. */
import { instantiateWasm, wasmSimdSupported, type WasmSource } from './wasm/load';
import { wasmBackend } from './backend/wasm';
import { backendOrNull, setBackend } from './backend/backend';

export interface InitOptions {
  /**
   * Where to load the wasm from, instead of the bytes inlined in the package: bytes, a URL (for
   * strict-CSP pages or CDNs), a `Response`, or a compiled `WebAssembly.Module`.
   */
  wasm?: WasmSource;
}

let pending: Promise<void> | null = null;

/**
 * Loads and instantiates the WebAssembly core. Async and idempotent: later calls return at once
 * (their options are ignored once initialized). Throws a clear error where WebAssembly SIMD is
 * missing; a failed init can be retried.
 */
export function init(options: InitOptions = {}): Promise<void> {
  if (backendOrNull() !== null) return Promise.resolve();
  if (pending === null) {
    pending = instantiateWasm(options.wasm)
      .then((instance) => setBackend(wasmBackend(instance)))
      .catch((error: unknown) => {
        pending = null;
        throw error;
      });
  }
  return pending;
}

/** True once `init()` has completed. */
export function isInitialized(): boolean {
  return backendOrNull() !== null;
}

export { wasmSimdSupported };
export type { WasmSource };
