// `lstm-wasm/onnx` as users get it: child Node processes import it through package.json "exports"
// (ESM and CommonJS) and read a fixture; its errors are the caller's own FormatError class (the
// entry imports the package by name). And the core bundle carries none of it: no protobuf code in
// dist/index.js, dist/index.cjs, dist/worker.js or the ESM build's chunks.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/onnx/lstm_state_io.onnx', import.meta.url));

async function child(type: 'module' | 'commonjs', script: string): Promise<Record<string, unknown>> {
  const body = type === 'module' ? script : `(async () => { ${script} })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, '--eval', body], { cwd: root, timeout: 30_000 }).catch((e: unknown) => {
    throw new Error(`child (${type}) failed: ${(e as { stderr?: string }).stderr}`);
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const body = `
  const m = onnx.readOnnx(fs.readFileSync(${JSON.stringify(fixture)}));
  let sameClass = false;
  try { onnx.readOnnx(new Uint8Array(0)); } catch (e) { sameClass = e instanceof lib.FormatError; }
  console.log(JSON.stringify({ resolved, opset: m.opset, ops: m.graph.nodes.map((n) => n.opType).filter((op) => op === 'LSTM').length, sameClass }));
`;

describe('lstm-wasm/onnx', () => {
  it.each(['module', 'commonjs'] as const)('resolves through "exports" and reads a model (%s)', async (type) => {
    const head = type === 'module'
      ? `import fs from 'node:fs'; const resolved = import.meta.resolve('lstm-wasm/onnx'); const lib = await import('lstm-wasm'); const onnx = await import('lstm-wasm/onnx');`
      : `const fs = require('node:fs'); const resolved = require.resolve('lstm-wasm/onnx'); const lib = require('lstm-wasm'); const onnx = require('lstm-wasm/onnx');`;
    const r = await child(type, head + body);
    expect(String(r.resolved)).toMatch(type === 'module' ? /dist\/onnx\.js$/ : /dist\/onnx\.cjs$/);
    expect(r).toMatchObject({ opset: 14, ops: 2, sameClass: true });
  });

  it('declares its types for both module systems', () => {
    for (const file of ['onnx.d.ts', 'onnx.d.cts']) expect(readFileSync(distDir + file, 'utf8')).toMatch(/declare function readOnnx\(/);
  });

  it('the core bundle (index.js and its chunks, index.cjs, worker.js) contains no protobuf code', () => {
    const core = readdirSync(distDir).filter((f) => /\.(c?js)$/.test(f) && !f.startsWith('onnx.') && !f.startsWith('pretrained.') && f !== 'cli.js');
    expect(core).toEqual(expect.arrayContaining(['index.js', 'index.cjs', 'worker.js']));
    for (const file of core) {
      const text = readFileSync(distDir + file, 'utf8');
      expect(text.match(/protobufjs|lstm_wasm_onnx|ModelProto|recursionLimit|readOnnx/g) ?? [], file).toEqual([]);
    }
    // The markers are there to find where protobuf code is.
    expect(readFileSync(distDir + 'onnx.js', 'utf8')).toMatch(/protobufjs\/minimal\.js[\s\S]*ModelProto[\s\S]*recursionLimit/);
  });
});
