/**
 * A command's flags as one table. Each flag is written once, with its --help line, its check and
 * its default; the table makes the command's `--help` text, its node:util parseArgs options and
 * its typed, checked values:
 *
 *   const GENERATE = command({ name: 'generate', ..., flags: { length: int({ arg: '<n>', help: 'tokens to generate', default: 500, min: 0 }) } });
 *   const { values } = parseFlags(GENERATE, argv);   // values.length: number, checked
 *
 * A flag with a `default` is always set; one without is `undefined` unless given.
 */
import type { Setting } from '../training/settings';
import { parse, readChoice, readDuration, readEvery, readInt, readNum, type Every, type Options } from './args';

export interface Flag<T, HasDefault extends boolean = boolean> {
  /** The value's form in --help: '<n>', 'char|word'. */
  arg: string;
  /** What it does, for --help; ` (default X)` is appended when the flag has a default. */
  help: string;
  default: HasDefault extends true ? T : undefined;
  /** The --help section it is listed under (flags without one are listed without a heading). */
  section?: string;
  /** Checks the given text: the value, or a UsageError naming the flag. */
  read(raw: string, name: string): T;
  /** The default as --help shows it. */
  show(value: T): string;
}

export type FlagTable = Record<string, Flag<unknown, boolean>>;

/** The checked values of a table's flags: `T`, or `T | undefined` for a flag without a default. */
export type FlagValues<F extends FlagTable> = {
  [K in keyof F]: F[K] extends Flag<infer T, true> ? T : F[K] extends Flag<infer T, false> ? T | undefined : never;
};

interface Described {
  help: string;
  arg?: string;
  section?: string;
}

type WithDefault<T, D> = Flag<T, D extends undefined ? false : true>;

function flag<T, D extends T | undefined>(o: Described & { default?: D }, arg: string, read: Flag<T>['read'], show: (v: T) => string = String): WithDefault<T, D> {
  return { arg: o.arg ?? arg, help: o.help, section: o.section, default: o.default as never, read, show };
}

/** An integer in [min, max] (default min 1). */
export function int<D extends number | undefined = undefined>(o: Described & { default?: D; min?: number; max?: number }): WithDefault<number, D> {
  return flag(o, '<n>', (raw, name) => readInt(name, raw, o.min ?? 1, o.max));
}

/** A number in [min, max], either bound exclusive where asked. */
export function num<D extends number | undefined = undefined>(
  o: Described & { default?: D; min: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean },
): WithDefault<number, D> {
  return flag(o, '<x>', (raw, name) => readNum(name, raw, o.min, o.max, o.minExclusive, o.maxExclusive));
}

/** One of `choices`. */
export function choice<C extends string, D extends C | undefined = undefined>(choices: readonly C[], o: Described & { default?: D }): WithDefault<C, D> {
  return flag<C, D>(o, choices.join('|'), (raw, name) => readChoice(name, raw, choices));
}

/** A duration ('90s', '4m', '1h'), in milliseconds. */
export function duration(o: Described): Flag<number, false> {
  return flag<number, undefined>(o, '<dur>', (raw, name) => readDuration(name, raw));
}

/** A number of steps or a duration ('200', '30s'); 0 is off. */
export function every<D extends Every | undefined = undefined>(o: Described & { default?: D }): WithDefault<Every, D> {
  return flag<Every, D>(o, '<n|dur>', (raw, name) => readEvery(name, raw), showEvery);
}

/** Any text (a path, a prime). */
export function text<D extends string | undefined = undefined>(o: Described & { default?: D }): WithDefault<string, D> {
  return flag<string, D>(o, '<text>', (raw) => raw);
}

type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** The flags of a table of settings (training/settings.ts), each named by its `flag`. */
export type SettingFlags<S extends Record<string, Setting<unknown>>> = { [K in keyof S as S[K]['flag']]: Flag<SettingValue<S[K]>, true> };

/** A flag for each setting, with the setting's default, range and help, under `section` in --help. */
export function settingFlags<S extends Record<string, Setting<unknown>>>(settings: S, section: string): SettingFlags<S> {
  const out: Record<string, Flag<unknown, true>> = {};
  for (const s of Object.values(settings)) {
    const r = s.range;
    const o = { section, help: s.help, arg: s.arg, default: s.default as never };
    out[s.flag] = r.kind === 'choice' ? choice(r.choices, o)
      : r.kind === 'int' ? int({ ...o, min: r.min, max: r.max })
      : num({ ...o, min: r.min, max: r.max, minExclusive: r.minOpen, maxExclusive: r.maxOpen });
  }
  return out as SettingFlags<S>;
}

