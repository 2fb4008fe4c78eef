// One error policy: what the library refuses on purpose is an LstmWasmError, loading included.
// A wasm source that cannot be loaded is a WasmLoadError (message starting with 'lstm-wasm:'),
// init() can be retried after it, and a bad Generator state is a ValueError. This file must run
// its failing init() calls before any successful one: a completed init() ignores its options.
import { expect, it } from 'vitest';
import { Generator, LstmWasmError, ValueError, WasmLoadError, init, isInitialized, tensor } from 'lstm-wasm';

async function loadError(call: () => Promise<unknown>): Promise<Error> {
  const e = await call().then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'init() resolved').toBeInstanceOf(WasmLoadError);
  expect(e).toBeInstanceOf(LstmWasmError);
  expect((e as Error).name).toBe('WasmLoadError');
  expect((e as Error).message).toMatch(/^lstm-wasm: /);
  expect(isInitialized()).toBe(false);
  return e as Error;
}

it('init() with bytes that are not a wasm module, an unsupported source or a missing file rejects with a WasmLoadError', async () => {
  const bytes = await loadError(() => init({ wasm: new Uint8Array([1, 2, 3]) }));
  expect(bytes.message).toMatch(/the Uint8Array of 3 bytes is not a wasm module \(3 bytes starting with \[01 02 03\]/);
  const broken = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05]);
  expect((await loadError(() => init({ wasm: broken }))).message).toMatch(/does not compile as WebAssembly/);
  const kind = await loadError(() => init({ wasm: 42 as unknown as Uint8Array }));
  expect(kind.message).toMatch(/unsupported wasm source number 42/);
  const file = await loadError(() => init({ wasm: '/nonexistent/lstm_wasm.wasm' }));
  expect(file.message).toMatch(/cannot read the wasm module from \/nonexistent\/lstm_wasm\.wasm/);
  const rejected = await loadError(() => init({ wasm: Promise.reject(new Error('offline')) }));
  expect(rejected.message).toMatch(/the Promise<Response> passed as the wasm source rejected: offline/);
});

it('after a failed load, init() can be retried and works', async () => {
  await init();
  expect(isInitialized()).toBe(true);
  expect(Array.from(tensor([1, 2]).add(tensor([3, 4])).toArray())).toEqual([4, 6]);
});

it('Generator.setState with the wrong number of words is a ValueError', () => {
  const g = new Generator(1);
  let caught: unknown;
  try {
    g.setState([1, 2, 3]);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ValueError);
  expect(caught).toBeInstanceOf(LstmWasmError);
  expect((caught as Error).message).toBe('Generator.setState: expected 5 numbers, got 3');
});
