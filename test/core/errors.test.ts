// Bad input fails loudly and harmlessly: a typed error (ShapeError, DTypeError, IndexError,
// DisposedError, ValueError, all LstmWasmError) whose message names the op and the offending
// values; and the failed call changes nothing: no tensor leaks, no other tensor's data changes,
// and the library keeps working.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DTypeError, DisposedError, F, IndexError, LstmWasmError, ShapeError, Tensor, ValueError, concat, init, matmul,
  memory, optim, tensor, tidy, where, zeros,
} from 'lstm-wasm';
import { expectFailure } from './helpers';


let bystander: Tensor;
const BYSTANDER = Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 10);

beforeAll(async () => {
  await init();
});

// A tensor no failing call touches: its data must be intact after every error.
beforeEach(() => {
  bystander = tensor(BYSTANDER, [37]);
});

afterEach(() => {
  expect(bystander.toArray(), 'an unrelated tensor is unchanged').toEqual(BYSTANDER);
  bystander.dispose();
});

describe('shape errors', () => {
  it('matmul with mismatched inner dims names both shapes', () => {
    expectFailure(ShapeError, ['matmul', '[2, 3]', '[4, 5]'], () => matmul(zeros([2, 3]), zeros([4, 5])));
    expectFailure(ShapeError, ['matmul', '[2, 3, 4]', '[2, 5, 6]'], () => zeros([2, 3, 4]).matmul(zeros([2, 5, 6])));
  });

  it('matmul with a 1-D operand or mismatched batch dims', () => {
    expectFailure(ShapeError, ['matmul', '[3]'], () => matmul(zeros([2, 3]), zeros([3])));
    expectFailure(ShapeError, ['matmul', '[3, 3, 4]', '[2, 4, 5]'], () => matmul(zeros([3, 3, 4]), zeros([2, 4, 5])));
  });

  it('reshape to a different number of elements', () => {
    expectFailure(ShapeError, ['reshape', '[4, 4]', '12'], () => zeros([3, 4]).reshape(4, 4));
    expectFailure(ShapeError, ['reshape', '-1'], () => zeros([3, 4]).reshape(5, -1));
    expectFailure(ShapeError, ['reshape', '-1'], () => zeros([3, 4]).reshape(-1, -1));
  });

  it('tensor() with data that does not fill the shape, or ragged nested data', () => {
    expectFailure(ShapeError, ['tensor', '[2, 2]', '4', '3'], () => tensor([1, 2, 3], [2, 2]));
    expectFailure(ShapeError, ['tensor', 'ragged'], () => tensor([[1, 2], [3]]));
    expectFailure(ShapeError, ['zeros', '-1'], () => zeros([2, -1]));
  });

  it('add/sub/mul of shapes that do not broadcast names both shapes', () => {
    expectFailure(ShapeError, ['add', '[2, 3]', '[2]'], () => zeros([2, 3]).add(zeros([2])));
    expectFailure(ShapeError, ['mul', '[4, 5]', '[3, 1]'], () => zeros([4, 5]).mul(zeros([3, 1])));
    expectFailure(ShapeError, ['div', '[2, 3]', '[2]'], () => zeros([2, 3]).div(zeros([2])));
    expectFailure(ShapeError, ['maximum', '[2, 1, 3]', '[4, 2]'], () => zeros([2, 1, 3]).maximum(zeros([4, 2])));
    expectFailure(ShapeError, ['where', '[2]', '[3]'], () => where(zeros([2]), zeros([3]), 0));
    expectFailure(ShapeError, ['maskedFill', '[2, 3]', '[4, 1, 1]'], () => zeros([2, 3]).maskedFill(zeros([4, 1, 1]), 0));
  });

  // Reverses the old decision "broadcasting is suffix-only: (4,1) vs (4,5) throws a ShapeError"
  // (this test asserted that throw): PyTorch broadcasts any dim of size 1 (issue 11).
  it('(4,1) against (4,5) broadcasts, as in PyTorch', () => {
    const a = tensor([[1], [2], [3], [4]]);
    const b = tensor([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]);
    const y = b.mul(a);
    expect(y.shape).toEqual([4, 5]);
    expect(y.tolist()).toEqual([[1, 2, 3, 4, 5], [2, 4, 6, 8, 10], [3, 6, 9, 12, 15], [4, 8, 12, 16, 20]]);
  });

  it('selections: bad dims, k, indices and shapes name the op and the value', () => {
    expectFailure(IndexError, ['max', 'dim 2'], () => zeros([2, 3]).max(2));
    expectFailure(ShapeError, ['min', 'empty'], () => zeros([2, 0]).min(1));
    expectFailure(ShapeError, ['max', 'empty'], () => zeros([0]).max());
    expectFailure(ValueError, ['topk', 'k', '0..3', '4'], () => zeros([2, 3]).topk(4));
    expectFailure(DTypeError, ['gather', 'index', 'int32', 'float32'], () => zeros([2, 3]).gather(1, zeros([2, 1])));
    expectFailure(IndexError, ['gather', 'index element 1', '3', '0..2'], () =>
      zeros([2, 3]).gather(1, tensor([0, 3], [2, 1], { dtype: 'int32' })));
    expectFailure(ShapeError, ['gather', '[3, 1]', '[2, 3]'], () => zeros([2, 3]).gather(1, tensor([0, 0, 0], [3, 1], { dtype: 'int32' })));
    expectFailure(DTypeError, ['argmax', 'x', 'int32'], () => tensor([1, 2], [2], { dtype: 'int32' }).argmax());
  });

  it('element-wise math: bad arguments name the op and the argument', () => {
    expectFailure(DTypeError, ['pow', 'exponent', 'string'], () => zeros([2]).pow('2' as unknown as number));
    expectFailure(ValueError, ['clamp', 'min', 'max'], () => zeros([2]).clamp());
    expectFailure(DTypeError, ['clamp', 'max', 'string'], () => zeros([2]).clamp(0, '1' as unknown as number));
    expectFailure(DTypeError, ['div', 'b', 'int32'], () => zeros([2]).div(tensor([1, 2], [2], { dtype: 'int32' })));
    expectFailure(DTypeError, ['exp', 'x', 'int32'], () => tensor([1, 2], [2], { dtype: 'int32' }).exp());
    expectFailure(DTypeError, ['eq', 'b', 'float32', 'int32'], () => tensor([1, 2], [2], { dtype: 'int32' }).eq(zeros([2])));
    expectFailure(DTypeError, ['lt', 'int32', '2.5'], () => tensor([1, 2], [2], { dtype: 'int32' }).lt(2.5));
  });

  it('concat of tensors that differ outside the concat dim', () => {
    expectFailure(ShapeError, ['concat', 'tensors[1]', '[2, 4]'], () => concat([zeros([2, 3]), zeros([2, 4])], 0));
    expectFailure(ShapeError, ['concat'], () => concat([], 0));
  });

  it('backward on a non-scalar without a gradient', () => {
    expectFailure(ShapeError, ['backward', 'scalar', '[2, 3]'], () => zeros([2, 3], { requiresGrad: true }).tanh().backward());
  });

  it('backward on a tensor that does not require grad', () => {
    expectFailure(LstmWasmError, ['backward', 'does not require grad'], () => zeros([1]).backward());
  });

  it('backward with a gradient of the wrong size', () => {
    expectFailure(ShapeError, ['backward', '[5]', '[2, 3]'], () => zeros([2, 3], { requiresGrad: true }).tanh().backward(zeros([5])));
  });

  it('backward with a gradient of the same size but another shape (PyTorch: shape mismatch)', () => {
    expectFailure(ShapeError, ['backward', '[3, 2]', '[2, 3]'], () => zeros([2, 3], { requiresGrad: true }).tanh().backward(zeros([3, 2])));
  });

  it('item() of a tensor with more than one element', () => {
    expectFailure(ShapeError, ['item', '[2]'], () => zeros([2]).item());
  });

  it('crossEntropy with targets of the wrong length, mseLoss with mismatched shapes', () => {
    expectFailure(ShapeError, ['crossEntropy', 'targets', '[3]', '[2]'], () =>
      F.crossEntropy(zeros([2, 5]), tensor([0, 1, 2], undefined, { dtype: 'int32' })),
    );
    expectFailure(ShapeError, ['mseLoss', '[3, 2]', '[2, 3]'], () => F.mseLoss(zeros([2, 3]), zeros([3, 2])));
  });
});

