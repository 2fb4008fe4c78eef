// The built package as users get it: child Node processes import `lstm-wasm` through package.json
// "exports" (Node resolves a package's own name from inside it), once as ESM and once as CommonJS,
// initialise it and run a small forward + backward pass. No vitest alias is involved.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { matmulTanhReference } from '../support/matmul-tanh';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

// x is (2,3), w is (3,2); loss = sum(tanh(x @ w)).
const X = [1, 2, 3, 4, 5, 6];
const W = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];

// Body shared by both module systems; `lib` is the imported package, `resolved` where Node found it.
const body = `
  await lib.init();
  await lib.init(); // idempotent
  const x = lib.tensor(${JSON.stringify(X)}, [2, 3], { requiresGrad: true });
  const w = lib.tensor(${JSON.stringify(W)}, [3, 2], { requiresGrad: true });
  const y = x.matmul(w);
  const loss = y.tanh().sum();
  loss.backward();
  console.log(JSON.stringify({
    resolved,
    yShape: Array.from(y.shape),
    loss: loss.item(),
    dx: Array.from(x.grad.toArray()),
    dxShape: Array.from(x.grad.shape),
  }));
`;

const esmScript = `
  const resolved = import.meta.resolve('lstm-wasm');
  const lib = await import('lstm-wasm');
  ${body}
`;

const cjsScript = `
  const resolved = require.resolve('lstm-wasm');
  const lib = require('lstm-wasm');
  (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });
`;

interface ChildResult {
  resolved: string;
  yShape: number[];
  loss: number;
  dx: number[];
  dxShape: number[];
}

async function runNode(args: string[]): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 30_000 }).catch((e: unknown) => {
    const err = e as { code?: unknown; stderr?: string; stdout?: string };
    throw new Error(`node ${args[0]} --eval <script> exited with ${err.code}\nstdout: ${err.stdout}\nstderr: ${err.stderr}`);
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(lastLine) as ChildResult;
}

function expectCorrect(result: ChildResult) {
  const ref = matmulTanhReference(X, W);
  expect(result.yShape).toEqual([2, 2]);
  expect(result.dxShape).toEqual([2, 3]);
  expect(result.loss).toBeCloseTo(ref.loss, 5);
  expect(result.dx).toHaveLength(6);
  result.dx.forEach((v, i) => expect(Math.abs(v - ref.dx[i]!), `x.grad[${i}] = ${v}, reference ${ref.dx[i]}`).toBeLessThan(1e-5));
}

// A training session from each build: the worker (dist/worker.js) is found beside index.js and
// beside index.cjs (where import.meta.url is shimmed), trains two steps and reports them.
const sessionBody = `
  const session = await lib.createTrainingSession({ text: 'abcabcabd '.repeat(50), settings: { hiddenSize: 4, embedDim: 2, batchSize: 2, seqLen: 4 } });
  const run = await session.train({ steps: 2 });
  await session.dispose();
  console.log(JSON.stringify({ resolved, steps: run.steps, finalLoss: run.finalLoss }));
`;

describe('built package', () => {
  beforeAll(() => {
    for (const file of ['index.js', 'index.cjs', 'index.d.ts']) {
      if (!existsSync(dist(file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
    }
  });

  it('package.json exports point at files that exist', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.name).toBe('lstm-wasm');
    const dot = pkg.exports['.'];
    for (const target of [dot.import.types, dot.import.default, dot.require.types, dot.require.default]) {
      expect(existsSync(fileURLToPath(new URL(`../../${target}`, import.meta.url))), target).toBe(true);
    }
    // A conditional entry (import/require, each with types and code) counts as each of its files.
    const targetsOf = (t: unknown): string[] => (typeof t === 'string' ? [t] : Object.values(t as object).flatMap(targetsOf));
    const others = Object.entries(pkg.exports).filter(([key]) => key !== '.' && key !== './package.json').flatMap(([key, t]) => targetsOf(t).map((f) => [key, f])) as [string, string][];
    expect(others.map(([key]) => key)).toEqual(expect.arrayContaining(['./worker', './corpus/kjv.txt.gz', './pretrained', './onnx']));
    for (const [key, target] of others) {
      expect(existsSync(fileURLToPath(new URL(`../../${target}`, import.meta.url))), `${key} -> ${target}`).toBe(true);
      expect(pkg.files.some((f: string) => target.startsWith(`./${f}`)), `${target} is in "files" (published)`).toBe(true);
    }
  });

  it('dist/index.d.ts declares and exports init', () => {
    const dts = readFileSync(dist('index.d.ts'), 'utf8');
    expect(dts).toMatch(/export\s*\{[^}]*\binit\b[^}]*\}|export\s+(declare\s+)?(async\s+)?function\s+init\b/);
  });

  it('imports from ESM through "exports" and computes a forward and backward pass', async () => {
    const result = await runNode(['--input-type=module', '--eval', esmScript]);
    expect(result.resolved).toBe(new URL('../../dist/index.js', import.meta.url).href);
    expectCorrect(result);
  });

  it('requires from CommonJS through "exports" and computes a forward and backward pass', async () => {
    const result = await runNode(['--input-type=commonjs', '--eval', cjsScript]);
    expect(result.resolved).toBe(dist('index.cjs'));
    expectCorrect(result);
  });

  it.each([
    ['ESM', ['--input-type=module', '--eval', `const resolved = import.meta.resolve('lstm-wasm'); const lib = await import('lstm-wasm'); ${sessionBody}`]],
    ['CommonJS', ['--input-type=commonjs', '--eval', `const resolved = require.resolve('lstm-wasm'); const lib = require('lstm-wasm'); (async () => { ${sessionBody} })().catch((e) => { console.error(e); process.exit(1); });`]],
  ])('starts a training session in a worker from the %s build', async (_, args) => {
    const result = (await runNode(args)) as unknown as { steps: number; finalLoss: number };
    expect(result.steps).toBe(2);
    expect(Number.isFinite(result.finalLoss) && result.finalLoss > 0).toBe(true);
  });
});
