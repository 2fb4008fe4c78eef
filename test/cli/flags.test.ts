// The flag tables, from source: one table makes a command's --help, its parsing, checks and defaults.
import { describe, expect, it } from 'vitest';
import { choice, command, defaults, duration, every, helpText, int, num, parseFlags, text, wantsHelp } from '../../ts/cli/flags';
import { UsageError } from '../../ts/cli/errors';
import { TRAIN } from '../../ts/cli/train';
import { GENERATE } from '../../ts/cli/generate';
import { EVAL } from '../../ts/cli/eval';
import { PREDICT } from '../../ts/cli/predict';
import { QUANTIZE } from '../../ts/cli/quantize';

const DEMO = command({
  name: 'demo',
  usage: '[options] [file...]',
  about: 'A demo command.',
  positionals: true,
  flags: {
    level: choice(['char', 'word'] as const, { section: 'Model', help: 'tokens', default: 'char' }),
    hidden: int({ section: 'Model', help: 'hidden size', default: 128, max: 8192 }),
    lr: num({ section: 'Model', help: 'learning rate', default: 3e-3, min: 0, max: 10, minExclusive: true }),
    steps: int({ section: 'How long', help: 'optimizer steps' }),
    time: duration({ section: 'How long', help: 'wall time' }),
    'eval-every': every({ section: 'Output', help: 'validate this often', default: { steps: 0, ms: 30_000 } }),
    out: text({ section: 'Output', arg: '<file>', help: 'checkpoint to write '.repeat(8).trim() }),
  },
});

describe('flag tables', () => {
  it('parse and check values; unset flags take their defaults, or stay undefined without one', () => {
    const p = parseFlags(DEMO, ['a.txt', '--hidden', '64', '--time', '90s', '--eval-every', '200', 'b.txt']);
    expect(p.values).toEqual({ level: 'char', hidden: 64, lr: 0.003, steps: undefined, time: 90_000, 'eval-every': { steps: 200, ms: 0 }, out: undefined });
    expect([...p.given].sort()).toEqual(['eval-every', 'hidden', 'time']);
    expect(p.positionals).toEqual(['a.txt', 'b.txt']);
    expect(defaults(DEMO.flags)).toEqual({ ...p.values, hidden: 128, time: undefined, 'eval-every': { steps: 0, ms: 30_000 } });
  });

  it('refuse a bad value or an unknown flag with a UsageError naming the flag and the range', () => {
    expect(() => parseFlags(DEMO, ['--hidden', '0'])).toThrow(new UsageError("--hidden must be an integer in [1, 8192], got '0'"));
    expect(() => parseFlags(DEMO, ['--lr', '-1'])).toThrow(new UsageError("--lr must be a number in (0, 10], got '-1'"));
    expect(() => parseFlags(DEMO, ['--steps', '-5'])).toThrow(new UsageError("--steps must be an integer >= 1, got '-5'"));
    expect(() => parseFlags(DEMO, ['--level', 'byte'])).toThrow(new UsageError("--level must be one of char, word, got 'byte'"));
    expect(() => parseFlags(DEMO, ['--hiddn', '5'])).toThrow(/unknown option '--hiddn' for 'demo'/);
  });

  it('make the --help text: sections in order, a default after each flag that has one, wrapped at 100 columns', () => {
    const help = helpText(DEMO);
    expect(help.startsWith('Usage: lstm-wasm demo [options] [file...]\n\nA demo command.\n\nModel:\n')).toBe(true);
    expect(help).toContain('\n  --level char|word      tokens (default char)\n');
    expect(help).toContain('\n  --lr <x>               learning rate (default 0.003)\n');
    expect(help).toContain('\n  --steps <n>            optimizer steps\n');
    expect(help).toContain('\n\nHow long:\n');
    expect(help).toContain('\n  --eval-every <n|dur>   validate this often (default 30s)\n');
    expect(help.endsWith('  -h, --help             this help\n')).toBe(true);
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(help).toMatch(/\n {25}checkpoint to write/); // a wrapped line continues under the text column
  });

  it('document every flag of train, generate, eval, predict and quantize, within 100 columns', () => {
    for (const cmd of [TRAIN, GENERATE, EVAL, PREDICT, QUANTIZE]) {
      const help = helpText(cmd);
      for (const name of Object.keys(cmd.flags)) expect(help, cmd.name).toContain(`  --${name} `);
      for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    }
  });

  it('-h or --help before any -- asks for help', () => {
    expect(wantsHelp(['--steps', '3', '-h'])).toBe(true);
    expect(wantsHelp(['--help'])).toBe(true);
    expect(wantsHelp(['--steps', '3'])).toBe(false);
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });
});
