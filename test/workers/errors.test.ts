// Errors cross the worker wire by class: WIRE_ERRORS (ts/workers/protocol.ts) lists the classes
// that can, and both directions read it. Every LstmWasmError that errors.ts exports must be in it
// (a class left out would arrive as a plain Error, and `instanceof ValueError` would fail).
import { describe, expect, it } from 'vitest';
import * as errors from '../../ts/errors';
import { WIRE_ERRORS, deserializeError, serializeError } from '../../ts/workers/protocol';

const { LstmWasmError, ValueError } = errors;

/** Every class errors.ts exports that is LstmWasmError or extends it, by its export name. */
const exported = Object.entries(errors).filter(
  (entry): entry is [string, typeof LstmWasmError] => typeof entry[1] === 'function' && (entry[1] === LstmWasmError || entry[1].prototype instanceof LstmWasmError),
);

/** `e` sent across the wire and rebuilt. */
const crossed = (e: unknown): Error => deserializeError(structuredClone(serializeError(e)));

describe('the error classes that cross the worker wire', () => {
  it('include every LstmWasmError subclass errors.ts exports, registered under its name', () => {
    expect(exported.length).toBeGreaterThanOrEqual(11);
    for (const [name, Class] of exported) {
      expect(WIRE_ERRORS[name], `${name} is not in WIRE_ERRORS`).toBe(Class);
      expect(new Class('m').name, `${name}'s name`).toBe(name);
    }
  });

  it('are rebuilt as the same class, name and message, the stack marked as the worker\'s', () => {
    for (const [name, Class] of [...exported, ['TypeError', TypeError], ['RangeError', RangeError]] as const) {
      const e = crossed(new Class(`${name}: a message`));
      expect(e).toBeInstanceOf(Class);
      expect(e.constructor).toBe(Class);
      expect(e.name).toBe(name);
      expect(e.message).toBe(`${name}: a message`);
      expect(e.stack).toContain('(thrown in an lstm-wasm worker)');
    }
  });

  it('give a class not registered its closest registered ancestor, keeping its own name', () => {
    class ShardMismatch extends ValueError {
      override name = 'ShardMismatch';
    }
    const e = crossed(new ShardMismatch('lanes do not add up'));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.name).toBe('ShardMismatch');
    expect(e.message).toBe('lanes do not add up');
    const plain = crossed(Object.assign(new Error('x'), { name: 'AbortError' }));
    expect(plain.constructor).toBe(Error);
    expect(plain.name).toBe('AbortError');
  });

  it('turn a thrown non-Error into an Error with its text', () => {
    const e = crossed('just a string');
    expect(e.constructor).toBe(Error);
    expect(e.message).toBe('just a string');
  });
});
