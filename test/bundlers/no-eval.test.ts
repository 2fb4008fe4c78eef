// "No eval / new Function anywhere": the built files users run (dist/index.js, dist/index.cjs, dist/worker.js,
// dist/cli.js) never turn a string into code, and the WebAssembly module inlined in them imports
// nothing (so it cannot call back into JavaScript, let alone eval). bundlers.test.ts also runs the
// Vite bundle under a Content-Security-Policy without 'unsafe-eval', where any eval would throw.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeDynamicCode, findDynamicCode } from './dynamic-code';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const BUILT = ['index.js', 'index.cjs', 'worker.js', 'cli.js'];

/** The base64 strings assigned to `wasmBase64` in a built file (one expected). */
function inlinedWasm(file: string): Uint8Array<ArrayBuffer>[] {
  const text = readFileSync(dist(file), 'utf8');
  return [...text.matchAll(/\bwasmBase64\s*=\s*(["'`])([A-Za-z0-9+/=\s\\]+?)\1/g)].map(
    (m) => new Uint8Array(Buffer.from(m[2]!.replace(/\\\s*|\s/g, ''), 'base64')),
  );
}

describe('no eval and no new Function in the built package', () => {
  beforeAll(() => {
    for (const file of [...BUILT, 'lstm_wasm.wasm']) {
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
    const module = new WebAssembly.Module(readFileSync(dist('lstm_wasm.wasm')));
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    expect(WebAssembly.Module.exports(module).length).toBeGreaterThan(0);
  });

  it.each(BUILT)('the wasm inlined in dist/%s is dist/lstm_wasm.wasm, byte for byte', (file) => {
    const inlined = inlinedWasm(file);
    expect(inlined, `dist/${file} should assign the base64 module to wasmBase64 exactly once`).toHaveLength(1);
    const bytes = inlined[0]!;
    expect(Buffer.from(bytes).equals(readFileSync(dist('lstm_wasm.wasm'))), 'inlined bytes differ from dist/lstm_wasm.wasm').toBe(true);
    expect(WebAssembly.Module.imports(new WebAssembly.Module(bytes))).toEqual([]);
  });
});
