// nn.utils.rnn.padSequence (torch.nn.utils.rnn.pad_sequence) and sequenceLengths.
// Method: values against hand-written expectations in all four layouts (time-major or batchFirst,
// right or left padding); gradients against the weights of a weighted sum (d/dseq of
// sum(out * R) is R at the sequence's places), exactly; and the padded batch + lengths through
// nn.LSTM against running each sequence alone (outputs, final states and input gradients, to 2e-5 /
// 1e-4 as test/nn/lengths.test.ts states for the kernels).
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, DisposedError, ShapeError, Tensor, ValueError, init, manualSeed, memory, nn, tensor, tidy } from 'lstm-wasm';
import { randomF32 } from '../core/helpers';

beforeAll(async () => {
  await init();
});

const { padSequence, sequenceLengths } = nn.utils.rnn;

/** Three sequences of 2 features, lengths 3, 1, 2: a = 1..6, b = 7..8, c = 9..12. */
function abc(requiresGrad = false): Tensor[] {
  return [
    tensor([[1, 2], [3, 4], [5, 6]], undefined, { requiresGrad }),
    tensor([[7, 8]], undefined, { requiresGrad }),
    tensor([[9, 10], [11, 12]], undefined, { requiresGrad }),
  ];
}

describe('padSequence: values', () => {
  it('time-major (maxL, B, *) by default, padded with 0 on the right', () => {
    tidy(() => {
      const out = padSequence(abc());
      expect(out.shape).toEqual([3, 3, 2]);
      expect(out.tolist()).toEqual([
        [[1, 2], [7, 8], [9, 10]],
        [[3, 4], [0, 0], [11, 12]],
        [[5, 6], [0, 0], [0, 0]],
      ]);
    });
  });

  it('batchFirst (B, maxL, *), with a padding value; padSequence(seqs, true) is the same', () => {
    tidy(() => {
      const want = [
        [[1, 2], [3, 4], [5, 6]],
        [[7, 8], [-1, -1], [-1, -1]],
        [[9, 10], [11, 12], [-1, -1]],
      ];
      expect(padSequence(abc(), { batchFirst: true, paddingValue: -1 }).tolist()).toEqual(want);
      expect(padSequence(abc(), true).tolist()).toEqual(want.map((s) => s.map((r) => r.map((v) => (v === -1 ? 0 : v)))));
    });
  });

  it("paddingSide 'left': each sequence ends at the last step", () => {
    tidy(() => {
      expect(padSequence(abc(), { batchFirst: true, paddingValue: -1, paddingSide: 'left' }).tolist()).toEqual([
        [[1, 2], [3, 4], [5, 6]],
        [[-1, -1], [-1, -1], [7, 8]],
        [[-1, -1], [9, 10], [11, 12]],
      ]);
      expect(padSequence(abc(), { paddingValue: -1, paddingSide: 'left' }).tolist()).toEqual([
        [[1, 2], [-1, -1], [-1, -1]],
        [[3, 4], [-1, -1], [9, 10]],
        [[5, 6], [7, 8], [11, 12]],
      ]);
    });
  });

  it('1-D sequences (L_i) give (maxL, B); int32 ids stay int32; more trailing dims keep their shape; a sequence of length 0 is all padding', () => {
    tidy(() => {
      const seqs = [tensor([1, 2, 3]), tensor([4]), tensor([5, 6])];
      expect(padSequence(seqs).tolist()).toEqual([[1, 4, 5], [2, 0, 6], [3, 0, 0]]);
      expect(padSequence(seqs, true).tolist()).toEqual([[1, 2, 3], [4, 0, 0], [5, 6, 0]]);
      const ids = padSequence([tensor(Int32Array.of(3, 1, 4)), tensor(Int32Array.of(1, 5))], { batchFirst: true, paddingValue: 9 });
      expect([ids.dtype, ids.tolist()]).toEqual(['int32', [[3, 1, 4], [1, 5, 9]]]);
      const grid = padSequence([tensor(Float32Array.from({ length: 8 }, (_, i) => i), [2, 2, 2]), tensor(Float32Array.of(8, 9, 10, 11), [1, 2, 2])]);
      expect([grid.shape, Array.from(grid.toArray())]).toEqual([[2, 2, 2, 2], [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 0, 0, 0, 0]]);
      const empty = tensor(new Float32Array(0), [0, 2]);
      expect(padSequence([tensor([[1, 2]]), empty], { paddingValue: 7 }).tolist()).toEqual([[[1, 2], [7, 7]]]);
      expect(sequenceLengths([tensor([[1, 2]]), empty])).toEqual([1, 0]);
    });
  });

  it('sequenceLengths gives dim 0 of each, as plain numbers; padSequence leaves nothing behind inside tidy', () => {
    const live = memory().liveTensors;
    tidy(() => {
      expect(sequenceLengths(abc())).toEqual([3, 1, 2]);
      padSequence(abc(true), { batchFirst: true }).sum().backward();
    });
    expect(memory().liveTensors).toBe(live);
  });
});

