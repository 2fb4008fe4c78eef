// The two wasm builds (scripts/build-wasm.sh): SIMD128, and relaxed SIMD where the engine has it.
// Each case runs in a Node process of its own (test/backend/simd-child.mjs), with or without
// Node 20's --experimental-wasm-relaxed-simd: what init() picks, what it refuses, that the builds
// agree within the tolerance of a fused multiply-add, that each is repeatable, that data-parallel
// replicas run the trainer's build, and the CLI's choice and setup line.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCleanError, runCli } from '../support/cli';

const child = fileURLToPath(new URL('./simd-child.mjs', import.meta.url));
const RELAXED_FILE = fileURLToPath(new URL('../../dist/lstm_wasm_relaxed.wasm', import.meta.url));
const FLAG = '--experimental-wasm-relaxed-simd';

interface ChildResult {
  info?: { name: string; simd: string | null; relaxedSimdSupported: boolean };
  error?: { name: string; message: string };
  again?: 'ok' | { name: string; message: string };
  losses?: number[];
  params?: number[];
}

async function run(flag: boolean, options: object, ...rest: string[]): Promise<ChildResult> {
  const args = [...(flag ? [FLAG] : []), child, JSON.stringify(options), ...rest];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20, timeout: 120_000 });
  return JSON.parse(stdout);
}

function maxRelDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]) / scale), 0);
}

describe('init() and the two wasm builds', () => {
  it('picks the relaxed build where the engine validates relaxed SIMD, SIMD128 elsewhere, and says which', async () => {
    expect((await run(false, {})).info).toEqual({ name: 'wasm', simd: 'simd128', relaxedSimdSupported: false });
    expect((await run(true, {})).info).toEqual({ name: 'wasm', simd: 'relaxed', relaxedSimdSupported: true });
    expect((await run(true, { simd: 'simd128' })).info).toEqual({ name: 'wasm', simd: 'simd128', relaxedSimdSupported: true });
    expect((await run(true, { simd: 'relaxed' })).info).toEqual({ name: 'wasm', simd: 'relaxed', relaxedSimdSupported: true });
    expect((await run(false, { backend: 'js' })).info).toEqual({ name: 'js', simd: null, relaxedSimdSupported: false });
  });

  it('refuses what it cannot honour, with typed errors that say what to do', async () => {
    const missing = await run(false, { simd: 'relaxed' });
    expect(missing.error?.name).toBe('WasmLoadError');
    expect(missing.error?.message).toMatch(/does not validate relaxed SIMD.*--experimental-wasm-relaxed-simd.*simd128/);
    expect((await run(false, { simd: 'fast' })).error).toEqual({ name: 'ValueError', message: "init: simd must be 'auto', 'relaxed' or 'simd128', got fast" });
    expect((await run(false, { backend: 'js', simd: 'simd128' })).error?.message).toMatch(/the 'js' backend has none/);
    // The build is chosen once per process, as the backend is.
    const again = await run(true, { simd: 'simd128' }, 'again', JSON.stringify({ simd: 'relaxed' }));
    expect(again.again).toEqual({ name: 'ValueError', message: "init: simd: 'relaxed' requested, but the simd128 build is already initialized; the build is chosen once per process" });
    expect((await run(true, { simd: 'simd128' }, 'again', JSON.stringify({}))).again).toBe('ok');
    // A module given as `wasm` is what it is: `simd` checks it; without relaxed SIMD it does not compile, and the message says why.
    const mismatch = await run(true, { wasm: RELAXED_FILE, simd: 'simd128' });
    expect(mismatch.error).toEqual({ name: 'WasmLoadError', message: "lstm-wasm: init: simd: 'simd128' asked for, but the Uint8Array of " + mismatch.error!.message.match(/of (\d+) bytes/)![1] + ' bytes is the relaxed build' });
    expect((await run(true, { wasm: RELAXED_FILE })).info?.simd).toBe('relaxed');
    const noEngine = await run(false, { wasm: RELAXED_FILE });
    expect(noEngine.error?.name).toBe('WasmLoadError');
    expect(noEngine.error?.message).toMatch(/does not compile as WebAssembly.*lstm_wasm_relaxed\.wasm, the relaxed-SIMD build: this engine does not run relaxed SIMD; load lstm_wasm\.wasm/);
  });

  it('trains to within float32 rounding of the SIMD128 build, and each build repeats itself bit for bit', async () => {
    const [s1, s2, r1, r2] = await Promise.all([run(false, {}, 'train'), run(false, {}, 'train'), run(true, {}, 'train'), run(true, {}, 'train')]);
    expect(s1.info?.simd).toBe('simd128');
    expect(r1.info?.simd).toBe('relaxed');
    expect(s2.params).toEqual(s1.params);
    expect(r2.params).toEqual(r1.params);
    expect(r2.losses).toEqual(r1.losses);
    // Relaxed products may be fused (one rounding instead of two): after 12 Adam steps the
    // parameters stay within 1e-4 of the SIMD128 run's (relative to their largest), the losses within 1e-5.
    const d = maxRelDiff(r1.params!, s1.params!);
    expect(d).toBeLessThan(1e-4);
    expect(d, 'the relaxed products ran at all (fused roundings differ somewhere)').toBeGreaterThan(0);
    expect(maxRelDiff(r1.losses!, s1.losses!)).toBeLessThan(1e-5);
  });

  it("data-parallel replicas run the trainer's build (a forced SIMD128 build in a Node that has relaxed SIMD)", async () => {
    const [one, two] = await Promise.all([run(true, { simd: 'simd128' }, 'train', '1'), run(true, { simd: 'simd128' }, 'train', '2')]);
    expect(two.error).toBeUndefined();
    expect(two.info?.simd).toBe('simd128');
    // Two replicas sum in another order than one thread: close, and the run did split the batch.
    expect(maxRelDiff(two.params!, one.params!)).toBeLessThan(1e-4);
  });
});

