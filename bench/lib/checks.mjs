// Validation shared by the runners: each returns { ok, detail } for the result record.
import { sgemmName, maxAbsDiff, allFinite } from './common.mjs';
import { readReference, prng } from './workloads.mjs';

/** W1: the loss must fall over the warm-up + timed steps; with shared weights the first loss must match lstm-wasm's. */
export function checkTrain(losses, sharedDir, shared) {
  const first = losses[0];
  const last = losses[losses.length - 1];
  const parts = [`loss ${first.toFixed(4)} -> ${last.toFixed(4)} over ${losses.length} steps`];
  let ok = allFinite(losses) && last < first;
  if (shared) {
    const ref = readReference(sharedDir, 'W1-losses');
    if (ref) {
      const d = Math.abs(ref[0] - first);
      parts.push(`step-1 loss vs lstm-wasm ${d.toExponential(1)}`);
      ok &&= d < 1e-3;
    } else parts.push('no lstm-wasm reference');
  }
  return { ok, detail: parts.join('; ') };
}

/**
 * W2: the generated ids must equal lstm-wasm's. A difference is accepted only where lstm-wasm's own
 * top-2 logits were within 1e-3 (a near tie that float rounding may break either way), and only
 * if the step-0 logits agree within 1e-4.
 */
export function checkStream(ids, logits0, sharedDir) {
  const ref = readReference(sharedDir, 'W2-ref');
  if (!ref) return { ok: allFinite(logits0), detail: 'no lstm-wasm reference; logits finite' };
  const d0 = maxAbsDiff(logits0, ref.logits0);
  let firstDiff = -1;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== ref.ids[i]) { firstDiff = i; break; }
  if (firstDiff < 0) return { ok: d0 < 1e-4, detail: `ids identical to lstm-wasm (${ids.length}/${ids.length}); step-0 logits diff ${d0.toExponential(1)}` };
  const tie = ref.gaps[firstDiff] < 1e-3;
  return {
    ok: d0 < 1e-4 && tie,
    detail: `ids equal to lstm-wasm up to step ${firstDiff} of ${ids.length} (${tie ? 'near tie there' : 'not a tie'}); step-0 logits diff ${d0.toExponential(1)}`,
  };
}

/** W3: output (T, B, H) within 1e-4 of lstm-wasm's on the same weights and input. */
export function checkForward(out, sharedDir) {
  const ref = readReference(sharedDir, 'W3-out');
  if (!ref) return { ok: allFinite(out), detail: 'no lstm-wasm reference; outputs finite' };
  const d = maxAbsDiff(out, ref);
  return { ok: d < 1e-4, detail: `max abs diff vs lstm-wasm ${d.toExponential(1)}` };
}

/** Seeded operands of one SGEMM shape: A (M, K), B (K, N), U(-1, 1). */
export function sgemmOperands([m, n, k]) {
  const rand = prng(m * 7919 + n * 31 + k);
  const a = new Float32Array(m * k);
  const b = new Float32Array(k * n);
  for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
  for (let i = 0; i < b.length; i++) b[i] = rand() * 2 - 1;
  return { a, b };
}

/** 64 seeded entries of C = A B against a float64 dot product. */
export function checkSgemm(shape, a, b, c) {
  const [m, n, k] = shape;
  const rand = prng(99);
  let d = 0;
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(rand() * m);
    const j = Math.floor(rand() * n);
    let acc = 0;
    for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
    const e = Math.abs(acc - c[i * n + j]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  return { ok: d < 1e-5 * k, detail: `${sgemmName(shape)}: 64 entries vs float64, max err ${d.toExponential(1)}` };
}


/**
 * W2-int8 (the W2 model with int8 LSTM weights): quantization moves every logit a little, so the
 * greedy ids may part from float32's after some steps, and "ids equal" is not a fair test. Checked:
 * the step-0 logits within 0.05 of lstm-wasm's float32 ones (of the same runtime's float32 model
 * when there is no lstm-wasm reference); with the reference ids fed in (teacher forcing, so every
 * step sees the same history), every step's logits within 0.05 of the same runtime's float32 model
 * on the same ids, and finite; the same ids on every run. Reported, not required: the number of
 * teacher-forced steps whose greedy token agrees with the reference, and the step where the
 * free-running ids first differ from lstm-wasm's. `forced` = { agree, steps, maxDiff, finite }.
 */
export function checkStreamInt8({ ids, repeatable, logits0, f32logits0, forced }, sharedDir) {
  const ref = readReference(sharedDir, 'W2-ref');
  const d0 = maxAbsDiff(logits0, ref ? ref.logits0 : f32logits0);
  let firstDiff = -1;
  if (ref) for (let i = 0; i < ids.length; i++) if (ids[i] !== ref.ids[i]) { firstDiff = i; break; }
  const parts = [
    `within 0.05 of float32: step-0 ${d0.toExponential(1)} (vs ${ref ? 'lstm-wasm' : 'own float32, no lstm-wasm ref'}), teacher-forced max ${forced.maxDiff.toExponential(1)}`,
    `greedy agrees ${forced.agree}/${forced.steps} teacher-forced`,
    ref ? `free-running ids = lstm-wasm's ${firstDiff < 0 ? `${ids.length}/${ids.length}` : `up to step ${firstDiff}`}` : 'no lstm-wasm ids',
  ];
  if (!repeatable) parts.push('ids differ between runs');
  if (!forced.finite) parts.push('non-finite logits');
  const ok = d0 < 0.05 && forced.maxDiff < 0.05 && forced.finite && repeatable && allFinite(logits0);
  return { ok, detail: parts.join('; '), agree: forced.agree, steps: forced.steps, maxDiff: forced.maxDiff, firstDiff };
}
