/**
 * Variable-length batches: a batch with per-sequence `lengths` (unsorted) must equal running each
 * sequence alone (B = 1, T = its length) with the same weights and its own slice of h0/c0 —
 * outputs, final states and the gradients of L = sum(output*R) + sum(hN*S) (+ sum(cN*U)).
 * The input past each length is large finite garbage: any kernel that reads it changes a result.
 * Outputs and input gradients past a length must be exactly 0. Parameter gradients of the batch
 * equal the sum of the per-sequence gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, memory, tensor, tidy, IndexError, ShapeError } from 'lstm-wasm';
import {
  type RnnSpec, type RunInputs, buildRnn, dims, expectNear, forwardRnn, maxAbs, paramGrads, randomF32, runWithLoss,
} from './rnn-testkit';

const FORWARD_TOL = 2e-5;
const GRAD_TOL = 1e-4;
const T = 5;
const B = 4;
const LENGTHS = [3, 5, 1, 4];
const GARBAGE = 1e6;

beforeAll(async () => {
  await init();
});

interface Case {
  name: string;
  spec: RnnSpec;
  withH0: boolean;
  lengthsAs?: 'array' | 'int32array';
}

const CASES: Case[] = [
  { name: 'LSTM uni 2 layers, h0/c0', spec: { kind: 'LSTM', inputSize: 3, hiddenSize: 4, numLayers: 2 }, withH0: true },
  { name: 'LSTM bi 2 layers, h0/c0', spec: { kind: 'LSTM', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, withH0: true },
  { name: 'LSTM bi 2 layers, zero state', spec: { kind: 'LSTM', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, withH0: false },
  { name: 'LSTM projSize=3 bi 2 layers', spec: { kind: 'LSTM', inputSize: 3, hiddenSize: 5, projSize: 3, numLayers: 2, bidirectional: true }, withH0: true },
  { name: 'LSTM projSize=2 uni batchFirst', spec: { kind: 'LSTM', inputSize: 3, hiddenSize: 4, projSize: 2, batchFirst: true }, withH0: true },
  { name: 'GRU bi 2 layers', spec: { kind: 'GRU', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, withH0: true },
  { name: 'GRU bi batchFirst, Int32Array lengths', spec: { kind: 'GRU', inputSize: 3, hiddenSize: 4, bidirectional: true, batchFirst: true }, withH0: true, lengthsAs: 'int32array' },
  { name: 'RNN tanh bi', spec: { kind: 'RNN_TANH', inputSize: 3, hiddenSize: 4, bidirectional: true }, withH0: true },
  { name: 'RNN relu uni 2 layers', spec: { kind: 'RNN_RELU', inputSize: 3, hiddenSize: 4, numLayers: 2 }, withH0: true },
  { name: 'RNN relu bi 2 layers, batchFirst, Int32Array lengths', spec: { kind: 'RNN_RELU', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, batchFirst: true }, withH0: false, lengthsAs: 'int32array' },
];

/** Flat index of x / output element (t, b, j) of width w in the spec's layout. */
function seqIndex(batchFirst: boolean, t: number, b: number, j: number, Tn: number, Bn: number, w: number): number {
  return (batchFirst ? b * Tn + t : t * Bn + b) * w + j;
}

