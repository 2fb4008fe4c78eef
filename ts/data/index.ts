/**
 * Data loading (PyTorch `torch.utils.data`): datasets, `DataLoader` (batches, shuffling from a
 * `Generator`, a collate function; each batch freed when the loop moves on) and `randomSplit`.
 */
export { type Dataset, type DatasetLike, TensorDataset, Subset } from './dataset';
export { DataLoader, type DataLoaderOptions } from './dataloader';
export { defaultCollate, type Collated } from './collate';
export { randomSplit } from './split';
