/**
 * `torch.save` files (the zip format of torch >= 1.6), read without Python: a zip (./zip.ts) of
 * `<archive>/data.pkl` (the pickled object), `<archive>/data/<key>` (one entry of raw bytes per
 * storage), `<archive>/byteorder` (`little` or `big`; absent means little, as torch < 2.0 wrote
 * no record) and `<archive>/version`. The folder name is arbitrary (the saved file's stem, or
 * `archive`); it is the one that holds data.pkl.
 *
 * The pickle is read by ./pickle.ts with the globals a state dict needs and nothing else, as
 * `torch.load(weights_only=True)`: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`
 * (and `_rebuild_tensor`, `_rebuild_parameter`), and the storage classes (`torch.FloatStorage`,
 * ...) in persistent ids `('storage', <class>, key, location, numel)`. Anything else is a
 * FormatError naming it; nothing in the file is ever run.
 *
 * Values: a dict (or OrderedDict) at the top, as `state_dict()` gives; inside it tensors, and for
 * an optimizer's `state_dict()` nested dicts, lists, tuples (as arrays), numbers (ints that do not
 * fit a double exactly as bigints), strings, booleans and None (null). Dict keys become strings
 * (an optimizer's `state` is keyed by parameter index: `state['0']`). An OrderedDict's attributes
 * (a module state_dict's `_metadata`, versions of its submodules) are dropped.
 *
 * Tensors become this library's, copied out of their storages (strided views, non-contiguous
 * ones such as `t.t()`, and several tensors on one storage all read as torch reads them; one
 * tensor object saved under two keys is one Tensor under both):
 *   float32            float32, as is
 *   float64            float32, rounded (a conversion, listed by `readTorch`)
 *   float16, bfloat16  float32, exactly (a conversion, listed)
 *   int32              int32, as is
 *   int64              int32 when every value is in [-2^31, 2^31); else a DTypeError naming the tensor
 *   int16, int8, uint8, bool   int32, exactly (bool as 0 / 1)
 * Complex, quantized and other storage types are a FormatError naming the type.
 *
 * Bounds: the zip reader's, the pickle interpreter's, values nested at most MAX_NESTING deep (a
 * value that contains itself is refused), at most MAX_DIMS dimensions, and the tensors' elements
 * in all at most 2^24 + 2 x the file's bytes (a storage's bytes bound its own tensors; the slack
 * lets views share storages, and stops a few bytes viewed a million times with stride 0).
 * Everything is checked before any tensor is allocated; if an allocation fails (an
 * OutOfMemoryError, thrown as is), the tensors made so far are freed.
 */
import { Tensor } from '../../tensor';
import { tensor } from '../../creation';
import { DTypeError, FormatError, formatShape } from '../../errors';
import { markHandedOver } from '../../memory';
import { showName } from '../json-guard';
import { f16ToF32 } from '../../float16';
import { entryData, looksLikeZip, readZip, type ZipArchive, type ZipEntry } from './zip';
import { PyDict, PyGlobal, PyList, PyObject, PyTuple, describePy, unpickle, type PickleGlobals, type PyValue } from './pickle';

/** A value of a loaded file: tensors, and the plain values optimizers save beside them. */
export type TorchValue = Tensor | number | bigint | string | boolean | null | TorchValue[] | TorchDict;
/** A dict of a loaded file (no prototype: a key like `__proto__` is a key like any other). */
export interface TorchDict {
  [key: string]: TorchValue;
}

/** The dtypes of torch storages read here. */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a file: where it was first found, its dtype in the file and as loaded. */
export interface TorchTensorInfo {
  /** Its keys from the top, joined with '.' (`lstm.weight_ih_l0`, `state.0.exp_avg`). */
  path: string;
  /** As stored. */
  dtype: TorchDtype;
  /** As loaded (float32 or int32): different from `dtype` when converted. */
  loadedAs: 'float32' | 'int32';
  shape: number[];
}

export interface TorchFile {
  /** The saved dict, tensors loaded (owned by the caller). */
  stateDict: TorchDict;
  /** Every tensor once, in the order found (depth first, keys in file order). */
  tensors: TorchTensorInfo[];
  /** The file's byte order record (`little` when it has none). */
  byteorder: 'little' | 'big';
  /** The zip's folder (`archive`, or the saved file's stem). */
  archive: string;
}