describe('padSequence: gradients', () => {
  const layouts = [
    { batchFirst: false, paddingSide: 'right' },
    { batchFirst: true, paddingSide: 'right' },
    { batchFirst: false, paddingSide: 'left' },
    { batchFirst: true, paddingSide: 'left' },
  ] as const;

  for (const layout of layouts) {
    it(`the gradient of each sequence is its own places of the output's gradient (${JSON.stringify(layout)})`, () => {
      tidy(() => {
        const seqs = abc(true);
        seqs[1].requiresGrad = false; // a sequence that needs no gradient gets none
        const [B, maxL, F] = [3, 3, 2];
        const out = padSequence(seqs, { ...layout, paddingValue: 100 });
        expect(out.requiresGrad).toBe(true);
        const R = tensor(Float32Array.from({ length: B * maxL * F }, (_, i) => i + 1), out.shape);
        out.mul(R).sum().backward();
        const r = R.toArray();
        const place = (b: number, L: number, t: number, f: number): number => {
          const step = (layout.paddingSide === 'left' ? maxL - L : 0) + t;
          return ((layout.batchFirst ? b * maxL + step : step * B + b) * F) + f;
        };
        for (const b of [0, 2]) {
          const L = seqs[b].shape[0];
          const want = Array.from({ length: L * F }, (_, k) => r[place(b, L, Math.floor(k / F), k % F)]);
          expect(Array.from(seqs[b].grad!.toArray())).toEqual(want);
        }
        expect(seqs[1].grad).toBeNull();
      });
    });
  }
});

describe('padSequence + sequenceLengths through nn.LSTM: each sequence as if run alone', () => {
  for (const batchFirst of [false, true]) {
    it(`bidirectional LSTM, batchFirst=${batchFirst}: outputs, final states and input gradients`, () => {
      const [I, H] = [3, 4];
      const lengths = [5, 2, 4];
      const S = randomF32(2 * lengths.length * H, 21);
      manualSeed(3);
      const lstm = new nn.LSTM(I, H, { bidirectional: true, batchFirst });
      tidy(() => {
        const seqs = lengths.map((L, b) => tensor(randomF32(L * I, 30 + b), [L, I], { requiresGrad: true }));
        // The padding is large garbage: a kernel that read it would change every result.
        const x = padSequence(seqs, { batchFirst, paddingValue: 1e6 });
        expect(sequenceLengths(seqs)).toEqual(lengths);
        const { output, hN, cN } = lstm.forward(x, null, { lengths: sequenceLengths(seqs) });
        hN.mul(tensor(S, hN.shape)).sum().backward();
        const out = output.toArray();
        const [h, c] = [hN.toArray(), cN.toArray()];
        const B = lengths.length;
        const maxL = Math.max(...lengths);
        seqs.forEach((seq, b) => {
          const L = lengths[b];
          const sb = tensor(Float32Array.from({ length: 2 * H }, (_, k) => S[(Math.floor(k / H) * B + b) * H + (k % H)]), [2, 1, H]);
          const seqAlone = seq.detach().requiresGrad_();
          const again = lstm.forward(batchFirst ? seqAlone.reshape([1, L, I]) : seqAlone.reshape([L, 1, I]));
          again.hN.mul(sb).sum().backward();
          const ao = again.output.toArray();
          for (let t = 0; t < maxL; t++) {
            for (let k = 0; k < 2 * H; k++) {
              const got = out[(batchFirst ? b * maxL + t : t * B + b) * 2 * H + k];
              if (t >= L) expect(got).toBe(0);
              else expect(Math.abs(got - ao[t * 2 * H + k])).toBeLessThan(2e-5);
            }
          }
          const [ah, ac] = [again.hN.toArray(), again.cN.toArray()];
          for (let d = 0; d < 2; d++) {
            for (let k = 0; k < H; k++) {
              expect(Math.abs(h[(d * B + b) * H + k] - ah[d * H + k])).toBeLessThan(2e-5);
              expect(Math.abs(c[(d * B + b) * H + k] - ac[d * H + k])).toBeLessThan(2e-5);
            }
          }
          const [g, ga] = [seq.grad!.toArray(), seqAlone.grad!.toArray()];
          expect(g.length).toBe(L * I);
          expect(g.every(Number.isFinite)).toBe(true);
          for (let k = 0; k < L * I; k++) expect(Math.abs(g[k] - ga[k])).toBeLessThan(1e-4);
        });
      });
      lstm.dispose();
    });
  }
});

