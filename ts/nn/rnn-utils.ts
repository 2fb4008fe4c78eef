/**
 * Padding variable-length sequences into one batch (PyTorch `torch.nn.utils.rnn.pad_sequence`),
 * and the lengths the recurrent modules take with it: `nn.utils.rnn.padSequence`,
 * `nn.utils.rnn.sequenceLengths`.
 */
import { Tensor } from '../tensor';
import { needsGrad, record } from '../autograd';
import { runOp } from '../memory';
import { DTypeError, ShapeError, ValueError, describeArg, describeKind, formatShape } from '../errors';
import { assertTensor } from '../checks';
import { checkOptions, optionKeys } from '../options';

export interface PadSequenceOptions {
  /** Output (B, maxL, *) when true, (maxL, B, *) when false (default), as the modules' batchFirst. */
  batchFirst?: boolean;
  /** The value of the padded places (default 0); an integer for int32 sequences. */
  paddingValue?: number;
  /**
   * Where the padding goes: 'right' (default: each sequence starts at step 0, the layout the
   * modules' `lengths` describe) or 'left' (each sequence ends at step maxL-1).
   */
  paddingSide?: 'right' | 'left';
}

const PAD_KEYS = optionKeys<PadSequenceOptions>({ batchFirst: true, paddingValue: true, paddingSide: true });

/** The checked sequences: live tensors of one dtype, at least 1-D, with the same trailing dims. */
function checkSequences(op: string, sequences: unknown): Tensor[] {
  if (!Array.isArray(sequences)) {
    throw new ValueError(`${op}: sequences must be an array of tensors (L_i, *), got ${sequences instanceof Tensor ? 'a Tensor (wrap it: [t])' : describeKind(sequences)}`);
  }
  if (sequences.length === 0) throw new ValueError(`${op}: sequences is empty, expected at least one tensor`);
  sequences.forEach((s, i) => {
    assertTensor(op, `sequences[${i}]`, s);
    if (s.ndim === 0) throw new ShapeError(`${op}: sequences[${i}] is a 0-d tensor, expected (L, *): dim 0 is the time steps`);
  });
  const first = sequences[0] as Tensor;
  const rest = first.shape.slice(1);
  (sequences as Tensor[]).forEach((s, i) => {
    if (s.dtype !== first.dtype) throw new DTypeError(`${op}: sequences[${i}] is ${s.dtype}, sequences[0] is ${first.dtype} (every sequence must have one dtype)`);
    if (s.ndim !== first.ndim || s.shape.some((d, j) => j > 0 && d !== first.shape[j])) {
      throw new ShapeError(
        `${op}: sequences[${i}] is ${formatShape(s.shape)}, expected (L, ${rest.join(', ')}) like sequences[0] ${formatShape(first.shape)}: ` +
          'sequences may differ in length (dim 0) only',
      );
    }
  });
  return sequences as Tensor[];
}

/**
 * The length (dim 0) of each sequence: `lengths` for the recurrent modules, which run each batch
 * entry only over its own steps. With right padding (the default) they fit as they are:
 *
 * ```ts
 * const x = nn.utils.rnn.padSequence(seqs); // (maxL, B, I)
 * const { output, hN } = lstm.forward(x, null, { lengths: nn.utils.rnn.sequenceLengths(seqs) });
 * ```
 *
 * PyTorch spells this `[len(s) for s in seqs]` (for `pack_padded_sequence`). The modules take
 * lengths in 1..maxL, so an empty sequence has to be left out of a batch they run.
 */
export function sequenceLengths(sequences: readonly Tensor[]): number[] {
  return checkSequences('sequenceLengths', sequences).map((s) => s.shape[0]);
}

/**
 * Pads sequences (L_i, *) to the longest, maxL, and stacks them: (maxL, B, *), or (B, maxL, *) with
 * `batchFirst`, as PyTorch's `pad_sequence(sequences, batch_first, padding_value, padding_side)`.
 * `padSequence(seqs, true)` is `padSequence(seqs, { batchFirst: true })`.
 *
 * Returns a new tensor, owned by the caller, as PyTorch returns a tensor; the lengths the
 * recurrent modules take come from {@link sequenceLengths}. Gradients flow back to each sequence
 * (the padded places have none). float32 or int32 (token ids) alike.
 */
