// Misuse: every public entry point that takes tensors, called OUTSIDE tidy with one input disposed,
// throws a DisposedError naming the op and the argument, and allocates nothing (no scope would
// free an output allocated before the check). Disposed modules and optimizers refuse every use.
//
// Method: each case lists its inputs; for every input position, fresh inputs are built, that one
// is disposed, memory() is read, the call runs, and memory() must read the same after the throw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DTypeError, DisposedError, F, Generator, LMBatcher, LMTrainer, LanguageModel, Module, ValueError, Tensor, add, concat, init, logSoftmax, matmul, mean, memory, mul, nn, optim,
  relu, reshape, saveSafetensors, sigmoid, slice, softmax, sub, sum, tanh, tensor, tidy, transpose,
  where, cat, expand, flatten, narrow, permute, repeat, select, squeeze, stack, unsqueeze,
} from 'lstm-wasm';
import { randomF32, size } from './helpers';

beforeAll(async () => {
  await init();
});

let seed = 1;

/** A float32 input with random values; requiresGrad so the recording path is exercised too. */
function f(shape: number[], requiresGrad = true): Tensor {
  return tensor(randomF32(size(shape), seed++), shape, { requiresGrad });
}

function ints(values: number[], shape = [values.length]): Tensor {
  return tensor(Int32Array.from(values), shape);
}

interface Case {
  /** The call as a user writes it. */
  name: string;
  /** Per input, what the error message must contain when that input is the disposed one. */
  expects: string[];
  inputs: () => Tensor[];
  call: (...xs: Tensor[]) => unknown;
}

/** An op whose inputs are all named by the central check: `${op}: ${arg} (tensor #id [shape]) was disposed`. */
function op(name: string, opName: string, args: string[], inputs: () => Tensor[], call: (...xs: Tensor[]) => unknown): Case {
  return { name, expects: args.map((a) => `${opName}: ${a} (tensor #`), inputs, call };
}

const unary = (name: string, opName: string, call: (x: Tensor) => unknown, shape = [2, 3]): Case =>
  op(name, opName, ['x'], () => [f(shape)], call);

// ---------------------------------------------------------------------------------------------
// Tensor methods
// ---------------------------------------------------------------------------------------------