export interface Command<F extends FlagTable> {
  name: string;
  /** After `Usage: lstm-wasm <name> `: '[options] [file...]'. */
  usage: string;
  /** The paragraph(s) between the usage line and the flags. */
  about: string;
  positionals: boolean;
  flags: F;
}

/** Declares a command (an identity function that keeps the table's types). */
export function command<F extends FlagTable>(c: Command<F>): Command<F> {
  return c;
}

export interface ParsedFlags<F extends FlagTable> {
  values: FlagValues<F>;
  /** The flags given on the command line (the others hold their defaults). */
  given: Set<keyof F & string>;
  positionals: string[];
}

/** Parses and checks `argv` against the command's table: a UsageError naming the flag if it does not fit. */
export function parseFlags<F extends FlagTable>(cmd: Command<F>, argv: string[]): ParsedFlags<F> {
  const options: Options = {};
  for (const name of Object.keys(cmd.flags)) options[name] = { type: 'string' };
  const p = parse(cmd.name, argv, options, cmd.positionals);
  const values = defaults(cmd.flags);
  const given = new Set<keyof F & string>();
  for (const [name, spec] of Object.entries(cmd.flags)) {
    const raw = p.values[name];
    if (typeof raw !== 'string') continue;
    (values as Record<string, unknown>)[name] = spec.read(raw, name);
    given.add(name);
  }
  return { values, given, positionals: p.positionals };
}

/** The table's defaults (undefined for a flag without one). */
export function defaults<F extends FlagTable>(flags: F): FlagValues<F> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(flags)) values[name] = spec.default;
  return values as FlagValues<F>;
}

/** True when `argv` asks for help (-h or --help before any `--`); the dispatcher answers it. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}

const HELP_WIDTH = 100;
const HELP_COLUMN = 25;

/** The command's --help: usage, about, then each section's flags, one per line, wrapped at 100 columns. */
export function helpText(cmd: Command<FlagTable>): string {
  const lines = [`Usage: lstm-wasm ${cmd.name} ${cmd.usage}`, '', cmd.about.trimEnd(), ''];
  const sections = new Map<string | undefined, string[]>();
  for (const [name, spec] of Object.entries(cmd.flags)) {
    const help = spec.default === undefined ? spec.help : `${spec.help} (default ${spec.show(spec.default)})`;
    if (!sections.has(spec.section)) sections.set(spec.section, []);
    sections.get(spec.section)!.push(...flagLines(`--${name} ${spec.arg}`, help));
  }
  const entries = [...sections];
  entries.forEach(([heading, flagLinesOf], i) => {
    if (heading !== undefined) lines.push(`${heading}:`);
    lines.push(...flagLinesOf);
    if (i === entries.length - 1) lines.push(...flagLines('-h, --help', 'this help'));
    else lines.push('');
  });
  return lines.join('\n') + '\n';
}

/** `  --flag <arg>           help text` wrapped so that continuation lines start at HELP_COLUMN. */
function flagLines(left: string, help: string): string[] {
  const head = `  ${left}`;
  const out: string[] = [];
  let line = head.length < HELP_COLUMN ? head.padEnd(HELP_COLUMN) : `${head} `;
  let empty = true;
  for (const word of help.split(/\s+/)) {
    if (!empty && line.length + 1 + word.length > HELP_WIDTH) {
      out.push(line);
      line = ' '.repeat(HELP_COLUMN);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  out.push(line);
  return out;
}

/** '30s', '1m', '200 steps' (0: off) */
function showEvery(e: Every): string {
  if (e.steps > 0) return `${e.steps} steps`;
  if (e.ms <= 0) return '0';
  if (e.ms % 3_600_000 === 0) return `${e.ms / 3_600_000}h`;
  if (e.ms % 60_000 === 0) return `${e.ms / 60_000}m`;
  return e.ms % 1000 === 0 ? `${e.ms / 1000}s` : `${e.ms}ms`;
}
