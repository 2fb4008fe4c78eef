// The SGEMM reference: a plain JS triple loop in i-k-j order (the inner loop streams a row of B
// and a row of C, so it runs at what V8 makes of scalar float code). No recurrent workloads.
import { SGEMM_SHAPES, sgemmName, parseArgs, plan, measure, rate, Report } from '../lib/common.mjs';
import { checkSgemm, sgemmOperands } from '../lib/checks.mjs';

const args = parseArgs();
const report = new Report(args, { id: 'plain-js', name: 'plain JS (i-k-j loop)', version: process.version });
const P = plan(args.quick);

/** C (M, N) = A (M, K) B (K, N), row-major Float32Arrays. */
function sgemmIKJ(m, n, k, a, b, c) {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
    }
  }
}

for (const w of ['W1', 'W2', 'W3']) report.data.workloads[w] = { status: 'n/a', reason: 'SGEMM reference only' };

await report.workload('sgemm', async () => {
  const shapes = {};
  for (const shape of SGEMM_SHAPES) {
    const [m, n, k] = shape;
    const { a, b } = sgemmOperands(shape);
    const c = new Float32Array(m * n);
    const { ms } = await measure(() => sgemmIKJ(m, n, k, a, b, c), P.sgemm);
    shapes[sgemmName(shape)] = { unit: 'GFLOP/s', ...rate(ms, 2 * m * n * k, 1e-9), validation: checkSgemm(shape, a, b, c) };
  }
  const ok = Object.values(shapes).every((s) => s.validation.ok);
  return { unit: 'GFLOP/s', shapes, validation: { ok, detail: ok ? 'all shapes match float64 on 64 entries' : 'mismatch vs float64' } };
});

report.write();