const tensorMethods: Case[] = [
  op('t.add(u)', 'add', ['a', 'b'], () => [f([2, 3]), f([2, 3])], (a, b) => a.add(b)),
  op('t.add(u) broadcasting u over rows', 'add', ['a', 'b'], () => [f([2, 3]), f([3])], (a, b) => a.add(b)),
  op('t.add(u) broadcasting t over rows', 'add', ['a', 'b'], () => [f([3]), f([2, 3])], (a, b) => a.add(b)),
  op('t.add(1)', 'add', ['a'], () => [f([2, 3])], (a) => a.add(1)),
  op('t.sub(u)', 'sub', ['a', 'b'], () => [f([2, 3]), f([2, 3])], (a, b) => a.sub(b)),
  op('t.sub(u) broadcasting t over rows', 'sub', ['a', 'b'], () => [f([3]), f([2, 3])], (a, b) => a.sub(b)),
  op('t.sub(1)', 'sub', ['a'], () => [f([2, 3])], (a) => a.sub(1)),
  op('t.mul(u)', 'mul', ['a', 'b'], () => [f([2, 3]), f([2, 3])], (a, b) => a.mul(b)),
  op('t.mul(u) broadcasting u over rows', 'mul', ['a', 'b'], () => [f([2, 3]), f([1, 3])], (a, b) => a.mul(b)),
  op('t.mul(2)', 'mul', ['a'], () => [f([2, 3])], (a) => a.mul(2)),
  // div and neg are their own ops now (they were mul by 1/s and by -1, and errors said "mul").
  op('t.div(2)', 'div', ['a'], () => [f([2, 3])], (a) => a.div(2)),
  op('t.div(u) broadcasting (4,1) against (4,5)', 'div', ['a', 'b'], () => [f([4, 1]), f([4, 5])], (a, b) => a.div(b)),
  unary('t.neg()', 'neg', (a) => a.neg()),
  unary('t.exp()', 'exp', (a) => a.exp()),
  unary('t.log()', 'log', (a) => a.log()),
  unary('t.sqrt()', 'sqrt', (a) => a.sqrt()),
  unary('t.abs()', 'abs', (a) => a.abs()),
  unary('t.pow(2)', 'pow', (a) => a.pow(2)),
  unary('t.clamp(0, 1)', 'clamp', (a) => a.clamp(0, 1)),
  op('t.pow(u)', 'pow', ['a', 'b'], () => [f([2, 3]), f([3])], (a, b) => a.pow(b)),
  op('t.maximum(u)', 'maximum', ['a', 'b'], () => [f([2, 3]), f([2, 1])], (a, b) => a.maximum(b)),
  op('t.minimum(u)', 'minimum', ['a', 'b'], () => [f([2, 3]), f([2, 1])], (a, b) => a.minimum(b)),
  op('t.lt(u)', 'lt', ['a', 'b'], () => [f([2, 3]), f([3])], (a, b) => a.lt(b)),
  op('t.eq(1)', 'eq', ['a'], () => [f([2, 3])], (a) => a.eq(1)),
  op('t.maskedFill(m, 0)', 'maskedFill', ['x', 'mask'], () => [f([2, 3]), f([2, 1])], (a, m) => a.maskedFill(m, 0)),
  unary('t.max()', 'max', (a) => a.max()),
  unary('t.max(1)', 'max', (a) => a.max(1)),
  unary('t.min(0, true)', 'min', (a) => a.min(0, true)),
  unary('t.argmax(1)', 'argmax', (a) => a.argmax(1)),
  unary('t.argmin()', 'argmin', (a) => a.argmin()),
  unary('t.topk(2)', 'topk', (a) => a.topk(2)),
  op('t.gather(1, i)', 'gather', ['x', 'index'], () => [f([2, 3]), tensor([0, 2], [2, 1], { dtype: 'int32' })], (a, i) => a.gather(1, i)),
  op('where(c, a, b)', 'where', ['cond', 'a', 'b'], () => [f([2, 1]), f([2, 3]), f([3])], (c, a, b) => where(c, a, b)),
  op('t.matmul(u)', 'matmul', ['a', 'b'], () => [f([2, 3]), f([3, 4])], (a, b) => a.matmul(b)),
  op('t.matmul(u) batched', 'matmul', ['a', 'b'], () => [f([2, 2, 3]), f([2, 3, 4])], (a, b) => a.matmul(b)),
  unary('t.sum()', 'sum', (x) => x.sum()),
  unary('t.sum(0)', 'sum', (x) => x.sum(0)),
  unary('t.mean()', 'mean', (x) => x.mean()),
  unary('t.mean(-1, true)', 'mean', (x) => x.mean(-1, true)),
  unary('t.reshape(3, 2)', 'reshape', (x) => x.reshape(3, 2)),
  unary('t.reshape([-1])', 'reshape', (x) => x.reshape([-1])),
  unary('t.view(6)', 'reshape', (x) => x.view(6)),
  unary('t.transpose()', 'transpose', (x) => x.transpose()),
  unary('t.T', 'transpose', (x) => x.T),
  unary('t.transpose(0, 1)', 'transpose', (x) => x.transpose(0, 1)),
  unary('t.mT', 'mT', (x) => x.mT),
  unary('t.permute(1, 0)', 'permute', (x) => x.permute(1, 0)),
  unary('t.unsqueeze(-1)', 'unsqueeze', (x) => x.unsqueeze(-1)),
  unary('t.squeeze()', 'squeeze', (x) => x.squeeze()),
  unary('t.flatten()', 'flatten', (x) => x.flatten()),
  unary('t.expand(4, -1, 3)', 'expand', (x) => x.expand(4, -1, 3)),
  unary('t.repeat(2, 1)', 'repeat', (x) => x.repeat(2, 1)),
  unary('t.select(1, -1)', 'select', (x) => x.select(1, -1)),
  unary('t.narrow(1, -2, 2)', 'narrow', (x) => x.narrow(1, -2, 2)),
  unary('t.slice(1, 0, 2)', 'slice', (x) => x.slice(1, 0, 2)),
  unary('t.tanh()', 'tanh', (x) => x.tanh()),
  unary('t.sigmoid()', 'sigmoid', (x) => x.sigmoid()),
  unary('t.relu()', 'relu', (x) => x.relu()),
  unary('t.softmax()', 'softmax', (x) => x.softmax()),
  unary('t.logSoftmax()', 'logSoftmax', (x) => x.logSoftmax()),
  unary('t.clone()', 'clone', (x) => x.clone()),
  op('t.clone() of an int32 t', 'clone', ['x'], () => [ints([1, 2, 3])], (x) => x.clone()),
  op('t.backward()', 'backward', ['root'], () => [f([2, 3]).sum()], (y) => y.backward()),
  op('t.backward(gradient)', 'backward', ['root', 'gradient'], () => [f([2, 3]).tanh(), f([2, 3], false)], (y, g) => y.backward(g)),
  // Reading a disposed tensor allocates nothing; the message names the tensor.
  { name: 't.toArray()', expects: ['was disposed'], inputs: () => [f([2, 3])], call: (x) => x.toArray() },
  { name: 't.tolist()', expects: ['was disposed'], inputs: () => [f([2, 3])], call: (x) => x.tolist() },
  { name: 't.item()', expects: ['was disposed'], inputs: () => [f([1])], call: (x) => x.item() },
  { name: 't.f32()', expects: ['was disposed'], inputs: () => [f([2])], call: (x) => x.f32() },
];
// Tensor.detach lives in ts/tensor.ts and allocates its copy before it reads the source.
const detachCase: Case = { name: 't.detach()', expects: ['was disposed'], inputs: () => [f([2, 3])], call: (x) => x.detach() };

