// The TypeScript layer has no import cycle: every module can be read (and changed) knowing only
// the modules below it. `import type` does not count (it is erased from the build).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of a file that survive compilation, as absolute paths. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const statement = /^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+'(\.[^']+)'/gms;
  for (const m of text.matchAll(statement)) {
    if (m[1]) continue; // import type / export type
    const clause = m[2];
    // `import { type A, type B } from` is type-only too.
    const names = /^\{([^}]*)\}$/.exec(clause.trim());
    if (names && names[1].split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    if (!m[3].endsWith('.json')) found.push(resolveModule(dirname(file), m[3]));
  }
  for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) found.push(resolveModule(dirname(file), m[1]));
  return found;
}

function resolveModule(from: string, spec: string): string {
  const base = resolve(from, spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(`imports test: cannot resolve '${spec}' from ${relative(root, from)}`);
}

/** Every cycle found by a depth-first walk, each as a list of files relative to ts/. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'active') found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('the import graph of ts/', () => {
  const files = sourceFiles(root);
  const graph = new Map(files.map((f) => [f, valueImports(f)]));

  it('is read from every source file (the parser finds the imports)', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(graph.get(join(root, 'index.ts'))?.length).toBeGreaterThan(5);
  });

  it('has no cycle', () => {
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('keeps tensor.ts a leaf of the ops: it imports no op', () => {
    const fromTensor = graph.get(join(root, 'tensor.ts')) ?? [];
    expect(fromTensor.map((f) => relative(root, f)).filter((f) => f.startsWith('ops/'))).toEqual([]);
  });
});

/** A file's floor: its folder under ts/ (`nn`, `text`, ...), or the file itself for the top-level ones (`tensor.ts`). */
function floorOf(file: string): string {
  const rel = relative(root, file);
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
}

/**
 * The application's floors, lowest first (ARCHITECTURE.md): each imports only from floors below
 * it, and from the library's lower floors (tensor, ops, nn, ...).
 */
const APPLICATION_FLOORS = ['workers', 'text', 'lm', 'parallel', 'training', 'session', 'cli'];
/** The entry points, beside each other on top: they import anything and nothing imports them. */
const ENTRY_POINTS = ['index.ts', 'worker.ts'];

describe('the floors of ts/ (folders, and the top-level files)', () => {
  const files = sourceFiles(root);
  const floorGraph = new Map<string, Set<string>>();
  for (const f of files) {
    const from = floorOf(f);
    if (!floorGraph.has(from)) floorGraph.set(from, new Set());
    for (const to of valueImports(f)) if (floorOf(to) !== from) floorGraph.get(from)!.add(floorOf(to));
  }
  const edges = (floor: string): string[] => [...(floorGraph.get(floor) ?? [])].sort();

  it('have no cycle between them', () => {
    const graph = new Map([...floorGraph].map(([k, v]) => [join(root, k), [...v].map((t) => join(root, t))]));
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it.each(APPLICATION_FLOORS.map((floor, i) => [floor, APPLICATION_FLOORS.slice(i + 1)] as const))(
    '%s imports no floor above it',
    (floor, above) => {
      expect(floorGraph.has(floor)).toBe(true);
      expect(edges(floor).filter((to) => above.includes(to) || ENTRY_POINTS.includes(to))).toEqual([]);
    },
  );

  it('the library floors below the application import none of it', () => {
    const lower = [...floorGraph.keys()].filter((f) => !APPLICATION_FLOORS.includes(f) && !ENTRY_POINTS.includes(f));
    expect(lower.length).toBeGreaterThan(10);
    for (const floor of lower) expect([floor, edges(floor).filter((to) => APPLICATION_FLOORS.includes(to) || ENTRY_POINTS.includes(to))]).toEqual([floor, []]);
  });
});
