/**
 * Datasets (PyTorch `torch.utils.data`): the `Dataset` contract, `TensorDataset` (rows of tensors)
 * and `Subset` (a dataset seen through a list of indices, what `randomSplit` returns).
 *
 * Ownership: a dataset does not own what it was made from (the tensors given to a TensorDataset
 * stay their caller's: dispose them when done with the dataset). The tensors `get` returns are new
 * and belong to whoever asked; a DataLoader frees them itself.
 */
import { Tensor } from '../tensor';
import { IndexError, ShapeError, ValueError, describeKind, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { runOp } from '../memory';
import { select } from '../ops/index';

/**
 * A map-style dataset, as PyTorch's `torch.utils.data.Dataset`: `length` is its `__len__`, the
 * number of items; `get(index)` its `__getitem__`, item `index` in 0..length-1. A plain array is a
 * dataset too (its elements are its items): see {@link DatasetLike}.
 */
export interface Dataset<T> {
  /** The number of items (PyTorch `__len__`). */
  readonly length: number;
  /** Item `index` (PyTorch `__getitem__`). Tensors in it are new: the caller owns them. */
  get(index: number): T;
}

/** What takes a dataset also takes a plain array of items. */
export type DatasetLike<T> = Dataset<T> | readonly T[];

/** Throws a ValueError unless `dataset` is an array or has an integer `length` >= 0 and a `get` method. */
export function checkDataset(where: string, dataset: unknown): void {
  if (Array.isArray(dataset)) return;
  const d = dataset as { length?: unknown; get?: unknown } | null;
  if (d === null || typeof d !== 'object' || typeof d.get !== 'function') {
    const got = dataset instanceof Tensor ? 'a Tensor (make it a dataset of its rows: new TensorDataset(t))' : describeKind(dataset);
    throw new ValueError(`${where}: dataset must be an array or a Dataset (an object with length and get(index)), got ${got}`);
  }
  if (typeof d.length !== 'number' || !Number.isInteger(d.length) || d.length < 0) {
    throw new ValueError(`${where}: dataset.length must be an integer >= 0, got ${String(d.length)}`);
  }
}

/** Item `index` of a dataset or array (already in range). */
export function datasetItem<T>(dataset: DatasetLike<T>, index: number): T {
  return Array.isArray(dataset) ? (dataset as readonly T[])[index] : (dataset as Dataset<T>).get(index);
}

/** `index` in [-length, length) as an index in [0, length), as Python indexes a sequence; else an IndexError. */
function itemIndex(where: string, name: string, index: unknown, length: number): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -length || index >= length) {
    const expected = length === 0 ? 'the dataset is empty' : `expected an integer in ${-length}..${length - 1}`;
    throw new IndexError(`${where}: ${name}=${String(index)} is out of range for ${length} items (${expected})`);
  }
  return index < 0 ? index + length : index;
}

