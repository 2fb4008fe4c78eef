/**
 * The default collate (PyTorch `torch.utils.data.default_collate`): a list of items with one
 * structure becomes one batch with that structure, each leaf stacked along a new dim 0.
 */
import { Tensor } from '../tensor';
import { ShapeError, ValueError, describeKind, formatShape } from '../errors';
import { tensor } from '../creation';
import { stack } from '../ops/index';

/**
 * The type of a batch the default collate makes from items of type T: tensors and numbers become
 * a tensor, a typed array a tensor, strings an array of them; arrays (tuples) and plain objects keep
 * their structure with each field collated.
 */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | Float32Array | Int32Array
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : never;

/**
 * A batch from `items` (B of them, one structure), as PyTorch's `default_collate`, leaf by leaf:
 *
 * - tensors (all one shape and dtype) -> `stack(items)`, (B, ...shape);
 * - numbers -> a (B) tensor: int32 when every one is an integer in int32's range (PyTorch makes
 *   int64 of Python ints), else float32 (JavaScript has no separate float: `1.0` is an integer, so
 *   pass float32 tensors, or a collateFn, when a float column may hold whole numbers only);
 * - `Float32Array`s / `Int32Array`s of one length -> a (B, length) tensor of that dtype;
 * - strings -> the array of them;
 * - arrays (tuples) of one length -> an array: element j collated from the items' elements j;
 * - plain objects with the same keys -> an object: each key collated from the items' values.
 *
 * The tensors are new, owned by the caller (a DataLoader owns and frees its batches).
 */
export function defaultCollate<T>(items: readonly T[]): Collated<T> {
  if (!Array.isArray(items) || items.length === 0) {
    throw new ValueError(`defaultCollate: items must be a non-empty array, got ${Array.isArray(items) ? 'an empty array' : describeKind(items)}`);
  }
  return collate(items, '') as Collated<T>;
}

/** What `v` is, as a collate error says (`a number`, `a Float32Array`, `an array`). */
function kindOf(v: unknown): string {
  if (v instanceof Tensor) return 'a Tensor';
  if (Array.isArray(v)) return 'an array';
  const k = describeKind(v);
  return /^[aeiou]/i.test(k) ? `an ${k}` : `a ${k}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `values` are the items' values at `path` (`''` for the items themselves, `[1]`, `.label`). */
function collate(values: readonly unknown[], path: string): unknown {
  const first = values[0];
  const at = (i: number): string => `item ${i}${path === '' ? '' : ` at ${path}`}`;
  const sameKind = (test: (v: unknown) => boolean): void => {
    values.forEach((v, i) => {
      if (!test(v)) throw new ValueError(`defaultCollate: ${at(i)} is ${kindOf(v)}, ${at(0)} is ${kindOf(first)} (every item of a batch must have one structure)`);
    });
  };

  if (first instanceof Tensor) {
    sameKind((v) => v instanceof Tensor);
    (values as Tensor[]).forEach((t, i) => {
      if (t.dtype !== first.dtype || t.ndim !== first.ndim || t.shape.some((s, j) => s !== first.shape[j])) {
        throw new ShapeError(
          `defaultCollate: ${at(i)} is ${formatShape(t.shape)} ${t.dtype}, ${at(0)} is ${formatShape(first.shape)} ${first.dtype}: ` +
            'tensors stack into a batch only with one shape and dtype (pad sequences of different lengths in a collateFn, with nn.utils.rnn.padSequence)',
        );
      }
    });
    return stack(values as Tensor[], 0);
  }
  if (typeof first === 'number') {
    sameKind((v) => typeof v === 'number');
    const numbers = values as number[];
    const integers = numbers.every((v) => Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff);
    return tensor(integers ? Int32Array.from(numbers) : Float32Array.from(numbers));
  }
  if (first instanceof Float32Array || first instanceof Int32Array) {
    const Kind = first.constructor as Float32ArrayConstructor | Int32ArrayConstructor;
    sameKind((v) => v instanceof Kind);
    const rows = values as (Float32Array | Int32Array)[];
    rows.forEach((r, i) => {
      if (r.length !== first.length) throw new ShapeError(`defaultCollate: ${at(i)} has ${r.length} elements, ${at(0)} has ${first.length} (arrays stack into a batch only with one length)`);
    });
    const flat = new Kind(rows.length * first.length);
    rows.forEach((r, i) => flat.set(r, i * first.length));
    return tensor(flat, [rows.length, first.length]);
  }
  if (typeof first === 'string') {
    sameKind((v) => typeof v === 'string');
    return values.slice();
  }
  if (Array.isArray(first)) {
    sameKind(Array.isArray);
    (values as unknown[][]).forEach((v, i) => {
      if (v.length !== first.length) throw new ShapeError(`defaultCollate: ${at(i)} has ${v.length} elements, ${at(0)} has ${first.length} (every item of a batch must have one structure)`);
    });
    return first.map((_, j) => collate((values as unknown[][]).map((v) => v[j]), `${path}[${j}]`));
  }
  if (isPlainObject(first)) {
    sameKind(isPlainObject);
    const keys = Object.keys(first);
    (values as Record<string, unknown>[]).forEach((v, i) => {
      const other = Object.keys(v);
      if (other.length !== keys.length || keys.some((k) => !Object.hasOwn(v, k))) {
        throw new ValueError(`defaultCollate: ${at(i)} has keys ${other.join(', ')}, ${at(0)} has ${keys.join(', ')} (every item of a batch must have one structure)`);
      }
    });
    return Object.fromEntries(keys.map((k) => [k, collate((values as Record<string, unknown>[]).map((v) => v[k]), `${path}.${k}`)]));
  }
  throw new ValueError(
    `defaultCollate: ${at(0)} is ${kindOf(first)}; the default collate takes tensors, numbers, Float32Array/Int32Array, strings, ` +
      'and arrays or plain objects of them (pass a collateFn for anything else)',
  );
}