describe('the CLI and LSTM_WASM_SIMD', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-simd-'));
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'a small text to train on for one step. '.repeat(40));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const train = (env: Record<string, string>) =>
    runCli(['train', text, '--steps', '1', '--hidden', '16', '--embed', '8', '--batch', '2', '--seq', '8', '--out', join(dir, 'm.safetensors')], { cwd: dir, env });

  const kernelsLine = (stdout: string) => stdout.split('\n').find((l) => l.startsWith('  kernels: '));
  const node20 = Number(process.versions.node.split('.')[0]) < 22;

  it('by default computes as the library does in this Node; LSTM_WASM_SIMD=relaxed sets the V8 flag on Node 20 and says so', async () => {
    const r = await train({});
    expect(r.code, r.stderr).toBe(0);
    expect(kernelsLine(r.stdout)).toBe(node20
      ? '  kernels: wasm, SIMD128 (this Node runs relaxed SIMD only with LSTM_WASM_SIMD=relaxed)'
      : '  kernels: wasm, relaxed SIMD (LSTM_WASM_SIMD=simd128 for the SIMD128 build)');
    const relaxed = await train({ LSTM_WASM_SIMD: 'relaxed' });
    expect(relaxed.code, relaxed.stderr).toBe(0);
    expect(kernelsLine(relaxed.stdout)).toBe(node20
      ? `  kernels: wasm, relaxed SIMD (LSTM_WASM_SIMD=relaxed; on Node ${process.versions.node} this command set V8's --experimental-wasm-relaxed-simd)`
      : '  kernels: wasm, relaxed SIMD (LSTM_WASM_SIMD=relaxed)');
  });

  it('LSTM_WASM_SIMD=simd128 forces the SIMD128 build; a value it does not know is a usage error', async () => {
    const r = await train({ LSTM_WASM_SIMD: 'simd128' });
    expect(r.code, r.stderr).toBe(0);
    expect(kernelsLine(r.stdout)).toBe('  kernels: wasm, SIMD128 (LSTM_WASM_SIMD=simd128)');
    expectCleanError(await runCli(['generate', '--length', '5'], { cwd: dir, env: { LSTM_WASM_SIMD: 'fast' } }), /LSTM_WASM_SIMD must be auto, relaxed or simd128, got "fast"/, 2);
  });
});