export function padSequence(sequences: readonly Tensor[], batchFirstOrOptions: boolean | PadSequenceOptions = {}): Tensor {
  const options: PadSequenceOptions = typeof batchFirstOrOptions === 'boolean' ? { batchFirst: batchFirstOrOptions } : batchFirstOrOptions ?? {};
  if (typeof batchFirstOrOptions !== 'boolean') checkOptions('padSequence', batchFirstOrOptions, PAD_KEYS);
  const batchFirst = options.batchFirst ?? false;
  const paddingValue = options.paddingValue ?? 0;
  const side = options.paddingSide ?? 'right';
  if (typeof batchFirst !== 'boolean') throw new ValueError(`padSequence: batchFirst must be a boolean, got ${describeArg(batchFirst)}`);
  if (typeof paddingValue !== 'number') throw new ValueError(`padSequence: paddingValue must be a number, got ${describeArg(paddingValue)}`);
  if (side !== 'right' && side !== 'left') throw new ValueError(`padSequence: paddingSide must be 'right' or 'left', got ${describeArg(side)}`);
  const seqs = checkSequences('padSequence', sequences);
  if (seqs[0].dtype === 'int32' && !(Number.isInteger(paddingValue) && paddingValue >= -0x80000000 && paddingValue <= 0x7fffffff)) {
    throw new ValueError(`padSequence: paddingValue must be an int32 integer for int32 sequences, got ${paddingValue}`);
  }
  return runOp('padSequence', () => padSequenceForward(seqs, batchFirst, paddingValue, side === 'left'));
}

/**
 * Where step t of sequence b goes in the output, in elements: sequence b of length L starts at
 * step `left ? maxL - L : 0`; the output is (B, maxL, F) or (maxL, B, F) with F the trailing size.
 */
interface PadLayout {
  B: number;
  maxL: number;
  F: number;
  batchFirst: boolean;
  left: boolean;
}

function stepOffset(p: PadLayout, b: number, length: number, t: number): number {
  const step = (p.left ? p.maxL - length : 0) + t;
  return (p.batchFirst ? b * p.maxL + step : step * p.B + b) * p.F;
}

// padSequence forward: out (maxL, B, *) or (B, maxL, *) = paddingValue, then each sequence's rows copied in.
function padSequenceForward(seqs: Tensor[], batchFirst: boolean, paddingValue: number, left: boolean): Tensor {
  const rest = seqs[0].shape.slice(1);
  const p: PadLayout = { B: seqs.length, maxL: seqs.reduce((m, s) => Math.max(m, s.shape[0]), 0), F: rest.reduce((a, d) => a * d, 1), batchFirst, left };
  const out = new Tensor(batchFirst ? [p.B, p.maxL, ...rest] : [p.maxL, p.B, ...rest], seqs[0].dtype);
  // Views taken after the one allocation (memory growth detaches older ones).
  const dst = out.heapView();
  if (paddingValue !== 0) dst.fill(paddingValue);
  seqs.forEach((s, b) => {
    const src = s.heapView();
    const L = s.shape[0];
    // (B, maxL, F): the sequence is one contiguous block; (maxL, B, F): one row per step.
    if (batchFirst) dst.set(src, stepOffset(p, b, L, 0));
    else for (let t = 0; t < L; t++) dst.set(src.subarray(t * p.F, (t + 1) * p.F), stepOffset(p, b, L, t));
  });
  if (!needsGrad(...seqs)) return out;
  return record(out, 'padSequence', seqs.slice(), (g) => seqs.map((s, b) => (s.requiresGrad ? padSequenceBackward(g, s.shape, b, p) : null)));
}

// padSequence backward: the gradient of sequence b is its own steps of g (the padded places get none).
function padSequenceBackward(g: Tensor, shape: readonly number[], b: number, p: PadLayout): Tensor {
  const ds = new Tensor(shape);
  const L = shape[0];
  const src = g.heapView();
  const dst = ds.heapView();
  if (p.batchFirst) dst.set(src.subarray(stepOffset(p, b, L, 0), stepOffset(p, b, L, 0) + L * p.F));
  else for (let t = 0; t < L; t++) dst.set(src.subarray(stepOffset(p, b, L, t), stepOffset(p, b, L, t) + p.F), t * p.F);
  return ds;
}
