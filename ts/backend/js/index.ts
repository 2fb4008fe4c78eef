/**
 * The plain-JavaScript backend: the crate's kernels as straightforward loops over Float32Array,
 * on a heap with WebAssembly's pointer semantics (byte offsets, 16-byte aligned, 0 never valid).
 * Selected with `init({ backend: 'js' })`; it needs no WebAssembly at all, so it is also the
 * fallback where WebAssembly is missing, and it is the independent reference the WASM kernels are
 * tested against. Numbers agree with the WASM backend to float32 rounding (sums are float64 here,
 * float32 there; the optimizer steps agree bit for bit).
 *
 * Files mirror crate/: gemm, elementwise (+ reductions), activation, softmax, embedding, norm, optim,
 * layout, rnn/, quant, decode.
 */
import type { Backend } from '../backend';
import type { Kernels } from '../kernels';
import { JsHeap } from './heap';
import { sgemm } from './gemm';
import { elementwiseKernels } from './elementwise';
import { activationKernels } from './activation';
import { softmaxKernels } from './softmax';
import { embeddingKernels } from './embedding';
import { normKernels } from './norm';
import { optimKernels } from './optim';
import { layoutKernels } from './layout';
import { broadcastKernels } from './broadcast';
import { selectionKernels } from './selection';
import { rnnKernels } from './rnn/index';
import { decodeKernels } from './decode';
import { quantKernels } from './quant';

/** The kernels over `heap`: plain functions (no `this`), safe to detach from the object. */
export function jsKernels(heap: JsHeap): Kernels {
  const k: Omit<Kernels, 'lw_decode_step'> = {
    lw_sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      const f = heap.f32;
      sgemm(transA !== 0, transB !== 0, m, n, k, alpha, f, a >>> 2, lda, f, b >>> 2, ldb, beta, f, c >>> 2, ldc);
    },
    ...layoutKernels(heap),
    ...elementwiseKernels(heap),
    ...broadcastKernels(heap),
    ...selectionKernels(heap),
    ...activationKernels(heap),
    ...softmaxKernels(heap),
    ...embeddingKernels(heap),
    ...normKernels(heap),
    ...optimKernels(heap),
    ...rnnKernels(heap),
    ...quantKernels(heap),
  };
  return { ...k, ...decodeKernels(heap, k) };
}

/** A fresh JS backend with its own heap. */
export function jsBackend(): Backend {
  const heap = new JsHeap();
  return {
    name: 'js',
    simd: null,
    wasmModule: null,
    k: jsKernels(heap),
    alloc: (bytes) => heap.alloc(bytes),
    free: (ptr, bytes) => heap.free(ptr, bytes),
    f32: () => heap.f32,
    i32: () => heap.i32,
    heapBytes: () => heap.buffer.byteLength,
    setMemoryLimit: (bytes) => heap.setLimit(bytes),
    memoryLimit: () => heap.limitBytes(),
    usedBytes: () => heap.liveBytes(),
  };
}

export { JsHeap };
