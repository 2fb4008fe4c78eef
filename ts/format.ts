/**
 * How a tensor prints: PyTorch's repr (`tensor([[ 0.1234, -1.2345], ...])`, four decimals, or
 * scientific notation when the magnitudes call for it, or `1.` for integral float values; more than
 * 1000 elements summarized to the first and last 3 along each dim), followed by the shape, the
 * dtype and where it came from (`requiresGrad=true` on a leaf, `gradFn=<MulBackward>` on an op's
 * output). `Tensor.toString()` and Node's `util.inspect` (so `console.log(t)`) both use it.
 */
import type { Tensor } from './tensor';

/** PyTorch's print options (torch.set_printoptions defaults). */
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const PRECISION = 4;
const LINE_WIDTH = 80;

/** One value to print, or the `...` of a summarized dim. */
type Cell = number | 'ellipsis';

export function formatTensor(t: Tensor): string {
  const suffix = [`shape=[${t.shape.join(', ')}]`, `dtype=${t.dtype}`];
  if (t.isDisposed) return `tensor(<disposed>, ${suffix.join(', ')})`;
  if (t.gradFn !== null) suffix.push(`gradFn=<${capitalize(t.gradFn.name)}Backward>`);
  else if (t.requiresGrad) suffix.push('requiresGrad=true');
  const data = t.heapView();
  const summarize = t.size > THRESHOLD;
  const shown = collect(data, t.shape, summarize);
  const format = t.dtype === 'int32' ? (v: number) => String(v) : floatFormat(shown);
  // The column width, as PyTorch's: over every value of an int32 tensor, over the nonzero finite
  // ones of a float32 tensor (a wider -0.0000, nan or inf is not padded to).
  const sizing = shown.filter((v): v is number => v !== 'ellipsis' && (t.dtype === 'int32' || (Number.isFinite(v) && v !== 0)));
  const width = Math.max(0, ...sizing.map((v) => format(v).length));
  const cell = (v: Cell) => (v === 'ellipsis' ? ' ...' : format(v).padStart(width));
  const prefix = 'tensor(';
  const body = t.shape.length === 0 ? format(data[0]!) : nest(data, t.shape, summarize, cell, width, prefix.length);
  return `${prefix}${body}, ${suffix.join(', ')})`;
}

/** `mul` -> `Mul`, `log_softmax` -> `LogSoftmax`. */
function capitalize(name: string): string {
  return name.split(/[_\s]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** The indices along a dim of `n` that print: all, or the first and last EDGE_ITEMS around a `...`. */
function shownIndices(n: number, summarize: boolean): (number | 'ellipsis')[] {
  if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i);
  return [...head, 'ellipsis', ...tail];
}

/** Every value that prints (they set the number format and the column width). */
function collect(data: ArrayLike<number>, shape: readonly number[], summarize: boolean): Cell[] {
  const out: Cell[] = [];
  const walk = (dim: number, offset: number, stride: number): void => {
    if (dim === shape.length) {
      out.push(data[offset]!);
      return;
    }
    const inner = stride / shape[dim]!;
    for (const i of shownIndices(shape[dim]!, summarize)) {
      if (i === 'ellipsis') out.push('ellipsis');
      else walk(dim + 1, offset + i * inner, inner);
    }
  };
  walk(0, 0, shape.reduce((a, b) => a * b, 1));
  return out;
}

/**
 * The brackets, as PyTorch's `_tensor_str`: a dim at depth d is indented by the prefix plus d, the
 * last dim's values run `floor((80 - indent) / (width + 2))` to a line, and blocks of 3+ dims are
 * separated by blank lines.
 */
function nest(data: ArrayLike<number>, shape: readonly number[], summarize: boolean, cell: (v: Cell) => string, width: number, indent: number): string {
  const walk = (dim: number, offset: number, stride: number, column: number): string => {
    const inner = stride / shape[dim]!;
    const indices = shownIndices(shape[dim]!, summarize);
    if (dim === shape.length - 1) {
      const items = indices.map((i) => cell(i === 'ellipsis' ? 'ellipsis' : data[offset + i]!));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - column) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(column + 1)}`)}]`;
    }
    const blank = '\n'.repeat(Math.max(1, shape.length - dim - 1));
    const parts = indices.map((i) => (i === 'ellipsis' ? '...' : walk(dim + 1, offset + i * inner, inner, column + 1)));
    return `[${parts.join(`,${blank}${' '.repeat(column + 1)}`)}]`;
  };
  return walk(0, 0, shape.reduce((a, b) => a * b, 1), indent);
}

/**
 * PyTorch's float formatter (torch/_tensor_str.py, `_Formatter`): over the finite values shown,
 * integral values print as `3.`; otherwise four decimals, or scientific notation with four when
 * the largest is at least 1e8, the smallest nonzero below 1e-4, or their ratio above 1000.
 */
function floatFormat(shown: Cell[]): (v: number) => string {
  const finite = shown.filter((v): v is number => v !== 'ellipsis' && Number.isFinite(v));
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  if (finite.every((v) => Number.isInteger(v))) {
    const max = Math.max(0, ...nonzero);
    if (max > 1e8) return (v) => (Number.isFinite(v) ? sci(v) : special(v));
    return (v) => (Number.isFinite(v) ? `${negativeZero(v)}${v.toFixed(0)}.` : special(v));
  }
  const max = Math.max(...nonzero);
  const min = Math.min(...nonzero);
  const useSci = max / min > 1000 || max > 1e8 || min < 1e-4;
  return (v) => (!Number.isFinite(v) ? special(v) : useSci ? sci(v) : `${negativeZero(v)}${v.toFixed(PRECISION)}`);
}

/** Python prints -0.0 with its sign; JavaScript's toFixed drops it. */
function negativeZero(v: number): string {
  return Object.is(v, -0) ? '-' : '';
}

/** `1.2346e+03`, as Python's `'{:.4e}'`. */
function sci(v: number): string {
  const [mantissa, exponent] = v.toExponential(PRECISION).split('e');
  const e = Number(exponent);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
