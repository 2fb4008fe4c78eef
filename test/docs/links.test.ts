// The README is a front door and the guides in docs/ hold the depth: every relative link and
// #anchor in them must lead somewhere, the README stays short, and the ratios it quotes are the
// ones in the benchmark tables. Anchors are GitHub's: the heading's text, lower-cased, without
// punctuation, spaces turned to hyphens, "-1", "-2"... for repeats.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GENERATED = join(root, 'docs/api-reference');

/** Markdown files under `dir`, without the generated API reference. */
function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === GENERATED ? [] : markdownUnder(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

const pages = [join(root, 'README.md'), join(root, 'TUTORIAL.md'), ...markdownUnder(join(root, 'docs'))];

/** The lines of a Markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    else if (!fenced) out.push({ line: i + 1, text: l });
  });
  return out;
}

function slugsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const { text } of proseLines(readFileSync(file, 'utf8'))) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const base = m[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** Every inline link and image target outside code, with where it is written. */
function linksOf(file: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text } of proseLines(readFileSync(file, 'utf8'))) {
    const prose = text.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line, target: m[1]! });
  }
  return out;
}

describe('documentation links', () => {
  it('finds the README and the guides', () => {
    const names = pages.map((p) => relative(root, p));
    for (const guide of ['cli', 'browser-and-workers', 'api', 'memory', 'checkpoints-and-files', 'benchmarks', 'architecture']) {
      expect(names).toContain(`docs/${guide}.md`);
    }
  });

  it.each(pages.map((p) => [relative(root, p), p]))('every relative link and #anchor in %s resolves', (_, page) => {
    const broken: string[] = [];
    for (const { line, target } of linksOf(page)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const dest = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
      const where = `${relative(root, page)}:${line} -> ${target}`;
      if (!dest.startsWith(root + '/') && dest !== root) broken.push(`${where}: outside the repository`);
      else if (dest.startsWith(GENERATED)) broken.push(`${where}: the API reference is generated, not committed`);
      else if (!existsSync(dest)) broken.push(`${where}: no such file`);
      else if (anchor !== undefined) {
        if (statSync(dest).isDirectory() || !dest.endsWith('.md')) broken.push(`${where}: an anchor into a file that is not Markdown`);
        else if (!slugsOf(dest).has(anchor)) broken.push(`${where}: no heading with that anchor in ${relative(root, dest)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('checks anchors as GitHub writes them', () => {
    const slugs = slugsOf(join(root, 'docs/cli.md'));
    expect(slugs).toContain('training-a-language-model-the-lstm-wasm-command');
    expect(slugs).toContain('fast-generation-and-small-models');
  });
});

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it('is a front door: under 250 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThan(250);
  });

  it("states the pretrained model's figures as its metadata and the fine-tuning bench recorded them", () => {
    const section = readme.slice(readme.indexOf('\n## The pretrained model'), readme.indexOf('\n## ', readme.indexOf('\n## The pretrained model') + 1));
    const made = JSON.parse(readFileSync(join(root, 'pretrained/kjv-byte.json'), 'utf8'));
    expect(section).toContain(`validation loss ${made.int8ValLoss.toFixed(3)} nats/char`);
    expect(section).toContain(`${made.valLoss.toFixed(4)} before int8 quantization`);
    expect(section).toContain(`${made.steps.toLocaleString('en-US')} steps of ${made.settings.batchSize} x ${made.settings.seqLen} bytes`);
    expect(section).toContain(`It took ${Math.round(made.trainingMinutes)} minutes of training time`);
    expect(section).toContain(`2 layers of ${made.settings.hiddenSize}, embedding ${made.settings.embedDim}`);
    expect(section).toContain(`(${(made.int8Bytes / 1e6).toFixed(1)} MB)`);
    expect(made.int8Bytes, 'the issue\'s budget: at most 4 MB in the package').toBeLessThanOrEqual(4_000_000);
    expect(made.int8ValLoss, 'the issue\'s target').toBeLessThanOrEqual(1.15);
    const bench = JSON.parse(readFileSync(join(root, 'bench/results/finetune.json'), 'utf8'));
    for (const r of bench.results) {
      for (const run of [r.scratch, r.tuned]) expect(section, `${r.text}: ${run.label}`).toContain(run.valLoss.toFixed(3));
    }
    const small = bench.results.find((r: { text: string }) => r.text === 'GPL-3');
    expect(small.tuned.valLoss, 'fine-tuning beats scratch on the small text').toBeLessThan(small.scratch.bestValLoss);
  });

  it('quotes benchmark ratios that are in the tables of docs/benchmarks.md', () => {
    const section = readme.slice(readme.indexOf('\n## Benchmarks'), readme.indexOf('\n## ', readme.indexOf('\n## Benchmarks') + 1));
    const ratios = [...section.matchAll(/\b\d+\.\d+[×x]/g)].map((m) => m[0]);
    expect(ratios.length).toBeGreaterThan(5);
    const tables = readFileSync(join(root, 'docs/benchmarks.md'), 'utf8');
    expect(ratios.filter((r) => !tables.includes(r))).toEqual([]);
  });
});
