/**
 * Every differentiable op; `Tensor` methods and the public `F` namespace call these. Each runs
 * under `runOp`: an allocation error names the op, and an op that throws half-way frees what it
 * had allocated.
 */
import { runOp } from '../memory';
import { bindChainedOps } from '../chained';
import { backward } from '../autograd';
import * as arithmetic from './arithmetic';
import * as matmulOps from './matmul';
import * as reduce from './reduce';
import * as shape from './shape';
import * as activation from './activation';
import * as softmaxOps from './softmax';
import * as loss from './loss';
import * as dropoutOps from './dropout';
import * as embeddingOps from './embedding';
import * as normOps from './norm';
import * as linearOps from './linear';
import * as pointwise from './pointwise';
import * as compareOps from './compare';
import * as selection from './selection';
import * as indexing from './indexing';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function named<F extends (...args: any[]) => any>(name: string, fn: F): F {
  return ((...args: Parameters<F>) => runOp(name, () => fn(...args))) as F;
}

export const add = named('add', arithmetic.add);
export const sub = named('sub', arithmetic.sub);
export const mul = named('mul', arithmetic.mul);
export const div = named('div', arithmetic.div);
export const maximum = named('maximum', arithmetic.maximum);
export const minimum = named('minimum', arithmetic.minimum);
export const neg = named('neg', pointwise.neg);
export const exp = named('exp', pointwise.exp);
export const log = named('log', pointwise.log);
export const sqrt = named('sqrt', pointwise.sqrt);
export const abs = named('abs', pointwise.abs);
export const pow = named('pow', pointwise.pow);
export const clamp = named('clamp', pointwise.clamp);
export const eq = named('eq', compareOps.eq);
export const ne = named('ne', compareOps.ne);
export const lt = named('lt', compareOps.lt);
export const le = named('le', compareOps.le);
export const gt = named('gt', compareOps.gt);
export const ge = named('ge', compareOps.ge);
export const where = named('where', compareOps.where);
export const maskedFill = named('maskedFill', compareOps.maskedFill);
export const max = named('max', selection.max);
export const min = named('min', selection.min);
export const argmax = named('argmax', selection.argmax);
export const argmin = named('argmin', selection.argmin);
export const topk = named('topk', selection.topk);
export const sort = named('sort', selection.sort);
export const gather = named('gather', selection.gather);
export type { ValuesIndices } from './selection';
export const clone = named('clone', arithmetic.clone);
export const toDType = named('to', arithmetic.toDType);
export const matmul = named('matmul', matmulOps.matmul);
export const bmm = named('bmm', matmulOps.bmm);
export const sum = named('sum', reduce.sum);
export const mean = named('mean', reduce.mean);
export const reshape = named('reshape', shape.reshape);
export const transpose = named('transpose', shape.transpose);
export const mT = named('mT', shape.mT);
export const permute = named('permute', shape.permute);
export const unsqueeze = named('unsqueeze', shape.unsqueeze);
export const squeeze = named('squeeze', shape.squeeze);
export const flatten = named('flatten', shape.flatten);
export const expand = named('expand', shape.expand);
export const repeat = named('repeat', shape.repeat);
export const select = named('select', shape.select);
export const narrow = named('narrow', shape.narrow);
export const slice = named('slice', indexing.slice);
export const at = named('at', indexing.at);
export const flip = named('flip', indexing.flip);
export type { Index, Range } from './indexing';
export const concat = named('concat', shape.concat);
/** PyTorch's name for `concat`. */
export const cat = concat;
export const stack = named('stack', shape.stack);
export const tanh = named('tanh', activation.tanh);
export const sigmoid = named('sigmoid', activation.sigmoid);
export const relu = named('relu', activation.relu);
export const softmax = named('softmax', softmaxOps.softmax);
export const logSoftmax = named('logSoftmax', softmaxOps.logSoftmax);
export const crossEntropy = named('crossEntropy', loss.crossEntropy);
export const nllLoss = named('nllLoss', loss.nllLoss);
export const binaryCrossEntropyWithLogits = named('binaryCrossEntropyWithLogits', loss.binaryCrossEntropyWithLogits);
export const mseLoss = named('mseLoss', loss.mseLoss);
export const dropout = named('dropout', dropoutOps.dropout);
export const embedding = named('embedding', embeddingOps.embedding);
export const oneHot = named('oneHot', embeddingOps.oneHot);
export const linear = named('linear', linearOps.linear);
export const layerNorm = named('layerNorm', normOps.layerNorm);
export const swapLeadingDims = named('swapLeadingDims', shape.swapLeadingDims);
export { backward };

bindChainedOps({
  toDType,
  add, sub, mul, div, maximum, minimum, neg, exp, log, sqrt, abs, pow, clamp, eq, ne, lt, le, gt,
  ge, maskedFill, max, min, argmax, argmin, topk, sort, gather, clone, matmul, bmm, sum, mean, reshape,
  transpose, slice, tanh, sigmoid, relu, softmax, logSoftmax, backward, mT, permute, unsqueeze,
  squeeze, flatten, expand, repeat, select, narrow, at, flip,
});