// ---------------------------------------------------------------------------------------------
// top-level ops and F
// ---------------------------------------------------------------------------------------------

const topLevel: Case[] = [
  op('add(a, b)', 'add', ['a', 'b'], () => [f([2, 3]), f([2, 3])], (a, b) => add(a, b)),
  op('sub(a, b)', 'sub', ['a', 'b'], () => [f([2, 3]), f([3])], (a, b) => sub(a, b)),
  op('mul(a, b)', 'mul', ['a', 'b'], () => [f([2, 3]), f([2, 3])], (a, b) => mul(a, b)),
  op('matmul(a, b)', 'matmul', ['a', 'b'], () => [f([2, 2, 3]), f([3, 4])], (a, b) => matmul(a, b)),
  unary('sum(x, 1, true)', 'sum', (x) => sum(x, 1, true)),
  unary('mean(x, 0)', 'mean', (x) => mean(x, 0)),
  unary('reshape(x, [3, -1])', 'reshape', (x) => reshape(x, [3, -1])),
  unary('transpose(x) of a 3-D x', 'transpose', (x) => transpose(x), [2, 2, 3]),
  unary('slice(x, 0, 1)', 'slice', (x) => slice(x, 0, 1)),
  unary('transpose(x, -1, 0)', 'transpose', (x) => transpose(x, -1, 0)),
  unary('permute(x, [1, 0])', 'permute', (x) => permute(x, [1, 0])),
  unary('expand(x, [2, 2, 3])', 'expand', (x) => expand(x, [2, 2, 3])),
  unary('repeat(x, [1, 2])', 'repeat', (x) => repeat(x, [1, 2])),
  unary('select(x, 0, 1)', 'select', (x) => select(x, 0, 1)),
  unary('narrow(x, 1, 0, 2)', 'narrow', (x) => narrow(x, 1, 0, 2)),
  unary('unsqueeze(x, 0)', 'unsqueeze', (x) => unsqueeze(x, 0)),
  unary('squeeze(x, 0)', 'squeeze', (x) => squeeze(x, 0)),
  unary('flatten(x, 0, 1)', 'flatten', (x) => flatten(x, 0, 1)),
  op('cat([a, b], -1)', 'concat', ['tensors[0]', 'tensors[1]'], () => [f([2, 1]), f([2, 3])], (a, b) => cat([a, b], -1)),
  op('stack([a, b], 1)', 'stack', ['tensors[0]', 'tensors[1]'], () => [f([2, 3]), f([2, 3])], (a, b) => stack([a, b], 1)),
  op('concat([a, b, c], 1)', 'concat', ['tensors[0]', 'tensors[1]', 'tensors[2]'],
    () => [f([2, 1]), f([2, 3]), f([2, 2])], (a, b, c) => concat([a, b, c], 1)),
  unary('tanh(x)', 'tanh', (x) => tanh(x)),
  unary('sigmoid(x)', 'sigmoid', (x) => sigmoid(x)),
  unary('relu(x)', 'relu', (x) => relu(x)),
  unary('softmax(x)', 'softmax', (x) => softmax(x)),
  unary('logSoftmax(x, -1)', 'logSoftmax', (x) => logSoftmax(x, -1)),
];

