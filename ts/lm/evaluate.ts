/**
 * Evaluating a language model on token ids: the mean loss per token, in eval mode without
 * gradients. A function of the model and the ids only (no optimizer, no trainer), so that `eval`,
 * the end of training and `LMTrainer.evaluate` score text the same way.
 */
import { tidy } from '../memory';
import { tensor } from '../creation';
import { noGrad } from '../autograd';
import { crossEntropy } from '../ops/index';
import { ValueError, describeKind, quoteValue } from '../errors';
import type { LanguageModel, RecurrentState } from './language-model';

export interface ScoreResult {
  /** Mean cross-entropy per scored token (nats). */
  loss: number;
  /** Tokens scored (predicted targets). */
  tokens: number;
  /** The lanes and window length used (after fitting them to a short text). */
  batchSize: number;
  seqLen: number;
}

/**
 * Where `scoreTokens` reads: n ids give n - 1 targets. B lanes of L = floor((n - 1) / B) targets
 * each (as LMBatcher cuts them), B first reduced so that a lane holds at least one window of T,
 * and T to n - 1 when the text is shorter. Windows are ceil(L / T), the last one shorter when T
 * does not divide L; the R = n - 1 - B*L targets at the very end continue the last lane.
 */
export function scoredLayout(n: number, batchSize: number, seqLen: number, maxWindows: number) {
  const T = Math.max(1, Math.min(seqLen, n - 1));
  const B = Math.max(1, Math.min(batchSize, Math.floor((n - 1) / T)));
  const L = Math.floor((n - 1) / B);
  const allWindows = Math.ceil(L / T);
  const all = !(maxWindows > 0 && maxWindows < allWindows);
  const windows = all ? allWindows : maxWindows;
  const rest = all ? n - 1 - B * L : 0;
  return { T, B, L, windows, rest, tokens: B * Math.min(L, windows * T) + rest };
}

/**
 * The model's mean loss per token on `ids` (at least 2), in eval mode without gradients, each lane
 * from a zero state carried window to window. With `maxWindows` 0 every token but the first is
 * scored exactly once: the full windows, the shorter last window of each lane, and the few
 * targets past the last whole lane, which run as a batch of one continuing the last lane's state
 * (so the result is the same as running each lane in one piece). With `maxWindows` > 0 only the
 * first that many windows of the lanes are scored.
 */
export function scoreTokens(model: LanguageModel, ids: Int32Array, batchSize: number, seqLen: number, maxWindows = 0): ScoreResult {
  checkScoreArgs('scoreTokens', ids, batchSize, seqLen, maxWindows);
  const { T, B, tokens } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
  const { lossSum } = scoreLanes(model, ids, batchSize, seqLen, maxWindows, [0, B]);
  return { loss: lossSum / tokens, tokens, batchSize: B, seqLen: T };
}

/**
 * The arguments of `scoreTokens` checked (a ValueError naming the argument): `ids` an Int32Array of
 * at least 2 tokens, `batchSize` and `seqLen` integers >= 1 (a text shorter than the layout fits
 * them down, but a 0, a -3 or a 1.5 is a mistake, not a size to fit), `maxWindows` an integer >= 0.
 */
export function checkScoreArgs(where: string, ids: unknown, batchSize: unknown, seqLen: unknown, maxWindows: unknown): void {
  if (!(ids instanceof Int32Array)) {
    throw new ValueError(`${where}: ids must be an Int32Array of token ids (tokenizer.encode(text)), got ${describeKind(ids)}`);
  }
  if (ids.length < 2) throw new ValueError(`${where}: ids has ${ids.length} token(s), need at least 2`);
  for (const [name, v, min] of [['batchSize', batchSize, 1], ['seqLen', seqLen, 1], ['maxWindows', maxWindows, 0]] as const) {
    if (!(Number.isInteger(v) && (v as number) >= min)) throw new ValueError(`${where}: ${name} must be an integer >= ${min}, got ${quoteValue(v)}`);
  }
}

/**
 * The summed loss of lanes [b0, b1) of `scoreTokens`'s layout (the targets past the last whole
 * lane go with the last lane): the lanes are independent, so lane ranges can be scored apart
 * (by data-parallel replicas) and their sums added.
 */
export function scoreLanes(
  model: LanguageModel, ids: Int32Array, batchSize: number, seqLen: number, maxWindows: number, lanes: [number, number],
): { lossSum: number } {
  if (ids.length < 2) throw new ValueError(`scoreLanes: ids has ${ids.length} token(s), need at least 2`);
  const { T, B: Ball, L, windows, rest } = scoredLayout(ids.length, batchSize, seqLen, maxWindows);
  const [b0, b1] = lanes;
  if (!(Number.isInteger(b0) && Number.isInteger(b1) && 0 <= b0 && b0 < b1 && b1 <= Ball)) {
    throw new ValueError(`scoreLanes: lanes [${b0}, ${b1}) are not a range of the ${Ball} lanes`);
  }
  const B = b1 - b0;
  const V = model.config.vocabSize;
  const wasTraining = model.training;
  model.eval();
  let state: RecurrentState | null = null;
  let total = 0;
  // Runs `x`/`y` ((t, b) time-major) from `state`, adds the summed loss, keeps the final state.
  const step = (x: Int32Array, y: Int32Array, t: number, b: number): void => {
    const out = tidy(() => {
      const r = model.forward(tensor(x, [t, b]), state);
      return { loss: crossEntropy(r.logits.reshape(t * b, V), tensor(y, [t * b]), { reduction: 'sum' }).item(), state: r.state };
    });
    state?.forEach((s) => s.dispose());
    state = out.state;
    total += out.loss;
  };
  try {
    noGrad(() => {
      for (let w = 0; w < windows; w++) {
        const t = Math.min(T, L - w * T);
        const x = new Int32Array(t * B);
        const y = new Int32Array(t * B);
        for (let b = 0; b < B; b++) {
          const base = (b0 + b) * L + w * T;
          for (let i = 0; i < t; i++) {
            x[i * B + b] = ids[base + i];
            y[i * B + b] = ids[base + i + 1];
          }
        }
        step(x, y, t, B);
      }
      if (rest > 0 && b1 === Ball) {
        // The last lane's state, (layers, B, H) -> (layers, 1, H).
        const last = (state as RecurrentState).map((s) => {
          const [layers, , H] = s.shape;
          const v = s.f32();
          const lane = new Float32Array(layers * H);
          for (let l = 0; l < layers; l++) lane.set(v.subarray((l * B + B - 1) * H, (l * B + B) * H), l * H);
          return tensor(lane, [layers, 1, H]);
        });
        (state as RecurrentState).forEach((s) => s.dispose());
        state = last;
        const start = Ball * L;
        step(ids.slice(start, start + rest), ids.slice(start + 1, start + rest + 1), rest, 1);
      }
    });
  } finally {
    (state as RecurrentState | null)?.forEach((s) => s.dispose());
    model.train(wasTraining);
  }
  return { lossSum: total };
}
