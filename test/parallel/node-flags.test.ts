// Node's own flags and signals around the worker threads lstm-wasm starts:
// - `node <flags> app.js` (V8 and process-wide flags: --max-old-space-size, --expose-gc,
//   --stack-size, --title) no longer breaks sessions, data-parallel training or `lstm-wasm train
//   --threads` (before, the library passed process.execArgv to its workers, and Node refuses those
//   flags there: ERR_WORKER_INVALID_EXEC_ARGV, exit 70 "internal error"); with a script given on
//   the command line (-e / -p / --input-type) the workers still start;
// - SIGTERM during `lstm-wasm train` saves the checkpoint and exits 143 (SIGINT: 130);
// - --threads above the cores available is allowed, with a note on stderr (train and eval).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../dist/index.js';
import { DIST_INDEX, fullCorpus } from '../session/session-kit';
import { CLI, runCli, type CliOptions, type CliRun } from '../support/cli';

const CORES = availableParallelism();
const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-node-flags-'));
const TEXT = join(dir, 'text.txt');
writeFileSync(TEXT, fullCorpus().slice(0, 40_000));
const TINY = ['--embed', '8', '--hidden', '16', '--seq', '16', '--sample-every', '0'];
/** The flags Node refuses in a worker's explicit execArgv, but gives every worker by itself. */
const REFUSED_IN_WORKERS = ['--max-old-space-size=4096', '--expose-gc', '--stack-size=2000', '--title=lwtest'];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface NodeRun extends CliRun {
  ms: number;
}

/** `node ...args` in the temporary directory; SIGKILLed after `timeoutMs`. */
function runNode(args: string[], timeoutMs = 30_000): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const cli = (args: string[], onStdout?: CliOptions['onStdout']): Promise<CliRun> => runCli(args, { cwd: dir, onStdout, killAfterMs: 45_000 });

/** Given `createTrainingSession` and `text`: a session on 2 threads trains 2 steps and prints one RESULT line. */
const TRAIN_AND_REPORT = `
const session = await createTrainingSession({ text, settings: { hiddenSize: 16, embedDim: 8, batchSize: 4, seqLen: 16 }, threads: 2 });
try {
  const run = await session.train({ steps: 2, evalEvery: 0 });
  console.log('RESULT ' + JSON.stringify({ steps: run.steps, step: session.step, threads: session.info.threads, gc: typeof globalThis.gc, execArgv: process.execArgv }));
} finally {
  await session.dispose();
}
`;

/** TRAIN_AND_REPORT as ES module code importing the built package by file URL. */
const SESSION_CODE = `
import { readFileSync } from 'node:fs';
import { createTrainingSession } from ${JSON.stringify(pathToFileURL(DIST_INDEX).href)};
const text = readFileSync(${JSON.stringify(TEXT)}, 'utf8');
${TRAIN_AND_REPORT}`;
const SCRIPT = join(dir, 'session.mjs');
writeFileSync(SCRIPT, SESSION_CODE);

/** The same with the CommonJS build, for `node -p` (which evaluates CommonJS). */
const SESSION_CJS = `(async () => {
  const { createTrainingSession } = require(${JSON.stringify(DIST_INDEX.replace(/\.js$/, '.cjs'))});
  const text = require('node:fs').readFileSync(${JSON.stringify(TEXT)}, 'utf8');
  ${TRAIN_AND_REPORT}
})(), 'started'`;

interface SessionResult {
  steps: number;
  step: number;
  threads: number;
  gc: string;
  execArgv: string[];
}