describe('lengths: a padded batch equals each sequence run alone', () => {
  for (const c of CASES) {
    it(c.name, () => {
      manualSeed(1234);
      const m = buildRnn(c.spec);
      const { D, LD, P, H, I } = dims(c.spec);
      const bf = c.spec.batchFirst ?? false;
      const isLstm = c.spec.kind === 'LSTM';
      const W = D * P;

      // Input: real values up to each length, large garbage after.
      const x = randomF32(T * B * I, 11);
      for (let b = 0; b < B; b++) {
        for (let t = LENGTHS[b]; t < T; t++) {
          for (let i = 0; i < I; i++) x[seqIndex(bf, t, b, i, T, B, I)] = GARBAGE * (i % 2 === 0 ? 1 : -1) * (1 + t + b);
        }
      }
      const batched: RunInputs = {
        x, xShape: bf ? [B, T, I] : [T, B, I],
        h0: c.withH0 ? randomF32(LD * B * P, 12) : null,
        c0: c.withH0 && isLstm ? randomF32(LD * B * H, 13) : null,
        stateShape: [LD, B, P], cellShape: [LD, B, H],
        R: randomF32(T * B * W, 14), outShape: bf ? [B, T, W] : [T, B, W],
        S: randomF32(LD * B * P, 15), U: isLstm ? randomF32(LD * B * H, 16) : null,
        lengths: c.lengthsAs === 'int32array' ? Int32Array.from(LENGTHS) : LENGTHS,
      };
      const full = runWithLoss(m, batched);
      const fullParamGrads = paramGrads(m);
      m.zeroGrad();

      // Zero past each length, exactly: outputs and input gradients.
      for (let b = 0; b < B; b++) {
        for (let t = LENGTHS[b]; t < T; t++) {
          for (let j = 0; j < W; j++) {
            const o = full.output[seqIndex(bf, t, b, j, T, B, W)];
            if (o !== 0) expect.fail(`output (t=${t}, b=${b}, j=${j}) past length ${LENGTHS[b]} is ${o}, expected exactly 0`);
          }
          for (let i = 0; i < I; i++) {
            const g = full.gx[seqIndex(bf, t, b, i, T, B, I)];
            if (g !== 0) expect.fail(`grad input (t=${t}, b=${b}, i=${i}) past length ${LENGTHS[b]} is ${g}, expected exactly 0`);
          }
        }
      }

      // Each sequence alone; parameter gradients accumulate over the four runs.
      for (let b = 0; b < B; b++) {
        const len = LENGTHS[b];
        const pick = (src: Float32Array, w: number): Float32Array => {
          const out = new Float32Array(len * w);
          for (let t = 0; t < len; t++) for (let j = 0; j < w; j++) out[t * w + j] = src[seqIndex(bf, t, b, j, T, B, w)];
          return out;
        };
        const pickState = (src: Float32Array | null, w: number): Float32Array | null => {
          if (src === null) return null;
          const out = new Float32Array(LD * w);
          for (let ld = 0; ld < LD; ld++) for (let j = 0; j < w; j++) out[ld * w + j] = src[(ld * B + b) * w + j];
          return out;
        };
        const single: RunInputs = {
          x: pick(batched.x, I), xShape: bf ? [1, len, I] : [len, 1, I],
          h0: pickState(batched.h0, P), c0: pickState(batched.c0, H),
          stateShape: [LD, 1, P], cellShape: [LD, 1, H],
          R: pick(batched.R, W), outShape: bf ? [1, len, W] : [len, 1, W],
          S: pickState(batched.S, P) as Float32Array, U: pickState(batched.U, H),
        };
        const one = runWithLoss(m, single);
        const tag = `sequence ${b} (length ${len})`;
        expectNear(pick(full.output, W), one.output, FORWARD_TOL, `${tag}: output`);
        expectNear(pickState(full.hN, P) as Float32Array, one.hN, FORWARD_TOL, `${tag}: hN`);
        if (isLstm) expectNear(pickState(full.cN, H) as Float32Array, one.cN as Float32Array, FORWARD_TOL, `${tag}: cN`);
        expectNear(pick(full.gx, I), one.gx, GRAD_TOL, `${tag}: grad input`);
        if (full.gh0) expectNear(pickState(full.gh0, P) as Float32Array, one.gh0 as Float32Array, GRAD_TOL, `${tag}: grad h0`);
        if (full.gc0) expectNear(pickState(full.gc0, H) as Float32Array, one.gc0 as Float32Array, GRAD_TOL, `${tag}: grad c0`);
      }
      const summed = paramGrads(m);
      for (const [name, g] of fullParamGrads) {
        expect(maxAbs(g), `grad ${name} is not all zero`).toBeGreaterThan(0);
        expectNear(g, summed.get(name) as Float32Array, GRAD_TOL, `grad ${name} (batch vs sum over sequences)`);
      }
      m.dispose();
    });
  }

  it('lengths all equal to T give the same result as no lengths', () => {
    manualSeed(5);
    const m = buildRnn({ kind: 'LSTM', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
    tidy(() => {
      const x = tensor(randomF32(T * B * 3, 21), [T, B, 3]);
      const a = forwardRnn(m, x, null, null);
      const b = forwardRnn(m, x, null, null, [T, T, T, T]);
      expectNear(b.output.toArray(), a.output.toArray(), FORWARD_TOL, 'output');
      expectNear(b.hN.toArray(), a.hN.toArray(), FORWARD_TOL, 'hN');
      expectNear((b.cN as NonNullable<typeof b.cN>).toArray(), (a.cN as NonNullable<typeof a.cN>).toArray(), FORWARD_TOL, 'cN');
    });
    m.dispose();
  });

  it('lengths given as an int32 Tensor equal lengths given as an array', () => {
    manualSeed(6);
    const m = buildRnn({ kind: 'GRU', inputSize: 3, hiddenSize: 4, bidirectional: true });
    tidy(() => {
      const x = tensor(randomF32(T * B * 3, 22), [T, B, 3]);
      const a = forwardRnn(m, x, null, null, LENGTHS);
      const b = forwardRnn(m, x, null, null, tensor(Int32Array.from(LENGTHS), [B]));
      expectNear(b.output.toArray(), a.output.toArray(), 0, 'output');
      expectNear(b.hN.toArray(), a.hN.toArray(), 0, 'hN');
    });
    m.dispose();
  });
});

describe('lengths: invalid values are rejected with a message naming the problem', () => {
  const bad: { what: string; lengths: number[]; error: typeof IndexError | typeof ShapeError; message: RegExp }[] = [
    { what: 'a length longer than T', lengths: [3, 6, 1, 4], error: IndexError, message: /lengths\[1\] = 6 .*1\.\.5/ },
    { what: 'a zero length', lengths: [3, 5, 0, 4], error: IndexError, message: /lengths\[2\] = 0 .*1\.\.5/ },
    { what: 'a negative length', lengths: [-1, 5, 1, 4], error: IndexError, message: /lengths\[0\] = -1/ },
    { what: 'a non-integer length', lengths: [3, 2.5, 1, 4], error: IndexError, message: /lengths\[1\] = 2\.5 .*integer/ },
    { what: 'a NaN length', lengths: [3, 5, NaN, 4], error: IndexError, message: /lengths\[2\] = NaN/ },
    { what: 'too few lengths', lengths: [3, 5, 1], error: ShapeError, message: /lengths has 3 entries, expected batch size 4/ },
    { what: 'too many lengths', lengths: [3, 5, 1, 4, 2], error: ShapeError, message: /lengths has 5 entries, expected batch size 4/ },
  ];
  for (const kind of ['LSTM', 'GRU', 'RNN_TANH'] as const) {
    for (const b of bad) {
      it(`${kind}: ${b.what}`, () => {
        const m = buildRnn({ kind, inputSize: 3, hiddenSize: 4 });
        const x = tensor(randomF32(T * B * 3, 31), [T, B, 3], { requiresGrad: true });
        const live = memory().liveTensors;
        let caught: unknown = null;
        try {
          forwardRnn(m, x, null, null, b.lengths);
        } catch (e) {
          caught = e;
        }
        expect(caught, 'forward should throw').toBeInstanceOf(b.error);
        expect((caught as Error).message).toMatch(b.message);
        expect(memory().liveTensors, 'no tensor leaked by the failed forward').toBe(live);
        x.dispose();
        m.dispose();
      });
    }
  }

  it('batchFirst: the batch size is the first dim, and a length above T (dim 1) is rejected', () => {
    const m = buildRnn({ kind: 'LSTM', inputSize: 3, hiddenSize: 4, batchFirst: true });
    // (B=2, T=3, I=3): lengths must have 2 entries, each in 1..3.
    tidy(() => {
      const x = tensor(randomF32(2 * 3 * 3, 32), [2, 3, 3]);
      expect(() => forwardRnn(m, x, null, null, [3, 2, 1])).toThrow(/lengths has 3 entries, expected batch size 2/);
      expect(() => forwardRnn(m, x, null, null, [3, 4])).toThrow(/lengths\[1\] = 4 .*1\.\.3/);
      const ok = forwardRnn(m, x, null, null, [3, 2]);
      expect(Array.from(ok.output.shape)).toEqual([2, 3, 4]);
    });
    m.dispose();
  });
});