describe('dtype errors', () => {
  const ints = () => tensor([1, 2, 3], undefined, { dtype: 'int32' });

  it('int32 into tanh, sigmoid, relu, softmax, matmul, add', () => {
    expectFailure(DTypeError, ['tanh', 'float32', 'int32'], () => ints().tanh());
    expectFailure(DTypeError, ['sigmoid', 'int32'], () => F.sigmoid(ints()));
    expectFailure(DTypeError, ['relu', 'int32'], () => ints().relu());
    expectFailure(DTypeError, ['softmax', 'int32'], () => ints().softmax());
    expectFailure(DTypeError, ['matmul', 'int32'], () => matmul(ints().reshape(1, 3), zeros([3, 1])));
    expectFailure(DTypeError, ['add', 'int32'], () => zeros([3]).add(ints()));
  });

  it('float32 token ids or targets', () => {
    expectFailure(DTypeError, ['embedding', 'ids', 'int32', 'float32'], () => F.embedding(zeros([2]), zeros([4, 3])));
    expectFailure(DTypeError, ['crossEntropy', 'targets', 'int32'], () => F.crossEntropy(zeros([2, 3]), zeros([2])));
  });

  it('tensor() with non-integers as int32, non-numbers, or an int32 tensor requiring grad', () => {
    expectFailure(DTypeError, ['tensor', '1.5'], () => tensor([1, 1.5], undefined, { dtype: 'int32' }));
    expectFailure(DTypeError, ['tensor', 'string'], () => tensor(['a' as unknown as number]));
    expectFailure(DTypeError, ['tensor', 'Int32Array', 'float32'], () => tensor(new Int32Array(2), undefined, { dtype: 'float32' }));
    expectFailure(DTypeError, ['tensor', 'gradients'], () => tensor([1, 2], undefined, { dtype: 'int32', requiresGrad: true }));
  });

  it('tensor() with an int32 value outside the int32 range (would silently wrap)', () => {
    expectFailure(DTypeError, ['tensor', '2147483648'], () => tensor([2 ** 31], undefined, { dtype: 'int32' }));
  });

  it('backward with an int32 gradient (its bits would be read as floats)', () => {
    expectFailure(DTypeError, ['backward', 'int32'], () =>
      zeros([3], { requiresGrad: true }).tanh().backward(tensor([1, 1, 1], undefined, { dtype: 'int32' })),
    );
  });
});

