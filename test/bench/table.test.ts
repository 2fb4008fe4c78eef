// The benchmark's results table (bench/lib/table.mjs) and host probe (bench/lib/common.mjs): the
// numbers a reader compares must come out of the runners' records unchanged. The full benchmark
// itself runs only as `npm run bench` (CI runs its --quick smoke test), never timed in tests.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs modules of the benchmark, without type declarations
import { summarize, markdownTable } from '../../bench/lib/table.mjs';
// @ts-expect-error plain .mjs modules of the benchmark, without type declarations
import { hostProbe, measure, takeProbes } from '../../bench/lib/common.mjs';

const rec = (median: number, host?: number) => ({
  status: 'ok', unit: 'tokens/s', median, min: median * 0.9, max: median * 1.1, runs: 5, host, validation: { ok: true, detail: 'ok' },
});

function results() {
  const sgemm = (gflops: number, host?: number) => ({
    status: 'ok', host,
    shapes: {
      '256x256x256': { unit: 'GFLOP/s', median: gflops, min: gflops, max: gflops, runs: 3, validation: { ok: true, detail: 'ok' } },
      '512x512x512': { unit: 'GFLOP/s', median: gflops, min: gflops, max: gflops, runs: 3, validation: { ok: true, detail: 'ok' } },
      '64x1024x1024': { unit: 'GFLOP/s', median: gflops, min: gflops, max: gflops, runs: 3, validation: { ok: true, detail: 'ok' } },
    },
  });
  return [
    { id: 'lstm-wasm-wasm', name: 'lstm-wasm (WASM SIMD)', status: 'ok', workloads: { W1: rec(4000, 250), W2: rec(2000, 250), W3: rec(30000, 250), sgemm: sgemm(30, 250) } },
    { id: 'peer', name: 'Peer', status: 'ok', workloads: { W1: rec(400, 175), W2: rec(1000), W3: { status: 'n/a' }, sgemm: sgemm(10, 250) } },
  ];
}

describe('bench results table', () => {
  it('ratio is lstm-wasm / system and host speed is the probe relative to lstm-wasm on the same workload', () => {
    const rows = summarize(results());
    const peerW1 = rows.find((r: { id: string; key: string }) => r.id === 'peer' && r.key === 'W1');
    expect(peerW1.ratio).toBeCloseTo(10, 12);
    expect(peerW1.hostVsRef).toBeCloseTo(0.7, 12);
    const peerSgemm = rows.find((r: { id: string; key: string }) => r.id === 'peer' && r.key === 'sgemm:512x512x512');
    expect(peerSgemm.ratio).toBeCloseTo(3, 12);
    expect(peerSgemm.hostVsRef).toBeCloseTo(1, 12);
    // No probe on the peer's W2: no host speed, but the ratio stands.
    const peerW2 = rows.find((r: { id: string; key: string }) => r.id === 'peer' && r.key === 'W2');
    expect(peerW2.ratio).toBeCloseTo(2, 12);
    expect(peerW2.hostVsRef).toBeUndefined();
    // A workload the system does not do has no row.
    expect(rows.some((r: { id: string; key: string }) => r.id === 'peer' && r.key === 'W3')).toBe(false);

    const table: string = markdownTable(rows);
    expect(table.split('\n')[0]).toBe('| workload | system | median | min-max | runs | lstm-wasm ÷ system | host speed | check |');
    expect(table).toContain('| W1 train-charlm (tok/s) | lstm-wasm (WASM SIMD) | 4,000 | 3,600-4,400 | 5 | 1.00× | 1.00× | ok |');
    expect(table).toContain('|  | Peer | 400 | 360-440 | 5 | 10.00× | 0.70× | ok |');
    expect(table).toContain('|  | Peer | 1,000 | 900-1,100 | 5 | 2.00× | — | ok |');
    // Every row has the same number of cells as the header.
    for (const line of table.split('\n')) expect(line.split('|').length).toBe(10);
  });
});

describe('bench host probe', () => {
  it('is a positive rate, and measure() takes one before every timed run (not before warm-ups)', async () => {
    const p = hostProbe(5);
    expect(Number.isFinite(p) && p > 0).toBe(true);
    takeProbes();
    let calls = 0;
    const { ms } = await measure(() => { calls++; }, { warmup: 2, repeats: 4, min: 4, budgetMs: 0 });
    expect(calls).toBe(6);
    expect(ms.length).toBe(4);
    const probes = takeProbes();
    expect(probes.length).toBe(4);
    expect(probes.every((x: number) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(takeProbes()).toEqual([]);
  });
});
