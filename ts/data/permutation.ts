/**
 * Random orders drawn from a `Generator`: what shuffling (DataLoader) and `randomSplit` share, so
 * a seeded generator gives the same order everywhere. PyTorch draws these with `torch.randperm`;
 * its stream differs from this one, so orders match PyTorch's in kind, not in value.
 */
import type { Generator } from '../random';

/** A uniform integer in [0, n) for 1 <= n <= 2^32: `nextUint32() % n`, redrawn while in the biased top. */
export function randomBelow(generator: Generator, n: number): number {
  // The largest multiple of n that fits in 32 bits: draws at or above it would favour small results.
  const limit = 0x100000000 - (0x100000000 % n);
  let x = generator.nextUint32();
  while (x >= limit) x = generator.nextUint32();
  return x % n;
}

/**
 * A permutation of 0..n-1 (PyTorch `torch.randperm(n, generator=g).tolist()`): Fisher-Yates from
 * the end, `for i = n-1 down to 1: swap(p[i], p[randomBelow(i + 1)])`, starting from 0..n-1.
 * That is the contract: n - 1 draws, each `randomBelow`, so an order can be reproduced.
 */
export function permutation(n: number, generator: Generator): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomBelow(generator, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
