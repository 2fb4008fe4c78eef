// The leak hint names the idiom that fixes the leak it sees (issue 23, item 1): evaluation with
// gradients on -> noGrad(() => tidy(...)); ops outside any scope -> tidy; one tidy around a whole
// loop -> a tidy per iteration; backward() outside tidy -> a tidy per step (test/core/autograd-api).
// Each kind warns once per process, so the silent cases run first.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Tensor, init, memory, nn, noGrad, tensor, tidy } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Enough iterations for the hint's three windows of 2048 tensors each to see the growth. */
const ITERATIONS = 8000;

function hints(warn: { mock: { calls: unknown[][] } }): string[] {
  return warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('tensors are live'));
}

describe('leak hints', () => {
  it('stay silent for the idioms that free: a tidy per step, noGrad + tidy, and tensors kept on purpose in a few', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const linear = new nn.Linear(4, 4);
    const x = tensor(Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]);
    const before = memory().liveTensors;
    for (let i = 0; i < ITERATIONS; i++) noGrad(() => tidy(() => linear.forward(x).tanh().sum().item()));
    for (let i = 0; i < ITERATIONS; i++) tidy(() => linear.forward(x).sum().backward());
    // A few hundred tensors kept (a dataset of rows, say) are not a leak.
    const rows: Tensor[] = [];
    for (let i = 0; i < 500; i++) rows.push(x.add(i));
    expect(hints(warn)).toEqual([]);
    for (const r of rows) r.dispose();
    expect(memory().liveTensors).toBe(before + 2); // the .grad of weight and bias, made by the first backward
  });

  it('evaluation with gradients on, outside tidy: names noGrad(() => tidy(...))', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const linear = new nn.Linear(4, 4);
    const x = tensor(Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]);
    const leaked: Tensor[] = [];
    for (let i = 0; i < ITERATIONS; i++) leaked.push(linear.forward(x).tanh());
    const got = hints(warn);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/evaluation or generation with gradients on/);
    expect(got[0]).toMatch(/noGrad\(\(\) => tidy\(\(\) => \.\.\.\)\)/);
    expect(got[0]).toMatch(/setDebugMemory\(true\)/);
    for (const t of leaked) t.dispose();
  });

  it('ops outside any scope with gradients off: names tidy, not noGrad', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = tensor([1, 2, 3]);
    const leaked: Tensor[] = [];
    noGrad(() => {
      for (let i = 0; i < ITERATIONS; i++) leaked.push(x.add(i));
    });
    const got = hints(warn);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/made outside tidy\(\) are never freed by themselves: wrap each call or iteration in tidy\(\(\) => \.\.\.\)/);
    expect(got[0]).not.toMatch(/noGrad/);
    for (const t of leaked) t.dispose();
  });

  it('one tidy around a whole loop: says to move it inside the loop', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = tensor([1, 2, 3]);
    tidy(() => {
      for (let i = 0; i < ITERATIONS; i++) x.mul(i).add(1);
    });
    const got = hints(warn);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/inside one tidy\(\), which frees only when it returns: if it wraps a whole loop, move it inside the loop/);
    x.dispose();
  });

  it('each kind warns once: the same leak again stays silent', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = tensor([1, 2, 3]);
    tidy(() => {
      for (let i = 0; i < ITERATIONS; i++) x.mul(i).add(1);
    });
    expect(hints(warn)).toEqual([]);
    x.dispose();
  });
});
