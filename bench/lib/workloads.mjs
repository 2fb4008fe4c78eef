// The shared inputs of every workload, generated the same way in every process from a fixed seed:
// PyTorch-layout weights (names `weight_ih_l0`, gates i,f,g,o; PyTorch's init distributions), the
// W1 token batch and the W3 input. Systems that share weights load these; lstm-wasm (WASM) writes
// its outputs on them to the shared directory, and the peers compare theirs against those.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { W1, W2, W3 } from './common.mjs';

/** mulberry32: small, fast, and identical in every process. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(rand, n, bound) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * bound;
  return out;
}

function normal(rand, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return out;
}

/** { name: { shape, data } } of an LSTM stack, PyTorch layout: weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H), biases (4H). */
export function lstmWeights(rand, inputSize, H, layers) {
  const bound = 1 / Math.sqrt(H);
  const w = {};
  for (let l = 0; l < layers; l++) {
    const inSize = l === 0 ? inputSize : H;
    w[`weight_ih_l${l}`] = { shape: [4 * H, inSize], data: uniform(rand, 4 * H * inSize, bound) };
    w[`weight_hh_l${l}`] = { shape: [4 * H, H], data: uniform(rand, 4 * H * H, bound) };
    w[`bias_ih_l${l}`] = { shape: [4 * H], data: uniform(rand, 4 * H, bound) };
    w[`bias_hh_l${l}`] = { shape: [4 * H], data: uniform(rand, 4 * H, bound) };
  }
  return w;
}

/** Embedding -> LSTM stack -> Linear, PyTorch's init: { embed, lstm, head } of { name: { shape, data } }. */
export function charModel({ V, E, H, L }, seed) {
  const rand = prng(seed);
  const embed = { weight: { shape: [V, E], data: normal(rand, V * E) } };
  const lstm = lstmWeights(rand, E, H, L);
  const b = 1 / Math.sqrt(H);
  const head = { weight: { shape: [V, H], data: uniform(rand, V * H, b) }, bias: { shape: [V], data: uniform(rand, V, b) } };
  return { embed, lstm, head };
}

export const w1Model = () => charModel(W1, 1);
export const w2Model = () => charModel(W2, 2);
export const w3Weights = () => lstmWeights(prng(3), W3.I, W3.H, 1);

/**
 * The W1 batch, time-major: x (T, B) token ids and y (T*B) the next token of each. The stream is a
 * noisy walk over the 65 ids, so there is structure to learn; the same batch is used at every step
 * so that "the loss falls" is a deterministic check.
 */
export function w1Batch() {
  const { T, B, V } = W1;
  const rand = prng(11);
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    let s = Math.floor(rand() * V);
    for (let t = 0; t <= T; t++) {
      const next = (s * 7 + 3 + Math.floor(rand() * 3)) % V;
      if (t < T) x[t * B + b] = s;
      if (t > 0) y[(t - 1) * B + b] = s;
      s = next;
    }
  }
  return { x, y };
}

/** The W3 input, (T, B, I) time-major, U(-1, 1). */
export function w3Input() {
  const { T, B, I } = W3;
  return uniform(prng(4), T * B * I, 1);
}

/** PyTorch gate blocks [i, f, g, o] of a (4H, ...) matrix reordered to ONNX's [i, o, f, c]. */
export function gatesToOnnx(data, H, cols) {
  const out = new Float32Array(data.length);
  const block = H * cols;
  [0, 3, 1, 2].forEach((src, dst) => out.set(data.subarray(src * block, (src + 1) * block), dst * block));
  return out;
}

/** (rows, cols) row-major -> (cols, rows). */
export function transpose2d(data, rows, cols) {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

// Reference outputs of lstm-wasm (WASM), passed to the peers through the shared directory.
export function writeReference(dir, name, value) {
  if (value instanceof Float32Array) writeFileSync(join(dir, `${name}.f32`), value);
  else writeFileSync(join(dir, `${name}.json`), JSON.stringify(value));
}

export function readReference(dir, name) {
  const bin = join(dir, `${name}.f32`);
  if (existsSync(bin)) {
    const buf = readFileSync(bin);
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  }
  const json = join(dir, `${name}.json`);
  return existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : null;
}
