/** `init()`: loads the compute module once; everything else needs it. */
import { chooseBuild, compileInlined, instantiateWasm, relaxedSimdSupported, wasmSimdSupported, type SimdBuild, type WasmSource } from './wasm/load';
import { wasmBackend } from './backend/wasm';
import { jsBackend } from './backend/js/index';
import { backend, backendOrNull, setBackend } from './backend/backend';
import { ValueError } from './errors';
import { checkOptions, optionKeys } from './options';

const INIT_KEYS = optionKeys<InitOptions>({ wasm: true, backend: true, simd: true });

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
  /**
   * Which build of the wasm backend: `'auto'` (default) the relaxed-SIMD build where the engine
   * validates relaxed SIMD (Chrome 114+, Firefox 145+, Node 22+, Node 20 with
   * `--experimental-wasm-relaxed-simd`) and the SIMD128 build elsewhere; `'simd128'` forces the
   * SIMD128 build, whose results are bit-identical on every machine; `'relaxed'` forces the relaxed
   * one (an error where the engine lacks it). Relaxed SIMD fuses the matrix products' multiply-adds
   * where the CPU can, so their last bits can differ between machines (see `backendInfo`).
   * With `wasm` given, the module is what it is: a `simd` other than `'auto'` checks that it is
   * that build.
   */
  simd?: 'auto' | SimdBuild;
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** `'wasm'` or `'js'`, as `backendName()`. */
  name: 'wasm' | 'js';
  /** The wasm build running: `'relaxed'` (relaxed SIMD) or `'simd128'`; null for the JS backend. */
  simd: SimdBuild | null;
  /** Whether this engine validates relaxed SIMD (whatever was chosen). */
  relaxedSimdSupported: boolean;
}

let pending: Promise<void> | null = null;
let pendingName: 'wasm' | 'js' | null = null;
let pendingSimd: SimdBuild | null = null;

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
  const simd = options.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'simd128') {
    return Promise.reject(new ValueError(`init: simd must be 'auto', 'relaxed' or 'simd128', got ${String(simd)}`));
  }
  if (simd !== 'auto' && requested === 'js') {
    return Promise.reject(new ValueError(`init: simd: '${simd}' chooses a build of the wasm backend; the 'js' backend has none (leave simd out)`));
  }
  const name = requested === 'auto' ? (wasmSimdSupported() ? 'wasm' : 'js') : requested;
  const chosen = backendOrNull()?.name ?? pendingName;
  if (chosen !== null) {
    if (options.backend !== undefined && options.backend !== 'auto' && name !== chosen) {
      return Promise.reject(new ValueError(`init: backend '${name}' requested, but '${chosen}' is already initialized; the backend is chosen once per process`));
    }
    const build = backendOrNull()?.simd ?? pendingSimd;
    if (simd !== 'auto' && build !== null && build !== simd) {
      return Promise.reject(new ValueError(`init: simd: '${simd}' requested, but the ${build} build is already initialized; the build is chosen once per process`));
    }
    return pending ?? Promise.resolve();
  }
  pendingName = name;
  pendingSimd = name === 'wasm' && simd !== 'auto' ? simd : null;
  pending = (name === 'js' ? Promise.resolve(jsBackend()) : instantiateWasm(options.wasm, simd).then((w) => wasmBackend(w.instance, w.simd, w.module)))
    .then((b) => setBackend(b))
    .catch((error: unknown) => {
      pending = null;
      pendingName = null;
      pendingSimd = null;
      throw error;
    });
  return pending;
}

/** The active backend: `'wasm'` or `'js'`. Throws `NotInitializedError` before `init()` completes. */
export function backendName(): 'wasm' | 'js' {
  return backend().name;
}

/**
 * The active backend and, for wasm, which build runs (`'relaxed'` or `'simd128'`). Results of the
 * SIMD128 build are bit-identical on every machine; the relaxed build's matrix products may round
 * differently on different CPUs (fused multiply-add or not). Throws `NotInitializedError` before
 * `init()` completes.
 */
export function backendInfo(): BackendInfo {
  const b = backend();
  return { name: b.name, simd: b.simd, relaxedSimdSupported: relaxedSimdSupported() };
}

/** What a worker is told to compute with: the backend, and for wasm the build and its compiled module. */
export interface WorkerBackend {
  backend: 'wasm' | 'js';
  simd: SimdBuild | null;
  wasm: WebAssembly.Module | null;
}

/**
 * The backend for a worker this thread starts: this thread's own once `init()` has run (replicas
 * must compute as their trainer does), otherwise the default, with the inlined module compiled
 * here (not instantiated) and handed over: the worker's bundle carries no wasm.
 */
export async function backendForWorkers(): Promise<WorkerBackend> {
  if (pending !== null) await pending.catch(() => undefined);
  const b = backendOrNull();
  if (b !== null) return { backend: b.name, simd: b.simd, wasm: b.wasmModule };
  if (!wasmSimdSupported()) return { backend: 'js', simd: null, wasm: null };
  const simd = chooseBuild('auto');
  return { backend: 'wasm', simd, wasm: await compileInlined(simd) };
}

/** Initializes a worker with what `backendForWorkers` gave its starter. */
export function initWorker(given: Partial<WorkerBackend> | undefined): Promise<void> {
  // `?? undefined`: a request from another copy of the library may lack these.
  return init({ backend: given?.backend ?? 'wasm', simd: given?.simd ?? 'auto', wasm: given?.wasm ?? undefined });
}

/** `wasm (relaxed)`, `wasm (simd128)` or `js`: for messages, and what data-parallel replicas and their trainer must agree on. */
export function backendLabel(): string {
  const { name, simd } = backend();
  return simd === null ? name : `${name} (${simd})`;
}

/** True once `init()` has completed. */
export function isInitialized(): boolean {
  return backendOrNull() !== null;
}

export { wasmSimdSupported, relaxedSimdSupported };
export type { WasmSource, SimdBuild };