/** Storage classes: the dtype and bytes per element of those read, null for those refused by name. */
const STORAGES: Record<string, readonly [TorchDtype, number] | null> = {
  FloatStorage: ['float32', 4], DoubleStorage: ['float64', 8], HalfStorage: ['float16', 2], BFloat16Storage: ['bfloat16', 2],
  LongStorage: ['int64', 8], IntStorage: ['int32', 4], ShortStorage: ['int16', 2], CharStorage: ['int8', 1], ByteStorage: ['uint8', 1],
  BoolStorage: ['bool', 1], ComplexFloatStorage: null, ComplexDoubleStorage: null, ComplexHalfStorage: null, QInt8Storage: null,
  QUInt8Storage: null, QInt32Storage: null, QUInt4x2Storage: null, QUInt2x4Storage: null,
};

/** Nesting of values (a module's state dict nests 1, an optimizer's 4). */
export const MAX_NESTING = 32;
/** Dimensions of a tensor. */
const MAX_DIMS = 16;
/** Size of one dimension: the kernels index with 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;
/** Bytes of data.pkl: a state dict of 10 000 tensors pickles to about 2 MB. */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const RESAVE = 're-save it with torch >= 1.6 and the default torch.save(...): torch.save(torch.load(path), path)';

/** A storage as a persistent id names it, checked against its zip entry. */
class StorageRef {
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly elementBytes: number, readonly numel: number, readonly entry: ZipEntry) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it, checked against its storage. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[], readonly numel: number) {}
}

/**
 * Reads `torch.save` bytes into new tensors (owned by the caller), nested as saved. Type it as you
 * know the file: by default a module's `state_dict()` (every value a Tensor), which
 * `model.loadStateDict(loadTorch(bytes))` loads; `loadTorch<TorchDict>(bytes)` for anything nested
 * (an optimizer's). The value is the same either way; `readTorch` says what the file holds.
 * The dict is handed over: `module.loadStateDict(dict)` frees each tensor it copies from it, so
 * that line leaks nothing. Tensors deeper in (an optimizer's state) are yours to dispose.
 * A corrupt, hostile or unsupported file throws a FormatError (a DTypeError for int64 values out
 * of int32's range) saying what is wrong, and leaves nothing allocated.
 */
export function loadTorch<T extends object = Record<string, Tensor>>(bytes: Uint8Array | ArrayBuffer): T {
  const { stateDict } = readTorch(bytes);
  markHandedOver(stateDict);
  return stateDict as unknown as T;
}

