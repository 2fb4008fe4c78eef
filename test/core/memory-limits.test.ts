// Memory limits: sizes past what a tensor or WebAssembly's 4 GiB can hold are typed errors raised
// before any allocation or kernel; running out of memory (with setMemoryLimit standing in for a
// full 4 GiB, so these run in milliseconds) leaves nothing allocated, writes no gradient, and the
// library keeps working. The real 4 GiB is exercised in memory-past-2gib.test.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  LanguageModel, LstmWasmError, OutOfMemoryError, ShapeError, ValueError, F, type Tensor, full, init, loadSafetensors,
  manualSeed, memory, nn, noGrad, optim, saveSafetensors, setMemoryLimit, tensor, tidy, zeros,
} from 'lstm-wasm';
import { expectFailure, randomF32 } from './helpers';

beforeAll(async () => {
  await init();
});

afterEach(() => {
  setMemoryLimit(null);
});

/** `call`, outside any scope, throws `type` matching every pattern and leaks no tensor or byte. */
function expectRefused(type: typeof LstmWasmError, patterns: (string | RegExp)[], call: () => unknown): Error {
  return expectFailure(type, patterns, call, false);
}

/** A small computation whose result is known, to show the library still works. */
function stillWorks(): void {
  const out = tidy(() => tensor([[1, 2], [3, 4]]).matmul(tensor([[5], [6]])).toArray());
  expect(Array.from(out)).toEqual([17, 39]);
}

describe('shapes past what one tensor can hold', () => {
  it('are refused before allocating, naming the op, the shape and the bytes', () => {
    const witness = full([1024], 7);
    // These used to wrap past 4 GiB: full([2^30 + 64]) allocated 256 bytes and overwrote `witness`.
    expectRefused(OutOfMemoryError, ['full', '[1073741888]', '4.00 GiB', '2.00 GiB'], () => full([2 ** 30 + 64], 1));
    expectRefused(OutOfMemoryError, ['zeros', '[4294967296]', '16.0 GiB'], () => zeros([2 ** 32]));
    expectRefused(OutOfMemoryError, ['zeros', '[65536, 65536]'], () => zeros([65536, 65536]));
    expectRefused(OutOfMemoryError, ['zeros', '1e+300'], () => zeros([1e300]));
    expectRefused(OutOfMemoryError, ['zeros', 'int32'], () => zeros([2 ** 29 + 1], { dtype: 'int32' }));
    expect(Array.from(witness.toArray()).every((v) => v === 7), 'the live tensor is intact').toBe(true);
    expect(memory().tensorBytes).toBe(4096);
    witness.dispose();
    stillWorks();
  });

  it('one element past the largest tensor (2 GiB - 64 KiB) is refused', () => {
    expectRefused(OutOfMemoryError, ['[536854529]', '536854528 elements'], () => zeros([536_854_529]));
  });

  it('dimensions that are not non-negative integers are ShapeErrors', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, -Infinity]) {
      expectRefused(ShapeError, ['zeros', 'invalid dimension'], () => zeros([2, bad]));
    }
    expectRefused(ShapeError, ['invalid dimension "3"'], () => zeros(['3' as unknown as number]));
    const four = zeros([4]);
    expectRefused(ShapeError, ['reshape'], () => four.reshape(2, 2.5));
    four.dispose();
  });

  it('op outputs past 4 GiB are refused before the kernel runs, and later ops still work', () => {
    const a = zeros([65536, 1]);
    const b = zeros([1, 16384]);
    expectRefused(OutOfMemoryError, ['matmul', '[65536, 16384]', '4.00 GiB'], () => a.matmul(b));
    a.dispose();
    b.dispose();
    stillWorks();
  });

  it('an LSTM whose output would pass 4 GiB (T 65536, B 64, H 256) is refused; the library keeps working', () => {
    const lstm = new nn.LSTM(1, 256);
    const x = zeros([65536, 64, 1]);
    expectRefused(OutOfMemoryError, ['LSTM', '4.00 GiB'], () => noGrad(() => lstm.forward(x)));
    x.dispose();
    // The same module on a small input gives the same numbers as before the failure.
    const small = tensor(randomF32(3 * 2, 5, -1, 1), [3, 2, 1]);
    const run = (): number[] => tidy(() => Array.from(noGrad(() => lstm.forward(small))[0].toArray()));
    const first = run();
    expect(first.every(Number.isFinite)).toBe(true);
    expect(run()).toEqual(first);
    small.dispose();
    lstm.dispose();
    stillWorks();
  });

  it('a backward cache too large for one buffer is refused before the forward allocates anything', () => {
    // Output (8192, 64, 256) is 512 MiB and would fit; the cache backward needs is 6x that.
    const lstm = new nn.LSTM(1, 256);
    const x = zeros([8192, 64, 1]);
    expectRefused(OutOfMemoryError, ['LSTM', 'T=8192, B=64, H=256', 'noGrad'], () => lstm.forward(x));
    x.dispose();
    lstm.dispose();
    stillWorks();
  });
});

