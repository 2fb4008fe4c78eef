/** Flag parsing (node:util parseArgs, strict) and value checks that name the flag (flags.ts puts them in tables). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(command: string, args: string[], options: Options, allowPositionals: boolean): Parsed {
  let result;
  try {
    result = parseArgs({ args: joinNegativeValues(args, options), options, strict: true, allowPositionals });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'([^']+)'/.exec(err.message)?.[1];
    const hint = `(see: lstm-wasm ${command} --help)`;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option '${flag}' for '${command}' ${hint}`);
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`'${command}' takes no positional argument, got '${flag ?? err.message}' ${hint}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`${err.message.split('\n')[0].replace(/\.$/, '')} ${hint}`);
    throw new UsageError(`${err.message.split('\n')[0]} ${hint}`);
  }
  return { values: result.values as Parsed['values'], positionals: result.positionals };
}

/**
 * parseArgs reads the `-1` of `--seq -1` as a flag and only says "ambiguous"; a value that looks
 * like a negative number is clearly the flag's value, so pass it as `--seq=-1` and let the flag's
 * own check say what the value must be.
 */
export function joinNegativeValues(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** An integer within [min, max]. */
export function readInt(name: string, raw: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`--${name} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` in [${min}, ${max}]`}, got '${raw}'`);
  }
  return v;
}

/** A number within [min, max] (exclusive bounds where asked). */
export function readNum(name: string, raw: string, min: number, max = Infinity, minExclusive = false, maxExclusive = false): number {
  const v = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && (maxExclusive ? v < max : v <= max);
  if (!ok) {
    const lo = `${minExclusive ? '(' : '['}${min}`;
    const hi = `${max}${maxExclusive ? ')' : ']'}`;
    throw new UsageError(`--${name} must be a number in ${lo}, ${hi}, got '${raw}'`);
  }
  return v;
}

export function readChoice<T extends string>(name: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** A duration: '90', '90s', '4m', '1.5h', '500ms' -> milliseconds. */
export function readDuration(name: string, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === null) throw new UsageError(`--${name} must be a duration like 90s, 4m or 1h, got '${raw}'`);
  return ms;
}

export function parseDuration(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (m === null) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : null;
}

/** "every N steps" or "every duration": '200' -> {steps: 200}, '30s' -> {ms: 30000}, '0' -> off. */
export function readEvery(name: string, raw: string): Every {
  if (/^\d+$/.test(raw.trim())) return { steps: Number(raw), ms: 0 };
  const ms = parseDuration(raw);
  if (ms === null) throw new UsageError(`--${name} must be a number of steps (200) or a duration (30s, 1m), got '${raw}'`);
  return { steps: 0, ms };
}

export interface Every {
  steps: number;
  ms: number;
}

/**
 * A note on stderr when `--threads` asks for more threads than the cores here: each thread past
 * the cores takes time from the others and a copy of the model's memory (a worker with its own
 * wasm instance), so it is said, not silently done. The value is kept: it was asked for.
 */
export function noteThreadsAboveCores(threads: number | undefined, cores: number): void {
  if (threads === undefined || threads <= cores) return;
  process.stderr.write(
    `lstm-wasm: note: --threads ${threads} is more than the ${cores} core${cores === 1 ? '' : 's'} here: ` +
      `the extra threads share the cores (no faster) and each holds a copy of the model; --threads ${cores} or leaving it out uses every core\n`,
  );
}