/** `loadTorch` with what the file holds: each tensor's stored dtype and path, the byte order, the folder. */
export function readTorch(input: Uint8Array | ArrayBuffer): TorchFile {
  const bytes = input instanceof Uint8Array ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  checkKind(bytes);
  let zip: ZipArchive;
  try {
    zip = readZip(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`torch file: ${e.message}`);
    throw e;
  }
  const archive = findArchive(zip);
  const byteorder = readByteorder(zip, archive);
  const pickleEntry = zip.entries.get(`${archive}/data.pkl`)!;
  if (pickleEntry.size > MAX_PICKLE_BYTES) throw new FormatError(`torch file: data.pkl has ${pickleEntry.size} bytes, at most ${MAX_PICKLE_BYTES}`);
  const root = unpickle(zipData(zip, pickleEntry), {
    what: 'torch file: data.pkl',
    globals: torchGlobals({ budget: 2 ** 24 + 2 * bytes.length }),
    persistentLoad: storageLoader(zip, archive),
  });
  if (!(root instanceof PyDict)) throw new FormatError(`torch file: holds ${describePy(root)}, expected a dict (a state_dict)`);
  const { value, slots } = toJs(root);
  const tensors: TorchTensorInfo[] = [];
  const data = [...slots.keys()].map((ref) => {
    const path = slots.get(ref)![0].path;
    const loadedAs = ref.storage.dtype.startsWith('float') || ref.storage.dtype === 'bfloat16' ? 'float32' : 'int32';
    tensors.push({ path, dtype: ref.storage.dtype, loadedAs, shape: ref.shape.slice() });
    return readTensorData(zip, ref, byteorder === 'little', path);
  });
  const made: Tensor[] = [];
  try {
    [...slots.values()].forEach((places, i) => {
      const t = tensor(data[i], tensors[i].shape);
      made.push(t);
      for (const { container, key } of places) (container as Record<string | number, TorchValue>)[key] = t;
    });
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return { stateDict: value as TorchDict, tensors, byteorder, archive };
}

/** Refuses, by name, what is not a torch zip: the legacy format, a tar, a safetensors file. */
function checkKind(bytes: Uint8Array): void {
  if (bytes.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new FormatError(`torch file: legacy torch.save format (torch < 1.6, or _use_new_zipfile_serialization=False), not read here: ${RESAVE}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new FormatError(`torch file: a bare pickle, not a torch.save zip (the legacy format, or pickle.dump): ${RESAVE}`);
  }
  if (bytes.length >= 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
    throw new FormatError(`torch file: a tar archive (the torch.save format of torch < 0.4), not read here: ${RESAVE}`);
  }
  if (bytes.length >= 9 && bytes[8] === 0x7b && new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true) <= BigInt(bytes.length - 8)) {
    throw new FormatError('torch file: this is a safetensors file: read it with loadSafetensors');
  }
  if (!looksLikeZip(bytes)) throw new FormatError(`torch file: not a torch.save file (${bytes.length} bytes, no zip header)`);
}

/** The folder that holds data.pkl: the one entry `<folder>/data.pkl`. */
function findArchive(zip: ZipArchive): string {
  const folders = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (folders.length === 0) throw new FormatError(`torch file: a zip of ${zip.entries.size} entries with no <folder>/data.pkl: not one torch.save wrote`);
  if (folders.length > 1) throw new FormatError(`torch file: ${folders.length} folders have a data.pkl (${folders.slice(0, 3).map(showName).join(', ')}); torch.save writes one`);
  return folders[0];
}

function readByteorder(zip: ZipArchive, archive: string): 'little' | 'big' {
  const entry = zip.entries.get(`${archive}/byteorder`);
  if (entry === undefined) return 'little';
  if (entry.size > 16) throw new FormatError(`torch file: the byteorder record has ${entry.size} bytes, expected 'little' or 'big'`);
  const text = String.fromCharCode(...zipData(zip, entry));
  if (text !== 'little' && text !== 'big') throw new FormatError(`torch file: the byteorder record is '${text.replace(/[^ -~]/g, '?')}', expected 'little' or 'big'`);
  return text;
}

function zipData(zip: ZipArchive, entry: ZipEntry): Uint8Array {
  try {
    return entryData(zip, entry);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`torch file: ${e.message}`);
    throw e;
  }
}

const intArg = (v: PyValue): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** The allowed globals and what calling them makes. `budget`: tensor elements left to allow in all. */
function torchGlobals(limits: { budget: number }): PickleGlobals {
  const fail = (at: number, message: string): never => {
    throw new FormatError(`torch file: data.pkl: ${message} (at byte ${at})`);
  };
  const rebuild = (name: string, args: PyValue[], at: number): PyValue => {
    const [storage, offset, size, stride] = args;
    const sref = storage instanceof PyObject && storage.value instanceof StorageRef ? storage.value : null;
    if (sref === null) return fail(at, `${name}: its storage is ${describePy(storage)}, expected a storage`);
    if (!intArg(offset) || offset < 0) return fail(at, `${name}: storage offset ${describePy(offset)}, expected an integer >= 0`);
    const shape = intTuple(size);
    const strides = intTuple(stride);
    if (shape === null || shape.length > MAX_DIMS || shape.some((d) => d > MAX_DIM)) {
      return fail(at, `${name}: size is ${describePy(size)}, expected a tuple of at most ${MAX_DIMS} integers in [0, ${MAX_DIM}]`);
    }
    if (strides === null || strides.length !== shape.length) return fail(at, `${name}: stride is ${describePy(stride)}, expected ${shape.length} integers >= 0`);
    const numel = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel) || numel > limits.budget) {
      return fail(at, `a tensor of ${formatShape(shape)} takes the file's tensors past the elements its size allows (2^24 + 2 x its bytes in all)`);
    }
    limits.budget -= numel;
    if (numel > 0) {
      const last = offset + shape.reduce((a, d, i) => a + (d - 1) * strides[i], 0);
      if (last >= sref.numel) {
        return fail(at, `a tensor of ${formatShape(shape)}, stride ${formatShape(strides)}, offset ${offset} reads element ${last} of storage '${showName(sref.key)}', which has ${sref.numel} (a storage smaller than its tensor)`);
      }
    }
    return new PyObject('tensor', new TensorRef(sref, offset, shape, strides, numel));
  };
  const globals: PickleGlobals = {
    'collections.OrderedDict': {
      call(args, at) {
        if (args.length !== 0) return fail(at, `OrderedDict called with ${args.length} arguments; torch.save pickles it with none`);
        return new PyDict(true);
      },
    },
    'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      call(args, at) {
        if (args.length !== 6 && args.length !== 7) return fail(at, `_rebuild_tensor_v2 called with ${args.length} arguments, expected 6 or 7`);
        if (typeof args[4] !== 'boolean') return fail(at, `_rebuild_tensor_v2: requires_grad is ${describePy(args[4])}, expected a bool`);
        if (!(args[5] instanceof PyDict)) return fail(at, `_rebuild_tensor_v2: backward_hooks is ${describePy(args[5])}, expected a dict`);
        return rebuild('_rebuild_tensor_v2', args, at);
      },
    },
    'torch._utils._rebuild_tensor': {
      call(args, at) {
        if (args.length !== 4) return fail(at, `_rebuild_tensor called with ${args.length} arguments, expected 4`);
        return rebuild('_rebuild_tensor', args, at);
      },
    },
    'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): an nn.Parameter is its tensor here.
      call(args, at) {
        const data = args[0];
        if (args.length !== 3 || !(data instanceof PyObject && data.value instanceof TensorRef)) {
          return fail(at, `_rebuild_parameter called with ${args.length} arguments (${args.slice(0, 3).map(describePy).join(', ')}), expected (tensor, requires_grad, hooks)`);
        }
        return data;
      },
    },
  };
  for (const name of Object.keys(STORAGES)) globals[`torch.${name}`] = {};
  return globals;
}