describe('padSequence: refusals', () => {
  it('names the argument, the expected and the actual value', () => {
    tidy(() => {
      const [a, b] = abc();
      expect(() => padSequence([])).toThrowError(ValueError);
      expect(() => padSequence([])).toThrowError('padSequence: sequences is empty, expected at least one tensor');
      expect(() => padSequence(a as never)).toThrowError(/sequences must be an array of tensors \(L_i, \*\), got a Tensor \(wrap it: \[t\]\)/);
      expect(() => padSequence([a, tensor([[1, 2, 3]])])).toThrowError(ShapeError);
      expect(() => padSequence([a, tensor([[1, 2, 3]])])).toThrowError(/sequences\[1\] is \[1, 3\], expected \(L, 2\) like sequences\[0\] \[3, 2\]: sequences may differ in length \(dim 0\) only/);
      expect(() => padSequence([a, tensor([1, 2])])).toThrowError(/sequences\[1\] is \[2\], expected \(L, 2\)/);
      expect(() => padSequence([a, tensor(Int32Array.of(1, 2), [1, 2])])).toThrowError(DTypeError);
      expect(() => padSequence([a, tensor(Int32Array.of(1, 2), [1, 2])])).toThrowError(/sequences\[1\] is int32, sequences\[0\] is float32/);
      expect(() => padSequence([tensor([1], [])])).toThrowError(/sequences\[0\] is a 0-d tensor, expected \(L, \*\)/);
      expect(() => padSequence([a, 'b' as never])).toThrowError(/padSequence: sequences\[1\] must be a Tensor, got string/);
      expect(() => padSequence([tensor(Int32Array.of(1))], { paddingValue: 0.5 })).toThrowError(/paddingValue must be an int32 integer for int32 sequences, got 0.5/);
      expect(() => padSequence([a], { batch_first: true } as never)).toThrowError(/unknown option 'batch_first' \(did you mean batchFirst\? options are camelCase: batch_first -> batchFirst\)/);
      expect(() => padSequence([a], { padding_value: 1 } as never)).toThrowError(/did you mean paddingValue\?/);
      expect(() => padSequence([a], { paddingSide: 'middle' as never })).toThrowError(/paddingSide must be 'right' or 'left', got the string 'middle'/);
      expect(() => padSequence([a], { batchFirst: 1 as never })).toThrowError(/batchFirst must be a boolean, got 1/);
      expect(() => padSequence([a], { paddingValue: '0' as never })).toThrowError(/paddingValue must be a number, got the string '0'/);
      expect(() => sequenceLengths([a, tensor([[1, 2, 3]])])).toThrowError(/sequenceLengths: sequences\[1\] is \[1, 3\]/);
      b.dispose();
      expect(() => padSequence([a, b])).toThrowError(DisposedError);
      expect(() => padSequence([a, b])).toThrowError(/padSequence: sequences\[1\] .* was disposed/);
    });
  });
});