const functional: Case[] = [
  unary('F.dropout(x, 0.5)', 'dropout', (x) => F.dropout(x, 0.5)),
  unary('F.dropout(x, 1)', 'dropout', (x) => F.dropout(x, 1)),
  unary('F.dropout(x, 0.5, false) (eval: returns x)', 'dropout', (x) => F.dropout(x, 0.5, false)),
  unary('F.dropout(x, 0) (returns x)', 'dropout', (x) => F.dropout(x, 0)),
  op('F.embedding(ids, weight)', 'embedding', ['ids', 'weight'], () => [ints([0, 2, 1], [3]), f([4, 3])], (i, w) => F.embedding(i, w)),
  op('F.embedding(ids, weight, 0)', 'embedding', ['ids', 'weight'], () => [ints([0, 2], [1, 2]), f([4, 3])], (i, w) => F.embedding(i, w, 0)),
  op('F.linear(x, w, b)', 'linear', ['x', 'weight', 'bias'], () => [f([2, 3]), f([4, 3]), f([4])], (x, w, b) => F.linear(x, w, b)),
  op('F.linear(x, w)', 'linear', ['x', 'weight'], () => [f([2, 2, 3]), f([4, 3])], (x, w) => F.linear(x, w)),
  op('F.crossEntropy(logits, targets)', 'crossEntropy', ['logits', 'targets'], () => [f([2, 3]), ints([0, 2])], (l, t) => F.crossEntropy(l, t)),
  op('F.crossEntropy(logits, targets, sum)', 'crossEntropy', ['logits', 'targets'], () => [f([2, 3]), ints([1, -100])],
    (l, t) => F.crossEntropy(l, t, { reduction: 'sum' })),
  op('F.crossEntropy(logits, targets, none) on (N, C, d)', 'crossEntropy', ['logits', 'targets'], () => [f([2, 3, 2]), ints([0, 2, -100, 1], [2, 2])],
    (l, t) => F.crossEntropy(l, t, { reduction: 'none' })),
  op('F.crossEntropy(logits, targets, { weight, labelSmoothing })', 'crossEntropy', ['logits', 'targets', 'weight'],
    () => [f([2, 3]), ints([0, 2]), f([3], false)], (l, t, w) => F.crossEntropy(l, t, { weight: w, labelSmoothing: 0.1 })),
  op('F.nllLoss(logProbs, targets, { weight })', 'nllLoss', ['logProbs', 'targets', 'weight'],
    () => [f([2, 3]), ints([0, 2]), f([3], false)], (l, t, w) => F.nllLoss(l, t, { weight: w })),
  op('F.nllLoss(logProbs, targets) unbatched', 'nllLoss', ['logProbs', 'targets'], () => [f([3]), ints([1], [])], (l, t) => F.nllLoss(l, t)),
  op('F.binaryCrossEntropyWithLogits(input, target, { weight, posWeight })', 'binaryCrossEntropyWithLogits', ['input', 'target', 'weight', 'posWeight'],
    () => [f([2, 3]), f([2, 3]), f([2, 1], false), f([3], false)],
    (x, y, w, pw) => F.binaryCrossEntropyWithLogits(x, y, { weight: w, posWeight: pw })),
  op('F.mseLoss(input, target)', 'mseLoss', ['input', 'target'], () => [f([2, 3]), f([2, 3], false)], (a, b) => F.mseLoss(a, b)),
  op('F.mseLoss(input, target, sum)', 'mseLoss', ['input', 'target'], () => [f([2, 3]), f([2, 3])], (a, b) => F.mseLoss(a, b, { reduction: 'sum' })),
  unary('F.softmax(x, -1)', 'softmax', (x) => F.softmax(x, -1)),
  unary('F.logSoftmax(x)', 'logSoftmax', (x) => F.logSoftmax(x)),
  unary('F.tanh(x)', 'tanh', (x) => F.tanh(x)),
  unary('F.sigmoid(x)', 'sigmoid', (x) => F.sigmoid(x)),
  unary('F.relu(x)', 'relu', (x) => F.relu(x)),
];

// ---------------------------------------------------------------------------------------------
// nn modules' forward, and the other functions that take tensors
// ---------------------------------------------------------------------------------------------

