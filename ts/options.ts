/**
 * Options objects are checked, never silently half-read: an unknown key is a ValueError naming it,
 * and a key spelled another way (PyTorch's snake_case `num_layers`, or `batchfirst`) names the
 * camelCase spelling this library uses (`numLayers`). Every function or constructor that takes an
 * options object calls `checkOptions` before reading it.
 */
import { ValueError } from './errors';

/**
 * The keys of an options interface as a table, so the compiler checks the list is complete and has
 * no extra key: `const KEYS = optionKeys<LSTMOptions>({ numLayers: true, ... })`.
 */
export function optionKeys<T>(table: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(table);
}

/** `num_layers`, `NumLayers`, `numlayers` -> `numlayers`: the spelling-insensitive form of a key. */
function squash(key: string): string {
  return key.replace(/[_-]/g, '').toLowerCase();
}

/** Levenshtein distance, for "did you mean" on typos (`nestrov`, `backends`). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known key `key` most likely means: same letters ignoring case and `_`, or a typo away. */
function nearest(key: string, known: readonly string[]): string | undefined {
  const exact = known.find((k) => squash(k) === squash(key));
  if (exact !== undefined) return exact;
  const limit = squash(key).length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(squash(k), squash(key));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Throws a ValueError unless `options` is undefined, null, or a plain object whose own keys are all
 * in `known`. `where` names the caller in the message (`LSTM`, `Adam`, `crossEntropy`).
 */
export function checkOptions(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  const example = `{ ${known.slice(0, 3).join(', ')}${known.length > 3 ? ', ...' : ''} }`;
  if (typeof options !== 'object') {
    const shown = typeof options === 'string' ? `'${options}'` : String(options);
    throw new ValueError(`${where}: options must be an object like ${example}, got ${typeof options} ${shown}`);
  }
  // A class instance (an array, a Map, a Generator passed where its options object goes) is a
  // misplaced argument, not options: its fields would read as unknown keys.
  const proto = Object.getPrototypeOf(options) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const kind = (options as object).constructor?.name ?? 'object';
    throw new ValueError(`${where}: options must be a plain object like ${example}, got ${Array.isArray(options) ? 'an array' : `a ${kind}`}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    if (near !== undefined && squash(near) === squash(key)) {
      throw new ValueError(`${where}: unknown option '${key}' (did you mean ${near}? options are camelCase: ${key} -> ${near})`);
    }
    if (near !== undefined) throw new ValueError(`${where}: unknown option '${key}' (did you mean ${near}?)`);
    throw new ValueError(`${where}: unknown option '${key}' (known options: ${known.length > 0 ? known.join(', ') : 'none'})`);
  }
}

/**
 * Throws a ValueError unless `signal` is undefined or an AbortSignal (something with a boolean
 * `aborted` and add/removeEventListener): an object that only looks like one would never stop
 * anything, or fail half-way through a call.
 */
export function checkSignal(where: string, signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
  if (s !== null && typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function') return;
  const got = s === null ? 'null' : typeof s === 'object' ? `an object without ${typeof s.aborted !== 'boolean' ? 'a boolean aborted' : 'addEventListener/removeEventListener'}` : typeof s;
  throw new ValueError(`${where}: signal must be an AbortSignal (new AbortController().signal), got ${got}`);
}

/** Throws a ValueError unless `value` is undefined or a function. */
export function checkCallback(where: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new ValueError(`${where}: ${name} must be a function, got ${value === null ? 'null' : typeof value}`);
}