describe('index errors', () => {
  it('embedding with a token id out of range names the id', () => {
    const err = expectFailure(IndexError, ['embedding', 'token id 7', '4 embeddings'], () =>
      F.embedding(tensor([0, 3, 7, 1], undefined, { dtype: 'int32' }), zeros([4, 3], { requiresGrad: true })),
    );
    expect(err.message).toMatch(/position 2/);
    expectFailure(IndexError, ['embedding', 'token id -1'], () =>
      F.embedding(tensor([-1], undefined, { dtype: 'int32' }), zeros([4, 3])),
    );
  });

  it('embedding with a padding index outside [-V, V) (PyTorch asserts)', () => {
    expectFailure(IndexError, ['embedding', 'paddingIdx', '9'], () =>
      F.embedding(tensor([0, 1], undefined, { dtype: 'int32' }), zeros([4, 3], { requiresGrad: true }), 9),
    );
  });

  it('crossEntropy with a target out of range names the row and the target', () => {
    expectFailure(IndexError, ['crossEntropy', 'targets[1] = 5', '5 classes'], () =>
      F.crossEntropy(zeros([3, 5], { requiresGrad: true }), tensor([0, 5, 1], undefined, { dtype: 'int32' })),
    );
    expectFailure(IndexError, ['crossEntropy', '-3'], () =>
      F.crossEntropy(zeros([3, 5]), tensor([0, -3, -100], undefined, { dtype: 'int32' })),
    );
  });

  it('slice bounds past the ends are clamped and negative ones count from the end, as Python slices (issue 23); a bad step or bound is named', () => {
    expect(zeros([3, 4]).slice(1, 2, 5).shape).toEqual([3, 2]);
    expect(zeros([3, 4]).slice(0, 3, 2).shape).toEqual([0, 4]);
    expect(zeros([3, 4]).slice(0, -1, 3).shape).toEqual([1, 4]);
    expectFailure(ValueError, ['slice', 'step', '0:4:0', 'positive'], () => zeros([3, 4]).slice(1, 0, 4, 0));
    expectFailure(IndexError, ['slice', 'stop', 'must be an integer'], () => zeros([3, 4]).slice(1, 0, 2.5));
  });

  it('a dim out of range', () => {
    expectFailure(IndexError, ['sum', 'dim 2', '2-D'], () => zeros([3, 4]).sum(2));
    expectFailure(IndexError, ['slice', 'dim=-3', '2-D'], () => zeros([3, 4]).slice(-3, 0, 1));
    expectFailure(IndexError, ['concat', 'dim 2'], () => concat([zeros([2, 2]), zeros([2, 2])], 2));
  });
});

