// Choosing the backend: `init({ backend: 'js' })` needs no WebAssembly at all, `'auto'` falls back
// to it where WebAssembly is missing, and a process keeps the backend it chose first.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ValueError, backendName, init, isInitialized, tensor } from 'lstm-wasm';

it('init({ backend: "js" }) is idempotent and refuses a different explicit backend', async () => {
  expect(isInitialized()).toBe(false);
  expect(() => backendName()).toThrow(/not initialized/);
  await init({ backend: 'js' });
  expect(backendName()).toBe('js');
  await init(); // no explicit backend: a no-op
  await init({ backend: 'js' });
  await expect(init({ backend: 'wasm' })).rejects.toThrow(ValueError);
  await expect(init({ backend: 'wasm' })).rejects.toThrow(/'js' is already initialized/);
  expect(backendName()).toBe('js');
  expect(Array.from(tensor([1, 2, 3]).mul(tensor([4, 5, 6])).toArray())).toEqual([4, 10, 18]);
});

it('without WebAssembly: "js" and "auto" train a GRU step, "wasm" fails clearly', async () => {
  const dist = new URL('../../dist/index.js', import.meta.url).href;
  const script = (backend: string) => `
    delete globalThis.WebAssembly;
    const { init, backendName, nn, optim, randn, tidy } = await import(${JSON.stringify(dist)});
    try { await init({ backend: ${JSON.stringify(backend)} }); } catch (e) { console.log('error: ' + e.message); process.exit(0); }
    const gru = new nn.GRU(3, 4, { bidirectional: true });
    const opt = new optim.SGD(gru.parameters(), { lr: 0.1 });
    const loss = tidy(() => { const [y] = gru.forward(randn([5, 2, 3])); const l = y.mul(y).sum(); l.backward(); opt.step(); return l.item(); });
    console.log(backendName() + ' ' + Number.isFinite(loss));`;
  const run = async (backend: string) =>
    (await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script(backend)])).stdout.trim();
  expect(await run('js')).toBe('js true');
  expect(await run('auto')).toBe('js true');
  expect(await run('wasm')).toMatch(/^error: lstm-wasm: WebAssembly is not available/);
});
