/** The one expectation every hostile-file test makes of the loader it feeds. */
import { expect } from 'vitest';
import { FormatError, memory } from 'lstm-wasm';

/**
 * Runs `load` (decode a file and build from it, as the CLI does): it must throw a FormatError
 * matching `message` within `maxMs`, and leave as many live WASM tensors and bytes as before.
 */
export function expectFormatRefusal(load: () => void, message: RegExp, maxMs = 1000): void {
  const live = memory().liveTensors;
  const liveBytes = memory().tensorBytes;
  const t0 = performance.now();
  let caught: unknown = null;
  try {
    load();
  } catch (e) {
    caught = e;
  }
  const ms = performance.now() - t0;
  expect(caught, `should throw a FormatError matching ${message}`).toBeInstanceOf(FormatError);
  expect((caught as Error).message).toMatch(message);
  expect(ms, 'time to refuse (ms)').toBeLessThan(maxMs);
  expect(memory().liveTensors, `live tensors after refusing (${message})`).toBe(live);
  expect(memory().tensorBytes).toBe(liveBytes);
}
