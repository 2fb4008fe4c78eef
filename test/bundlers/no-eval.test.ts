// "No eval / new Function anywhere": the built files users run (dist/index.js, dist/index.cjs, dist/worker.js,
// dist/cli.js and the ESM build's chunks) never turn a string into code, and the WebAssembly
// modules inlined in them import nothing (so they cannot call back into JavaScript, let alone eval). bundlers.test.ts also runs the
// Vite bundle under a Content-Security-Policy without 'unsafe-eval', where any eval would throw.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeDynamicCode, findDynamicCode } from './dynamic-code';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const ENTRIES = ['index.js', 'index.cjs', 'worker.js', 'cli.js'];
const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
/** The entries and the ESM build's chunks (the inlined wasm builds among them). */
const BUILT = existsSync(distDir) ? readdirSync(distDir).filter((f) => /\.(c?js)$/.test(f)) : ENTRIES;
const SIMD128 = 'lstm_wasm.wasm';
const RELAXED = 'lstm_wasm_relaxed.wasm';

/** Which .wasm files of dist/ a built file must inline, in order (tsup's output layout, see tsup.config.ts). */
function expectedInlined(file: string): string[] {
  if (file === 'index.cjs' || file === 'cli.js') return [RELAXED, SIMD128]; // one file each, both builds (compared as a set)
  if (file.startsWith('inline-relaxed.generated-')) return [RELAXED];
  if (file.startsWith('inline.generated-')) return [SIMD128];
  return []; // index.js loads the chunks above; worker.js is handed the compiled module
}

/** The ids of a wasm module's sections, read from its bytes (no compile: this Node may lack relaxed SIMD). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++]!;
      size += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    ids.push(id);
    at += size;
  }
  expect(at, 'sections end at the end of the module').toBe(bytes.length);
  return ids;
}

/** The modules a built file inlines: the gzipped base64 strings assigned to `wasmGzipBase64` (or a renamed `wasmGzipBase642`, where one file holds both builds), unpacked. */
function inlinedWasm(file: string): Uint8Array<ArrayBuffer>[] {
  const text = readFileSync(dist(file), 'utf8');
  return [...text.matchAll(/\bwasmGzipBase64\d*\s*=\s*(["'`])([A-Za-z0-9+/=\s\\]+?)\1/g)].map(
    (m) => new Uint8Array(gunzipSync(Buffer.from(m[2]!.replace(/\\\s*|\s/g, ''), 'base64'))),
  );
}

describe('no eval and no new Function in the built package', () => {
  beforeAll(() => {
    for (const file of [...ENTRIES, SIMD128, RELAXED]) {
      if (!existsSync(dist(file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
    }
  });

  it('the detector finds every form of dynamic code and ignores the Module.eval() method', () => {
    const bad = [
      'eval("1 + 1");',
      '(0, eval)("1");',
      'const e = eval; e("1");',
      'globalThis.eval("1");',
      'window["eval"]("1");',
      'new Function("return 1");',
      'Function("return 1")();',
      'new globalThis.Function("a", "return a");',
      'self["Function"]("return 1");',
      '(async function () {}).constructor("return 1");',
      'setTimeout("alert(1)", 0);',
      'setInterval(`tick()`, 10);',
    ];
    for (const snippet of bad) {
      expect(findDynamicCode(snippet), snippet).not.toEqual([]);
    }
    const fine = [
      'class M { eval() { return this.train(false); } }',
      'const m = { eval() {}, eval2: 1 }; m.eval(); this.model.eval();',
      'const o = { eval: 1 }; o.eval;',
      'x instanceof Function; typeof f === "function";',
      'setTimeout(resolve, 0); setTimeout(() => {}, 10);',
      'const s = "eval( new Function"; // eval("x"), new Function(...) in a string and a comment',
      'import(/* webpackIgnore: true */ specifier);',
    ];
    for (const snippet of fine) {
      expect(findDynamicCode(snippet), snippet).toEqual([]);
    }
  });

  it.each(BUILT)('dist/%s calls no eval, Function constructor or string timer', (file) => {
    const found = findDynamicCode(readFileSync(dist(file), 'utf8'), file);
    expect(found, describeDynamicCode(found, `dist/${file}`)).toEqual([]);
  });

  it.each(BUILT)('dist/%s does not contain the text "new Function" at all, not even in a comment', (file) => {
    const text = readFileSync(dist(file), 'utf8');
    expect(text.match(/\bnew\s+Function\b/g) ?? []).toEqual([]);
    // Every `eval(` in the text is the nn.Module method (defined as `eval() {` or called as `x.eval()`).
    const evalTokens = [...text.matchAll(/(^|[^\w$])eval\s*\(/gm)].map((m) => text.slice(Math.max(0, m.index! - 20), m.index! + 30));
    for (const around of evalTokens) expect(around, 'a textual eval( that is not the Module.eval method').toMatch(/\.eval\s*\(|^\s*eval\(\)\s*\{/m);
  });

  it('dist/lstm_wasm.wasm imports nothing', () => {
    const module = new WebAssembly.Module(readFileSync(dist(SIMD128)));
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    expect(WebAssembly.Module.exports(module).length).toBeGreaterThan(0);
  });

  it.each([SIMD128, RELAXED])('dist/%s has no import section (2), and an export (7) and a code (10) section', (file) => {
    const ids = sectionIds(readFileSync(dist(file)));
    expect(ids).not.toContain(2);
    expect(ids).toEqual(expect.arrayContaining([7, 10]));
  });

  it.each(BUILT)('the wasm inlined in dist/%s is the .wasm build it should be, byte for byte', (file) => {
    const inlined = inlinedWasm(file);
    const want = expectedInlined(file);
    const which = inlined.map((bytes) => [SIMD128, RELAXED].find((w) => Buffer.from(bytes).equals(readFileSync(dist(w)))) ?? 'a module that is neither build');
    expect(which.sort(), `the modules dist/${file} assigns to wasmGzipBase64`).toEqual(want.sort());
  });

  it('the ESM build keeps each inlined wasm build in a chunk of its own', () => {
    expect(BUILT.filter((f) => f.startsWith('inline.generated-'))).toHaveLength(1);
    expect(BUILT.filter((f) => f.startsWith('inline-relaxed.generated-'))).toHaveLength(1);
  });
});
