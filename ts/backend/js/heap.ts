/**
 * The JS backend's heap: one ArrayBuffer addressed by byte offsets, like WebAssembly linear memory.
 * Blocks are 16-byte aligned, offset 0 is never handed out (0 means "absent" in the kernel ABI),
 * and freed blocks go to a free list per size class, so a training loop that allocates the same
 * shapes every step reuses its blocks and the heap stops growing after the first step.
 */
import { LstmWasmError, OutOfMemoryError } from '../../errors';
import { assertBlockSize, formatBytes } from '../limits';

const ALIGN = 16;
/** Growth granularity, as a WebAssembly page. */
const PAGE = 65536;
const INITIAL_BYTES = 16 * PAGE;
/** Offsets must stay below 2^32 (`ptr >>> 2` indexes the views; wasm32 has the same limit). */
const MAX_BYTES = 2 ** 32 - PAGE;

/**
 * The size class of a request: multiples of 16 up to 1 KiB, then four classes per power of two
 * (2^k, 1.25, 1.5, 1.75 x 2^k), so a reused block wastes at most a fifth of itself.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 1024) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export class JsHeap {
  buffer: ArrayBuffer;
  /** Views over the whole buffer; replaced (never mutated) when the heap grows. */
  f32: Float32Array;
  i32: Int32Array;
  u8: Uint8Array;
  /** End of the bump-allocated region; everything above it is untouched (zero). */
  private top = ALIGN;
  private readonly freeLists = new Map<number, number[]>();
  /** Live blocks: offset -> size class, so a double or mismatched free fails loudly. */
  private readonly live = new Map<number, number>();
  /** Sum of the live blocks' size classes, and the cap on it (`setLimit`). */
  private liveTotal = 0;
  private limit = Infinity;

  constructor(initialBytes = INITIAL_BYTES) {
    this.buffer = new ArrayBuffer(Math.ceil(initialBytes / PAGE) * PAGE);
    this.f32 = new Float32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
  }

  /** `bytes` zeroed bytes, 16-byte aligned, never at offset 0. Release with `free(ptr, bytes)`. */
  alloc(bytes: number): number {
    assertBlockSize(bytes);
    const cls = sizeClass(bytes);
    if (this.liveTotal + cls > this.limit) {
      throw new OutOfMemoryError(
        `live blocks hold ${formatBytes(this.liveTotal)} of the ${formatBytes(this.limit)} allowed by setMemoryLimit`,
      );
    }
    const list = this.freeLists.get(cls);
    let ptr: number;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop()!;
      this.u8.fill(0, ptr, ptr + cls);
    } else {
      if (this.top + cls > this.buffer.byteLength) this.grow(this.top + cls);
      ptr = this.top;
      this.top += cls;
      this.u8.fill(0, ptr, ptr + cls); // the top may have been lowered over dirty blocks
    }
    this.live.set(ptr, cls);
    this.liveTotal += cls;
    return ptr;
  }

  /** Releases a block from `alloc`; `bytes` must be the size it was allocated with. */
  free(ptr: number, bytes: number): void {
    if (ptr === 0) return;
    const cls = this.live.get(ptr);
    if (cls === undefined) {
      throw new LstmWasmError(`lstm-wasm: free: ${ptr} is not a live block (double free?)`);
    }
    if (cls !== sizeClass(bytes)) {
      throw new LstmWasmError(`lstm-wasm: free: block ${ptr} was allocated with another size than ${bytes} bytes`);
    }
    this.live.delete(ptr);
    this.liveTotal -= cls;
    if (ptr + cls === this.top) {
      this.top = ptr; // the last block: give it back to the bump region
      return;
    }
    let list = this.freeLists.get(cls);
    if (list === undefined) this.freeLists.set(cls, (list = []));
    list.push(ptr);
  }

  /** Bytes handed out and not yet freed (size classes, not requests). */
  liveBytes(): number {
    return this.liveTotal;
  }

  /** Caps `liveBytes()` (null: no cap); blocks already live stay. */
  setLimit(bytes: number | null): void {
    this.limit = bytes === null ? Infinity : bytes;
  }
  /** The cap `setLimit` set, or null for none. */
  limitBytes(): number | null {
    return this.limit === Infinity ? null : this.limit;
  }


  /**
   * Grows the buffer to at least `needed` bytes (doubling, in whole pages). The old buffer is
   * detached when the engine can transfer it, so a view held across an alloc fails like a stale
   * view of WebAssembly memory instead of silently reading old data.
   */
  private grow(needed: number): void {
    const size = Math.min(MAX_BYTES, Math.ceil(Math.max(needed, 2 * this.buffer.byteLength) / PAGE) * PAGE);
    const outOfMemory = (): OutOfMemoryError =>
      new OutOfMemoryError(
        `the JS heap cannot grow from ${formatBytes(this.buffer.byteLength)} to ${formatBytes(needed)} ` +
          `(its limit is ${formatBytes(MAX_BYTES)}, and the engine may refuse less)`,
      );
    if (size < needed) throw outOfMemory();
    const old = this.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
    let next: ArrayBuffer;
    try {
      if (typeof old.transfer === 'function') {
        next = old.transfer(size);
      } else {
        next = new ArrayBuffer(size);
        new Uint8Array(next).set(new Uint8Array(old, 0, this.top));
      }
    } catch (e) {
      // The engine refused the buffer (a RangeError); the old one is still attached and intact.
      if (e instanceof RangeError) throw outOfMemory();
      throw e;
    }
    this.buffer = next;
    this.f32 = new Float32Array(next);
    this.i32 = new Int32Array(next);
    this.u8 = new Uint8Array(next);
  }
}
