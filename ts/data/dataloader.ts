/**
 * `DataLoader` (PyTorch `torch.utils.data.DataLoader`, map-style, on this thread): batches of a
 * dataset in order or shuffled, collated, each batch owned by the loader until the loop moves on.
 */
import { Tensor, nextTensorId } from '../tensor';
import { ValueError, describeArg } from '../errors';
import { keep, tidy } from '../memory';
import { noGrad } from '../autograd';
import { type Generator, generatorOption } from '../random';
import { checkCallback, checkOptions, optionKeys } from '../options';
import { type DatasetLike, checkDataset, datasetItem, rowGatherer } from './dataset';
import { type Collated, defaultCollate } from './collate';
import { permutation } from './permutation';

export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1): a positive integer. */
  batchSize?: number;
  /** Draw a new order of the items at each epoch (default false: 0, 1, 2, ...). */
  shuffle?: boolean;
  /** Where shuffled orders come from (default: the global generator, `manualSeed`'s). */
  generator?: Generator | null;
  /** Leave out the last batch when it has fewer than batchSize items (default false). */
  dropLast?: boolean;
  /** Makes a batch from its items (default: {@link defaultCollate}, which stacks them). */
  collateFn?: (items: T[]) => B;
}

const LOADER_KEYS = optionKeys<DataLoaderOptions<unknown, unknown>>({ batchSize: true, shuffle: true, generator: true, dropLast: true, collateFn: true });

/**
 * Batches of a dataset, as PyTorch's `DataLoader`: `for (const [x, y] of loader)`, with
 * `loader.length` batches (`len(loader)`). Each loop over it (each `[Symbol.iterator]()` call) is an
 * epoch; with `shuffle` an epoch draws its own order from the generator (see `permutation` in
 * ts/data/permutation.ts for the draws), so a seeded `Generator` gives the same orders run after
 * run. Batches are made on this thread when the loop asks for them (PyTorch's `num_workers=0`).
 *
 * Ownership: a batch belongs to the loader. Its tensors are freed when the loop asks for the next
 * batch, and when the loop ends, breaks, returns or throws (the iterator's `return()`), so a loop
 * leaks nothing and its body need not dispose them.
 * - A batch is made outside every `tidy` scope: a `tidy` around the loop body does not free it (it
 *   was not made inside), and one around the whole loop does not either (the loader takes it out
 *   of every scope, as `keep` does, and frees it itself). `keep(x)` on a batch tensor therefore
 *   changes nothing: to hold one past its step, copy it (`x.clone()`, inside no `tidy` or kept).
 *   A batch tensor you dispose yourself is simply skipped.
 * - Driving the iterator by hand: each `next()` frees the previous batch; call `return()` to free
 *   the last one when you stop before the end.
 * - A `collateFn`'s result: the tensors in it (in arrays and plain objects, any depth) that were
 *   made while making the batch (by it or by the dataset's `get`) are the loader's; tensors that
 *   existed before (a plain array's own tensors, one the function closes over) stay their owner's.
 *   Temporaries it makes and does not return are freed at once.
 * - Batches are data: made under `noGrad`, so they are leaves and no graph reaches the dataset.
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly dataset: DatasetLike<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The generator shuffled orders are drawn from. */
  readonly generator: Generator;
  /** The collate function given, or null for {@link defaultCollate}. */
  readonly collateFn: ((items: T[]) => B) | null;

  constructor(dataset: DatasetLike<T>, options: DataLoaderOptions<T, B> = {}) {
    checkDataset('DataLoader', dataset);
    checkOptions('DataLoader', options, LOADER_KEYS);
    const o = options ?? {};
    const batchSize = o.batchSize ?? 1;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${describeArg(batchSize)}`);
    }
    for (const key of ['shuffle', 'dropLast'] as const) {
      if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new ValueError(`DataLoader: ${key} must be a boolean, got ${describeArg(o[key])}`);
    }
    checkCallback('DataLoader', 'collateFn', o.collateFn);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = o.shuffle ?? false;
    this.dropLast = o.dropLast ?? false;
    this.generator = generatorOption('DataLoader', o.generator);
    this.collateFn = o.collateFn ?? null;
  }

  /** The number of batches in an epoch (PyTorch `len(loader)`). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** An epoch: the order is drawn now (shuffled or not), the batches as the loop asks for them. */
  [Symbol.iterator](): IterableIterator<B> {
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, this.generator) : Array.from({ length: n }, (_, i) => i);
    const count = this.length;
    return new BatchIterator(count, (k) => this.makeBatch(order.slice(k * this.batchSize, (k + 1) * this.batchSize)));
  }

  /** The batch of the items at `indices`, and the tensors in it the loader now owns. */
  private makeBatch(indices: number[]): { batch: B; owned: Tensor[] } {
    const gather = this.collateFn === null ? rowGatherer(this.dataset as DatasetLike<unknown>) : null;
    // Only a collateFn can return a tensor that existed before: ids grow, so those made from here on are at least this.
    const firstNew = this.collateFn === null ? 0 : nextTensorId();
    let batch!: B;
    const made = noGrad(() =>
      tidy(() => {
        if (gather !== null) batch = gather(indices) as B;
        else {
          const items = indices.map((i) => datasetItem(this.dataset, i));
          batch = this.collateFn !== null ? this.collateFn(items) : (defaultCollate(items) as B);
        }
        // Returned flat, so tidy keeps every tensor of the batch however deep it sits.
        return tensorsIn(batch);
      }),
    );
    const owned = made.filter((t) => t.id >= firstNew);
    for (const t of owned) keep(t);
    return { batch, owned };
  }
}

/** An epoch's batches: each `next()` frees the previous batch; `return()` frees the current one. */
class BatchIterator<B> implements IterableIterator<B> {
  private k = 0;
  private done = false;
  private owned: Tensor[] = [];

  constructor(
    private readonly count: number,
    private readonly make: (k: number) => { batch: B; owned: Tensor[] },
  ) {}

  next(): IteratorResult<B> {
    this.release();
    if (this.done || this.k >= this.count) return this.finish();
    try {
      const { batch, owned } = this.make(this.k++);
      this.owned = owned;
      return { done: false, value: batch };
    } catch (e) {
      this.done = true;
      throw e;
    }
  }

  return(): IteratorResult<B> {
    this.release();
    return this.finish();
  }

  [Symbol.iterator](): IterableIterator<B> {
    return this;
  }

  private finish(): IteratorResult<B> {
    this.done = true;
    return { done: true, value: undefined };
  }

  private release(): void {
    for (const t of this.owned) t.dispose();
    this.owned = [];
  }
}

/** The distinct tensors in `value`: itself, or inside arrays and plain objects at any depth. */
function tensorsIn(value: unknown, out: Tensor[] = [], seen = new Set<unknown>()): Tensor[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out, seen);
  else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) tensorsIn(v, out, seen);
  }
  return out;
}
