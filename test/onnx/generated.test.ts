// ts/onnx/onnx-proto.generated.ts is what scripts/onnx/generate.mjs writes from
// scripts/onnx/onnx.proto3 with the pinned protobufjs-cli: regenerate it after changing either.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, no types
import { generate } from '../../scripts/onnx/generate.mjs';

describe('the generated ONNX codecs', () => {
  it('are up to date with scripts/onnx/onnx.proto3 (run `node scripts/onnx/generate.mjs`)', () => {
    const committed = readFileSync(new URL('../../ts/onnx/onnx-proto.generated.ts', import.meta.url), 'utf8');
    expect((generate as () => string)() === committed).toBe(true);
  });

  it('build no code from strings at run time', () => {
    const code = readFileSync(new URL('../../ts/onnx/onnx-proto.generated.ts', import.meta.url), 'utf8');
    expect(code).not.toMatch(/\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(/);
  });
});
