/** `init()`: loads the compute module once; everything else needs it. */
import { instantiateWasm, wasmSimdSupported, type WasmSource } from './wasm/load';
import { wasmBackend } from './backend/wasm';
import { jsBackend } from './backend/js/index';
import { backend, backendOrNull, setBackend } from './backend/backend';
import { ValueError } from './errors';
import { checkOptions, optionKeys } from './options';

const INIT_KEYS = optionKeys<InitOptions>({ wasm: true, backend: true });

export interface InitOptions {
  /**
   * Where to load the wasm from, instead of the bytes inlined in the package: bytes, a URL (for
   * strict-CSP pages or CDNs), a `Response`, or a compiled `WebAssembly.Module`.
   */
  wasm?: WasmSource;
  /**
   * Which kernels run: `'wasm'` (default) the Rust crate compiled to WebAssembly SIMD, `'js'` the
   * same kernels in plain JavaScript (no WebAssembly needed; slower), `'auto'` wasm where the engine
   * has WebAssembly SIMD and js elsewhere. Chosen once per process (see `init`).
   */
  backend?: 'wasm' | 'js' | 'auto';
}

let pending: Promise<void> | null = null;
let pendingName: 'wasm' | 'js' | null = null;

/**
 * Loads and instantiates the compute backend (by default the WebAssembly core). Async and
 * idempotent: later calls return at once and their options are ignored, except that asking
 * explicitly for another backend than the one already chosen throws (the backend cannot change
 * within a process). Throws a clear error where WebAssembly SIMD is missing (use
 * `backend: 'js'` or `'auto'` there); a failed init can be retried.
 */
export function init(options: InitOptions = {}): Promise<void> {
  try {
    checkOptions('init', options, INIT_KEYS);
  } catch (e) {
    return Promise.reject(e);
  }
  options ??= {};
  const requested = options.backend ?? 'wasm';
  if (requested !== 'wasm' && requested !== 'js' && requested !== 'auto') {
    return Promise.reject(new ValueError(`init: backend must be 'wasm', 'js' or 'auto', got ${String(requested)}`));
  }
  const name = requested === 'auto' ? (wasmSimdSupported() ? 'wasm' : 'js') : requested;
  const chosen = backendOrNull()?.name ?? pendingName;
  if (chosen !== null) {
    if (options.backend !== undefined && options.backend !== 'auto' && name !== chosen) {
      return Promise.reject(new ValueError(`init: backend '${name}' requested, but '${chosen}' is already initialized; the backend is chosen once per process`));
    }
    return pending ?? Promise.resolve();
  }
  pendingName = name;
  pending = (name === 'js' ? Promise.resolve(jsBackend()) : instantiateWasm(options.wasm).then(wasmBackend))
    .then((b) => setBackend(b))
    .catch((error: unknown) => {
      pending = null;
      pendingName = null;
      throw error;
    });
  return pending;
}

/** The active backend: `'wasm'` or `'js'`. Throws `NotInitializedError` before `init()` completes. */
export function backendName(): 'wasm' | 'js' {
  return backend().name;
}

/** True once `init()` has completed. */
export function isInitialized(): boolean {
  return backendOrNull() !== null;
}

export { wasmSimdSupported };
export type { WasmSource };