describe('setMemoryLimit', () => {
  it('caps allocations; memory() reports the cap and the bytes in use', () => {
    const used = memory().usedBytes;
    expect(used).toBeGreaterThan(0);
    setMemoryLimit(used + (1 << 20));
    expect(memory().memoryLimit).toBe(used + (1 << 20));
    const fits = zeros([1 << 17]); // 512 KiB
    expectRefused(OutOfMemoryError, ['zeros', 'out of memory', 'setMemoryLimit', '[262144]'], () => zeros([1 << 18]));
    fits.dispose();
    setMemoryLimit(null);
    expect(memory().memoryLimit).toBeNull();
    const now = zeros([1 << 18]);
    expect(now.size).toBe(1 << 18);
    now.dispose();
  });

  it('refuses values that are not a positive byte count up to 4 GiB', () => {
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1, Number.NaN]) {
      expect(() => setMemoryLimit(bad)).toThrowError(ValueError);
    }
    expect(memory().memoryLimit).toBeNull();
  });

  it('an op that runs out half-way frees what it had allocated (LSTM forward, outside tidy)', () => {
    const lstm = new nn.LSTM(8, 64, { numLayers: 2 });
    const x = tensor(randomF32(32 * 16 * 8, 1, -1, 1), [32, 16, 8]);
    // Enough for the first layer's output but not for everything the two layers need.
    setMemoryLimit(memory().usedBytes + 200_000);
    expectRefused(OutOfMemoryError, ['out of memory'], () => noGrad(() => lstm.forward(x)));
    setMemoryLimit(null);
    const [out] = noGrad(() => lstm.forward(x));
    expect(out.shape).toEqual([32, 16, 64]);
    out.dispose();
    x.dispose();
    lstm.dispose();
  });

  it("a recurrent kernel that cannot reserve its scratch says so, writes nothing, and the library keeps working", () => {
    // Inference needs the packed W_hh (4H x H floats, 4 MiB at H = 512) as kernel scratch, beyond
    // its output: a cap just above the output leaves the kernel short.
    const lstm = new nn.LSTM(4, 512);
    const x = tensor(randomF32(8 * 8 * 4, 2, -1, 1), [8, 8, 4]);
    const outputBytes = (8 * 8 * 512 + 2 * 8 * 512) * 4;
    setMemoryLimit(memory().usedBytes + outputBytes + 65536);
    expectRefused(OutOfMemoryError, ['LSTM', 'kernel could not reserve', 'scratch', 'nothing was computed'], () =>
      noGrad(() => lstm.forward(x)),
    );
    setMemoryLimit(null);
    const [out] = noGrad(() => lstm.forward(x));
    expect(out.toArray().every(Number.isFinite)).toBe(true);
    out.dispose();
    x.dispose();
    lstm.dispose();
  });

  it('a backward that runs out of scratch leaves every gradient untouched; with room again it matches an unlimited run', () => {
    const T = 64, B = 32, I = 8, H = 64;
    const lstm = new nn.LSTM(I, H);
    const x = tensor(randomF32(T * B * I, 3, -1, 1), [T, B, I]);
    const lossOf = (): Tensor => {
      const [out] = lstm.forward(x);
      return out.sum();
    };
    // Reference gradients, without a cap.
    tidy(() => lossOf().backward());
    const reference = lstm.parameters().map((p) => Array.from(p.grad!.toArray()));
    lstm.zeroGrad();
    const zerosOf = lstm.parameters().map((p) => Array.from(p.grad!.toArray()));

    tidy(() => {
      const loss = lossOf();
      // Room for the gradient tensors backward allocates (out's gradient and the LSTM node's
      // packed one, about 0.5 MiB each, the weights' 74 KiB) but not for the kernel's dgates
      // scratch (T*B*4H floats, 2 MiB).
      setMemoryLimit(memory().usedBytes + 1_500_000);
      const before = memory();
      let error: unknown = null;
      try {
        loss.backward();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OutOfMemoryError);
      expect((error as Error).message).toMatch(/LSTM.*backward.*could not reserve/);
      expect(memory().liveTensors).toBe(before.liveTensors);
      expect(memory().tensorBytes).toBe(before.tensorBytes);
      setMemoryLimit(null);
    });
    expect(lstm.parameters().map((p) => Array.from(p.grad!.toArray())), 'no gradient was written').toEqual(zerosOf);
    tidy(() => lossOf().backward());
    expect(lstm.parameters().map((p) => Array.from(p.grad!.toArray()))).toEqual(reference);
    x.dispose();
    lstm.dispose();
  });

  it('a model that runs out of memory while being built leaves no parameters behind', () => {
    setMemoryLimit(memory().usedBytes + 300_000);
    // The embedding (65 x 32) and most of the LSTM fit, the rest does not.
    expectRefused(OutOfMemoryError, ['out of memory'], () => new LanguageModel({ vocabSize: 65, embedDim: 32, hiddenSize: 128 }));
    expectRefused(OutOfMemoryError, ['out of memory'], () => new nn.LSTM(64, 128, { numLayers: 3 }));
  });

  it('loadSafetensors that runs out part-way frees the tensors it had made', () => {
    const bytes = tidy(() => saveSafetensors({
      a: tensor(randomF32(40_000, 4, -1, 1)),
      b: tensor(randomF32(40_000, 5, -1, 1)),
      c: tensor(randomF32(40_000, 6, -1, 1)),
    }));
    setMemoryLimit(memory().usedBytes + 250_000); // two of the three 160 KB tensors
    expectRefused(OutOfMemoryError, ['out of memory'], () => loadSafetensors(bytes));
    setMemoryLimit(null);
    const loaded = loadSafetensors(bytes);
    expect(Object.keys(loaded).sort()).toEqual(['a', 'b', 'c']);
    for (const t of Object.values(loaded)) t.dispose();
  });

  it('training under a cap that fits it runs the same as without one', () => {
    const run = (): number[] => {
      manualSeed(3);
      const head = new nn.Linear(16, 4);
      const opt = new optim.Adam(head.parameters(), { lr: 0.01 });
      const x = tensor(randomF32(64 * 16, 7, -1, 1), [64, 16]);
      const y = tensor(Int32Array.from({ length: 64 }, (_, i) => i % 4));
      const losses = [];
      for (let i = 0; i < 5; i++) {
        losses.push(tidy(() => {
          const l = F.crossEntropy(head.forward(x), y);
          opt.zeroGrad();
          l.backward();
          opt.step();
          return l.item();
        }));
      }
      opt.dispose();
      head.dispose();
      x.dispose();
      y.dispose();
      return losses;
    };
    const free = run();
    setMemoryLimit(memory().usedBytes + 100_000);
    expect(run()).toEqual(free);
  });
});
