/**
 * The compute backend: a heap of bytes addressed by byte offsets ("pointers") plus kernels that
 * read and write that heap. The WebAssembly backend is the Rust crate (backend/wasm.ts), the JS
 * backend the same kernels in plain TypeScript (backend/js); every kernel takes the same arguments
 * as the crate's `lw_*` export of the same name (pointers are byte offsets, lengths are element
 * counts), so the TS layer is written once against this interface.
 */
import type { Kernels } from './kernels';
import { NotInitializedError } from '../errors';

export interface Backend {
  readonly name: 'wasm' | 'js';
  /** The wasm build running (`'relaxed'` or `'simd128'`, see wasm/load.ts); null for the JS backend. */
  readonly simd: 'relaxed' | 'simd128' | null;
  /** The compiled wasm module (null for JS): what workers are handed to compute as this thread does. */
  readonly wasmModule: WebAssembly.Module | null;
  readonly k: Kernels;
  /**
   * Allocates `bytes` zeroed bytes, 16-byte aligned. Must be released with `free(ptr, bytes)`.
   * Throws `OutOfMemoryError` whose message is the reason only (the caller says what was asked).
   */
  alloc(bytes: number): number;
  free(ptr: number, bytes: number): void;
  /** A Float32Array over the whole heap. Rebuilt after memory growth: never hold it across an alloc. */
  f32(): Float32Array;
  /** An Int32Array over the whole heap, with the same caveat as `f32()`. */
  i32(): Int32Array;
  /** Current size of the heap in bytes (WASM linear memory size, or the JS heap's buffer). */
  heapBytes(): number;
  /**
   * Caps the bytes of live blocks (null: no cap): past it `alloc` throws `OutOfMemoryError` and the
   * recurrent kernels report out-of-memory. The wasm backend counts kernel scratch too; the JS
   * backend's scratch is ordinary JS memory and is not counted.
   */
  setMemoryLimit(bytes: number | null): void;
  /** The cap `setMemoryLimit` set (null: none): the one record of it. */
  memoryLimit(): number | null;
  /** Bytes in live blocks: tensors, and in the wasm backend the kernels' kept scratch. */
  usedBytes(): number;
}

let current: Backend | null = null;

export function setBackend(b: Backend): void {
  current = b;
}

export function backendOrNull(): Backend | null {
  return current;
}

/** The active backend; throws if `init()` has not completed. */
export function backend(): Backend {
  if (current === null) {
    throw new NotInitializedError('lstm-wasm is not initialized: call `await init()` first');
  }
  return current;
}
