/**
 * A pickle interpreter that runs nothing: it reads Python's pickle opcodes into plain values and
 * calls only the handlers it is given for an allowlist of globals (as `torch.load(weights_only=True)`
 * does). A global that is not in the list (`posix.system`, `builtins.eval`, any class) is a
 * FormatError naming it, raised when the GLOBAL opcode is read: nothing is imported, called or
 * constructed. So are REDUCE on anything but an allowed callable, BUILD on anything but an
 * OrderedDict, a persistent id the caller refuses, and every opcode outside the list below.
 *
 * Opcodes read (what torch.save writes with its default protocol 2, and the protocol-4 ones a
 * `pickle_protocol=4` save adds): PROTO FRAME STOP MARK POP POP_MARK DUP, EMPTY_DICT EMPTY_LIST
 * EMPTY_TUPLE DICT LIST TUPLE TUPLE1-3, SETITEM(S) APPEND(S), BINUNICODE SHORT_BINUNICODE
 * BINUNICODE8, BININT BININT1 BININT2 LONG1 BINFLOAT NEWTRUE NEWFALSE NONE, BINPUT LONG_BINPUT
 * MEMOIZE BINGET LONG_BINGET, GLOBAL STACK_GLOBAL REDUCE BUILD BINPERSID.
 *
 * Bounds (a pickle is untrusted input): the interpreter takes time linear in the pickle's length
 * (each opcode consumes at least one byte and does work proportional to what it reads or pops);
 * MARKs nest at most MAX_MARK_DEPTH deep, the stack holds at most MAX_STACK values, the memo at
 * most MAX_MEMO, and containers at most MAX_ITEMS items in all. Values may share and even contain
 * themselves (the memo allows cycles); whoever walks the result must bound that walk.
 */
import { FormatError } from '../../errors';
import { showName } from '../json-guard';

/** A Python value as read: None, bool, int (a number when exact, else a bigint), float, str, or a container. */
export type PyValue = null | boolean | number | bigint | string | PyTuple | PyList | PyDict | PyGlobal | PyObject;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyList {
  readonly items: PyValue[] = [];
}

/** A dict key as Python hashes it here: str, or int (bool keys count as ints, as in Python). */
export type PyKey = string | number | bigint;

/** A dict or an OrderedDict, keys in insertion order. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  constructor(readonly ordered: boolean) {}
}

/** An allowed global, as pushed by GLOBAL: its qualified name (`collections.OrderedDict`). */
export class PyGlobal {
  constructor(readonly name: string) {}
}

/** What a handler made (a tensor, a storage): opaque to the interpreter. */
export class PyObject {
  constructor(readonly kind: string, readonly value: unknown) {}
}

/** The allowed globals: each may be called (REDUCE) if it has `call`; `at` is the opcode's byte offset. */
export type PickleGlobals = Record<string, { call?: (args: PyValue[], at: number) => PyValue }>;

export interface UnpickleOptions {
  globals: PickleGlobals;
  /** BINPERSID: the object a persistent id stands for, or a FormatError. */
  persistentLoad: (pid: PyValue, at: number) => PyValue;
  /** Used in messages: `torch pickle`. */
  what: string;
}

export const MAX_MARK_DEPTH = 100;
export const MAX_STACK = 1_000_000;
export const MAX_MEMO = 1_000_000;
export const MAX_ITEMS = 4_000_000;

/** Opcode names, for a message about one not read here. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1',
  0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS',
  0x47: 'BINFLOAT', 0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** What a value is, for a message (never its contents). */