function intTuple(v: PyValue): number[] | null {
  if (!(v instanceof PyTuple) || !v.items.every((x) => intArg(x) && x >= 0)) return null;
  return v.items as number[];
}

/** BINPERSID: `('storage', <storage class>, key, location, numel)`, checked against `<archive>/data/<key>`. */
function storageLoader(zip: ZipArchive, archive: string): (pid: PyValue, at: number) => PyValue {
  const seen = new Map<string, PyObject>();
  return (pid, at) => {
    const fail = (message: string): never => {
      throw new FormatError(`torch file: data.pkl: ${message} (at byte ${at})`);
    };
    if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') {
      const what = pid instanceof PyTuple && typeof pid.items[0] === 'string' ? `a '${showName(pid.items[0])}' tuple` : describePy(pid);
      return fail(`persistent id ${what} is not a storage; only ('storage', ...) ids are read`);
    }
    const [, cls, key, location, numel] = pid.items;
    if (pid.items.length !== 5) return fail(`a storage id has ${pid.items.length} fields, expected 5 ('storage', type, key, location, numel)`);
    if (!(cls instanceof PyGlobal) || !cls.name.startsWith('torch.') || !(cls.name.slice(6) in STORAGES)) return fail(`a storage's type is ${describePy(cls)}, expected a storage class`);
    const kind = STORAGES[cls.name.slice(6)];
    if (kind === null) return fail(`storage type ${cls.name} is not supported (float, int and bool storages are read)`);
    if (typeof key !== 'string' || typeof location !== 'string' || !intArg(numel) || numel < 0) {
      return fail(`a storage id is ('storage', ${cls.name}, ${describePy(key)}, ${describePy(location)}, ${describePy(numel)}), expected a key, a location and a size`);
    }
    const [dtype, elementBytes] = kind;
    const prior = seen.get(key);
    if (prior !== undefined) {
      const s = prior.value as StorageRef;
      if (s.dtype !== dtype || s.numel !== numel) return fail(`storage '${showName(key)}' is named as ${s.numel} ${s.dtype} and as ${numel} ${dtype}`);
      return prior;
    }
    const entry = zip.entries.get(`${archive}/data/${key}`);
    if (entry === undefined) return fail(`storage '${showName(key)}' has no entry ${showName(`${archive}/data/${key}`)} in the zip`);
    if (entry.size !== numel * elementBytes) {
      return fail(`storage '${showName(key)}' holds ${numel} ${dtype} elements (${numel * elementBytes} bytes) but its entry has ${entry.size} bytes`);
    }
    const obj = new PyObject('storage', new StorageRef(key, dtype, elementBytes, numel, entry));
    seen.set(key, obj);
    return obj;
  };
}

/** Where a tensor goes in the result, and the path it was found at. */
interface Slot {
  container: object;
  key: string | number;
  path: string;
}

/**
 * The pickled value as plain JS, each tensor left as a slot to fill: a walk that converts each
 * container once (shared ones stay shared), refuses a value that contains itself, values nested
 * deeper than MAX_NESTING, anything but data and tensors (a storage, a global), and two keys of a
 * dict that are one as strings (`0` and `'0'`).
 */
