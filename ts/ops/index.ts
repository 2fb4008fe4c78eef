/** Every differentiable op; `Tensor` methods and the public `F` namespace call these. */
export { add, sub, mul, clone } from './arithmetic';
export { matmul } from './matmul';
export { sum, mean } from './reduce';
export { reshape, transpose, slice, concat } from './shape';
export { tanh, sigmoid, relu } from './activation';
export { softmax, logSoftmax } from './softmax';
export { crossEntropy, mseLoss } from './loss';
export { dropout } from './dropout';
export { embedding } from './embedding';
export { linear } from './linear';
export { swapLeadingDims, flatSegment } from './shape';
export { backward } from '../autograd';
