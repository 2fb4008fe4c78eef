// TUTORIAL.md cannot rot: every ```js block in it runs, as a module of its own, in a child Node
// process inside this repository (so `import ... from 'lstm-wasm'` resolves to the built package,
// as for a user), and must exit 0: its asserts hold. The tutorial has no unfilled placeholder.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(new URL('../../TUTORIAL.md', import.meta.url), 'utf8');

/** Each ```js block with the heading of the section it is in. */
function blocks(md: string): { section: string; code: string; line: number }[] {
  const out: { section: string; code: string; line: number }[] = [];
  let section = '(before any section)';
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3);
    if (lines[i].trim() === '```js') {
      const start = i + 1;
      const end = lines.indexOf('```', start);
      expect(end, `the js block at line ${start} is closed`).toBeGreaterThan(start);
      out.push({ section, code: lines.slice(start, end).join('\n'), line: start });
      i = end;
    }
  }
  return out;
}

const all = blocks(text);

describe('TUTORIAL.md', () => {
  it('has code to run in every numbered section, and no unfilled placeholder', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
    const sections = new Set(all.map((b) => b.section));
    for (const n of [1, 2, 3, 4, 5, 6]) expect([...sections].some((s) => s.startsWith(`${n}. `)), `section ${n} has a js block`).toBe(true);
    expect(text.match(/^[A-Z_]+_RESULTS$/gm), 'placeholders left in TUTORIAL.md').toBeNull();
  });

  it.each(all.map((b) => [`${b.section} (line ${b.line})`, b] as const))('%s runs and its asserts hold', async (_, b) => {
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', b.code], { cwd: root, timeout: 60_000 }).catch((e: unknown) => {
      const err = e as { code?: unknown; stderr?: string; stdout?: string };
      throw new Error(`TUTORIAL.md line ${b.line} exited with ${err.code}\nstdout: ${err.stdout}\nstderr: ${err.stderr}`);
    });
    expect(stderr).toBe('');
  }, 90_000);
});
