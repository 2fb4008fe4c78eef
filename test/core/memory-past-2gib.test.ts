// The whole 4 GiB of WebAssembly memory is usable: tensors placed at or past 2 GiB (addresses that
// are negative as i32) are live, compute correctly and can be freed, and asking for more than is
// left is an OutOfMemoryError after which the library keeps working. It touches about 3.6 GB, so
// it takes 10-20 s on the CI machines (first-touch page faults dominate); set
// LSTM_WASM_SKIP_4GIB=1 to leave it out of a local run (CI always runs it).
import { beforeAll, describe, expect, it } from 'vitest';
import { OutOfMemoryError, type Tensor, full, init, memory, nn, noGrad, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from './helpers';

beforeAll(async () => {
  await init();
});

const skip = process.env.LSTM_WASM_SKIP_4GIB === '1' && process.env.CI !== 'true';
const N = 150_000_000; // 600 MB of float32 per tensor

describe.skipIf(skip)('tensors past 2 GiB', () => {
  it('five 600 MB tensors: the later ones live past 2 GiB, compute exactly, and free cleanly', { timeout: 180_000 }, () => {
    const lstm = new nn.LSTM(3, 8);
    const x = tensor(randomF32(5 * 2 * 3, 9, -1, 1), [5, 2, 3]);
    const lowOutput = tidy(() => Array.from(noGrad(() => lstm.forward(x))[0].toArray()));

    const start = memory();
    const big: Tensor[] = [];
    for (let i = 0; i < 5; i++) big.push(full([N], i + 1));
    const addresses = big.map((t) => t.ptr);
    expect(addresses.every((p) => p > 0), 'no address reads as negative').toBe(true);
    expect(Math.max(...addresses), 'the last tensors sit past 2 GiB').toBeGreaterThan(2 ** 31);
    expect(memory().heapBytes).toBeGreaterThan(2.75 * 2 ** 30);
    expect(memory().tensorBytes - start.tensorBytes).toBe(5 * N * 4);
    for (const t of big) expect(t.isDisposed).toBe(false);

    // Reductions and element-wise kernels over memory past 2 GiB, with exact answers.
    const high = big[4];
    expect(tidy(() => high.sum().item())).toBe(5 * N);
    const view = high.heapView();
    expect([view[0], view[N - 1]]).toEqual([5, 5]);
    const sumOfTwo = tidy(() => big[4].add(big[3]).sum().item()); // a 600 MB temporary, freed by tidy
    expect(sumOfTwo).toBe(9 * N);

    // Small tensors made now come from what is left, high in memory; they work as anywhere else.
    const after = tidy(() => Array.from(noGrad(() => lstm.forward(x))[0].toArray()));
    expect(after).toEqual(lowOutput);
    expect(tidy(() => Array.from(tensor([[1, 2], [3, 4]]).matmul(tensor([[5], [6]])).toArray()))).toEqual([17, 39]);

    // More than is left (1.2 GB on top of 3 GB): a typed error, nothing leaked, everything still works.
    const live = memory();
    expect(() => full([2 * N], 1)).toThrowError(OutOfMemoryError);
    expect(() => full([2 * N], 1)).toThrowError(/WebAssembly memory is at .* of its 4.00 GiB limit/);
    expect(memory().liveTensors).toBe(live.liveTensors);
    expect(memory().tensorBytes).toBe(live.tensorBytes);
    expect(tidy(() => high.sum().item())).toBe(5 * N);

    for (const t of big) t.dispose();
    expect(memory().tensorBytes).toBe(start.tensorBytes);
    expect(memory().liveTensors).toBe(start.liveTensors);
    // The freed memory is reused.
    const again = full([N], 2);
    expect(tidy(() => again.sum().item())).toBe(2 * N);
    again.dispose();
    x.dispose();
    lstm.dispose();
  });
});