/** The run's RESULT line, after checking it exited 0 with nothing on stderr. */
function sessionResult(r: NodeRun): SessionResult {
  const why = `exit ${r.code} (signal ${r.signal}) after ${r.ms} ms\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  expect(r.code, why).toBe(0);
  expect(r.stderr, why).not.toMatch(/ERR_WORKER|WorkerError|Error/);
  const line = /^RESULT (.*)$/m.exec(r.stdout);
  expect(line, why).not.toBeNull();
  return JSON.parse(line![1]) as SessionResult;
}

describe('Node flags reach the workers without breaking them', () => {
  it('(control) Node refuses these flags in an explicit worker execArgv, as the library used to pass them', () => {
    // If Node ever accepted them, the tests below would no longer show anything about the old bug.
    for (const flag of REFUSED_IN_WORKERS) {
      let code: string | undefined;
      try {
        const w = new Worker('', { eval: true, execArgv: [flag] });
        void w.terminate();
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code, flag).toBe('ERR_WORKER_INVALID_EXEC_ARGV');
    }
  });

  it('node --max-old-space-size=4096 --expose-gc --stack-size=2000 --title=lwtest dist/cli.js train --threads 2', async () => {
    const r = await runNode([...REFUSED_IN_WORKERS, CLI, 'train', TEXT, ...TINY, '--threads', '2', '--steps', '3', '--batch', '4', '--out', 'flags.safetensors']);
    const why = `exit ${r.code} after ${r.ms} ms\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
    expect(r.code, why).toBe(0);
    expect(r.stderr, why).not.toMatch(/internal error|ERR_WORKER/);
    expect(r.stderr, why).not.toMatch(/lstm-wasm: error/);
    expect(r.stdout).toContain('threads: 2 (data-parallel: 2 lanes each');
    expect(r.stdout).toMatch(/=== done \(step limit\): 3 steps in .*, step 3 in total/);
    expect(decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'flags.safetensors')))).meta.trainer!.step).toBe(3);
  });

  it('node --max-old-space-size=4096 --expose-gc --stack-size=2000 --title=lwtest script.mjs: a 2-thread session trains', async () => {
    const r = await runNode([...REFUSED_IN_WORKERS, SCRIPT]);
    const out = sessionResult(r);
    expect(out).toMatchObject({ steps: 2, step: 2, threads: 2 });
    // The flags were in effect in the process (not silently lost on the way).
    expect(out.execArgv).toEqual(REFUSED_IN_WORKERS);
    expect(out.gc).toBe('function');
  });

  it('node --input-type=module --max-old-space-size=4096 --expose-gc -e <code>: a script on the command line, the workers still start', async () => {
    const r = await runNode(['--input-type=module', '--max-old-space-size=4096', '--expose-gc', '-e', SESSION_CODE]);
    const out = sessionResult(r);
    expect(out).toMatchObject({ steps: 2, step: 2, threads: 2, gc: 'function' });
    expect(out.execArgv.slice(0, 4)).toEqual(['--input-type=module', '--max-old-space-size=4096', '--expose-gc', '-e']);
  });

  it('node --input-type=module with flags a worker accepts and ones it refuses, mixed, and --eval=<code>', async () => {
    const mixed = await runNode(['--input-type=module', '--conditions=development', '--stack-size=2000', '--no-warnings', '--title=lwtest', '-e', SESSION_CODE]);
    expect(sessionResult(mixed)).toMatchObject({ steps: 2, step: 2, threads: 2 });
    const evalEq = await runNode(['--input-type=module', '--max-old-space-size=4096', `--eval=${SESSION_CODE}`]);
    expect(sessionResult(evalEq)).toMatchObject({ steps: 2, step: 2, threads: 2 });
    // A refused flag whose value holds ', ' or ': ' (Node lists the refused flags joined by ', ').
    const odd = await runNode(['--input-type=module', '--title=a, b: c', '--max-old-space-size=4096', '-e', SESSION_CODE]);
    expect(sessionResult(odd)).toMatchObject({ steps: 2, step: 2, threads: 2 });
  });

  it('node --max-old-space-size=4096 --stack-size=2000 -p <CommonJS code>: the workers still start', async () => {
    const r = await runNode(['--max-old-space-size=4096', '--stack-size=2000', '-p', SESSION_CJS]);
    expect(sessionResult(r)).toMatchObject({ steps: 2, step: 2, threads: 2 });
    expect(r.stdout.startsWith('started\n'), r.stdout).toBe(true);
  });

  it('node --conditions=development --no-warnings script.mjs (flags a worker accepts) works', async () => {
    const r = await runNode(['--conditions=development', '--no-warnings', SCRIPT]);
    const out = sessionResult(r);
    expect(out).toMatchObject({ steps: 2, step: 2, threads: 2 });
    expect(out.execArgv).toEqual(['--conditions=development', '--no-warnings']);
  });
});

