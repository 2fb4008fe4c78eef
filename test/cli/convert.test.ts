// `lstm-wasm convert` as users run it (`node dist/cli.js` in a child process) on the torch.save
// fixtures (test/fixtures/torch): the safetensors it writes hold loadTorch's tensors under their
// flattened keys, bit for bit, and plain values as JSON metadata; what it prints; every bad input
// one clear line (the hostile pickle's command never runs); and its --help.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, loadTorch, readSafetensors, Tensor, type TorchDict, type TorchValue } from 'lstm-wasm';
import { CLI, expectCleanError, runCli, type CliRun } from '../support/cli';
import { fixturesDir } from '../nn/fixture-helpers';

const fixtures = `${fixturesDir}torch/`;
let dir: string;
const run = (args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });

beforeAll(async () => {
  await init();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-convert-'));
  for (const f of ['pos_tagger.pt', 'adam.pt', 'dtypes.pt', 'legacy.pt', 'os_system.pt', 'int64_range.pt', 'deflated.pt']) copyFileSync(fixtures + f, join(dir, f));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every tensor of a loaded value under its '.'-joined key. */
function flat(v: TorchValue, key = '', out = new Map<string, Tensor>()): Map<string, Tensor> {
  if (v instanceof Tensor) out.set(key, v);
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) flat(x, key === '' ? k : `${key}.${k}`, out);
  return out;
}

function expectSameTensors(safetensorsPath: string, ptPath: string): void {
  const { tensors } = readSafetensors(readFileSync(safetensorsPath));
  const want = flat(loadTorch<TorchDict>(readFileSync(ptPath)));
  expect(Object.keys(tensors).sort()).toEqual([...want.keys()].sort());
  for (const [k, t] of want) {
    expect(tensors[k].dtype, k).toBe(t.dtype);
    expect(Array.from(tensors[k].shape), k).toEqual(Array.from(t.shape));
    expect(Buffer.from(tensors[k].toArray().buffer).equals(Buffer.from(t.toArray().buffer)), `${k}: bit for bit`).toBe(true);
  }
  Object.values(tensors).forEach((t) => t.dispose());
  new Set(want.values()).forEach((t) => t.dispose());
}

describe('lstm-wasm convert', () => {
  it('a module state_dict: every tensor, bit for bit, under its state_dict key; says what it wrote', async () => {
    const r = await run(['convert', 'pos_tagger.pt', '--out', 'pos.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('pos.safetensors: 7 tensors from pos_tagger.pt\n');
    expectSameTensors(join(dir, 'pos.safetensors'), join(dir, 'pos_tagger.pt'));
    const { tensors } = readSafetensors(readFileSync(join(dir, 'pos.safetensors')));
    expect(Object.keys(tensors)).toContain('lstm.weight_ih_l0');
    Object.values(tensors).forEach((t) => t.dispose());
  });

  it('dtypes.pt: conversions listed by dtype, nested keys joined with \'.\', plain values kept as JSON metadata', async () => {
    const r = await run(['convert', 'dtypes.pt', '--out', 'out/dtypes.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    // 18 keys: the one tensor saved as i32 and as twice is written under both.
    expect(lines[0]).toBe('out/dtypes.safetensors: 18 tensors from dtypes.pt');
    expect(lines).toContain('  converted float64 -> float32: 1 (f64)');
    expect(lines).toContain('  converted int64 -> int32: 1 (i64)');
    expect(lines).toContain('  converted bool -> int32: 1 (bool)');
    expect(lines.at(-1)).toMatch(/^ {2}13 plain values kept in the metadata as JSON \(n, x, s, \.\.\.\)$/);
    expectSameTensors(join(dir, 'out/dtypes.safetensors'), join(dir, 'dtypes.pt'));
    const { tensors, metadata } = readSafetensors(readFileSync(join(dir, 'out/dtypes.safetensors')));
    expect(Object.keys(tensors)).toContain('nested.a.b');
    expect(metadata).toMatchObject({ n: '3', x: '0.25', s: '"hello"', flag: 'true', none: 'null', big: '1152921504606846976', 'list.2': '"three"', 'list.3.0': '4', 'tuple.1': '2', 'nested.0': '"int key"' });
    Object.values(tensors).forEach((t) => t.dispose());
  });

  it('an optimizer state_dict: state.<index>.<buffer> tensors, param_groups as metadata', async () => {
    const r = await run(['convert', 'adam.pt', '--out', 'adam.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const { tensors, metadata } = readSafetensors(readFileSync(join(dir, 'adam.safetensors')));
    expect(Object.keys(tensors).sort()).toEqual(['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.0.step', 'state.1.exp_avg', 'state.1.exp_avg_sq', 'state.1.step']);
    expect(metadata).toMatchObject({ 'param_groups.0.lr': '0.05', 'param_groups.0.betas.0': '0.8', 'param_groups.0.params.1': '1', 'param_groups.0.foreach': 'null' });
    Object.values(tensors).forEach((t) => t.dispose());
  });
});

describe('lstm-wasm convert: bad input (one clear error line)', () => {
  it('refused files: the legacy format, a hostile pickle (its command never runs), int64 out of range, a deflated zip (exit 1)', async () => {
    const marker = JSON.parse(readFileSync(`${fixtures}expected.json`, 'utf8')).refused['os_system.pt'].marker as string;
    rmSync(marker, { force: true });
    for (const [f, pattern] of [
      ['legacy.pt', /legacy\.pt: torch file: legacy torch\.save format .*re-save it with torch >= 1\.6/],
      ['os_system.pt', /os_system\.pt: torch file: data\.pkl: global 'posix\.system' is not allowed/],
      ['int64_range.pt', /int64_range\.pt: torch file: int64 tensor 'ids' has 1099511627776 at flat index 1, outside int32's range/],
      ['deflated.pt', /deflated\.pt: torch file: zip: entry 'pos_tagger\/data\.pkl' is deflated.*zip -0/],
    ] as const) {
      const r = await run(['convert', f, '--out', 'x.safetensors']);
      expectCleanError(r, pattern, 1);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(marker), 'the hostile pickle ran').toBe(false);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('a missing input or --out, two inputs, an unknown flag, --out the input (exit 2); a missing file, a directory (exit 1)', async () => {
    expectCleanError(await run(['convert', '--out', 'x.safetensors']), /convert needs a torch\.save file: lstm-wasm convert model\.pt --out model\.safetensors/, 2);
    expectCleanError(await run(['convert', 'pos_tagger.pt']), /convert needs --out <file> \(see: lstm-wasm convert --help\)/, 2);
    expectCleanError(await run(['convert', 'pos_tagger.pt', 'adam.pt', '--out', 'x.safetensors']), /convert takes one torch\.save file, got 2/, 2);
    expectCleanError(await run(['convert', 'pos_tagger.pt', '--out', 'x.safetensors', '--dtype', 'f16']), /unknown option '--dtype' for 'convert'/, 2);
    const before = readFileSync(join(dir, 'pos_tagger.pt'));
    expectCleanError(await run(['convert', 'pos_tagger.pt', '--out', './pos_tagger.pt']), /--out \.\/pos_tagger\.pt is the input file/, 2);
    expect(readFileSync(join(dir, 'pos_tagger.pt')).equals(before)).toBe(true);
    expectCleanError(await run(['convert', 'nope.pt', '--out', 'x.safetensors']), /nope\.pt: no such file/, 1);
    expectCleanError(await run(['convert', '.', '--out', 'x.safetensors']), /\.: is a directory, expected a torch\.save file/, 1);
    expectCleanError(await run(['convert', 'pos_tagger.pt', '--out', '.']), /--out \.: is a directory/, 1);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('is listed in the tool help, and convert --help documents it within 100 columns', async () => {
    const top = await run(['--help']);
    expect(top.stdout).toMatch(/^ {2}convert <model\.pt> --out <f>$/m);
    for (const args of [['convert', '--help'], ['help', 'convert']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: lstm-wasm convert <model\.pt> --out <model\.safetensors>\n/);
      expect(r.stdout).toContain('  --out <file> ');
      for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    }
  });
});
