// The API reference is generated (`npm run docs`, TypeDoc), never committed or published, and a
// TypeDoc warning fails its build. Building it takes TypeDoc 10-20 s, so the CI runs it once
// (.ci/run); this test keeps the settings that make that run strict.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json'));
// typedoc.json allows comments: drop whole-line ones (a "//" inside a string, as in a URL, stays).
const typedoc = JSON.parse(read('typedoc.json').replace(/^\s*\/\/.*$/gm, ''));

describe('API reference (TypeDoc)', () => {
  it('is built by npm run docs with an exact-pinned TypeDoc, from every typed entry point of the package', () => {
    expect(pkg.scripts.docs).toBe('typedoc');
    expect(pkg.devDependencies.typedoc).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typedoc.entryPoints).toEqual(['ts/index.ts', 'ts/pretrained.ts', 'ts/onnx/index.ts']);
    // One per export with types: the root, lstm-wasm/pretrained, lstm-wasm/onnx.
    const typed = Object.keys(pkg.exports).filter((k) => typeof pkg.exports[k] === 'object' && pkg.exports[k].import?.types);
    expect(typed).toEqual(['.', './pretrained', './onnx']);
  });

  it('fails on any warning, and does not hide what is undocumented', () => {
    expect(typedoc.treatWarningsAsErrors).toBe(true);
    expect(typedoc.validation?.notExported).toBe(true);
    expect(typedoc.validation?.invalidLink).toBe(true);
    expect(typedoc.excludeNotDocumented ?? false).toBe(false);
  });

  it('writes where git ignores it and npm does not publish it', () => {
    const out = String(typedoc.out).replace(/^\.\//, '').replace(/\/$/, '');
    expect(read('.gitignore').split('\n')).toContain(`${out}/`);
    const shipped = (pkg.files as string[]).map((f) => f.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(shipped.filter((f) => out === f || out.startsWith(`${f}/`))).toEqual([]);
  });

  it('is built by the CI', () => {
    expect(read('.ci/run')).toMatch(/^npm run docs$/m);
  });
});
