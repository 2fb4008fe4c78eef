// One kernel table: the crate's `lw_*` exports (from the built dist/lstm_wasm.wasm, less the
// documented housekeeping exports), `KERNEL_NAMES` (type-checked against the `Kernels` interface)
// and the JS backend's kernels are the same set of names; and every kernel is named by the library
// outside ts/backend (ops, optimizers, nn), so an export no op uses cannot linger.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNEL_NAMES } from '../../ts/backend/kernels';
import { HOUSEKEEPING_EXPORTS } from '../../ts/backend/wasm';
import { JsHeap, jsKernels } from '../../ts/backend/js/index';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sorted = (names: Iterable<string>): string[] => [...names].sort();

function wasmKernelExports(): string[] {
  const module = new WebAssembly.Module(readFileSync(join(root, 'dist/lstm_wasm.wasm')));
  const housekeeping = new Set(HOUSEKEEPING_EXPORTS);
  return WebAssembly.Module.exports(module)
    .filter((e) => e.kind === 'function' && e.name.startsWith('lw_') && !housekeeping.has(e.name))
    .map((e) => e.name);
}

/** The .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

describe('kernel table', () => {
  it('the housekeeping exports exist in the module and are not kernels', () => {
    const exported = new Set(WebAssembly.Module.exports(
      new WebAssembly.Module(readFileSync(join(root, 'dist/lstm_wasm.wasm')))).map((e) => e.name));
    for (const name of HOUSEKEEPING_EXPORTS) expect(exported.has(name), name).toBe(true);
    expect(HOUSEKEEPING_EXPORTS.filter((n) => (KERNEL_NAMES as readonly string[]).includes(n))).toEqual([]);
  });

  it('wasm exports, KERNEL_NAMES and the JS backend name the same kernels', () => {
    const names = sorted(KERNEL_NAMES);
    expect(new Set(names).size).toBe(names.length);
    expect(sorted(wasmKernelExports())).toEqual(names);
    expect(sorted(Object.keys(jsKernels(new JsHeap())))).toEqual(names);
  });

  it('every kernel is used by the library outside ts/backend', () => {
    const code = sources(join(root, 'ts'))
      .filter((f) => !f.includes(`${join('ts', 'backend')}`) && !f.endsWith('.generated.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    // Called as `k.lw_x(...)`, or named in a table of kernels (activations, Adam/AdamW).
    const unused = KERNEL_NAMES.filter((name) => !new RegExp(`\\b${name}\\b`).test(code));
    expect(unused).toEqual([]);
  });
});
