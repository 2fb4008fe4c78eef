/**
 * Python-style indexing: `x.at(':, -1')` is PyTorch's `x[:, -1]`, `x.at(0)` is `x[0]`, and
 * `slice(x, dim, start, stop, step)` is `x[..., start:stop:step]` on one dim. Every index of a
 * tensor is one strided window of it (an integer fixes a dim, a range steps through one, `null`
 * adds a dim of size 1), so the forward is one strided copy and the backward writes the gradient
 * back through the same window into zeros.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { IndexError, ValueError, describeArg, describeKind, formatShape } from '../errors';
import { assertTensor, splitAt } from './util';
import { contiguousStrides, dimArg, gather, stridedWindow } from './shape';

/** A Python slice `start:stop:step`; an absent part takes Python's default. */
export interface Range {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/**
 * One index of `at`: an integer (negative counts from the end; the dim is removed), a `Range`
 * object, `null` (a new dim of size 1, Python's `None`), or a string of comma-separated Python
 * indices (`':, -1'`, `'1:5:2'`, `'..., 0'`, `'None'`).
 */
export type Index = number | Range | null | string;

type Part = { kind: 'int'; index: number; text: string } | { kind: 'range'; range: Range; text: string } | { kind: 'new' } | { kind: 'rest' };

const INTEGER = /^[+-]?\d+$/;
const PY_SLICE = /^([+-]?\d+)?\s*:\s*([+-]?\d+)?(?:\s*:\s*([+-]?\d+)?)?$/;
const RANGE_KEYS = ['start', 'stop', 'step'];

/** The parts of a string index (`':, -1'`), each checked. */
function parseString(text: string): Part[] {
  return text.split(',').map((raw) => {
    const s = raw.trim();
    if (s === '...' || s === '\u2026') return { kind: 'rest' };
    if (s === 'None') return { kind: 'new' };
    if (INTEGER.test(s)) return { kind: 'int', index: Number(s), text: s };
    const m = PY_SLICE.exec(s);
    if (m !== null) {
      const num = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
      return { kind: 'range', range: { start: num(m[1]), stop: num(m[2]), step: num(m[3]) }, text: s };
    }
    throw new IndexError(
      `at: cannot read '${s}' in index '${text}': expected an integer, a slice like 1:5, ::2 or -3:, '...' or 'None' (Python's syntax, parts separated by commas)`,
    );
  });
}

/** The parts of `at`'s arguments, each checked; refused kinds name what to use instead. */
function parseIndices(indices: readonly unknown[]): Part[] {
  const parts: Part[] = [];
  for (const idx of indices) {
    if (typeof idx === 'string') {
      parts.push(...parseString(idx));
    } else if (typeof idx === 'number') {
      if (!Number.isInteger(idx)) throw new IndexError(`at: index ${idx} is not an integer`);
      parts.push({ kind: 'int', index: idx, text: String(idx) });
    } else if (idx === null) {
      parts.push({ kind: 'new' });
    } else if (idx === undefined) {
      throw new IndexError("at: an index is undefined (use null for a new dim of size 1, ':' for a whole dim)");
    } else if (idx instanceof Tensor || Array.isArray(idx) || ArrayBuffer.isView(idx)) {
      throw new IndexError(
        `at: indexing with ${Array.isArray(idx) ? 'an array' : idx instanceof Tensor ? 'a Tensor' : `a ${describeKind(idx)}`} (PyTorch's advanced indexing) is not supported: ` +
          'use x.gather(dim, index) or F.embedding(ids, x) to pick rows by id, and x.maskedFill(mask, v) or where(mask, a, b) for masks',
      );
    } else if (typeof idx === 'object' && Object.getPrototypeOf(idx) === Object.prototype) {
      for (const key of Object.keys(idx)) {
        if (!RANGE_KEYS.includes(key)) {
          const hint = key === 'end' ? " (Python's slice calls it stop)" : '';
          throw new IndexError(`at: unknown range key '${key}'${hint}; a range is { start, stop, step }`);
        }
      }
      parts.push({ kind: 'range', range: idx as Range, text: JSON.stringify(idx) });
    } else {
      throw new IndexError(`at: an index must be an integer, a string like ':, -1', a { start, stop, step } range or null, got ${describeKind(idx)}`);
    }
  }
  return parts;
}

/** One bound of a range: null/undefined takes `fallback`; a negative one counts from the end; clamped to [0, size] as Python does. */
function bound(op: string, value: number | null | undefined, size: number, fallback: number, what: string, text: string): number {
  if (value === null || value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new IndexError(`${op}: ${what} of range ${text} must be an integer or null, got ${describeArg(value)}`);
  const v = value < 0 ? value + size : value;
  return Math.min(Math.max(v, 0), size);
}

/** Start and length of `range` over a dim of `size` (Python's rules: out-of-range bounds are clamped), and its step. */
function resolveRange(op: string, range: Range, size: number, text: string): [number, number, number] {
  const step = range.step ?? 1;
  if (typeof step !== 'number' || !Number.isInteger(step)) throw new IndexError(`${op}: step of range ${text} must be an integer, got ${describeArg(step)}`);
  if (step <= 0) {
    throw new ValueError(`${op}: step of range ${text} is ${step}; steps must be positive (as in PyTorch; to reverse dims, use x.flip(dims))`);
  }
  const start = bound(op, range.start, size, 0, 'start', text);
  const stop = bound(op, range.stop, size, size, 'stop', text);
  return [start, Math.max(0, Math.ceil((stop - start) / step)), step];
}

/**
 * `x[indices]` as PyTorch reads it: integers (negative from the end) remove their dim, ranges keep
 * it, `null` inserts a dim of size 1, and one `...` stands for every dim not named; dims after the
 * last index are kept whole. The result is a new tensor (tensors here are always contiguous), and
 * the gradient flows back to x.
 */
export function at(x: Tensor, ...indices: Index[]): Tensor {
  assertTensor('at', 'x', x);
  const parts = parseIndices(indices);
  const rests = parts.filter((p) => p.kind === 'rest').length;
  if (rests > 1) throw new IndexError(`at: an index can only have a single ellipsis ('...'), got ${rests}`);
  const named = parts.filter((p) => p.kind === 'int' || p.kind === 'range').length;
  if (named > x.ndim) {
    throw new IndexError(`at: too many indices for a ${x.ndim}-D tensor ${formatShape(x.shape)}: ${named} dims are indexed`);
  }
  const expanded: Part[] = [];
  for (const p of parts) {
    if (p.kind === 'rest') for (let i = 0; i < x.ndim - named; i++) expanded.push({ kind: 'range', range: {}, text: ':' });
    else expanded.push(p);
  }
  const strides = contiguousStrides(x.shape);
  const shape: number[] = [];
  const viewStrides: number[] = [];
  let offset = 0;
  let d = 0;
  for (const p of expanded) {
    if (p.kind === 'new') {
      shape.push(1);
      viewStrides.push(0);
    } else if (p.kind === 'int') {
      const size = x.shape[d];
      if (p.index < -size || p.index >= size) {
        throw new IndexError(`at: index ${p.index} is out of range for dim ${d} of size ${size} in ${formatShape(x.shape)} (expected ${-size}..${size - 1})`);
      }
      offset += (p.index < 0 ? p.index + size : p.index) * strides[d];
      d++;
    } else if (p.kind === 'range') {
      const [start, length, step] = resolveRange('at', p.range, x.shape[d], p.text);
      shape.push(length);
      viewStrides.push(strides[d] * step);
      offset += start * strides[d];
      d++;
    }
  }
  for (; d < x.ndim; d++) {
    shape.push(x.shape[d]);
    viewStrides.push(strides[d]);
  }
  return stridedWindow('index', x, shape, viewStrides, offset);
}

/**
 * Elements `start:stop:step` of dim `dim`, as Python slices them: a negative bound counts from the
 * end, bounds past the ends are clamped, `stop` defaults to the size and `step` (positive) to 1.
 */
export function slice(x: Tensor, dim: number, start: number | null = 0, stop: number | null = null, step = 1): Tensor {
  assertTensor('slice', 'x', x);
  const d = dimArg('slice', 'dim', dim, x);
  const text = `${start ?? ''}:${stop ?? ''}${step === 1 ? '' : `:${step}`}`;
  const [from, length, by] = resolveRange('slice', { start, stop, step }, x.shape[d], text);
  const strides = contiguousStrides(x.shape);
  const shape = x.shape.map((s, i) => (i === d ? length : s));
  return stridedWindow('slice', x, shape, strides.map((s, i) => (i === d ? s * by : s)), from * strides[d]);
}

/** x with the order of each of `dims` reversed (PyTorch's `flip`; negative dims count from the end). */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  assertTensor('flip', 'x', x);
  const list = typeof dims === 'number' ? [dims] : dims;
  if (!Array.isArray(list)) throw new IndexError(`flip: dims must be a dim or an array of dims, got ${describeKind(dims)}`);
  const ds = list.map((d) => dimArg('flip', 'dims', d, x));
  const twice = ds.find((d, i) => ds.indexOf(d) !== i);
  if (twice !== undefined) throw new IndexError(`flip: dim ${twice} appears more than once in dims [${list.join(', ')}]`);
  const out = flipDims(x, ds);
  if (!needsGrad(x)) return out;
  return record(out, 'flip', [x], (g) => [flipDims(g, ds)]);
}

/** A new tensor: x with each of `ds` reversed, one gather per dim (a copy for none), recording nothing. */
function flipDims(x: Tensor, ds: readonly number[]): Tensor {
  if (ds.length === 0) return gather(x, x.shape, contiguousStrides(x.shape));
  let out = x;
  for (const d of ds) {
    const next = flipDim(out, d);
    if (out !== x) out.dispose();
    out = next;
  }
  return out;
}

/** One dim reversed: a gather along it with indices size-1 .. 0. */
function flipDim(x: Tensor, d: number): Tensor {
  const [outer, size, inner] = splitAt(x.shape, d);
  const index = new Tensor(x.shape, 'int32');
  const out = new Tensor(x.shape, x.dtype);
  try {
    const v = index.heapView();
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < size; j++) v.fill(size - 1 - j, (o * size + j) * inner, (o * size + j + 1) * inner);
    }
    backend().k.lw_gather(out.ptr, x.ptr, index.ptr, outer, size, size, inner);
  } finally {
    index.dispose();
  }
  return out;
}
