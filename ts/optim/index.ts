/** Optimizers (PyTorch `torch.optim`). */
export { Optimizer, type ParamGroup, type ParamGroupInput, type ParamsInput, type OptimizerStateDict, type StateTensor, type SavedTensor } from './optimizer';
export { SGD, type SGDOptions, type SGDParamGroup } from './sgd';
export { Adam, AdamW, type AdamOptions, type AdamParamGroup } from './adam';
export * as lrScheduler from './lr-scheduler';