/**
 * A dataset of tensors that share their first dim, as PyTorch's `TensorDataset(*tensors)`: item i
 * is `[tensors[0][i], tensors[1][i], ...]`, one row of each (`new TensorDataset(x, y)` gives
 * `[x_i, y_i]`).
 *
 * The tensors stay the caller's (the dataset neither copies nor frees them), and must stay alive
 * while it is used. Each `get` returns new tensors, owned by the caller.
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 1 && Array.isArray(tensors[0])) {
      throw new ValueError('TensorDataset: pass the tensors as arguments, new TensorDataset(x, y), not an array of them');
    }
    if (tensors.length === 0) throw new ValueError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      assertTensor('TensorDataset', `tensors[${i}]`, t);
      if (t.ndim === 0) throw new ShapeError(`TensorDataset: tensors[${i}] is a 0-d tensor, expected at least 1 dim (one row per item)`);
    });
    const n = tensors[0].shape[0];
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new ShapeError(
          `TensorDataset: tensors[${i}] has ${t.shape[0]} rows (shape ${formatShape(t.shape)}), expected ${n}, the size of dim 0 of ` +
            `tensors[0] ${formatShape(tensors[0].shape)}: every tensor needs one row per item`,
        );
      }
    });
    this.tensors = Object.freeze(tensors.slice());
  }

  /** The number of rows (PyTorch `__len__`). */
  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Row `index` of each tensor (negative counts from the end), as new tensors (PyTorch `__getitem__`). */
  get(index: number): Tensor[] {
    const i = itemIndex('TensorDataset.get', 'index', index, this.length);
    this.tensors.forEach((t, k) => assertTensor('TensorDataset.get', `tensors[${k}]`, t));
    return runOp('TensorDataset.get', () => this.tensors.map((t) => select(t, 0, i)));
  }

  /**
   * The rows at `indices` of each tensor, each gathered into one new tensor (B, ...): what the
   * default collate makes of `indices.map((i) => get(i))`, in one copy per tensor instead of one
   * per row. The result is new, without a graph (data, not a computation), owned by the caller.
   */
  getBatch(indices: readonly number[]): Tensor[] {
    if (!Array.isArray(indices)) throw new ValueError(`TensorDataset.getBatch: indices must be an array of integers, got ${describeKind(indices)}`);
    const n = this.length;
    const rows = indices.map((index, k) => itemIndex('TensorDataset.getBatch', `indices[${k}]`, index, n));
    this.tensors.forEach((t, k) => assertTensor('TensorDataset.getBatch', `tensors[${k}]`, t));
    return runOp('TensorDataset.getBatch', () => this.tensors.map((t) => gatherRows(t, rows)));
  }
}

/** A new (rows.length, ...) tensor of x's rows `rows` (each in range). */
function gatherRows(x: Tensor, rows: readonly number[]): Tensor {
  const out = new Tensor([rows.length, ...x.shape.slice(1)], x.dtype);
  const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
  // Views taken after the allocation (memory growth detaches older ones); nothing allocates below.
  const src = x.heapView();
  const dst = out.heapView();
  if (width === 1) {
    for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]];
  } else {
    for (let k = 0; k < rows.length; k++) dst.set(src.subarray(rows[k] * width, (rows[k] + 1) * width), k * width);
  }
  return out;
}

/**
 * A dataset seen through `indices` (PyTorch `torch.utils.data.Subset`): item i is
 * `dataset[indices[i]]`. It shares the dataset (nothing is copied); what `randomSplit` returns.
 */
export class Subset<T> implements Dataset<T> {
  readonly dataset: DatasetLike<T>;
  readonly indices: readonly number[];

  constructor(dataset: DatasetLike<T>, indices: readonly number[]) {
    checkDataset('Subset', dataset);
    if (!Array.isArray(indices)) throw new ValueError(`Subset: indices must be an array of integers, got ${describeKind(indices)}`);
    const n = dataset.length;
    this.indices = Object.freeze(indices.map((index, k) => itemIndex('Subset', `indices[${k}]`, index, n)));
    this.dataset = dataset;
  }

  /** The number of indices (PyTorch `__len__`). */
  get length(): number {
    return this.indices.length;
  }

  /** Item `indices[index]` of the dataset (negative `index` counts from the end; PyTorch `__getitem__`). */
  get(index: number): T {
    return datasetItem(this.dataset, this.indices[itemIndex('Subset.get', 'index', index, this.indices.length)]);
  }
}

/**
 * How to fetch a whole batch of `dataset` at once when its items are rows of tensors (a
 * TensorDataset, or Subsets of one): `(indices) => Tensor[]`; null for any other dataset.
 */
export function rowGatherer(dataset: DatasetLike<unknown>): ((indices: readonly number[]) => Tensor[]) | null {
  if (dataset instanceof TensorDataset) return (indices) => dataset.getBatch(indices);
  if (dataset instanceof Subset) {
    const inner = rowGatherer(dataset.dataset as DatasetLike<unknown>);
    if (inner === null) return null;
    return (indices) => inner(indices.map((i) => dataset.indices[i]));
  }
  return null;
}
