/**
 * Memory limits, and the errors for requests past them.
 *
 * WebAssembly linear memory is 32-bit: at most 4 GiB for everything (Node 20 and Chrome let it
 * grow that far). One block is at most 2 GiB (the crate's allocator takes sizes below 2^31), so a
 * tensor holds at most `MAX_TENSOR_ELEMENTS` float32 or int32 values. Sizes are checked here, in
 * float64, before anything reaches the allocator, where they would wrap around 2^32.
 */
import { OutOfMemoryError } from '../errors';

/** The address space: 65536 pages of 64 KiB. */
export const MAX_MEMORY_BYTES = 2 ** 32;
/** The largest single block (a tensor's data): 2 GiB minus one page. */
export const MAX_TENSOR_BYTES = 2 ** 31 - 2 ** 16;
/** The largest tensor, in 4-byte elements: 536,854,528. */
export const MAX_TENSOR_ELEMENTS = MAX_TENSOR_BYTES / 4;

/** Throws unless `bytes` is a size one block (one tensor's data) can have; the backends' allocators call it. */
export function assertBlockSize(bytes: number): void {
  if (!(bytes >= 0 && bytes <= MAX_TENSOR_BYTES && Number.isInteger(bytes))) {
    throw new OutOfMemoryError(`one block holds 0 to ${formatBytes(MAX_TENSOR_BYTES)}`);
  }
}

/** `bytes` for people: "1.50 GiB", "512 MiB", "96 B". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} bytes`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let u = 0;
  while (value >= 1024 && u < units.length - 1) {
    value /= 1024;
    u++;
  }
  if (u === units.length - 1 && value >= 1024) return `${bytes.toExponential(2)} bytes`;
  return u === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[u]}`;
}

/**
 * Throws `OutOfMemoryError` when a recurrent kernel reports (a non-zero `status`, the bytes it
 * could not reserve) that memory could not hold its scratch; it wrote nothing.
 */
export function checkKernelStatus(op: string, status: number, heapBytes: number): void {
  const failed = status >>> 0;
  if (failed === 0) return;
  throw new OutOfMemoryError(
    `${op}: out of memory: the kernel could not reserve ${formatBytes(failed)} of scratch ` +
      `(WebAssembly memory is at ${formatBytes(heapBytes)} of its ${formatBytes(MAX_MEMORY_BYTES)} limit); ` +
      'nothing was computed: use a shorter sequence, a smaller batch or hidden size, or free tensors',
  );
}
