// One computation that goes through the GEMM micro-kernel (batch 16, so not the small-M path):
// an LSTM's forward and backward on seeded weights and inputs. smoke.test.ts runs it in Chromium
// (served as /lstm-case.mjs) and in Node, and compares. `lw` is the lstm-wasm module, initialized.
export function lstmCase(lw) {
  lw.manualSeed(11);
  const lstm = new lw.nn.LSTM(24, 40, { numLayers: 2 });
  const x = lw.randn([6, 16, 24], { requiresGrad: true });
  const [out] = lstm.forward(x);
  out.mul(out).sum().backward();
  const result = {
    out: Array.from(out.toArray()),
    dx: Array.from(x.grad.toArray()),
    dw: lstm.parameters().flatMap((p) => Array.from(p.grad.toArray())),
  };
  lstm.dispose();
  return result;
}
