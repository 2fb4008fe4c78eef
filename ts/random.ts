/**
 * The seedable generator behind `randn`, `rand`, parameter initialization and dropout masks.
 * xoshiro128** (32-bit state words, exact in JS integer arithmetic), seeded by splitmix32.
 * Its state can be read and restored, so checkpoints resume the exact random stream.
 */
import { Tensor, type TensorOptions } from './tensor';
import { DTypeError, ValueError } from './errors';
import { checkOptions, optionKeys } from './options';
import { sizesAndOptions } from './creation';

export class Generator {
  private s = new Uint32Array(4);
  /** A second normal from Box-Muller, kept for the next call (NaN when none). */
  private spare = NaN;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    // NaN, Infinity or a string would all seed as 0: the same stream for seeds that differ.
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new ValueError(`Generator.manualSeed: seed must be a finite number (an integer, as torch.manual_seed takes), got ${typeof seed === 'string' ? `'${seed}'` : String(seed)}`);
    }
    let x = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = NaN;
    return this;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The full state, for checkpoints. */
  getState(): number[] {
    return [...this.s, Number.isNaN(this.spare) ? NaN : this.spare];
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 5) throw new ValueError(`Generator.setState: expected 5 numbers, got ${Array.isArray(state) ? state.length : typeof state}`);
    for (let i = 0; i < 4; i++) {
      if (!Number.isInteger(state[i]) || state[i] < 0 || state[i] > 0xffffffff) {
        throw new ValueError(`Generator.setState: state[${i}] must be an integer in [0, 2^32), got ${state[i]}`);
      }
    }
    // xoshiro128 never leaves the all-zero state: uniform() would return 0 forever.
    if (state.slice(0, 4).every((v) => v === 0)) throw new ValueError('Generator.setState: the first four numbers must not all be 0');
    const spare = state[4] as number | null | undefined;
    if (spare !== null && spare !== undefined && typeof spare !== 'number') {
      throw new ValueError(`Generator.setState: state[4] must be a number or null, got ${typeof spare}`);
    }
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
    this.spare = state[4] === null || state[4] === undefined ? NaN : Number(state[4]);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The global generator that `manualSeed` seeds. */
export const defaultGenerator = new Generator(0);

/** Seeds the global generator (PyTorch `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}

/**
 * A `generator` option: the Generator given, or the global one when none is (undefined or null, as
 * PyTorch's `generator=None`). Anything else is a ValueError naming `where` (`Linear`, `LSTM`), so a
 * seed passed by mistake is not read as "none".
 */
export function generatorOption(where: string, generator: unknown): Generator {
  if (generator === undefined || generator === null) return defaultGenerator;
  if (generator instanceof Generator) return generator;
  const kind = (generator as object).constructor?.name;
  const got = Array.isArray(generator) ? 'an array' : typeof generator !== 'object' ? `${typeof generator} ${String(generator)}` : kind === undefined || kind === 'Object' ? 'an object' : `a ${kind}`;
  throw new ValueError(`${where}: generator must be a Generator (new Generator(seed)), got ${got}`);
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

/** Fills a float32 tensor in place with U(low, high). */
export function uniform_(t: Tensor, low: number, high: number, generator = defaultGenerator): Tensor {
  const data = new Float32Array(t.size);
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * generator.uniform();
  t.f32().set(data);
  return t;
}

/** Fills a float32 tensor in place with N(mean, std^2). */
export function normal_(t: Tensor, mean = 0, std = 1, generator = defaultGenerator): Tensor {
  const data = new Float32Array(t.size);
  for (let i = 0; i < data.length; i++) data[i] = mean + std * generator.normal();
  t.f32().set(data);
  return t;
}

const RANDOM_KEYS = optionKeys<RandomOptions>({ requiresGrad: true, dtype: true, generator: true });

function checkRandomOptions(name: string, options: RandomOptions | undefined): RandomOptions {
  checkOptions(name, options, RANDOM_KEYS);
  if (options?.dtype !== undefined && options.dtype !== 'float32') throw new DTypeError(`${name}: samples are float32, got dtype '${String(options.dtype)}'`);
  return { ...options, generator: generatorOption(name, options?.generator) };
}

/** Standard-normal samples in the given shape: `randn([2, 3])` or `randn(2, 3)`, then options. */
export function randn(shape: readonly number[], options?: RandomOptions): Tensor;
export function randn(...sizes: [...number[], RandomOptions] | number[]): Tensor;
export function randn(...args: unknown[]): Tensor {
  const [shape, given] = sizesAndOptions<RandomOptions>('randn', args);
  const options = checkRandomOptions('randn', given);
  return normal_(new Tensor(shape, 'float32', options.requiresGrad ?? false), 0, 1, options.generator);
}

/** U[0, 1) samples in the given shape: `rand([2, 3])` or `rand(2, 3)`, then options. */
export function rand(shape: readonly number[], options?: RandomOptions): Tensor;
export function rand(...sizes: [...number[], RandomOptions] | number[]): Tensor;
export function rand(...args: unknown[]): Tensor {
  const [shape, given] = sizesAndOptions<RandomOptions>('rand', args);
  const options = checkRandomOptions('rand', given);
  return uniform_(new Tensor(shape, 'float32', options.requiresGrad ?? false), 0, 1, options.generator);
}
