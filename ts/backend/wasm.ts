/** The WebAssembly backend: wraps the instantiated crate's exports as a `Backend`. */
import type { Backend } from './backend';
import type { Kernels } from './kernels';
import { LstmWasmError } from '../errors';

interface CoreExports extends Kernels {
  memory: WebAssembly.Memory;
  lw_alloc(bytes: number): number;
  lw_free(ptr: number, bytes: number): void;
}

export function wasmBackend(instance: WebAssembly.Instance): Backend {
  const ex = instance.exports as unknown as CoreExports;
  if (!(ex.memory instanceof WebAssembly.Memory) || typeof ex.lw_alloc !== 'function') {
    throw new LstmWasmError('lstm-wasm: the wasm module does not export memory and lw_alloc; wrong module?');
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
  return {
    name: 'wasm',
    k: ex,
    alloc(bytes: number): number {
      const ptr = ex.lw_alloc(bytes);
      if (ptr === 0) {
        throw new LstmWasmError(`lstm-wasm: out of WebAssembly memory allocating ${bytes} bytes`);
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
  };
}
