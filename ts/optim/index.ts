/** Optimizers (PyTorch `torch.optim`). */
export { Optimizer } from './optimizer';
export { SGD, type SGDOptions } from './sgd';
export { Adam, AdamW, type AdamOptions } from './adam';
export * as lrScheduler from './lr-scheduler';