function toJs(root: PyDict): { value: TorchValue; slots: Map<TensorRef, Slot[]> } {
  const done = new Map<object, TorchValue>();
  const active = new Set<object>();
  const slots = new Map<TensorRef, Slot[]>();
  const walk = (v: PyValue, path: string, depth: number, place: { container: object; key: string | number } | null): TorchValue => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof PyObject && v.value instanceof TensorRef) {
      const at = slots.get(v.value) ?? [];
      slots.set(v.value, at);
      if (place !== null) at.push({ ...place, path });
      return null;
    }
    const shown = path === '' ? 'the top' : `'${showName(path)}'`;
    if (!(v instanceof PyDict || v instanceof PyList || v instanceof PyTuple)) throw new FormatError(`torch file: the value at ${shown} is ${describePy(v)}; a state dict holds tensors and plain values`);
    if (active.has(v)) throw new FormatError(`torch file: the value at ${shown} contains itself`);
    const prior = done.get(v);
    if (prior !== undefined) return prior;
    if (depth > MAX_NESTING) throw new FormatError(`torch file: values nest deeper than ${MAX_NESTING} levels (at ${shown})`);
    active.add(v);
    const sub = (k: string | number): string => (path === '' ? String(k) : `${path}.${k}`);
    let out: TorchValue;
    if (v instanceof PyDict) {
      const dict = Object.create(null) as TorchDict;
      for (const [k, item] of v.map) {
        const key = String(k);
        if (Object.prototype.hasOwnProperty.call(dict, key)) throw new FormatError(`torch file: the dict at ${shown} has both the key ${key} and the key '${key}'`);
        dict[key] = walk(item, sub(key), depth + 1, { container: dict, key });
      }
      out = dict;
    } else {
      const list: TorchValue[] = [];
      v.items.forEach((item, i) => {
        list.push(walk(item, sub(i), depth + 1, { container: list, key: i }));
      });
      out = list;
    }
    active.delete(v);
    done.set(v, out);
    return out;
  };
  return { value: walk(root, '', 0, null), slots };
}

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);

/** A tensor's values in row-major order, read through its strides, converted to float32 or int32. */
function readTensorData(zip: ZipArchive, ref: TensorRef, little: boolean, path: string): Float32Array | Int32Array {
  const { storage, shape, stride, offset, numel } = ref;
  const bytes = storageBytes(zip, storage);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const float = storage.dtype.startsWith('float') || storage.dtype === 'bfloat16';
  const out = float ? new Float32Array(numel) : new Int32Array(numel);
  const read = elementReader(storage.dtype, view, little);
  // Row-major contiguous tensors (most of a state dict) read a run; others walk their strides.
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i];
  }
  const eb = storage.elementBytes;
  if (contiguous) {
    for (let i = 0; i < numel; i++) out[i] = read((offset + i) * eb, i, path);
  } else {
    const index = new Array<number>(shape.length).fill(0);
    let at = offset;
    for (let i = 0; i < numel; i++) {
      out[i] = read(at * eb, i, path);
      for (let d = shape.length - 1; d >= 0; d--) {
        at += stride[d];
        if (++index[d] < shape[d]) break;
        at -= stride[d] * shape[d];
        index[d] = 0;
      }
    }
  }
  return out;
}

const storageCache = new WeakMap<ZipEntry, Uint8Array>();

/** A storage's bytes, CRC checked once per entry. */
function storageBytes(zip: ZipArchive, storage: StorageRef): Uint8Array {
  let bytes = storageCache.get(storage.entry);
  if (bytes === undefined) {
    bytes = zipData(zip, storage.entry);
    storageCache.set(storage.entry, bytes);
  }
  return bytes;
}

/** Reads element `i` (at byte `p`) of a storage as a number; int64 out of int32's range is a DTypeError. */
function elementReader(dtype: TorchDtype, view: DataView, little: boolean): (p: number, i: number, path: string) => number {
  switch (dtype) {
    case 'float32': return (p) => view.getFloat32(p, little);
    case 'float64': return (p) => view.getFloat64(p, little);
    case 'float16': return (p) => f16ToF32(view.getUint16(p, little));
    case 'bfloat16': return (p) => {
      u32Box[0] = view.getUint16(p, little) << 16;
      return f32Box[0];
    };
    case 'int32': return (p) => view.getInt32(p, little);
    case 'int16': return (p) => view.getInt16(p, little);
    case 'int8': return (p) => view.getInt8(p);
    case 'uint8': return (p) => view.getUint8(p);
    case 'bool': return (p) => (view.getUint8(p) === 0 ? 0 : 1);
    case 'int64': return (p, i, path) => {
      const lo = view.getInt32(little ? p : p + 4, little);
      const hi = view.getInt32(little ? p + 4 : p, little);
      if (hi !== lo >> 31) {
        const value = view.getBigInt64(p, little);
        throw new DTypeError(`torch file: int64 tensor '${showName(path)}' has ${value} at flat index ${i}, outside int32's range [-2147483648, 2147483647] (this library's integer tensors are int32)`);
      }
      return lo;
    };
  }
}