const I = 3;
const H = 4;
const T = 2;
const B = 2;
const modules = {
  linear: null as unknown as nn.Linear,
  embedding: null as unknown as nn.Embedding,
  lstm: null as unknown as nn.LSTM,
  lstmBatchFirst: null as unknown as nn.LSTM,
  lstmProjected: null as unknown as nn.LSTM,
  gru: null as unknown as nn.GRU,
  rnn: null as unknown as nn.RNN,
  lstmCell: null as unknown as nn.LSTMCell,
  gruCell: null as unknown as nn.GRUCell,
  rnnCell: null as unknown as nn.RNNCell,
  lmLstm: null as unknown as LanguageModel,
  lmGru: null as unknown as LanguageModel,
};

beforeAll(() => {
  modules.linear = new nn.Linear(I, H);
  modules.embedding = new nn.Embedding(5, I);
  modules.lstm = new nn.LSTM(I, H);
  modules.lstmBatchFirst = new nn.LSTM(I, H, { batchFirst: true, numLayers: 2 });
  modules.lstmProjected = new nn.LSTM(I, H, { projSize: 2, bidirectional: true });
  modules.gru = new nn.GRU(I, H);
  modules.rnn = new nn.RNN(I, H, { nonlinearity: 'relu' });
  modules.lstmCell = new nn.LSTMCell(I, H);
  modules.gruCell = new nn.GRUCell(I, H);
  modules.rnnCell = new nn.RNNCell(I, H);
  modules.lmLstm = new LanguageModel({ vocabSize: 5, embedDim: I, hiddenSize: H });
  modules.lmGru = new LanguageModel({ vocabSize: 5, cell: 'gru', embedDim: I, hiddenSize: H });
});

afterAll(() => {
  for (const m of Object.values(modules)) m.dispose();
});

function forward(name: string, args: string[], inputs: () => Tensor[], call: (...xs: Tensor[]) => unknown): Case {
  return { name, expects: args.map((a) => `${name.split('(')[0]}: ${a} (tensor #`), inputs, call };
}

const moduleForwards: Case[] = [
  op('Linear.forward(x)', 'linear', ['x'], () => [f([B, I])], (x) => modules.linear.forward(x)),
  op('Embedding.forward(ids)', 'embedding', ['ids'], () => [ints([0, 4, 1])], (ids) => modules.embedding.forward(ids)),
  forward('LSTM.forward(x, [h0, c0])', ['input', 'h0', 'c0'], () => [f([T, B, I]), f([1, B, H]), f([1, B, H])],
    (x, h, c) => modules.lstm.forward(x, [h, c])),
  forward('LSTM.forward(x)', ['input'], () => [f([T, B, I])], (x) => modules.lstm.forward(x)),
  forward('LSTM.forward(x, null, { lengths })', ['input', 'lengths'], () => [f([T, B, I]), ints([2, 1])],
    (x, lengths) => modules.lstm.forward(x, null, { lengths })),
  forward('LSTM.forward(x unbatched, [h0, c0])', ['input', 'h0', 'c0'], () => [f([T, I]), f([1, H]), f([1, H])],
    (x, h, c) => modules.lstm.forward(x, [h, c])),
  forward('LSTM.forward(x batchFirst, [h0, c0])', ['input', 'h0', 'c0'], () => [f([B, T, I]), f([2, B, H]), f([2, B, H])],
    (x, h, c) => modules.lstmBatchFirst.forward(x, [h, c])),
  forward('LSTM.forward(x projected, [h0, c0])', ['input', 'h0', 'c0'], () => [f([T, B, I]), f([2, B, 2]), f([2, B, H])],
    (x, h, c) => modules.lstmProjected.forward(x, [h, c])),
  forward('GRU.forward(x, h0)', ['input', 'h0'], () => [f([T, B, I]), f([1, B, H])], (x, h) => modules.gru.forward(x, h)),
  forward('RNN.forward(x, h0)', ['input', 'h0'], () => [f([T, B, I]), f([1, B, H])], (x, h) => modules.rnn.forward(x, h)),
  forward('LSTMCell.forward(x, [h, c])', ['input', 'hx', 'cx'], () => [f([B, I]), f([B, H]), f([B, H])],
    (x, h, c) => modules.lstmCell.forward(x, [h, c])),
  forward('LSTMCell.forward(x unbatched)', ['input'], () => [f([I])], (x) => modules.lstmCell.forward(x)),
  forward('GRUCell.forward(x, h)', ['input', 'hx'], () => [f([B, I]), f([B, H])], (x, h) => modules.gruCell.forward(x, h)),
  forward('RNNCell.forward(x, h)', ['input', 'hx'], () => [f([B, I]), f([B, H])], (x, h) => modules.rnnCell.forward(x, h)),
  forward('LanguageModel.forward(ids, [h, c])', ['ids', 'state[0]', 'state[1]'], () => [ints([0, 1, 2, 3], [T, B]), f([1, B, H]), f([1, B, H])],
    (ids, h, c) => modules.lmLstm.forward(ids, [h, c])),
  forward('LanguageModel.forward(ids, [h]) (GRU)', ['ids', 'state[0]'], () => [ints([0, 1, 2, 3], [T, B]), f([1, B, H])],
    (ids, h) => modules.lmGru.forward(ids, [h])),
];

