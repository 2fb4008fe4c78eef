/** `randomSplit` (PyTorch `torch.utils.data.random_split`): disjoint random subsets of a dataset. */
import { ValueError, describeArg, describeKind } from '../errors';
import { type Generator, generatorOption } from '../random';
import { type DatasetLike, Subset, checkDataset } from './dataset';
import { permutation } from './permutation';

/**
 * Splits `dataset` into `lengths.length` disjoint Subsets that together cover it, in a random order
 * drawn from `generator` (default: the global one), as PyTorch's `random_split`:
 *
 * - `lengths` are item counts that sum to the dataset's length (`randomSplit(ds, [800, 200])`), or
 * - fractions in [0, 1] that sum to 1 (`[0.8, 0.2]`): each subset gets floor(n * fraction) items,
 *   and the items left over go one each to the subsets in turn from the first (PyTorch's rule, so
 *   10 items as `[0.25, 0.25, 0.25, 0.25]` give 3, 3, 2, 2).
 *
 * One permutation of 0..n-1 is drawn (see `permutation` in ts/data/permutation.ts) and cut in that
 * order. The subsets share the dataset; nothing is copied.
 */
export function randomSplit<T>(dataset: DatasetLike<T>, lengths: readonly number[], generator?: Generator | null): Subset<T>[] {
  checkDataset('randomSplit', dataset);
  if (!Array.isArray(lengths) || lengths.length === 0) {
    throw new ValueError(`randomSplit: lengths must be a non-empty array of counts or fractions, got ${Array.isArray(lengths) ? 'an empty array' : describeKind(lengths)}`);
  }
  lengths.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ValueError(`randomSplit: lengths[${i}] must be a number >= 0, got ${describeArg(v)}`);
    }
  });
  const g = generatorOption('randomSplit', generator);
  const n = dataset.length;
  const counts = splitCounts(lengths, n);
  const order = permutation(n, g);
  let at = 0;
  return counts.map((c) => {
    const subset = new Subset(dataset, order.slice(at, at + c));
    at += c;
    return subset;
  });
}

/** The item count of each subset, from counts or fractions (checked). */
function splitCounts(lengths: readonly number[], n: number): number[] {
  const total = lengths.reduce((a, v) => a + v, 0);
  // PyTorch: fractions when the sum is 1 (math.isclose); counts otherwise. Each is >= 0, so each fraction is <= 1.
  if (Math.abs(total - 1) <= 1e-9) {
    const counts = lengths.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, c) => a + c, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length]++;
    return counts;
  }
  lengths.forEach((v, i) => {
    if (!Number.isInteger(v)) {
      throw new ValueError(`randomSplit: lengths[${i}] = ${v} is not an integer; give item counts that sum to ${n} (the dataset's length) or fractions that sum to 1, got a sum of ${total}`);
    }
  });
  if (total !== n) {
    throw new ValueError(`randomSplit: the lengths sum to ${total}, expected ${n} (the dataset's length), or fractions that sum to 1`);
  }
  return lengths.slice();
}