export function describePy(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${String(v)}`;
  if (typeof v === 'string') return `the string '${showName(v)}'`;
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof PyList) return `a list of ${v.items.length}`;
  if (v instanceof PyDict) return v.ordered ? 'an OrderedDict' : 'a dict';
  if (v instanceof PyGlobal) return `the global ${v.name}`;
  return `a ${v.kind}`;
}

/** Reads one pickle (up to its STOP) and returns its value. Any problem is a FormatError with the byte offset. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PyValue {
  const { globals, persistentLoad, what } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const fail: (at: number, message: string) => never = (at, message) => {
    throw new FormatError(`${what}: ${message} (at byte ${at})`);
  };
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let items = 0;
  let pos = 0;
  let at = 0;
  let op = 0;

  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(at, `${OPCODE_NAMES[op]} needs ${n} more bytes, the pickle ends (truncated)`);
    const p = pos;
    pos += n;
    return p;
  };
  const push = (v: PyValue): void => {
    if (stack.length >= MAX_STACK) fail(at, `the stack holds more than ${MAX_STACK} values`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail(at, `${OPCODE_NAMES[op]} on an empty stack`);
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail(at, `${OPCODE_NAMES[op]} on an empty stack`);
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    if (marks.length === 0) fail(at, `${OPCODE_NAMES[op]} without a MARK`);
    const got = stack;
    stack = marks.pop()!;
    return got;
  };
  const count = (n: number): void => {
    items += n;
    if (items > MAX_ITEMS) fail(at, `containers hold more than ${MAX_ITEMS} items in all`);
  };
  const text = (n: number): string => {
    const p = need(n);
    try {
      return utf8.decode(bytes.subarray(p, p + n));
    } catch {
      return fail(at, 'a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 256) fail(at, 'GLOBAL: a name is not ended by a newline within 256 bytes');
    return text(end - pos + 1).slice(0, -1);
  };
  const global = (module: string, name: string): PyGlobal => {
    const full = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(globals, full)) {
      fail(at, `global '${showName(full)}' is not allowed: a state dict needs only ${Object.keys(globals).slice(0, 4).join(', ')}, ... (refused, never run or imported)`);
    }
    return new PyGlobal(full);
  };
  const setItem = (dict: PyValue, key: PyValue, value: PyValue): void => {
    if (!(dict instanceof PyDict)) return fail(at, `${OPCODE_NAMES[op]} on ${describePy(dict)}, expected a dict`);
    let k: PyKey;
    if (typeof key === 'string' || typeof key === 'bigint') k = key;
    else if (typeof key === 'number' && Number.isInteger(key)) k = key;
    else if (typeof key === 'boolean') k = key ? 1 : 0;
    else return fail(at, `a dict key is ${describePy(key)}; keys read here are strings and integers`);
    if (!dict.map.has(k)) count(1);
    dict.map.set(k, value);
  };
  const append = (list: PyValue, values: PyValue[]): void => {
    if (!(list instanceof PyList)) return fail(at, `${OPCODE_NAMES[op]} on ${describePy(list)}, expected a list`);
    count(values.length);
    for (const v of values) list.items.push(v);
  };
  const memoGet = (i: number): void => {
    if (!memo.has(i)) fail(at, `memo entry ${i} was never stored`);
    push(memo.get(i)!);
  };
  const memoPut = (i: number): void => {
    if (!memo.has(i) && memo.size >= MAX_MEMO) fail(at, `the memo holds more than ${MAX_MEMO} values`);
    memo.set(i, top());
  };

  for (;;) {
    at = pos;
    if (pos >= bytes.length) fail(at, 'the pickle ends before its STOP opcode (truncated)');
    op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const proto = bytes[need(1)];
        if (proto > 5) fail(at, `pickle protocol ${proto} is unknown (at most 5)`);
        break;
      }
      case 0x95: need(8); break; // FRAME: a length hint, nothing to do
      case 0x2e: { // STOP
        if (marks.length > 0) fail(at, 'STOP inside a MARK');
        return pop();
      }
      case 0x28: // MARK
        if (marks.length >= MAX_MARK_DEPTH) fail(at, `MARKs nest deeper than ${MAX_MARK_DEPTH}`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x7d: push(new PyDict(false)); break; // EMPTY_DICT
      case 0x5d: push(new PyList()); break; // EMPTY_LIST
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x64: { // DICT
        const kv = popMark();
        if (kv.length % 2 !== 0) fail(at, 'DICT with an odd number of values');
        const d = new PyDict(false);
        for (let i = 0; i < kv.length; i += 2) setItem(d, kv[i], kv[i + 1]);
        push(d);
        break;
      }
      case 0x6c: { // LIST
        const l = new PyList();
        append(l, popMark());
        push(l);
        break;
      }
      case 0x74: { // TUPLE
        const t = popMark();
        count(t.length);
        push(new PyTuple(t));
        break;
      }
      case 0x85: case 0x86: case 0x87: { // TUPLE1-3
        const n = op - 0x84;
        if (stack.length < n) fail(at, `${OPCODE_NAMES[op]} needs ${n} values on the stack, found ${stack.length}`);
        count(n);
        push(new PyTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        if (kv.length % 2 !== 0) fail(at, 'SETITEMS with an odd number of values');
        const d = top();
        for (let i = 0; i < kv.length; i += 2) setItem(d, kv[i], kv[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const vs = popMark();
        append(top(), vs);
        break;
      }
      case 0x58: push(text(view.getUint32(need(4), true))); break; // BINUNICODE
      case 0x8c: push(text(bytes[need(1)])); break; // SHORT_BINUNICODE
      case 0x8d: { // BINUNICODE8
        const n = view.getBigUint64(need(8), true);
        if (n > BigInt(bytes.length - pos)) fail(at, `a string of ${n} bytes runs past the pickle's end`);
        push(text(Number(n)));
        break;
      }
      case 0x4a: push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: push(bytes[need(1)]); break; // BININT1
      case 0x4d: push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: { // LONG1: n bytes, little-endian two's complement
        const n = bytes[need(1)];
        const p = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
        if (n > 0 && bytes[p + n - 1] >= 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4e: push(null); break; // NONE
      case 0x71: memoPut(bytes[need(1)]); break; // BINPUT
      case 0x72: memoPut(view.getUint32(need(4), true)); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(bytes[need(1)]); break; // BINGET
      case 0x6a: memoGet(view.getUint32(need(4), true)); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(at, 'STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = top();
        const handler = fn instanceof PyGlobal ? globals[fn.name] : undefined;
        if (handler?.call === undefined) fail(at, `REDUCE on ${describePy(fn)}: only allowed callables are called`);
        if (!(args instanceof PyTuple)) fail(at, `REDUCE with ${describePy(args)} as arguments, expected a tuple`);
        stack[stack.length - 1] = handler!.call!((args as PyTuple).items, at);
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const inst = top();
        // An OrderedDict's attributes (a module state_dict's `_metadata`): kept by Python, dropped here.
        if (!(inst instanceof PyDict && inst.ordered)) fail(at, `BUILD on ${describePy(inst)}: only an OrderedDict's attributes are read`);
        if (!(state instanceof PyDict || state === null)) fail(at, `BUILD of an OrderedDict with ${describePy(state)}, expected a dict`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        push(persistentLoad(pid, at));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(at, `opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''} is not read here${name ? '' : ' (not a pickle opcode)'}`);
      }
    }
  }
}