describe('value errors', () => {
  it('softmax over a dim the tensor does not have (any dim it has works)', () => {
    expectFailure(IndexError, ['softmax', 'dim'], () => zeros([2, 3]).softmax(2));
  });

  it('dropout with p outside [0, 1]', () => {
    expectFailure(ValueError, ['dropout', '1.5'], () => F.dropout(zeros([3]), 1.5));
    expectFailure(ValueError, ['dropout', 'NaN'], () => F.dropout(zeros([3]), NaN));
  });

  it('crossEntropy with an unknown reduction', () => {
    // 'none' is a valid reduction since issue 11 (PyTorch's per-target losses); 'elementwise' is not.
    expectFailure(ValueError, ['crossEntropy', 'elementwise', "'mean', 'sum' or 'none'"], () =>
      F.crossEntropy(zeros([2, 3]), tensor([0, 1], undefined, { dtype: 'int32' }), { reduction: 'elementwise' as 'sum' }),
    );
  });

  it('optimizers with bad hyper-parameters or parameters', () => {
    const p = zeros([3], { requiresGrad: true });
    try {
      expectFailure(ValueError, ['SGD', 'lr', '-0.1'], () => new optim.SGD([p], { lr: -0.1 }));
      expectFailure(ValueError, ['Adam', 'betas'], () => new optim.Adam([p], { betas: [0.9, 1] }));
      expectFailure(ValueError, ['AdamW', 'eps'], () => new optim.AdamW([p], { eps: NaN }));
      expectFailure(ValueError, ['SGD', 'nesterov'], () => new optim.SGD([p], { lr: 0.1, nesterov: true }));
      expectFailure(ValueError, ['SGD', 'empty'], () => new optim.SGD([], { lr: 0.1 }));
      expectFailure(ValueError, ['Adam', 'more than once'], () => new optim.Adam([p, p]));
      expectFailure(ValueError, ['SGD', 'params[0]', 'grad'], () => new optim.SGD([zeros([2])], { lr: 0.1 }));
    } finally {
      p.dispose();
    }
  });
});

describe('disposed tensors', () => {
  it('every use of a disposed tensor throws DisposedError naming it', () => {
    const t = tensor([1, 2, 3]);
    t.dispose();
    t.dispose(); // idempotent
    expect(t.isDisposed).toBe(true);
    expectFailure(DisposedError, ['disposed', '[3]'], () => t.toArray());
    expectFailure(DisposedError, ['disposed'], () => t.add(1));
    expectFailure(DisposedError, ['disposed'], () => zeros([3]).mul(t));
    expectFailure(DisposedError, ['disposed'], () => t.tanh());
    expectFailure(DisposedError, ['disposed'], () => t.reshape(3, 1));
    expectFailure(DisposedError, ['disposed'], () => concat([zeros([3]), t]));
  });

  it('a tensor disposed by tidy cannot be used afterwards', () => {
    let escaped: Tensor | null = null;
    tidy(() => {
      escaped = zeros([1]);
      return 0;
    });
    expectFailure(DisposedError, ['disposed', '[1]'], () => escaped!.item());
  });

  it('backward through a graph whose intermediate was disposed', () => {
    const x = zeros([2, 3], { requiresGrad: true });
    try {
      expectFailure(DisposedError, ['backward', 'disposed'], () => {
        const h = x.tanh();
        const y = h.sigmoid();
        h.dispose();
        y.sum().backward();
      });
      expect(x.grad).toBeNull();
    } finally {
      x.dispose();
    }
  });

  it('an optimizer after dispose()', () => {
    const p = zeros([3], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1 });
    opt.dispose();
    try {
      expectFailure(DisposedError, ['step', 'disposed'], () => opt.step());
    } finally {
      p.dispose();
    }
  });
});

describe('after an error the library still computes correctly', () => {
  it('a failed op between two good ones changes nothing', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    const b = tensor([[1, 0], [0, 1], [1, 1]]);
    try {
      const before = a.matmul(b);
      expectFailure(ShapeError, ['matmul'], () => a.matmul(a));
      expectFailure(IndexError, ['token id'], () => F.embedding(tensor([9], undefined, { dtype: 'int32' }), a));
      expectFailure(IndexError, ['targets'], () => F.crossEntropy(a, tensor([0, 3], undefined, { dtype: 'int32' })));
      const after = a.matmul(b);
      expect(Array.from(after.toArray())).toEqual([4, 5, 10, 11]);
      expect(after.toArray()).toEqual(before.toArray());
      expect(Array.from(a.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
      before.dispose();
      after.dispose();
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('tidy rethrows the error of its function and disposes what it created', () => {
    const before = memory().liveTensors;
    expect(() =>
      tidy(() => {
        zeros([100]);
        zeros([3]).add(zeros([4]));
      }),
    ).toThrow(ShapeError);
    expect(memory().liveTensors).toBe(before);
  });
});
