/**
 * Optimizer steps (crate/optim.rs), bit for bit: the float64 hyperparameters are turned into the
 * same float32 constants, and every float32 operation of the crate (unfused multiply-add) is
 * rounded here with `Math.fround`. `step` is 1-based.
 */
import type { Kernels } from '../kernels';
import type { JsHeap } from './heap';

const f32 = Math.fround;

/** `base^exp` by repeated squaring, as LLVM's `powi` (compiler-rt `__powidf2`), which the crate uses. */
export function powi(base: number, exp: number): number {
  const recip = exp < 0;
  let b = Math.abs(exp) | 0;
  let a = base;
  let r = 1;
  for (;;) {
    if (b & 1) r *= a;
    b = Math.trunc(b / 2);
    if (b === 0) break;
    a *= a;
  }
  return recip ? 1 / r : r;
}

type OptimKernels = Pick<Kernels, 'lw_sgd_step' | 'lw_adam_step' | 'lw_adamw_step'>;

export function optimKernels(heap: JsHeap): OptimKernels {
  /** torch.optim.Adam (decoupled false) or AdamW (decoupled true); p, g, m, v (n). */
  const adamStep = (
    p: number, g: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number, decoupled: boolean,
  ): void => {
    const h = heap.f32;
    const t = Math.max(step, 1);
    const decay = f32(1 - lr * weightDecay);
    const wd = f32(weightDecay);
    const w1 = f32(1 - beta1);
    const b2 = f32(beta2);
    const w2 = f32(1 - beta2);
    const negStepSize = f32(-(lr / (1 - powi(beta1, t))));
    const bc2Sqrt = f32(Math.sqrt(1 - powi(beta2, t)));
    const epsF = f32(eps);
    const l2 = !decoupled && weightDecay !== 0;
    const lerpLow = Math.abs(1 - beta1) < 0.5;
    const oneMinusW1 = f32(1 - w1);
    const po = p >>> 2, go = g >>> 2, mo = m >>> 2, vo = v >>> 2;
    for (let i = 0; i < n; i++) {
      let pi = h[po + i];
      let gi = h[go + i];
      if (decoupled) pi = f32(pi * decay);
      else if (l2) gi = f32(f32(wd * pi) + gi);
      const mi = h[mo + i];
      // ATen's lerp: start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w).
      const mNew = lerpLow ? f32(f32(w1 * f32(gi - mi)) + mi) : f32(gi - f32(f32(gi - mi) * oneMinusW1));
      const vNew = f32(f32(h[vo + i] * b2) + f32(f32(w2 * gi) * gi));
      const denom = f32(f32(f32(Math.sqrt(vNew)) / bc2Sqrt) + epsF);
      h[po + i] = f32(pi + f32(f32(negStepSize * mNew) / denom));
      h[mo + i] = mNew;
      h[vo + i] = vNew;
    }
  };

  return {
    // torch.optim.SGD; buf (n) ignored when momentum is 0, overwritten on step 1.
    lw_sgd_step(p, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, step) {
      const h = heap.f32;
      const wd = f32(weightDecay);
      const l2 = weightDecay !== 0;
      const mom = f32(momentum);
      const keep = f32(1 - dampening);
      const negLr = f32(-lr);
      const first = step <= 1;
      const hasBuf = momentum !== 0;
      const po = p >>> 2, go = g >>> 2, bo = buf >>> 2;
      for (let i = 0; i < n; i++) {
        let d = h[go + i];
        if (l2) d = f32(f32(wd * h[po + i]) + d);
        if (hasBuf) {
          const b = first ? d : f32(f32(h[bo + i] * mom) + f32(keep * d));
          h[bo + i] = b;
          d = nesterov ? f32(f32(mom * b) + d) : b;
        }
        h[po + i] = f32(negLr * d) + h[po + i];
      }
    },
    lw_adam_step(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step) {
      adamStep(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step, false);
    },
    lw_adamw_step(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step) {
      adamStep(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step, true);
    },
  };
}