/** A parameter with a gradient, as after backward(). */
function withGrad(shape: number[]): Tensor {
  const p = f(shape);
  tidy(() => p.mul(2).sum().backward());
  return p;
}

const otherFunctions: Case[] = [
  op('nn.utils.clipGradNorm([p, q], 1)', 'clipGradNorm', ['params[0]', 'params[1]'], () => [withGrad([3]), withGrad([2, 2])],
    (p, q) => nn.utils.clipGradNorm([p, q], 1)),
  op('nn.utils.clipGradValue([p, q], 1)', 'clipGradValue', ['params[0]', 'params[1]'], () => [withGrad([3]), withGrad([2, 2])],
    (p, q) => nn.utils.clipGradValue([p, q], 1)),
  op("saveSafetensors({ a, b })", 'saveSafetensors', ["'a'", "'b'"], () => [f([3]), ints([1, 2])], (a, b) => saveSafetensors({ a, b })),
  op('Linear.loadStateDict({ weight, bias })', 'loadStateDict', ['weight', 'bias'], () => [f([H, I], false), f([H], false)],
    (weight, bias) => modules.linear.loadStateDict({ weight, bias })),
  op('new optim.SGD([p, q])', 'SGD', ['params[0]', 'params[1]'], () => [f([3]), f([2])], (p, q) => new optim.SGD([p, q], { lr: 0.1 })),
  op('new optim.Adam([p, q])', 'Adam', ['params[0]', 'params[1]'], () => [f([3]), f([2])], (p, q) => new optim.Adam([p, q])),
  op('new optim.AdamW([p])', 'AdamW', ['params[0]'], () => [f([3])], (p) => new optim.AdamW([p])),
];

// ---------------------------------------------------------------------------------------------

/** Builds the inputs, disposes input `i`, calls outside any tidy: DisposedError and no allocation. */
function expectRefusal(c: Case, i: number): void {
  const xs = c.inputs();
  expect(xs.length, 'inputs match expects').toBe(c.expects.length);
  const victim = xs[i];
  victim.dispose();
  const before = memory();
  let caught: unknown = null;
  try {
    c.call(...xs);
  } catch (e) {
    caught = e;
  }
  const after = memory();
  for (const x of xs) x.dispose();
  expect(caught, 'the call returned normally').toBeInstanceOf(Error);
  const err = caught as Error;
  expect(err, `${err.name}: ${err.message}`).toBeInstanceOf(DisposedError);
  expect(err.message).toContain(c.expects[i]);
  expect(err.message).toContain(`#${victim.id} [${victim.shape.join(', ')}]`);
  expect(after.liveTensors, 'no tensor was allocated').toBe(before.liveTensors);
  expect(after.tensorBytes).toBe(before.tensorBytes);
}

const groups: [string, Case[]][] = [
  ['Tensor methods', tensorMethods],
  ['top-level ops', topLevel],
  ['F', functional],
  ['nn modules', moduleForwards],
  ['utils, persistence, optimizers', otherFunctions],
];

for (const [group, cases] of groups) {
  describe(`${group}: a disposed input throws before anything is allocated`, () => {
    for (const c of cases) {
      c.expects.forEach((_, i) => {
        it(`${c.name}, input ${i} disposed`, () => expectRefusal(c, i));
      });
    }
  });
}

describe('Tensor.detach', () => {
  it('t.detach() of a disposed tensor allocates nothing', () => expectRefusal(detachCase, 0));
});

