/**
 * Recurrent nodes in the forms no fixture exercises, checked against the forms the fixtures do
 * (gru_bidir_classifier and rnn_relu_bidir_seq_lens match onnxruntime, run.test.ts): one GRU's
 * weights as a bidirectional node (layout 0, sequence_lens), as a reverse-only node (the reverse
 * row alone) and as a layout-1 node. Method: reverse-only Y / Y_h equal the bidirectional node's
 * reverse half, layout 1 equals layout 0 with its axes moved; exact (the same kernels run, up to
 * summation order: within 1e-6).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, memory, permute, select, tidy, type Tensor } from 'lstm-wasm';
import { loadOnnx } from 'lstm-wasm/onnx';
import { encodeModel, floatTensor, valueInfo } from './helpers';

const I = 2;
const H = 3;
const T = 4;
const B = 3;
const TOLERANCE = 1e-6;
const wave = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.7) * 0.6);

/** A GRU node with directions `rows` of the same weights (0 forward, 1 reverse). */
function gruModel(direction: 'bidirectional' | 'reverse', layout: 0 | 1): Uint8Array {
  const rows = direction === 'bidirectional' ? [0, 1] : [1];
  const D = rows.length;
  const pick = (per: number, seed: number) => rows.flatMap((r) => wave(per, seed + r * 100));
  const x = layout === 0 ? ['T', 'B', I] : ['B', 'T', I];
  return encodeModel({
    irVersion: 8,
    producerName: 'lstm-wasm tests',
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'gru',
      input: [valueInfo('x', x), valueInfo('lens', ['B'], 7)],
      output: [valueInfo('y', layout === 0 ? ['T', D, 'B', H] : ['B', 'T', D, H]), valueInfo('yh', layout === 0 ? [D, 'B', H] : ['B', D, H])],
      initializer: [
        floatTensor('W', [D, 3 * H, I], pick(3 * H * I, 1)),
        floatTensor('R', [D, 3 * H, H], pick(3 * H * H, 2)),
        floatTensor('Bias', [D, 6 * H], pick(6 * H, 3)),
      ],
      node: [
        {
          name: 'gru', opType: 'GRU', input: ['x', 'W', 'R', 'Bias', 'lens'], output: ['y', 'yh'],
          attribute: [
            { name: 'hidden_size', type: 2, i: H },
            { name: 'direction', type: 3, s: new TextEncoder().encode(direction) },
            { name: 'linear_before_reset', type: 2, i: 1 },
            { name: 'layout', type: 2, i: layout },
          ],
        },
      ],
    },
  });
}

const maxDiff = (a: Tensor, b: Tensor): number => {
  expect(a.shape).toEqual(b.shape);
  const x = Array.from(a.toArray());
  const y = b.toArray();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
};

beforeAll(async () => {
  await init();
});

describe('GRU node forms', () => {
  it('reverse-only is the reverse half of bidirectional; layout 1 is layout 0 with its axes moved', () => {
    const start = memory().liveTensors;
    const xData = Float32Array.from(wave(T * B * I, 9));
    const lens = { data: BigInt64Array.from([4n, 2n, 3n]), dims: [B] };
    const bidir = loadOnnx(gruModel('bidirectional', 0));
    const reverse = loadOnnx(gruModel('reverse', 0));
    const batchFirst = loadOnnx(gruModel('bidirectional', 1));
    const a = bidir.run({ x: { data: xData, dims: [T, B, I] }, lens });
    const r = reverse.run({ x: { data: xData, dims: [T, B, I] }, lens });
    // x as (B, T, I) for the layout-1 node.
    const xBatchFirst = new Float32Array(xData.length);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < I; i++) xBatchFirst[(b * T + t) * I + i] = xData[(t * B + b) * I + i]!;
    const f = batchFirst.run({ x: { data: xBatchFirst, dims: [B, T, I] }, lens });
    expect(r.y!.shape).toEqual([T, 1, B, H]);
    tidy(() => {
      const pairs: [Tensor, Tensor][] = [
        [select(r.y!, 1, 0), select(a.y!, 1, 1)],
        [select(r.yh!, 0, 0), select(a.yh!, 0, 1)],
        [f.y!, permute(a.y!, [2, 0, 1, 3])], // (T, D, B, H) -> (B, T, D, H)
        [f.yh!, permute(a.yh!, [1, 0, 2])], // (D, B, H) -> (B, D, H)
      ];
      // The reverse direction ran: its Y differs from the forward one's, and Y is 0 past each length.
      expect(maxDiff(select(a.y!, 1, 0), select(a.y!, 1, 1))).toBeGreaterThan(1e-3);
      expect(Array.from(select(select(a.y!, 0, 3), 1, 1).toArray())).toEqual([0, 0, 0, 0, 0, 0]);
      for (const [got, want] of pairs) expect(maxDiff(got, want)).toBeLessThan(TOLERANCE);
    });
    [...Object.values(a), ...Object.values(r), ...Object.values(f)].forEach((t) => t.dispose());
    bidir.dispose();
    reverse.dispose();
    batchFirst.dispose();
    expect(memory().liveTensors).toBe(start);
  });
});
