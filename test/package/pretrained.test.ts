// `lstm-wasm/pretrained` as users get it: child Node processes import it through package.json
// "exports" (ESM and CommonJS). It loads a checkpoint into the caller's own instance of the library
// (a tiny stand-in here for the package's model, which `npm run pretrain` makes), and the core
// bundle does not carry it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lw from 'lstm-wasm';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let tiny: string;
let liveBefore = 0;

beforeAll(async () => {
  await lw.init();
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-pretrained-'));
  const model = new lw.LanguageModel({ vocabSize: 256, embedDim: 4, hiddenSize: 8 }, { generator: new lw.Generator(5) });
  const int8 = lw.quantize(model, { dtype: 'int8' });
  tiny = join(dir, 'tiny.safetensors');
  (await import('node:fs')).writeFileSync(tiny, lw.encodeCheckpoint(int8, new lw.ByteTokenizer(), null, { made: 'test' }));
  int8.dispose();
  model.dispose();
  liveBefore = lw.memory().liveTensors;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` in a child Node (ESM or CommonJS) and returns its last line of output, parsed. */
async function child(type: 'module' | 'commonjs', script: string): Promise<Record<string, unknown>> {
  const body = type === 'module' ? script : `(async () => { ${script} })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, '--eval', body], { cwd: root, timeout: 30_000 }).catch((e: unknown) => {
    const err = e as { stderr?: string };
    throw new Error(`child (${type}) failed: ${err.stderr}`);
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const body = (source: string) => `
  const { model, tokenizer, about } = await loadPretrained({ source: ${source} });
  const text = lib.sampleText(model, tokenizer, 'Größe 🔥', { length: 20, seed: 2 });
  console.log(JSON.stringify({ resolved, text, about, level: tokenizer.level, quantization: model.quantization, live: lib.memory().liveTensors > 0 }));
`;

describe('lstm-wasm/pretrained', () => {
  it.each(['module', 'commonjs'] as const)('loads a checkpoint into the caller\'s instance of the library (%s)', async (type) => {
    const source = JSON.stringify(pathToFileURL(tiny).href);
    const head = type === 'module'
      ? `const resolved = import.meta.resolve('lstm-wasm/pretrained'); const lib = await import('lstm-wasm'); const { loadPretrained } = await import('lstm-wasm/pretrained');`
      : `const resolved = require.resolve('lstm-wasm/pretrained'); const lib = require('lstm-wasm'); const { loadPretrained } = require('lstm-wasm/pretrained');`;
    const r = await child(type, head + body(source));
    expect(String(r.resolved)).toMatch(type === 'module' ? /dist\/pretrained\.js$/ : /dist\/pretrained\.cjs$/);
    const ck = lw.decodeCheckpoint(new Uint8Array(readFileSync(tiny)));
    const model = lw.modelFromCheckpoint(ck);
    try {
      // The same text the model gives in this process: the same weights, sampled by the caller's library.
      expect(r.text).toBe(lw.sampleText(model, ck.tokenizer, 'Größe 🔥', { length: 20, seed: 2 }));
    } finally {
      model.dispose();
    }
    expect(r).toMatchObject({ about: { made: 'test' }, level: 'byte', quantization: 'int8', live: true });
  });

  it('takes bytes too; a missing file, a corrupt one and bad options are typed errors', async () => {
    const { loadPretrained } = await import('../../ts/pretrained');
    const loaded = await loadPretrained({ source: new Uint8Array(readFileSync(tiny)) });
    expect(loaded.model.config.vocabSize).toBe(256);
    loaded.model.dispose();
    await expect(loadPretrained({ source: pathToFileURL(join(dir, 'none.safetensors')) })).rejects.toThrow(/no such file: this build has no pretrained model/);
    await expect(loadPretrained({ source: new Uint8Array([1, 2, 3]) })).rejects.toThrow(lw.FormatError);
    await expect(loadPretrained({ source: 42 as never })).rejects.toThrow(/source must be a URL .* or bytes/);
    await expect(loadPretrained({ sauce: 'x' } as never)).rejects.toThrow(/unknown option 'sauce'/);
  });

  it('fetchPretrained gives the file\'s bytes unread (for a session\'s worker), with the same checks under its own name', async () => {
    const { fetchPretrained } = await import('../../ts/pretrained');
    const bytes = await fetchPretrained({ source: pathToFileURL(tiny) });
    expect(bytes).toEqual(new Uint8Array(readFileSync(tiny)));
    expect(lw.memory().liveTensors, 'nothing loaded').toBe(liveBefore);
    await expect(fetchPretrained({ source: pathToFileURL(join(dir, 'none.safetensors')) })).rejects.toThrow(/^fetchPretrained: cannot read .*no such file/);
    await expect(fetchPretrained({ source: 42 as never })).rejects.toThrow(/^fetchPretrained: source must be a URL/);
    await expect(fetchPretrained({ sauce: 'x' } as never)).rejects.toThrow(/^fetchPretrained: unknown option 'sauce'/);
    await expect(fetchPretrained(null as never)).rejects.toThrow(/^fetchPretrained: options must be an object/);
  });

  it("loads the package's own model without a source (Node: from disk beside dist/)", async () => {
    const r = await child('module', `
      const lib = await import('lstm-wasm');
      const { loadPretrained, pretrainedUrl } = await import('lstm-wasm/pretrained');
      const { model, tokenizer, about } = await loadPretrained();
      const text = lib.sampleText(model, tokenizer, 'And God said', { length: 40, seed: 1 });
      console.log(JSON.stringify({ url: pretrainedUrl().href, steps: about.pretrained.steps, config: model.config, quantization: model.quantization, text }));
    `);
    const made = JSON.parse(readFileSync(join(root, 'pretrained', 'kjv-byte.json'), 'utf8'));
    expect(r.url).toBe(pathToFileURL(join(root, 'pretrained', 'kjv-byte.safetensors')).href);
    expect(r).toMatchObject({ steps: made.steps, quantization: 'int8', config: { vocabSize: 256, hiddenSize: made.settings.hiddenSize, numLayers: made.settings.numLayers } });
    expect(String(r.text).length, String(r.text)).toBeGreaterThanOrEqual(30); // 40 bytes of mostly ASCII text
  });

  it('is not in the core bundle, which stays as it was', () => {
    for (const file of ['index.js', 'index.cjs']) {
      const core = readFileSync(join(root, 'dist', file), 'utf8');
      expect(core, file).not.toContain('kjv-byte');
      expect(core, file).not.toContain('loadPretrained');
    }
    expect(readFileSync(join(root, 'dist', 'pretrained.js'), 'utf8')).toMatch(/from "lstm-wasm"/);
  });
});
