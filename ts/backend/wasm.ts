/** The WebAssembly backend: wraps the instantiated crate's exports as a `Backend`. */
import type { Backend } from './backend';
import type { Kernels } from './kernels';
import { LstmWasmError, OutOfMemoryError } from '../errors';
import { MAX_MEMORY_BYTES, assertBlockSize, formatBytes } from './limits';

interface CoreExports extends Kernels {
  memory: WebAssembly.Memory;
  lw_init(): number;
  lw_alloc(bytes: number): number;
  lw_free(ptr: number, bytes: number): void;
  lw_set_memory_limit(bytes: number): void;
  lw_live_bytes(): number;
  lw_relaxed_simd(): number;
}

/**
 * The module's exports that are not kernels: memory and its allocator, which the backend itself
 * drives (`Backend.alloc`, `free`, `setMemoryLimit`, `usedBytes`). Checked against `CoreExports`
 * by the compiler, as `KERNEL_NAMES` is against `Kernels`.
 */
const housekeeping: { readonly [K in Exclude<keyof CoreExports, keyof Kernels>]: true } = {
  memory: true, lw_init: true, lw_alloc: true, lw_free: true, lw_set_memory_limit: true, lw_live_bytes: true, lw_relaxed_simd: true,
};
export const HOUSEKEEPING_EXPORTS: readonly string[] = Object.keys(housekeeping);

/** `simd`: which build `instance` is (wasm/load.ts reads it from the module); `module`: its module, for workers. */
export function wasmBackend(instance: WebAssembly.Instance, simd: 'relaxed' | 'simd128' = 'simd128', module: WebAssembly.Module | null = null): Backend {
  const ex = instance.exports as unknown as CoreExports;
  if (!(ex.memory instanceof WebAssembly.Memory) || typeof ex.lw_alloc !== 'function' || typeof ex.lw_init !== 'function') {
    throw new LstmWasmError('lstm-wasm: the wasm module does not export memory, lw_init and lw_alloc; wrong module?');
  }
  // The GEMM's packing scratch, reserved once so that no product ever allocates.
  if (ex.lw_init() !== 1) {
    throw new OutOfMemoryError('lstm-wasm: init: WebAssembly memory cannot grow by the 4.1 MiB the kernels need');
  }
  let buffer = ex.memory.buffer;
  let f32 = new Float32Array(buffer);
  let i32 = new Int32Array(buffer);
  // Growth replaces memory.buffer (the old one is detached): rebuild the views when it changed.
  const refresh = (): void => {
    if (ex.memory.buffer !== buffer) {
      buffer = ex.memory.buffer;
      f32 = new Float32Array(buffer);
      i32 = new Int32Array(buffer);
    }
  };
  let limit: number | null = null;
  return {
    name: 'wasm',
    simd,
    wasmModule: module,
    k: ex,
    alloc(bytes: number): number {
      assertBlockSize(bytes);
      // Pointers are unsigned: addresses at or past 2 GiB come back as negative i32.
      const ptr = ex.lw_alloc(bytes) >>> 0;
      if (ptr === 0) {
        const live = ex.lw_live_bytes() >>> 0;
        throw new OutOfMemoryError(
          limit !== null && live + bytes > limit
            ? `live blocks hold ${formatBytes(live)} of the ${formatBytes(limit)} allowed by setMemoryLimit`
            : `WebAssembly memory is at ${formatBytes(ex.memory.buffer.byteLength)} of its ${formatBytes(MAX_MEMORY_BYTES)} limit`,
        );
      }
      return ptr;
    },
    free(ptr: number, bytes: number): void {
      ex.lw_free(ptr, bytes);
    },
    f32(): Float32Array {
      refresh();
      return f32;
    },
    i32(): Int32Array {
      refresh();
      return i32;
    },
    heapBytes(): number {
      return ex.memory.buffer.byteLength;
    },
    usedBytes(): number {
      return ex.lw_live_bytes() >>> 0;
    },
    setMemoryLimit(bytes: number | null): void {
      limit = bytes;
      // The crate's cap is a u32 of bytes (0: none): 4 GiB itself is the same as none.
      ex.lw_set_memory_limit(bytes === null || bytes >= MAX_MEMORY_BYTES ? 0 : bytes);
    },
    memoryLimit(): number | null {
      return limit;
    },
  };
}