describe('signals during lstm-wasm train', () => {
  /** Trains (on the default threads) until a first step line, sends `signal`, and checks the save. */
  async function interrupt(signal: 'SIGINT' | 'SIGTERM', out: string): Promise<{ r: CliRun; step: number }> {
    let sent = false;
    const r = await cli(['train', TEXT, ...TINY, '--batch', '4', '--time', '60s', '--eval-every', '2', '--out', out], (chunk, child) => {
      if (!sent && /^step \d+/m.test(chunk)) {
        sent = true;
        child.kill(signal);
      }
    });
    expect(sent, `no step line before the end: ${r.stdout}`).toBe(true);
    const m = /^interrupted at step (\d+); checkpoint saved\. Resume with: npx lstm-wasm train --resume (\S+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(m![2]).toBe(out);
    expect(r.stdout).toMatch(/=== done \(interrupted\)/);
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, out))).toBe(true);
    expect(decodeCheckpoint(new Uint8Array(readFileSync(join(dir, out)))).meta.trainer!.step).toBe(step);
    const resumed = await cli(['train', TEXT, '--resume', out, '--steps', '1', '--sample-every', '0']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming at step ${step}`);
    expect(resumed.stdout).toContain(`step ${step + 1} in total`);
    return { r, step };
  }

  it('SIGTERM finishes the step, saves the checkpoint and exits 143 (128 + 15)', async () => {
    const { r } = await interrupt('SIGTERM', 'term.safetensors');
    expect(r.signal, 'it exits by itself, not killed by the signal').toBeNull();
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('terminated (SIGTERM): finishing this step, then saving the checkpoint');
  }, 90_000); // a busy machine (other test files running) can slow the children several times over

  it('SIGINT still exits 130 (128 + 2)', async () => {
    const { r } = await interrupt('SIGINT', 'int.safetensors');
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('interrupted: finishing this step, then saving the checkpoint');
    expect(r.stdout).not.toContain('SIGTERM');
  }, 90_000); // a busy machine (other test files running) can slow the children several times over
});

describe('--threads above the cores available', () => {
  const over = CORES + 1;
  // Each thread needs a lane: a batch of at least cores + 1 (capped, so a many-core machine does not start dozens of workers).
  const BATCH = Math.min(16, Math.max(4, over));
  const note = (n: number): string => `--threads ${n} is more than the ${CORES} core${CORES === 1 ? '' : 's'} here`;
  const loss = (out: string): number => Number(/loss (\d+\.\d+) {2}perplexity/.exec(out)?.[1]);

  const title = over > BATCH
    ? `skipped: ${CORES} cores need --threads ${over} and a batch of ${over}, more workers than a test should start`
    : `train and eval --threads ${over} (cores + 1, batch ${BATCH}) note it on stderr and still run; --threads ${CORES} does not`;
  it.skipIf(over > BATCH)(title, async () => {
    const above = await cli(['train', TEXT, ...TINY, '--batch', String(BATCH), '--steps', '2', '--threads', String(over), '--out', 'over.safetensors']);
    expect(above.code, above.stderr).toBe(0);
    expect(above.stderr).toContain(note(over));
    expect(above.stderr.trimEnd().split('\n'), 'one note line, nothing else').toHaveLength(1);
    expect(above.stdout).toMatch(new RegExp(`^ {2}threads: ${over} \\(data-parallel: `, 'm'));
    expect(above.stdout).toMatch(/=== done \(step limit\): 2 steps/);

    const atCores = await cli(['train', TEXT, ...TINY, '--batch', String(BATCH), '--steps', '2', '--threads', String(CORES), '--out', 'cores.safetensors']);
    expect(atCores.code, atCores.stderr).toBe(0);
    expect(atCores.stderr).not.toContain('is more than the');
    expect(atCores.stderr).toBe('');
    expect(atCores.stdout).toMatch(new RegExp(`^ {2}threads: ${CORES}\\b`, 'm'));

    const evalAbove = await cli(['eval', '--checkpoint', 'over.safetensors', '--threads', String(over), TEXT]);
    expect(evalAbove.code, evalAbove.stderr).toBe(0);
    expect(evalAbove.stderr).toContain(note(over));
    const evalAtCores = await cli(['eval', '--checkpoint', 'over.safetensors', '--threads', String(CORES), TEXT]);
    expect(evalAtCores.code, evalAtCores.stderr).toBe(0);
    expect(evalAtCores.stderr).toBe('');
    // The extra thread changes nothing in the result.
    expect(Number.isFinite(loss(evalAbove.stdout)), evalAbove.stdout).toBe(true);
    expect(loss(evalAbove.stdout)).toBe(loss(evalAtCores.stdout));
  }, 90_000); // a busy machine (other test files running) can slow the children several times over
});