describe('backward through a disposed intermediate', () => {
  it('throws naming the op and the tensor, allocates nothing, and leaves the leaf without a grad', () => {
    const x = f([2, 3]);
    const h = x.tanh();
    const s = h.sigmoid();
    const y = s.sum();
    h.dispose();
    expectDisposed(`backward: input 0 of sigmoid (tensor #${h.id} [2, 3]) was disposed`, () => y.backward());
    expect(x.grad).toBeNull();
    for (const t of [x, s, y]) t.dispose();
  });
});

describe('a live module with a disposed parameter', () => {
  const cases: [string, () => Module, () => Tensor, (m: Module, x: Tensor) => unknown, string][] = [
    ['Linear', () => new nn.Linear(I, H), () => f([B, I]), (m, x) => (m as nn.Linear).forward(x), 'linear: weight (tensor #'],
    ['Embedding', () => new nn.Embedding(5, I), () => ints([1, 2]), (m, x) => (m as nn.Embedding).forward(x), 'embedding: weight (tensor #'],
  ];
  for (const [name, make, input, run, pattern] of cases) {
    it(`${name}.forward throws naming it and allocates nothing`, () => {
      const m = make();
      const x = input();
      m.parameters()[0].dispose();
      expectDisposed(pattern, () => run(m, x));
      m.dispose();
      x.dispose();
    });
  }

  const recurrent: [string, () => Module, () => Tensor, (m: Module, x: Tensor) => unknown][] = [
    ['LSTM', () => new nn.LSTM(I, H), () => f([T, B, I]), (m, x) => (m as nn.LSTM).forward(x)],
    ['GRUCell', () => new nn.GRUCell(I, H), () => f([B, I]), (m, x) => (m as nn.GRUCell).forward(x)],
  ];
  for (const [name, make, input, run] of recurrent) {
    it(`${name}.forward throws and allocates nothing`, () => {
      const m = make();
      const x = input();
      m.parameters()[1].dispose();
      try {
        expectDisposed('was disposed', () => run(m, x));
      } finally {
        m.dispose();
        x.dispose();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// disposed modules and optimizers
// ---------------------------------------------------------------------------------------------

/** `call` throws a DisposedError whose message contains `pattern`, and allocates nothing. */
function expectDisposed(pattern: string, call: () => unknown): void {
  const before = memory();
  expect(call).toThrowError(DisposedError);
  expect(call).toThrowError(pattern);
  expect(memory().liveTensors).toBe(before.liveTensors);
  expect(memory().tensorBytes).toBe(before.tensorBytes);
}

describe('a disposed module refuses every use', () => {
  const makers: [string, () => Module, () => Tensor[], (m: Module, xs: Tensor[]) => unknown][] = [
    ['Linear', () => new nn.Linear(I, H), () => [f([B, I])], (m, [x]) => (m as nn.Linear).forward(x)],
    ['Embedding', () => new nn.Embedding(5, I), () => [ints([1, 2])], (m, [x]) => (m as nn.Embedding).forward(x)],
    ['LSTM', () => new nn.LSTM(I, H), () => [f([T, B, I])], (m, [x]) => (m as nn.LSTM).forward(x)],
    ['GRUCell', () => new nn.GRUCell(I, H), () => [f([B, I])], (m, [x]) => (m as nn.GRUCell).forward(x)],
    ['LanguageModel', () => new LanguageModel({ vocabSize: 5, embedDim: I, hiddenSize: H }), () => [ints([0, 1], [2, 1])],
      (m, [x]) => (m as LanguageModel).forward(x)],
  ];
  for (const [name, make, inputs, run] of makers) {
    it(`${name}: forward, parameters, namedParameters, stateDict, loadStateDict, zeroGrad, train, eval`, () => {
      const live = memory().liveTensors;
      const m = make();
      const dict = Object.fromEntries(Object.entries(m.stateDict()).map(([k, p]) => [k, { shape: p.shape, data: p.toArray() }]));
      m.dispose();
      expect(memory().liveTensors, 'dispose freed every parameter').toBe(live);
      const xs = inputs();
      expectDisposed('disposed', () => run(m, xs));
      expectDisposed('parameters', () => m.parameters());
      expectDisposed('namedParameters', () => m.namedParameters());
      expectDisposed('stateDict', () => m.stateDict());
      expectDisposed('loadStateDict', () => m.loadStateDict(dict));
      expectDisposed('zeroGrad', () => m.zeroGrad());
      expectDisposed('train', () => m.train());
      expectDisposed('eval', () => m.eval());
      m.dispose(); // idempotent
      for (const x of xs) x.dispose();
    });
  }
});

describe('a disposed optimizer refuses every use', () => {
  const makers: [string, (ps: Tensor[]) => optim.Optimizer][] = [
    ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1 })],
    ['SGD with momentum', (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 })],
    ['Adam', (ps) => new optim.Adam(ps)],
    ['AdamW', (ps) => new optim.AdamW(ps)],
  ];
  for (const [name, make] of makers) {
    it(`${name}: step, zeroGrad, stateDict, loadStateDict after dispose()`, () => {
      const params = [withGrad([3]), withGrad([2, 2])];
      const opt = make(params);
      opt.step(); // creates state buffers
      const saved = opt.stateDict();
      const grads = params.map((p) => p.grad!.toArray());
      const values = params.map((p) => p.toArray());
      opt.dispose();
      expectDisposed('step', () => opt.step());
      expectDisposed('zeroGrad', () => opt.zeroGrad());
      expectDisposed('stateDict', () => opt.stateDict());
      expectDisposed('loadStateDict', () => opt.loadStateDict(saved));
      opt.dispose(); // idempotent
      expect(params.map((p) => p.grad!.toArray()), 'zeroGrad left the gradients alone').toEqual(grads);
      expect(params.map((p) => p.toArray()), 'step left the parameters alone').toEqual(values);
      for (const p of params) p.dispose();
    });
  }

  it('step and zeroGrad with a disposed parameter throw naming it, and update nothing', () => {
    const params = [withGrad([3]), withGrad([2])];
    const opt = new optim.Adam(params, { lr: 0.1 });
    const kept = params[0].toArray();
    params[1].dispose();
    expectDisposed('Adam.step: params[1] (tensor #', () => opt.step());
    expect(params[0].toArray(), 'no parameter was updated').toEqual(kept);
    expectDisposed('Adam.zeroGrad: params[1] (tensor #', () => opt.zeroGrad());
    opt.dispose();
    params[0].dispose();
  });
});

describe('leftovers of the misuse review', () => {
  it('ownTensor and requiresGrad_ refuse a disposed tensor; requiresGrad_ refuses int32 and non-leaves', () => {
    const a = tensor([1, 2]);
    const b = tensor([3, 4]);
    a.dispose();
    expect(() => a.ownTensor(b)).toThrowError(DisposedError);
    expect(() => a.requiresGrad_()).toThrowError(DisposedError);
    const ids = tensor(new Int32Array([1, 2]));
    expect(() => ids.requiresGrad_()).toThrowError(DTypeError);
    const w = tensor([1, 2], undefined, { requiresGrad: true });
    const y = w.mul(2);
    expect(() => y.requiresGrad_(false)).toThrowError(/only a leaf/);
    for (const t of [b, ids, w, y]) t.dispose();
  });

  it('Generator.setState refuses states it cannot continue from', () => {
    const g = new Generator(1);
    const good = g.getState();
    for (const bad of [[0, 0, 0, 0, null], [1, 2, 3, -1, null], [1, 2, 3, 2 ** 32, null], [1.5, 2, 3, 4, null], [1, 2, 3], [1, 2, 3, 4, 'x']]) {
      expect(() => g.setState(bad as number[]), JSON.stringify(bad)).toThrowError(ValueError);
    }
    expect(g.getState()).toEqual(good);
  });

  it('a disposed LMTrainer refuses to train, evaluate or export before computing anything', () => {
    const ids = Int32Array.from({ length: 200 }, (_, i) => i % 5);
    const model = new LanguageModel({ vocabSize: 5, embedDim: 4, hiddenSize: 8 });
    const trainer = new LMTrainer(model, new LMBatcher(ids, 2, 8), new LMBatcher(ids, 2, 8));
    trainer.dispose();
    const before = memory();
    expect(() => trainer.trainStep()).toThrowError(/LMTrainer.trainStep: the trainer was disposed/);
    expect(() => trainer.evaluate()).toThrowError(DisposedError);
    expect(() => trainer.exportState()).toThrowError(DisposedError);
    expect(memory().liveTensors).toBe(before.liveTensors);
    model.dispose();
  });
});
