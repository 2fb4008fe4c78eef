/** Reading the PyTorch fixtures (test/fixtures, made by scripts/fixtures/make_fixtures.py). */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { tensor, type Tensor } from 'lstm-wasm';

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function readFixture<T = any>(relative: string): T {
  return JSON.parse(readFileSync(fixturesDir + relative, 'utf8')) as T;
}

export function listFixtures(dir: string): string[] {
  return readdirSync(fixturesDir + dir).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
}

export function toTensor(f: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(f.data), f.shape, { requiresGrad });
}

/**
 * Asserts |actual - expected| <= tol * max(1, |expected|) elementwise, with the worst index in
 * the message.
 */
export function expectClose(actual: Tensor | Float32Array | null | undefined, expected: FixtureTensor, tol: number, what: string): void {
  expect(actual, `${what}: missing`).toBeTruthy();
  const a = actual instanceof Float32Array ? actual : (actual as Tensor).toArray();
  if (!(actual instanceof Float32Array)) {
    expect(Array.from((actual as Tensor).shape), `${what}: shape`).toEqual(expected.shape);
  }
  expect(a.length, `${what}: length`).toBe(expected.data.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const ref = Math.fround(expected.data[i]);
    const err = Math.abs(a[i] - ref) / Math.max(1, Math.abs(ref));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst relative error at index ${at} (got ${a[at]}, expected ${expected.data[at]})`).toBeLessThanOrEqual(tol);
}
