// Every lstm-wasm spelling in the "Coming from PyTorch" table of docs/api.md runs as written there.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  F, Generator, Module, ValueError, arange, cat, data, flip, grad, init, keep, loadSafetensors, loadTorch, manualSeed, nn, noGrad, optim, saveSafetensors,
  stack, tensor, tidy, where, zeros, type Tensor,
} from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

describe("docs/api.md's Coming-from-PyTorch table", () => {
  it('lists rows that all run', () => {
    const guide = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    expect(guide).toContain('## Coming from PyTorch');
    tidy(() => {
      expect(tensor([[1, 2]]).shape).toEqual([1, 2]);
      expect(zeros([2, 3]).shape).toEqual([2, 3]);
      expect(zeros(2, 3).shape).toEqual([2, 3]);
      const ids = tensor(new Int32Array([1, 2, 3]));
      expect(ids.dtype).toBe('int32');
      expect(ids.eq(2).dtype).toBe('float32');
      const kept = keep(tensor([1]));
      noGrad(() => zeros([1]));
      manualSeed(0);
      const lstm = new nn.LSTM(4, 5, 2, { batchFirst: true });
      expect(lstm.numLayers).toBe(2);
      expect(() => new nn.LSTM(4, 5, { num_layers: 2 } as never)).toThrowError(/numLayers/);
      const [out, [h, c]] = lstm.forward(zeros([3, 6, 4]), [zeros([2, 3, 5]), zeros([2, 3, 5])]);
      expect([out.shape, h.shape, c.shape]).toEqual([[3, 6, 5], [2, 3, 5], [2, 3, 5]]);
      const { output, hN, cN } = lstm.forward(zeros([3, 6, 4]));
      expect([output.shape, hN.shape, cN.shape]).toEqual([[3, 6, 5], [2, 3, 5], [2, 3, 5]]);
      expect(String(tensor([1, 2.5]))).toBe('tensor([1.0000, 2.5000], shape=[2], dtype=float32)');
      expect(new nn.CrossEntropyLoss({ ignoreIndex: 0 }).forward(zeros([2, 3]), tensor(new Int32Array([1, 2]))).item()).toBeCloseTo(Math.log(3), 6);
      expect(new nn.Softmax(1).forward(zeros([2, 4])).sum().item()).toBeCloseTo(2, 6);
      expect(zeros([2, 3, 4]).bmm(zeros([2, 4, 5])).shape).toEqual([2, 3, 5]);
      expect(zeros([3, 2]).softmax(0).shape).toEqual([3, 2]);
      expect(lstm.loadStateDict({ ...lstm.stateDict(), extra: zeros([1]) }, { strict: false }).unexpectedKeys).toEqual(['extra']);
      const twice = zeros([2], { requiresGrad: true }).mul(2).sum();
      twice.backward({ retainGraph: true });
      twice.backward();
      expect(() => twice.backward()).toThrowError(/retainGraph/);
      const [, topi] = out.topk(1);
      expect(topi.dtype).toBe('int32');
      const [sortedValues, sortedIndices] = tensor([2, 3, 1]).sort(0, true);
      expect([Array.from(sortedValues.toArray()), Array.from(sortedIndices.toArray())]).toEqual([[3, 2, 1], [1, 0, 2]]);
      class M extends Module {
        encoder = new nn.LSTM(4, 5);
        head = new nn.Linear(5, 2);
      }
      const m = new M();
      expect(Object.keys(m.stateDict())).toContain('encoder.weight_ih_l0');
      const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.1, { generator: new Generator(1) }), new nn.Identity());
      expect(new nn.ModuleList([seq]).length).toBe(1);
      const opt = new optim.Adam(m.parameters(), 1e-3);
      const loss = m.head.forward(m.encoder.forward(zeros([2, 1, 4]))[0]).sum();
      opt.zeroGrad();
      loss.backward();
      opt.step();
      nn.utils.clipGradNorm(m, 1.0);
      const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 30 });
      sched.step();
      const logits = tensor([[1, 2, 3], [1, 0, 0]]);
      expect(F.crossEntropy(logits, tensor(new Int32Array([2, 0])), { ignoreIndex: 0 }).item()).toBeGreaterThan(0);
      const x = zeros([2, 3, 4]);
      expect(x.view(-1, 4).shape).toEqual([6, 4]);
      expect(x.transpose(0, 1).shape).toEqual([3, 2, 4]);
      expect(x.permute(1, 0, 2).shape).toEqual([3, 2, 4]);
      expect(cat([x, x], 0).shape).toEqual([4, 3, 4]);
      expect(stack([x, x], 0).shape).toEqual([2, 2, 3, 4]);
      expect(x.mT.shape).toEqual([2, 4, 3]);
      expect([x.at(':, -1').shape, x[0].shape, x.at('1:5:2, None').shape, x.at('..., 0').shape]).toEqual([[2, 4], [3, 4], [1, 1, 3, 4], [2, 3]]);
      expect(x.at(0, { start: 1, stop: 5, step: 2 }, null).shape).toEqual([1, 1, 4]);
      expect(() => {
        (x as unknown as Tensor[])[0] = x;
      }).toThrowError(/where/);
      expect([x.shape, x.shape[0], x.numel(), x.size, x.dim(), x.ndim]).toEqual([[2, 3, 4], 2, 24, 24, 3, 3]);
      expect([x.narrow(0, 1, 1).shape, x.slice(-1, 2, -1).shape]).toEqual([[1, 3, 4], [2, 3, 1]]);
      expect([arange(3).flip(0).tolist(), flip(arange(4).reshape(2, 2), [0, 1]).tolist()]).toEqual([[2, 1, 0], [[3, 2], [1, 0]]]);
      expect(F.oneHot(tensor(new Int32Array([1, 4])), 5).float().sum(1).tolist()).toEqual([1, 1]);
      expect(() => x.T).toThrowError(/mT/);
      expect(logits.argmax(1).toArray()).toEqual(new Int32Array([2, 0]));
      const { values, indices } = logits.max(1);
      expect([values.shape, indices.dtype]).toEqual([[2], 'int32']);
      const w = tensor([1, 2], undefined, { requiresGrad: true });
      const y = w.mul(w);
      y.retainGrad();
      expect(grad(y.sum(), w)[0]!.toArray()).toEqual(new Float32Array([2, 4]));
      expect([tensor([3]).item(), tensor([1, 2]).tolist(), tensor([1]).toArray()]).toEqual([3, [1, 2], new Float32Array([1])]);
      expect([ids.float().dtype, tensor([1.5]).long().dtype, ids.to('int32').dtype]).toEqual(['float32', 'int32', 'int32']);
      expect(arange(5).toArray()).toEqual(new Int32Array([0, 1, 2, 3, 4]));
      const bytes = saveSafetensors(m.stateDict());
      m.loadStateDict(loadSafetensors(bytes));
      const pt = readFileSync(new URL('../fixtures/torch/lstm_all.pt', import.meta.url));
      const fromTorch = new nn.LSTM(4, 5, { numLayers: 2, bidirectional: true, batchFirst: true, dropout: 0.25, projSize: 3 });
      expect(fromTorch.loadStateDict(loadTorch(pt))).toEqual({ missingKeys: [], unexpectedKeys: [] });
      fromTorch.dispose();
      expect((x as unknown as { add_?: unknown }).add_).toBeUndefined();
      expect(tensor(Float32Array.from(tensor([0, Math.PI / 2]).toArray(), Math.sin)).toArray()).toEqual(new Float32Array([0, 1]));
      const mask = tensor([1, 0, 1]);
      expect(tensor([5, 6, 7]).maskedFill(mask.eq(0), 0).tolist()).toEqual([5, 0, 7]);
      expect(where(mask, tensor([5, 6, 7]), 0).tolist()).toEqual([5, 0, 7]);
      expect(() => x.at(mask as never)).toThrowError(/gather/);
      // @ts-expect-error lr is required, as in PyTorch: the types say so, and so does the runtime.
      expect(() => new optim.SGD(m.parameters())).toThrowError(ValueError);
      const ds = new data.TensorDataset(zeros([10, 4]), arange(10));
      const loader = new data.DataLoader(ds, { batchSize: 4, shuffle: true, dropLast: true, generator: new Generator(0) });
      const sizes: number[] = [];
      for (const [xb, yb] of loader) sizes.push(xb.shape[0], yb.shape[0]);
      expect([loader.length, sizes]).toEqual([2, [4, 4, 4, 4]]);
      expect(() => new data.DataLoader(ds, { batch_size: 4 } as never)).toThrowError(/batchSize/);
      const [trainSet, validSet] = data.randomSplit(ds, [0.8, 0.2], new Generator(0));
      expect([trainSet.length, validSet.length, trainSet instanceof data.Subset]).toEqual([8, 2, true]);
      const seqs = [zeros([3, 4]), zeros([1, 4])];
      const padded = nn.utils.rnn.padSequence(seqs, { batchFirst: true });
      expect(padded.shape).toEqual([2, 3, 4]);
      const packedLike = new nn.LSTM(4, 5, { batchFirst: true });
      expect(packedLike.forward(padded, null, { lengths: nn.utils.rnn.sequenceLengths(seqs) }).hN.shape).toEqual([1, 2, 5]);
      packedLike.dispose();
      opt.dispose();
      m.dispose();
      seq.dispose();
      lstm.dispose();
      kept.dispose();
    });
  });
});
